"""The incidents app's models, by concern (imported here so `incidents.models.X` keeps working).

- record: the postmortem and its rows (timeline entries, contributing factors,
  references) and its amendments;
- meeting: the meeting, its attendees, the failure-mode scan, pending marks, reminders;
- revisions: field revisions of drafts and the seals of final records;
- action_items: action items, their events, the planning-gate domain, gate overrides;
- choices and guards: fixed vocabularies, and the database guards of final records;
- vocabulary: the vocabularies admins keep as data (triggers, severities, scan questions).
- access: who may read a postmortem (its append-only access history).
"""
from incidents.models.access import *  # noqa: F403
from incidents.models.action_items import *  # noqa: F403
from incidents.models.choices import *  # noqa: F403
from incidents.models.guards import *  # noqa: F403
from incidents.models.live import *  # noqa: F403
from incidents.models.meeting import *  # noqa: F403
from incidents.models.record import *  # noqa: F403
from incidents.models.revisions import *  # noqa: F403
from incidents.models.vocabulary import *  # noqa: F403

