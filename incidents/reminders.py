"""Meeting reminders: rows planned with the postmortem or meeting, sent by a sweep.

Rule: docs/rules.md#reminder-kinds: the meeting is held within 72 hours of the event; an
incomplete postmortem reconvenes within a week. Reminders are Reminder rows in PostgreSQL,
written in the same transaction as the postmortem or meeting they belong to. No countdown
or ETA tasks: a Celery beat entry runs sweep() every minute (and
`manage.py send_due_reminders` runs it once), so a lost task, a restarted Redis or a
killed worker only delays a reminder until the next sweep.

Each reminder is claimed, sent and marked in its own transaction with
SELECT … FOR UPDATE SKIP LOCKED, so two sweeps at once never send the same reminder.
The Message-ID is derived from the reminder, so the rare resend after a crash between
the SMTP send and the commit carries the same Message-ID and mail clients fold it away.
"""
import logging
import smtplib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from core.site_url import site_link
from incidents import invitations
from incidents.models import Meeting, Postmortem, Reminder

SCHEDULE_AFTER = timedelta(hours=24)
MEETING_NOTICE = timedelta(hours=1)
RECONVENE_NUDGE = timedelta(days=4)
RECONVENE_WITHIN = timedelta(days=7)
MAX_ATTEMPTS = 5

log = logging.getLogger(__name__)


def plan_event_reminders(postmortem: Postmortem) -> list[Reminder]:
    """Plan "schedule the meeting" (event + 24 h) and "deadline missed" (event + 72 h).

    Call in the transaction that records the event time; a later change of occurred_utc
    moves the pending ones. Returns the rows planned. A retrospective postmortem (started
    more than 72 hours after its event) plans none: both would lie in the past; any
    pending ones (an event corrected to an older time) are skipped with the reason
    (docs/rules.md#meeting-retrospective). Raises ValueError without occurred_utc.
    """
    if postmortem.occurred_utc is None:
        raise ValueError("occurred_utc: the event time is needed to plan reminders.")
    if postmortem.is_retrospective:
        skip_pending(postmortem, "The postmortem is retrospective: it was started more than "
                                 "72 hours after the event.",
                     kinds=(Reminder.Kind.SCHEDULE_MEETING, Reminder.Kind.DEADLINE_MISSED))
        return []
    return [
        _plan(postmortem, Reminder.Kind.SCHEDULE_MEETING, postmortem.occurred_utc + SCHEDULE_AFTER),
        _plan(postmortem, Reminder.Kind.DEADLINE_MISSED, postmortem.meeting_deadline_utc),
    ]


def skip_pending(postmortem: Postmortem, reason: str, kinds=None) -> list[int]:
    """Mark `postmortem`'s pending reminders (of `kinds`, default all) skipped with
    `reason` and log each; returns their ids. Call inside the transaction that ends
    their purpose (finalize, a retrospective event). Rule: docs/rules.md#reminder-kinds."""
    pending = Reminder.objects.select_for_update().filter(
        postmortem=postmortem, state=Reminder.State.PENDING)
    if kinds is not None:
        pending = pending.filter(kind__in=kinds)
    skipped = []
    for reminder in pending:
        reminder.state = Reminder.State.SKIPPED
        reminder.skip_reason = reason
        reminder.save(update_fields=["state", "skip_reason", "updated_utc"])
        skipped.append(reminder.pk)
        log.info("reminder %s (%s) of postmortem %s skipped: %s", reminder.pk, reminder.kind,
                 postmortem.pk, reason)
    return skipped


def plan_meeting_reminder(meeting: Meeting) -> Reminder:
    """Plan "meeting starts in one hour" for `meeting` (a reschedule moves it, pending again)."""
    return _plan(meeting.postmortem, Reminder.Kind.MEETING_STARTS,
                 meeting.scheduled_utc - MEETING_NOTICE, reset=True)


def plan_reconvene(postmortem: Postmortem, ended_utc: datetime) -> Reminder:
    """Plan "reconvene" 4 days after a meeting that ended with the postmortem incomplete."""
    return _plan(postmortem, Reminder.Kind.RECONVENE, ended_utc + RECONVENE_NUDGE, reset=True)


def _plan(postmortem, kind, due_utc, reset: bool = False) -> Reminder:
    """Create the (postmortem, kind) reminder, or move it while pending; `reset` makes a sent or
    skipped one pending again (a rescheduled meeting deserves its own notice)."""
    reminder, created = Reminder.objects.select_for_update().get_or_create(
        postmortem=postmortem, kind=kind, defaults={"due_utc": due_utc, "planned_utc": due_utc}
    )
    if created:
        return reminder
    if reminder.state == Reminder.State.PENDING or reset:
        reminder.due_utc = reminder.planned_utc = due_utc
        reminder.state = Reminder.State.PENDING
        reminder.attempts = 0
        reminder.skip_reason = reminder.last_error = ""
        reminder.sent_utc = None
        reminder.save()
    return reminder


@dataclass
class SweepResult:
    """What one sweep did: reminder ids per outcome (retry: a send failed, tried again later)."""

    sent: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)

    def counts(self) -> dict:
        return {name: len(getattr(self, name)) for name in ("sent", "skipped", "failed", "retry")}


def sweep(now: datetime | None = None, limit: int = 500) -> SweepResult:
    """Send every pending reminder due at `now` (UTC, default: the clock); at most `limit`.

    Each reminder ends sent, skipped (skip_reason says why), failed (after MAX_ATTEMPTS,
    or when nobody can receive it; last_error says why) or stays pending for a retry
    with a later due time. Safe to run concurrently.
    """
    now = now or timezone.now()
    result = SweepResult()
    for _ in range(limit):
        with transaction.atomic():
            reminder = (
                Reminder.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(state=Reminder.State.PENDING, due_utc__lte=now)
                .select_related("postmortem", "postmortem__created_by", "meeting",
                                "meeting__facilitator")
                .order_by("due_utc", "id")
                .first()
            )
            if reminder is None:
                break
            _process(reminder, now, result)
    return result


def _process(reminder: Reminder, now: datetime, result: SweepResult) -> None:
    reason = skip_reason(reminder)
    if reason:
        reminder.state = Reminder.State.SKIPPED
        reminder.skip_reason = reason
        reminder.save()
        result.skipped.append(reminder.pk)
        return
    invitation = reminder.kind == Reminder.Kind.MEETING_INVITATION
    taken_off = []
    if invitation:
        recipients, _ = invitations.recipients(reminder.meeting)
        taken_off = invitations.taken_off(reminder, recipients)
        if reminder.meeting.cancelled:  # one CANCEL reaches everyone who was invited
            recipients, taken_off = recipients + taken_off, []
        if not recipients:
            reminder.state = Reminder.State.SKIPPED
            reminder.skip_reason = ("Nobody can receive it: the facilitator and attendees "
                                    "have no email address.")
            reminder.save()
            result.skipped.append(reminder.pk)
            return
    else:
        recipients = _recipients(reminder.postmortem)
    reminder.attempts += 1
    if not recipients:
        reminder.state = Reminder.State.FAILED
        reminder.last_error = ("Nobody can receive it: the postmortem's author, facilitator and "
                               "attendees have no email address.")
        reminder.save()
        result.failed.append(reminder.pk)
        log.error("reminder %s failed: %s", reminder.pk, reminder.last_error)
        return
    try:
        if invitation:
            if taken_off:  # first, so a retry after a failed invitation resends both
                invitations.taken_off_message(
                    reminder, taken_off, message_id(reminder).replace("@", "-taken-off@")
                ).send(fail_silently=False)
            email = invitations.message(reminder, recipients, message_id(reminder))
        else:
            email = reminder_message(reminder, recipients)
        email.send(fail_silently=False)
    except (smtplib.SMTPException, OSError) as exc:
        reminder.last_error = f"{type(exc).__name__}: {exc}"
        if reminder.attempts >= MAX_ATTEMPTS:
            reminder.state = Reminder.State.FAILED
            result.failed.append(reminder.pk)
        else:
            reminder.due_utc = now + timedelta(minutes=2 ** reminder.attempts)
            result.retry.append(reminder.pk)
        reminder.save()
        log.warning("reminder %s: send attempt %s failed: %s", reminder.pk, reminder.attempts,
                    reminder.last_error)
        return
    reminder.state = Reminder.State.SENT
    reminder.sent_utc = timezone.now()
    reminder.recipients = recipients
    reminder.last_error = ""
    reminder.save()
    result.sent.append(reminder.pk)


def held_meeting(postmortem: Postmortem) -> Meeting | None:
    """The first meeting started at or before the 72-hour deadline, or None."""
    deadline = postmortem.meeting_deadline_utc
    meetings = postmortem.meetings.filter(started_utc__isnull=False).order_by("started_utc")
    if deadline is not None:
        meetings = meetings.filter(started_utc__lte=deadline)
    return meetings.first()


def skip_reason(reminder: Reminder) -> str:
    """Why `reminder` need not be sent any more ('' when it should be sent)."""
    pm = reminder.postmortem
    kind = reminder.kind
    if kind == Reminder.Kind.MEETING_INVITATION:
        return invitations.superseded(reminder)
    if pm.is_final:
        return "The postmortem is final."
    if kind == Reminder.Kind.SCHEDULE_MEETING and pm.meetings.filter(
            cancelled_utc__isnull=True).exists():
        return "A meeting is already scheduled."
    if kind == Reminder.Kind.DEADLINE_MISSED and held_meeting(pm) is not None:
        return "The meeting was held within 72 hours."
    if kind == Reminder.Kind.MEETING_STARTS:
        meeting = pm.meetings.filter(cancelled_utc__isnull=True).order_by("-scheduled_utc").first()
        if meeting is None:
            return "No meeting is scheduled (or it was cancelled)."
        if meeting.started_utc is not None:
            return "The meeting has already started."
    if kind == Reminder.Kind.RECONVENE and pm.meetings.filter(
            started_utc__gt=reminder.planned_utc - RECONVENE_NUDGE).exists():
        return "The team has already reconvened."
    return ""


def _recipients(pm: Postmortem) -> list[str]:
    """Email addresses of the author, the latest meeting's facilitator and its attendees
    who may read `pm` (docs/rules.md#private-postmortems)."""
    from incidents import visibility

    people = [pm.created_by]
    meeting = (pm.meetings.filter(cancelled_utc__isnull=True).order_by("-scheduled_utc")
               .prefetch_related("attendees__user").first())
    if meeting is not None:
        people.append(meeting.facilitator)
        people += [attendee.user for attendee in meeting.attendees.all()]
    emails = []
    for person in people:
        if (person is not None and person.email and person.email not in emails
                and visibility.can_see(person, pm)):
            emails.append(person.email)
    return emails


def message_id(reminder: Reminder) -> str:
    """'<reminder-42-deadline_missed-20260305T1347@scarlog>': the same for every resend and
    retry of one planned reminder; a rescheduled one gets a new id."""
    due = reminder.planned_utc.astimezone(UTC).strftime("%Y%m%dT%H%M")
    return f"<reminder-{reminder.pk}-{reminder.kind}-{due}@scarlog>"


def reminder_message(reminder: Reminder, recipients: list[str]) -> EmailMessage:
    """The email of `reminder` to `recipients`: subject, body with the deadline and a link."""
    pm = reminder.postmortem
    link = site_link(reverse("incidents:postmortem_detail", args=[pm.pk]))
    deadline = pm.meeting_deadline_utc
    deadline_text = f"{deadline:%Y-%m-%d %H:%M} UTC" if deadline else "(event time not recorded)"
    kind = reminder.kind
    if kind == Reminder.Kind.SCHEDULE_MEETING:
        subject = f"Schedule the postmortem meeting by {deadline_text}"
        lead = ("No meeting is scheduled yet. Hold the 30-minute meeting (operator, code owner "
                f"and optionally a reviewer who was not involved) before {deadline_text}.")
    elif kind == Reminder.Kind.MEETING_STARTS:
        meeting = pm.meetings.filter(cancelled_utc__isnull=True).order_by("-scheduled_utc").first()
        subject = f"Postmortem meeting at {meeting.scheduled_utc:%H:%M} UTC"
        lead = (f"The postmortem meeting starts at {meeting.scheduled_utc:%Y-%m-%d %H:%M} UTC. "
                "The agenda is the template, field by field; read the traces first.")
    elif kind == Reminder.Kind.DEADLINE_MISSED:
        subject = "Postmortem meeting deadline missed"
        lead = (f"72 hours passed at {deadline_text} without a postmortem meeting. Recall "
                "degrades with every day: hold it as soon as you can.")
    else:
        by = reminder.planned_utc - RECONVENE_NUDGE + RECONVENE_WITHIN
        subject = f"Reconvene the postmortem by {by:%Y-%m-%d}"
        lead = ("The meeting ended with fields marked incomplete, pending trace review. "
                f"Reconvene before {by:%Y-%m-%d %H:%M} UTC to finish them.")
    body = "\n".join([lead, "", f"Postmortem: {pm.title}", link, "",
                      "(Scarlog reminder; times are UTC.)"])
    return EmailMessage(
        subject=f"Scarlog: {subject}", body=body, to=recipients,
        headers={"Message-ID": message_id(reminder)},
    )

