"""The incidents app's models, by concern (imported here so `incidents.models.X` keeps working).

- record: the postmortem and its rows (timeline entries, contributing factors,
  references) and its amendments;
- meeting: the meeting, its attendees, the failure-mode scan, pending marks, reminders;
- revisions: field revisions of drafts and the seals of final records;
- action_items: action items, their events, the planning-gate domain, gate overrides;
- choices and guards: fixed vocabularies, and the database guards of final records;
- vocabulary: the vocabularies admins keep as data (triggers, severities, scan questions).
"""
from incidents.models.action_items import *  # noqa: F403
from incidents.models.choices import *  # noqa: F403
from incidents.models.guards import *  # noqa: F403
from incidents.models.meeting import *  # noqa: F403
from incidents.models.record import *  # noqa: F403
from incidents.models.revisions import *  # noqa: F403
from incidents.models.vocabulary import *  # noqa: F403

IMMUTABILITY_TRIGGERS = [
    "incidents.Postmortem:final_postmortem_is_immutable",
    "incidents.Postmortem:final_postmortem_no_truncate",
    "incidents.TimelineEntry:final_parent_protects_rows",
    "incidents.TimelineEntry:final_parent_protects_truncate",
    "incidents.ContributingFactor:final_parent_protects_rows",
    "incidents.ContributingFactor:final_parent_protects_truncate",
    "incidents.Reference:final_parent_protects_rows",
    "incidents.Reference:final_parent_protects_truncate",
    "incidents.ScanAnswer:final_parent_protects_rows",
    "incidents.ScanAnswer:final_parent_protects_truncate",
    "incidents.FieldRevision:revisions_append_only",
    "incidents.FieldRevision:final_parent_protects_rows",
    "incidents.FieldRevision:final_parent_protects_truncate",
    "incidents.PendingMark:final_parent_protects_rows",
    "incidents.PendingMark:final_parent_protects_truncate",
    "incidents.Amendment:amendments_append_only",
    "incidents.Amendment:amendments_only_on_final",
    "incidents.Amendment:amendments_no_truncate",
    "incidents.ActionItemEvent:action_item_history_append_only",
    "incidents.GateOverride:gate_override_append_only",
    "incidents.Seal:seals_append_only",
    "incidents.Seal:seals_no_truncate",
]


