"""The meeting and what it adds to a draft: the failure-mode scan, pending marks, the
meeting with its attendees, and the reminders planned for it (docs/rules.md#meeting)."""
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from incidents.models.choices import MEETING_MINUTES
from incidents.models.record import Postmortem, PostmortemChild
from incidents.models.vocabulary import ScanQuestion

__all__ = [
    "Meeting",
    "MeetingAttendee",
    "PendingMark",
    "Reminder",
    "ScanAnswer",
]


class ScanAnswer(PostmortemChild):
    """One answer of the failure-mode scan: yes, no or not applicable, with a note.

    `question` is the ScanQuestion answered and `mode` its slug (the key exports carry);
    `question_text` and `question_name` keep the wording it was answered against, so a
    reworded or retired question leaves old records as they were. One answer per mode and
    postmortem. Finalize requires every active question of the postmortem's set. Answers
    freeze with the postmortem (the same PostgreSQL triggers as its other rows). Rows
    written before question sets existed have no question (their slug names one of the
    default set). Rule: docs/rules.md#scan-answers.
    """

    class Answer(models.TextChoices):
        YES = "yes", "Yes"
        NO = "no", "No"
        NOT_APPLICABLE = "na", "Not applicable"

    question = models.ForeignKey(ScanQuestion, on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="answers")
    mode = models.CharField(max_length=40)
    question_name = models.CharField(max_length=100, blank=True)
    question_text = models.TextField("question as answered", blank=True)
    answer = models.CharField(max_length=3, choices=Answer.choices)
    note = models.CharField(max_length=300, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )
    answered_utc = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]
        default_related_name = "scan_answers"
        constraints = [
            models.UniqueConstraint(fields=["postmortem", "mode"], name="one_answer_per_mode"),
            models.CheckConstraint(condition=Q(answer__in=["yes", "no", "na"]),
                                   name="scan_answer_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.mode}: {self.answer}"


class PendingMark(models.Model):
    """A draft field marked "incomplete, pending trace review" (reconvene within a week).

    One mark per (postmortem, field); clearing the mark deletes it. Finalize refuses
    while any mark remains; ending the meeting with marks plans the reconvene reminder.
    Rule: docs/rules.md#meeting-pending.
    """

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE,
                                   related_name="pending_marks")
    field = models.CharField(max_length=30)
    marked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  null=True, blank=True, related_name="+")
    marked_utc = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["marked_utc", "id"]
        constraints = [
            models.UniqueConstraint(fields=["postmortem", "field"], name="one_mark_per_field"),
        ]

    def __str__(self) -> str:
        return f"{self.field} of {self.postmortem_id} pending trace review"


class Meeting(models.Model):
    """The postmortem meeting: 30 minutes, within 72 hours of the event, three people.

    scheduled_utc: planned start (UTC); started_utc / ended_utc: when the facilitator
    started and ended it. A meeting counts as held on time when started_utc is at or
    before the postmortem's meeting deadline. Rule: docs/rules.md#meeting-deadline.
    """

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="meetings")
    scheduled_utc = models.DateTimeField("scheduled start (UTC)")
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    started_utc = models.DateTimeField(null=True, blank=True)
    ended_utc = models.DateTimeField(null=True, blank=True)
    cancelled_utc = models.DateTimeField(null=True, blank=True)
    # The invitation's SEQUENCE (RFC 5545): 0 when scheduled, raised by each reschedule and
    # the cancel; never lowered (a PostgreSQL trigger refuses). changed_utc: when it was
    # last raised, the invitation's DTSTAMP. docs/rules.md#meeting-invitation
    sequence = models.PositiveIntegerField(default=0)
    changed_utc = models.DateTimeField(default=timezone.now)
    # The field the facilitator is reading aloud (a template field key; "" before the
    # first "Next field"), so a page opened late shows it too (incidents.live).
    current_field = models.CharField(max_length=40, blank=True, default="")
    created_utc = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["scheduled_utc", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_utc__isnull=True) | Q(started_utc__isnull=False),
                name="meeting_ends_after_it_starts",
            ),
            models.CheckConstraint(
                condition=Q(cancelled_utc__isnull=True) | Q(started_utc__isnull=True),
                name="cancelled_meeting_never_started",
            ),
        ]

    def __str__(self) -> str:
        return f"Meeting for {self.postmortem_id} at {self.scheduled_utc:%Y-%m-%d %H:%M} UTC"

    @property
    def timer_ends_utc(self):
        """started_utc + 30 minutes (UTC): when the meeting's timer runs out; None before."""
        if self.started_utc is None:
            return None
        return self.started_utc + timedelta(minutes=MEETING_MINUTES)

    @property
    def in_progress(self) -> bool:
        """Started and not yet ended: its 30-minute timer is running (or over time)."""
        return self.started_utc is not None and self.ended_utc is None

    @property
    def cancelled(self) -> bool:
        """Cancelled before it started (its invitation is a METHOD:CANCEL)."""
        return self.cancelled_utc is not None


class MeetingAttendee(models.Model):
    """One attendee of a meeting, by role (operator, code owner, reviewer not involved)."""

    class Role(models.TextChoices):
        OPERATOR = "operator", "System operator"
        CODE_OWNER = "code_owner", "Code owner"
        REVIEWER = "reviewer", "Reviewer (not involved)"
        OTHER = "other", "Other"

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendees")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=12, choices=Role.choices)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "user"], name="attendee_once_per_meeting"),
            models.CheckConstraint(
                condition=Q(role__in=["operator", "code_owner", "reviewer", "other"]),
                name="attendee_role_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} as {self.role}"


class Reminder(models.Model):
    """A reminder email due at a time, kept as a row so nothing is lost between sweeps.

    Kinds (issue 3): schedule the meeting (24 h after the event if none is scheduled),
    meeting starts in one hour, deadline missed (72 h without a held meeting), reconvene
    (an incomplete postmortem, within 7 days). One row per (postmortem, kind), except the
    meeting invitation (issue 20): one row per (meeting, sequence), due when the meeting is
    scheduled, rescheduled or cancelled (docs/rules.md#meeting-invitation). The sweep
    (incidents.reminders.sweep) claims due pending rows with SELECT … FOR UPDATE SKIP
    LOCKED, sends, and marks each sent, skipped (skip_reason says why) or, after
    MAX_ATTEMPTS failed sends, failed (last_error says why). Times are UTC.
    """

    class Kind(models.TextChoices):
        SCHEDULE_MEETING = "schedule_meeting", "Schedule the meeting"
        MEETING_STARTS = "meeting_starts", "Meeting starts in one hour"
        DEADLINE_MISSED = "deadline_missed", "Meeting deadline missed"
        RECONVENE = "reconvene", "Reconvene within a week"
        MEETING_INVITATION = "meeting_invitation", "Meeting invitation"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    planned_utc = models.DateTimeField(help_text="The due time as planned (retries move due_utc).")
    due_utc = models.DateTimeField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    skip_reason = models.TextField(blank=True)
    recipients = models.JSONField(default=list, blank=True)
    # Invitations only: the meeting and the SEQUENCE the email carries.
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, null=True, blank=True,
                                related_name="invitations")
    sequence = models.PositiveIntegerField(null=True, blank=True)
    sent_utc = models.DateTimeField(null=True, blank=True)
    created_utc = models.DateTimeField(default=timezone.now)
    updated_utc = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_utc", "id"]
        indexes = [
            models.Index(fields=["due_utc"], condition=Q(state="pending"),
                         name="reminder_pending_due"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["postmortem", "kind"], name="one_reminder_per_kind",
                                    condition=~Q(kind="meeting_invitation")),
            models.UniqueConstraint(fields=["meeting", "sequence"],
                                    name="one_invitation_per_sequence",
                                    condition=Q(kind="meeting_invitation")),
            models.CheckConstraint(
                condition=Q(kind__in=["schedule_meeting", "meeting_starts", "deadline_missed",
                                      "reconvene", "meeting_invitation"]),
                name="reminder_kind_valid",
            ),
            models.CheckConstraint(
                condition=(~Q(kind="meeting_invitation") & Q(meeting__isnull=True)
                           & Q(sequence__isnull=True))
                | (Q(kind="meeting_invitation") & Q(meeting__isnull=False)
                   & Q(sequence__isnull=False)),
                name="invitation_names_its_meeting",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["pending", "sent", "skipped", "failed"]),
                name="reminder_state_valid",
            ),
            models.CheckConstraint(
                condition=~Q(state="skipped") | ~Q(skip_reason=""),
                name="skipped_reminder_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(state="failed") | ~Q(last_error=""),
                name="failed_reminder_has_error",
            ),
            models.CheckConstraint(
                condition=~Q(state="sent") | Q(sent_utc__isnull=False),
                name="sent_reminder_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.postmortem_id} ({self.state})"
