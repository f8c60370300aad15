"""Meeting reminders on real PostgreSQL: planned with the event, swept, each ending sent,
skipped with a reason, or failed; two sweeps at once send each reminder once."""
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.core.management import call_command
from django.db import connection

from incidents import meetings, reminders, services
from incidents.meetings import AttendeeInput
from incidents.models import Postmortem, Reminder
from tests.conftest import NOW, fill_complete_draft

pytestmark = pytest.mark.django_db

EVENT = datetime(2026, 3, 2, 15, 47, tzinfo=UTC)


@pytest.fixture(autouse=True)
def locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def people(alice, bob, django_user_model):
    alice.email, bob.email = "alice@example.com", "bob@example.com"
    alice.save()
    bob.save()
    carol = django_user_model.objects.create_user("carol", "carol@example.com", "carol-pw-12345")
    return alice, bob, carol


def event_draft(user, occurred=EVENT):
    """A draft started an hour after its event (not retrospective)."""
    with time_machine.travel(occurred + timedelta(hours=1), tick=False):
        return services.create_draft(user, occurred_utc=occurred, trigger="thesis_invalidation")


def states():
    """{kind: (state, reason)} of the reminders (meeting invitations have their own tests:
    tests/test_meeting_invitations.py)."""
    return {r.kind: (r.state, r.skip_reason or r.last_error)
            for r in Reminder.objects.exclude(kind="meeting_invitation").order_by("kind")}


def test_recording_the_event_plans_the_schedule_and_deadline_reminders(alice):
    pm = event_draft(alice)
    due = {r.kind: r.due_utc for r in pm.reminders.all()}
    assert due == {"schedule_meeting": EVENT + timedelta(hours=24),
                   "deadline_missed": EVENT + timedelta(hours=72)}
    assert pm.meeting_deadline_utc == datetime(2026, 3, 5, 15, 47, tzinfo=UTC)


def test_a_refused_event_stores_neither_postmortem_nor_reminders(alice):
    with pytest.raises(services.EventError) as refused:
        services.create_draft(alice, occurred_utc=EVENT, trigger="other", trigger_reason=" ")
    assert refused.value.field == "trigger_reason"
    assert Postmortem.objects.count() == 0 and Reminder.objects.count() == 0


def test_a_due_reminder_is_sent_once_with_a_stable_message_id(people):
    alice, *_ = people
    pm = event_draft(alice)
    result = reminders.sweep(now=EVENT + timedelta(hours=25))
    assert result.counts() == {"sent": 1, "skipped": 0, "failed": 0, "retry": 0}
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert message.subject == "Scarlog: Schedule the postmortem meeting by 2026-03-05 15:47 UTC"
    reminder = pm.reminders.get(kind="schedule_meeting")
    assert message.extra_headers["Message-ID"] == \
        f"<reminder-{reminder.pk}-schedule_meeting-20260303T1547@scarlog>"
    # The next sweep finds nothing more due.
    assert reminders.sweep(now=EVENT + timedelta(hours=26)).counts()["sent"] == 0
    assert len(mail.outbox) == 1


def test_reminders_that_no_longer_apply_are_skipped_with_the_reason(people):
    alice, bob, _ = people
    pm = event_draft(alice)
    meeting = meetings.schedule_meeting(
        pm, EVENT + timedelta(hours=20), alice,
        [AttendeeInput(alice, "operator"), AttendeeInput(bob, "code_owner")])
    meetings.start_meeting(meeting, alice, now=EVENT + timedelta(hours=20))
    reminders.sweep(now=EVENT + timedelta(hours=73))
    assert states() == {
        "deadline_missed": ("skipped", "The meeting was held within 72 hours."),
        "meeting_starts": ("skipped", "The meeting has already started."),
        "schedule_meeting": ("skipped", "A meeting is already scheduled."),
    }
    assert mail.outbox == []


def test_a_missed_deadline_and_the_meeting_notice_reach_every_attendee(people):
    alice, bob, carol = people
    pm = event_draft(alice)
    meetings.schedule_meeting(
        pm, EVENT + timedelta(hours=80), carol,
        [AttendeeInput(alice, "operator"), AttendeeInput(bob, "code_owner")])
    reminders.sweep(now=EVENT + timedelta(hours=79, minutes=30))
    subjects = sorted(m.subject for m in mail.outbox)
    assert subjects == ["Scarlog: Postmortem meeting at 23:47 UTC",
                        "Scarlog: Postmortem meeting deadline missed"]
    assert sorted(mail.outbox[0].to) == ["alice@example.com", "bob@example.com",
                                         "carol@example.com"]


def test_ending_an_incomplete_meeting_plans_the_reconvene_reminder(people):
    alice, bob, _ = people
    pm = event_draft(alice)
    meeting = meetings.schedule_meeting(
        pm, EVENT + timedelta(hours=20), alice,
        [AttendeeInput(alice, "operator"), AttendeeInput(bob, "code_owner")])
    meetings.start_meeting(meeting, alice, now=EVENT + timedelta(hours=20))
    outcome = meetings.end_meeting(meeting, alice, now=EVENT + timedelta(hours=20, minutes=30))
    assert "Summary" in outcome.incomplete
    reconvene = pm.reminders.get(kind="reconvene")
    assert reconvene.due_utc == EVENT + timedelta(days=4, hours=20, minutes=30)
    reminders.sweep(now=reconvene.due_utc)
    assert mail.outbox[-1].subject == "Scarlog: Reconvene the postmortem by 2026-03-10"


def test_a_finalized_postmortem_skips_what_is_left(people, alice):
    pm = fill_complete_draft(event_draft(alice))
    services.finalize(pm, alice)
    reminders.sweep(now=EVENT + timedelta(days=5))
    assert {state for state, _ in states().values()} == {"skipped"}
    assert mail.outbox == []


def test_nobody_to_tell_fails_visibly_instead_of_vanishing(alice):
    event_draft(alice)  # alice has no email address
    result = reminders.sweep(now=EVENT + timedelta(hours=25))
    assert result.counts()["failed"] == 1
    assert states()["schedule_meeting"] == (
        "failed", ("Nobody can receive it: the postmortem's author, facilitator and attendees "
                   "have no email address."))


def test_a_failing_mail_server_is_retried_then_marked_failed(people, settings):
    alice, *_ = people
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    event_draft(alice)
    now = EVENT + timedelta(hours=25)
    for attempt in range(1, reminders.MAX_ATTEMPTS + 1):
        reminders.sweep(now=now)
        reminder = Reminder.objects.get(kind="schedule_meeting")
        assert reminder.attempts == attempt
        assert "ConnectionRefusedError" in reminder.last_error
        now = reminder.due_utc
    assert reminder.state == "failed"


def test_send_due_reminders_runs_one_sweep(people, capsys, frozen_time):
    alice, *_ = people
    event_draft(alice, occurred=NOW - timedelta(hours=30))
    call_command("send_due_reminders")
    assert capsys.readouterr().out.strip() == "1 sent, 0 skipped, 0 failed, 0 retry"


class OverlappingLocmemBackend(LocmemBackend):
    """Holds each thread's first email until the other thread is sending one too, so the
    two sweeps certainly overlap, each holding a claimed reminder (no clock involved; the
    barrier's timeout only fails a sweep that never comes)."""

    both_sending = threading.Barrier(2, timeout=60)
    thread_state = threading.local()

    def send_messages(self, messages):
        if not getattr(self.thread_state, "waited", False):
            self.thread_state.waited = True
            self.both_sending.wait()
        return super().send_messages(messages)


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_send_each_reminder_once(django_user_model, settings):
    settings.EMAIL_BACKEND = "tests.test_reminders.OverlappingLocmemBackend"
    OverlappingLocmemBackend.both_sending.reset()
    owner = django_user_model.objects.create_user("owner", "owner@example.com", "pw-123456789")
    for n in range(8):
        event_draft(owner, occurred=EVENT + timedelta(minutes=n))
    results = []

    def run():
        results.append(reminders.sweep(now=EVENT + timedelta(days=4)))
        connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent = results[0].sent + results[1].sent
    assert results[0].sent and results[1].sent  # both sweeps did work
    assert sorted(sent) == sorted(set(sent))
    assert len(sent) == 16  # 8 schedule + 8 deadline reminders
    ids = [m.extra_headers["Message-ID"] for m in mail.outbox]
    assert len(ids) == 16 and len(set(ids)) == 16
