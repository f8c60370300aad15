"""The postmortem meeting: schedule it, start it, end it.

Rule: docs/rules.md#meeting: thirty minutes, within
seventy-two hours of the event; the system operator, the code owner of the affected
module and optionally a reviewer who was not involved — three people, not five. A
postmortem that cannot be completed in the meeting stays a draft and reconvenes within a
week. Every function runs in one transaction with the reminders it plans; scheduling,
rescheduling and cancelling also plan the attendees' calendar invitation
(docs/rules.md#meeting-invitation).
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import DateTimeField, Exists, ExpressionWrapper, OuterRef
from django.utils import timezone

from incidents import invitations, live_feed, reminders, template_rules, webhook_events
from incidents.models import (
    MEETING_DEADLINE_HOURS,
    Meeting,
    MeetingAttendee,
    Postmortem,
    Reminder,
)
from incidents.services import FieldError, finalize_statuses, require_draft

MAX_ATTENDEES = 3


class MeetingError(FieldError):
    """A meeting change was refused; `field` names the input at fault."""


@dataclass(frozen=True)
class AttendeeInput:
    """One attendee as entered: a user and a MeetingAttendee.Role value."""

    user: object
    role: str


def attendee_warning(attendees) -> str:
    """The seed's warning when more than three people attend ('' otherwise)."""
    count = len(attendees)
    if count <= MAX_ATTENDEES:
        return ""
    return (f"{count} attendees: the meeting works with three people, not five — the "
            "operator, the code owner and optionally a reviewer who was not involved.")


@transaction.atomic
def schedule_meeting(postmortem: Postmortem, scheduled_utc: datetime, facilitator,
                     attendees: list[AttendeeInput], user=None) -> Meeting:
    """Schedule (or reschedule) the meeting of a draft; plans "meeting starts in one hour"
    and the invitation (METHOD:REQUEST) to the facilitator and attendees.

    A draft has one meeting row per sitting; scheduling while a meeting is planned and
    not started (nor cancelled) moves that one and raises its invitation sequence
    (docs/rules.md#meeting-invitation). Raises MeetingError naming scheduled_utc, facilitator or
    attendees (each user once; roles from MeetingAttendee.Role; an operator and a code
    owner are required), and ImmutableRecordError for a final postmortem.
    """
    postmortem = Postmortem.objects.select_for_update().get(pk=postmortem.pk)
    require_draft(postmortem)
    if scheduled_utc is None or scheduled_utc.tzinfo is None:
        raise MeetingError("scheduled_utc", "Scheduled start: give a date and time (UTC).")
    if facilitator is None:
        raise MeetingError("facilitator", "Facilitator: choose who reads the template aloud.")
    users = [a.user.pk for a in attendees]
    if len(set(users)) != len(users):
        raise MeetingError("attendees", "Attendees: each person attends once.")
    roles = [a.role for a in attendees]
    unknown = [r for r in roles if r not in MeetingAttendee.Role.values]
    if unknown:
        raise MeetingError("attendees", f"Attendees: unknown role {unknown[0]!r}.")
    for required, label in ((MeetingAttendee.Role.OPERATOR, "the system operator"),
                            (MeetingAttendee.Role.CODE_OWNER, "the code owner")):
        if required not in roles:
            raise MeetingError("attendees", f"Attendees: add {label}.")
    meeting = (postmortem.meetings.select_for_update()
               .filter(started_utc__isnull=True, cancelled_utc__isnull=True).first())
    now = timezone.now()
    if meeting is None:
        meeting = Meeting(postmortem=postmortem, created_by=user, sequence=0, changed_utc=now)
    else:
        meeting.sequence += 1
        meeting.changed_utc = now
    meeting.scheduled_utc, meeting.facilitator = scheduled_utc, facilitator
    meeting.save()
    meeting.attendees.all().delete()
    MeetingAttendee.objects.bulk_create(
        MeetingAttendee(meeting=meeting, user=a.user, role=a.role) for a in attendees
    )
    reminders.plan_meeting_reminder(meeting)
    invitations.plan_invitation(meeting)
    live_feed.record_change(postmortem.pk, "meeting", locked=True)
    webhook_events.meeting_scheduled(meeting)
    return meeting


@transaction.atomic
def cancel_meeting(meeting: Meeting, by, now: datetime | None = None) -> Meeting:
    """Cancel a meeting that has not started: records cancelled_utc (UTC, default now),
    raises its invitation sequence, plans the METHOD:CANCEL invitation and skips the
    pending "meeting starts in one hour" reminder. Any editor may cancel (RoleMiddleware
    refuses viewers). Raises MeetingError naming "meeting" when it started or was already
    cancelled, ImmutableRecordError for a final postmortem. docs/rules.md#meeting-invitation
    """
    meeting = (Meeting.objects.select_for_update().select_related("postmortem", "facilitator")
               .get(pk=meeting.pk))
    require_draft(meeting.postmortem)
    if meeting.cancelled_utc is not None:
        raise MeetingError("meeting", f"The meeting was cancelled at "
                                      f"{meeting.cancelled_utc:%Y-%m-%d %H:%M} UTC.")
    if meeting.started_utc is not None:
        raise MeetingError("meeting", f"The meeting started at {meeting.started_utc:%H:%M} "
                                      "UTC; end it instead.")
    meeting.cancelled_utc = meeting.changed_utc = now or timezone.now()
    meeting.sequence += 1
    meeting.save(update_fields=["cancelled_utc", "changed_utc", "sequence"])
    who = by.get_username() if by is not None else "someone"
    reminders.skip_pending(meeting.postmortem, f"The meeting was cancelled by {who}.",
                           kinds=(Reminder.Kind.MEETING_STARTS,))
    invitations.plan_invitation(meeting)
    live_feed.record_change(meeting.postmortem_id, "meeting")
    return meeting


def current_meeting(postmortem: Postmortem) -> Meeting | None:
    """The meeting the panel shows: the latest (by scheduled start) not cancelled, else the
    latest cancelled one, else None; with its facilitator and attendees."""
    meetings = (postmortem.meetings.select_related("facilitator")
                .prefetch_related("attendees__user").order_by("-scheduled_utc", "-id"))
    return meetings.filter(cancelled_utc__isnull=True).first() or meetings.first()


def _require_facilitator(meeting: Meeting, by, action: str) -> None:
    if by is None or by.pk != meeting.facilitator_id:
        raise MeetingError("facilitator", f"Only {meeting.facilitator.get_username()}, the "
                                          f"facilitator, can {action} the meeting.")


@transaction.atomic
def start_meeting(meeting: Meeting, by, now: datetime | None = None) -> Meeting:
    """The facilitator `by` starts the 30-minute meeting now (UTC); its timer starts here.

    Raises MeetingError naming "facilitator" when `by` is someone else, and "meeting"
    when it already started.
    """
    meeting = (Meeting.objects.select_for_update().select_related("postmortem", "facilitator")
               .get(pk=meeting.pk))
    require_draft(meeting.postmortem)
    _require_facilitator(meeting, by, "start")
    if meeting.cancelled_utc is not None:
        raise MeetingError("meeting", "The meeting was cancelled; schedule a new one.")
    if meeting.started_utc is not None:
        raise MeetingError("meeting", f"The meeting started at {meeting.started_utc:%H:%M} UTC.")
    meeting.started_utc = now or timezone.now()
    meeting.save(update_fields=["started_utc"])
    live_feed.record_change(meeting.postmortem_id, "meeting")
    return meeting


@dataclass(frozen=True)
class MeetingOutcome:
    """What an ended meeting left open: incomplete field labels, fields pending trace review.

    `reconvene` is true when either list is non-empty: the postmortem stays a draft and
    the reconvene reminder (within a week) is planned.
    """

    incomplete: list[str]
    pending: list[str]

    @property
    def reconvene(self) -> bool:
        return bool(self.incomplete or self.pending)


@transaction.atomic
def end_meeting(meeting: Meeting, by, now: datetime | None = None) -> MeetingOutcome:
    """The facilitator `by` ends a started meeting; returns what is still open.

    Fields marked "incomplete, pending trace review", and any template field or finalize
    check still incomplete, keep the postmortem a draft and plan the reconvene reminder.
    Raises MeetingError naming "facilitator" (someone else) or "meeting" (not started,
    already ended).
    """
    meeting = (Meeting.objects.select_for_update().select_related("postmortem", "facilitator")
               .get(pk=meeting.pk))
    _require_facilitator(meeting, by, "end")
    if meeting.started_utc is None:
        raise MeetingError("meeting", "The meeting has not started.")
    if meeting.ended_utc is not None:
        raise MeetingError("meeting", f"The meeting ended at {meeting.ended_utc:%H:%M} UTC.")
    meeting.ended_utc = now or timezone.now()
    meeting.save(update_fields=["ended_utc"])
    live_feed.record_change(meeting.postmortem_id, "meeting")
    pm = meeting.postmortem
    pending = [template_rules.FIELD_LABELS.get(mark.field, mark.field)
               for mark in pm.pending_marks.all()]
    statuses = finalize_statuses(pm)
    incomplete = [s.label for s in statuses if not s.complete and s.key != "pending"]
    outcome = MeetingOutcome(incomplete, pending)
    if outcome.reconvene and not pm.is_final:
        reminders.plan_reconvene(pm, meeting.ended_utc)
    return outcome


def annotate_meeting_held(postmortems):
    """`postmortems` annotated with meeting_held: a meeting started by the 72-hour deadline.

    Lets the meeting_deadline template tag show many postmortems without a query each.
    """
    deadline = ExpressionWrapper(
        OuterRef("occurred_utc") + timedelta(hours=MEETING_DEADLINE_HOURS),
        output_field=DateTimeField(),
    )
    held = Meeting.objects.filter(postmortem=OuterRef("pk"), started_utc__isnull=False,
                                  started_utc__lte=deadline)
    return postmortems.annotate(meeting_held=Exists(held))
