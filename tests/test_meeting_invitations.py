"""Meeting invitations (docs/rules.md#meeting-invitation): each sent one is parsed with
icalendar, the meeting is scheduled, rescheduled and cancelled through the forms the draft
page renders (django-webtest), the reminder sweep sends from the PostgreSQL outbox, and the
panel's .ics download is the calendar the last email carried. The real Celery worker's
run is in tests/test_reminder_worker.py style at the end."""
import email
import re
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from icalendar import Calendar

from incidents import invitations, meetings, reminders, services
from incidents.meetings import AttendeeInput
from incidents.models import Meeting, Reminder
from tests.conftest import NOW, CsrfClient, make_user

SITE = "https://scarlog.example.com"
EVENT = NOW - timedelta(hours=10)


def url(name, *args):
    return reverse(f"incidents:{name}", args=args)


@pytest.fixture
def site(settings):
    settings.SCARLOG_SITE_URL = SITE
    return SITE


@pytest.fixture
def team(alice, bob):
    """alice (facilitator), bob (operator), carol (code owner) with email addresses; dave
    (reviewer) without one."""
    alice.email, bob.email = "alice@example.com", "bob@example.com"
    alice.save()
    bob.save()
    carol = make_user("carol", email="carol@example.com", password="pw-123456789")
    dave = make_user("dave", password="pw-123456789")
    return alice, bob, carol, dave


def page_form(app, pm, user, action: str, **typed):
    """The draft page's POST form whose action ends with `action`, `typed` filled in."""
    page = app.get(url("postmortem_detail", pm.pk), user=user)
    form = next(form for form in page.forms.values()
                if form.method.lower() == "post" and form.action.endswith(action))
    for name, value in typed.items():
        form[name] = str(value.pk) if hasattr(value, "pk") else value
    return form


def calendar_parts(message):
    """(text/calendar alternative, .ics attachment) of a sent message, as MIME parts."""
    parsed = email.message_from_bytes(message.message().as_bytes())
    calendars = [part for part in parsed.walk() if part.get_content_type() == "text/calendar"]
    alternative = [p for p in calendars if p.get_content_disposition() is None]
    attached = [p for p in calendars if p.get_content_disposition() == "attachment"]
    assert len(alternative) == 1 and len(attached) == 1
    return alternative[0], attached[0]


def parsed_invitation(message) -> tuple[Calendar, str]:
    """The invitation of a sent message parsed with icalendar, and its part's method."""
    alternative, attached = calendar_parts(message)
    body = alternative.get_payload(decode=True)
    assert attached.get_payload(decode=True) == body
    assert attached.get_filename().endswith(".ics")
    return Calendar.from_ical(body), alternative.get_param("method")


def event_of(cal: Calendar):
    [event] = cal.walk("VEVENT")
    return event


def sweep_sent(now) -> list:
    """The messages one sweep at `now` sent."""
    before = len(mail.outbox)
    reminders.sweep(now=now)
    return mail.outbox[before:]


@pytest.mark.django_db
def test_schedule_reschedule_and_cancel_through_the_page_each_send_one_invitation(
        django_app, frozen_time, site, team):
    alice, bob, carol, dave = team
    pm = services.create_draft(alice, occurred_utc=EVENT, trigger="drawdown")
    draft_url = SITE + url("postmortem_detail", pm.pk)

    page = page_form(django_app, pm, alice, "/meeting/", scheduled_utc="2026-03-10 09:00",
                     facilitator=alice, operator=bob, code_owner=carol,
                     reviewer=dave).submit().follow()
    assert "attendees get a calendar invitation" in page.text
    assert "No invitation for dave: no email address." in page.text
    [first] = sweep_sent(NOW)
    assert sorted(first.to) == ["alice@example.com", "bob@example.com", "carol@example.com"]
    cal, part_method = parsed_invitation(first)
    event = event_of(cal)
    uid = str(event["UID"])
    assert part_method == "REQUEST" and str(cal["METHOD"]) == "REQUEST"
    assert uid == f"meeting-{Meeting.objects.get().pk}.postmortem-{pm.pk}@scarlog.example.com"
    assert event["SEQUENCE"] == 0
    assert event.decoded("DTSTART") == datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(minutes=30)
    ics_text = invitations.ics(Meeting.objects.get()).decode()
    assert "DTSTART:20260310T090000Z" in ics_text and "DTEND:20260310T093000Z" in ics_text
    assert event.decoded("DTSTAMP") == NOW
    assert str(event["ORGANIZER"]) == "mailto:alice@example.com"
    roles = {str(a): a.params["ROLE"] for a in event["ATTENDEE"]}
    assert roles == {"mailto:alice@example.com": "CHAIR",
                     "mailto:bob@example.com": "REQ-PARTICIPANT",
                     "mailto:carol@example.com": "REQ-PARTICIPANT"}  # dave: no address
    assert draft_url in str(event["DESCRIPTION"]) and str(event["URL"]) == draft_url
    assert str(event["STATUS"]) == "CONFIRMED"
    assert sweep_sent(NOW + timedelta(minutes=1)) == []  # sent once

    frozen_time.shift(timedelta(minutes=5))
    page_form(django_app, pm, alice, "/meeting/", scheduled_utc="2026-03-10 10:00",
              facilitator=alice, operator=bob, code_owner=carol).submit()
    [moved] = sweep_sent(NOW + timedelta(minutes=5))
    cal, part_method = parsed_invitation(moved)
    event = event_of(cal)
    assert part_method == "REQUEST" and str(event["UID"]) == uid
    assert event["SEQUENCE"] == 1
    assert event.decoded("DTSTART") == datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
    assert event.decoded("DTSTAMP") == NOW + timedelta(minutes=5)
    assert moved.subject.startswith("Scarlog: Moved: postmortem meeting 2026-03-10 10:00 UTC")

    # The panel's download is the calendar the last email carried.
    page = django_app.get(url("postmortem_detail", pm.pk), user=alice)
    download = page.click(description="Download the invitation")
    assert download.content_type == "text/calendar"
    assert 'method=REQUEST' in download.headers["Content-Type"]
    assert "attachment" in download.headers["Content-Disposition"]
    assert Calendar.from_ical(download.body).to_ical() == cal.to_ical()

    # Cancelling needs the confirmation.
    refused = page_form(django_app, pm, alice, "/cancel/").submit().follow()
    assert "Cancel meeting: tick “Yes, cancel it” to confirm." in refused.text
    assert Meeting.objects.get().cancelled_utc is None
    frozen_time.shift(timedelta(minutes=5))
    page = page_form(django_app, pm, alice, "/cancel/", confirm=True).submit().follow()
    assert "Meeting cancelled" in page.text and "cancelled" in page.text
    [cancel] = sweep_sent(NOW + timedelta(minutes=10))
    cal, part_method = parsed_invitation(cancel)
    event = event_of(cal)
    assert part_method == "CANCEL" and str(cal["METHOD"]) == "CANCEL"
    assert str(event["UID"]) == uid and event["SEQUENCE"] == 2
    assert str(event["STATUS"]) == "CANCELLED"
    assert sorted(cancel.to) == ["alice@example.com", "bob@example.com", "carol@example.com"]
    download = page.click(description="Download the cancellation")
    assert "method=CANCEL" in download.headers["Content-Type"]
    assert Calendar.from_ical(download.body).to_ical() == cal.to_ical()
    assert pm.reminders.get(kind="meeting_starts").state == "skipped"
    assert sweep_sent(NOW + timedelta(minutes=11)) == []
    sequences = list(Reminder.objects.filter(kind="meeting_invitation")
                     .order_by("id").values_list("sequence", "state"))
    assert sequences == [(0, "sent"), (1, "sent"), (2, "sent")]


@pytest.mark.django_db
def test_someone_taken_off_a_rescheduled_meeting_gets_a_cancel_of_their_own(
        django_app, frozen_time, site, team):
    alice, bob, carol, _ = team
    erin = make_user("erin", email="erin@example.com", password="pw-123456789")
    pm = services.create_draft(alice, occurred_utc=EVENT, trigger="drawdown")
    page_form(django_app, pm, alice, "/meeting/", scheduled_utc="2026-03-10 09:00",
              facilitator=alice, operator=bob, code_owner=carol, reviewer=erin).submit()
    [first] = sweep_sent(NOW)
    assert "erin@example.com" in first.to
    uid = str(event_of(parsed_invitation(first)[0])["UID"])

    frozen_time.shift(timedelta(minutes=5))
    page_form(django_app, pm, alice, "/meeting/", scheduled_utc="2026-03-10 10:00",
              facilitator=alice, operator=bob, code_owner=carol, reviewer="").submit()
    dropped, moved = sweep_sent(NOW + timedelta(minutes=5))
    assert dropped.to == ["erin@example.com"]
    assert dropped.subject == "Scarlog: No longer invited: postmortem meeting 2026-03-10 10:00 UTC"
    cal, part_method = parsed_invitation(dropped)
    event = event_of(cal)
    assert part_method == "CANCEL" and str(cal["METHOD"]) == "CANCEL"
    assert str(event["UID"]) == uid and event["SEQUENCE"] == 1
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["ATTENDEE"]) == "mailto:erin@example.com"  # only her entry goes
    assert dropped.extra_headers["Message-ID"] != moved.extra_headers["Message-ID"]
    assert sorted(moved.to) == ["alice@example.com", "bob@example.com", "carol@example.com"]
    assert parsed_invitation(moved)[1] == "REQUEST"

    # Moving it again tells erin nothing more; the others get the new time.
    frozen_time.shift(timedelta(minutes=5))
    page_form(django_app, pm, alice, "/meeting/", scheduled_utc="2026-03-10 11:00",
              facilitator=alice, operator=bob, code_owner=carol).submit()
    [again] = sweep_sent(NOW + timedelta(minutes=10))
    assert "erin@example.com" not in again.to and parsed_invitation(again)[1] == "REQUEST"


@pytest.mark.django_db
def test_a_cancel_reaches_whoever_was_taken_off_before_the_sweep(frozen_time, site, team):
    alice, bob, carol, _ = team
    erin = make_user("erin", email="erin@example.com", password="pw-123456789")
    pm = services.create_draft(alice, occurred_utc=EVENT, trigger="drawdown")
    people = [AttendeeInput(bob, "operator"), AttendeeInput(carol, "code_owner")]
    meetings.schedule_meeting(pm, NOW + timedelta(hours=20), alice,
                              [*people, AttendeeInput(erin, "reviewer")])
    sweep_sent(NOW)
    meeting = meetings.schedule_meeting(pm, NOW + timedelta(hours=21), alice, people)
    meetings.cancel_meeting(meeting, alice)
    [cancel] = sweep_sent(NOW)  # the reschedule was superseded: one CANCEL to all four
    assert parsed_invitation(cancel)[1] == "CANCEL"
    assert sorted(cancel.to) == ["alice@example.com", "bob@example.com", "carol@example.com",
                                 "erin@example.com"]


@pytest.mark.django_db
def test_a_change_before_the_sweep_sends_only_the_newest_invitation(frozen_time, site, team):
    alice, bob, carol, _ = team
    pm = services.create_draft(alice, occurred_utc=EVENT, trigger="drawdown")
    people = [AttendeeInput(bob, "operator"), AttendeeInput(carol, "code_owner")]
    meetings.schedule_meeting(pm, NOW + timedelta(hours=20), alice, people)
    meeting = meetings.schedule_meeting(pm, NOW + timedelta(hours=21), alice, people)
    [sent] = sweep_sent(NOW)
    assert event_of(parsed_invitation(sent)[0])["SEQUENCE"] == 1 == meeting.sequence
    first = Reminder.objects.get(kind="meeting_invitation", sequence=0)
    assert first.state == "skipped" and first.skip_reason.startswith("Superseded")


@pytest.mark.django_db
def test_nobody_with_an_address_skips_the_invitation_and_the_panel_says_so(
        django_app, frozen_time, site, alice, bob):
    pm = services.create_draft(alice, occurred_utc=EVENT, trigger="drawdown")
    meetings.schedule_meeting(pm, NOW + timedelta(hours=20), alice,
                              [AttendeeInput(alice, "operator"), AttendeeInput(bob, "code_owner")])
    assert sweep_sent(NOW) == []
    row = Reminder.objects.get(kind="meeting_invitation")
    assert row.state == "skipped" and "no email address" in row.skip_reason
    page = django_app.get(url("postmortem_detail", pm.pk), user=alice).text
    assert "No invitation for alice, bob: no email address." in page
    # The download still works: the organizer falls back to the sending address.
    cal = Calendar.from_ical(django_app.get(
        url("meeting_invitation", pm.pk, row.meeting_id), user=alice).body)
    assert str(event_of(cal)["ORGANIZER"]) == "mailto:scarlog@localhost"
    assert event_of(cal)["ORGANIZER"].params["CN"] == "alice"


@pytest.mark.django_db
def test_the_download_needs_a_sign_in_and_cancelling_needs_an_editor(
        django_app, frozen_time, site, team):
    alice, bob, carol, _ = team
    viewer = make_user("vera", role="viewer", password="pw-123456789")
    pm = services.create_draft(alice, occurred_utc=EVENT, trigger="drawdown")
    meeting = meetings.schedule_meeting(
        pm, NOW + timedelta(hours=20), alice,
        [AttendeeInput(bob, "operator"), AttendeeInput(carol, "code_owner")])
    ics_url = url("meeting_invitation", pm.pk, meeting.pk)
    anonymous = django_app.get(ics_url)
    assert anonymous.status_code == 302 and "/login" in anonymous.location
    assert django_app.get(ics_url, user=viewer).content_type == "text/calendar"
    page = django_app.get(url("postmortem_detail", pm.pk), user=viewer)
    assert "Cancel meeting" not in page.text
    cancel_url = url("meeting_change", pm.pk, meeting.pk, "cancel")
    as_viewer = CsrfClient()
    as_viewer.force_login(viewer)
    assert as_viewer.post(cancel_url, {"confirm": "yes"}).status_code == 403  # a viewer
    without_token = Client(enforce_csrf_checks=True)
    without_token.force_login(alice)
    assert without_token.post(cancel_url, {"confirm": "yes"}).status_code == 403  # no CSRF
    meeting.refresh_from_db()
    assert meeting.cancelled_utc is None and meeting.sequence == 0


@pytest.mark.django_db
def test_cancel_and_start_refuse_what_cannot_be(frozen_time, site, team):
    alice, bob, carol, _ = team
    pm = services.create_draft(alice, occurred_utc=EVENT, trigger="drawdown")
    people = [AttendeeInput(bob, "operator"), AttendeeInput(carol, "code_owner")]
    started = meetings.schedule_meeting(pm, NOW, alice, people)
    meetings.start_meeting(started, alice)
    with pytest.raises(meetings.MeetingError, match="end it instead") as refused:
        meetings.cancel_meeting(started, alice)
    assert refused.value.field == "meeting"
    meetings.end_meeting(started, alice)
    # A reconvened sitting is another meeting: another UID, its own sequence from 0.
    again = meetings.schedule_meeting(pm, NOW + timedelta(days=2), alice, people)
    assert again.pk != started.pk and again.sequence == 0
    assert invitations.uid(again) != invitations.uid(started)
    meetings.cancel_meeting(again, bob)
    with pytest.raises(meetings.MeetingError, match="was cancelled"):
        meetings.cancel_meeting(again, alice)
    with pytest.raises(meetings.MeetingError, match="cancelled; schedule a new one"):
        meetings.start_meeting(again, alice)
    # Scheduling after a cancel makes a new meeting rather than reviving the cancelled one.
    fresh = meetings.schedule_meeting(pm, NOW + timedelta(days=3), alice, people)
    assert fresh.pk not in (again.pk, started.pk) and fresh.sequence == 0
    assert meetings.current_meeting(pm) == fresh


@pytest.mark.django_db(transaction=True)
def test_the_runtime_role_cannot_lower_a_sequence_or_revive_a_cancelled_meeting(
        alice, bob, runtime_conn):
    pm = services.create_draft(alice, occurred_utc=datetime.now(UTC), trigger="drawdown")
    people = [AttendeeInput(alice, "operator"), AttendeeInput(bob, "code_owner")]
    meeting = meetings.schedule_meeting(pm, datetime.now(UTC) + timedelta(hours=5), alice,
                                        people)
    meetings.schedule_meeting(pm, datetime.now(UTC) + timedelta(hours=6), alice, people)
    meetings.cancel_meeting(meeting, alice)
    for attempt in (f"UPDATE incidents_meeting SET sequence = 0 WHERE id = {meeting.pk}",
                    f"UPDATE incidents_meeting SET cancelled_utc = NULL WHERE id = {meeting.pk}"):
        with pytest.raises(psycopg.errors.RestrictViolation):
            runtime_conn.execute(attempt)
    meeting.refresh_from_db()
    assert meeting.sequence == 2 and meeting.cancelled_utc is not None
    runtime_conn.execute(f"UPDATE incidents_meeting SET sequence = 3 WHERE id = {meeting.pk}")


def worker_invitations(mail_dir) -> list:
    """Every message the worker's file backend wrote, parsed, in sending order."""
    messages = []
    for path in sorted(mail_dir.glob("*.log"), key=lambda p: p.stat().st_mtime_ns):
        for chunk in re.split(r"^-{79}$", path.read_text(), flags=re.MULTILINE):
            if chunk.strip():
                messages.append(email.message_from_string(chunk.lstrip("\n")))
    return messages


def parsed_from_worker(message) -> tuple[Calendar, str]:
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"
              and p.get_content_disposition() is None]
    return Calendar.from_ical(part.get_payload(decode=True)), part.get_param("method")


@pytest.mark.django_db(transaction=True)
def test_the_worker_sends_each_invitation_once_with_a_rising_sequence(alice, bob, tmp_path):
    from config.celery import app
    from incidents.tasks import sweep_reminders
    from tests.test_reminder_worker import WAIT_GUARD_SECONDS, start_worker, stop

    alice.email, bob.email = "alice@example.com", "bob@example.com"
    alice.save()
    bob.save()
    now = datetime.now(UTC)
    pm = services.create_draft(alice, occurred_utc=now - timedelta(hours=2), trigger="drawdown")
    people = [AttendeeInput(alice, "operator"), AttendeeInput(bob, "code_owner")]
    app.control.purge()
    worker = start_worker(tmp_path, "django.core.mail.backends.filebased.EmailBackend",
                          tmp_path / "worker.out")
    counts = []
    try:
        meeting = meetings.schedule_meeting(pm, now + timedelta(hours=20), alice, people)
        for _ in range(2):  # the sending task runs twice: the invitation goes once
            counts.append(sweep_reminders.delay().get(timeout=WAIT_GUARD_SECONDS)["sent"])
        meetings.schedule_meeting(pm, now + timedelta(hours=22), alice, people)
        counts.append(sweep_reminders.delay().get(timeout=WAIT_GUARD_SECONDS)["sent"])
        meetings.cancel_meeting(meeting, bob)
        for _ in range(2):
            counts.append(sweep_reminders.delay().get(timeout=WAIT_GUARD_SECONDS)["sent"])
    finally:
        stop(worker)
    assert counts == [1, 0, 1, 1, 0]
    sent = worker_invitations(tmp_path)
    assert len(sent) == 3
    parsed = [parsed_from_worker(message) for message in sent]
    events = [event_of(cal) for cal, _ in parsed]
    assert [part_method for _, part_method in parsed] == ["REQUEST", "REQUEST", "CANCEL"]
    assert [str(cal["METHOD"]) for cal, _ in parsed] == ["REQUEST", "REQUEST", "CANCEL"]
    assert len({str(event["UID"]) for event in events}) == 1
    sequences = [event["SEQUENCE"] for event in events]
    assert sequences == sorted(set(sequences)) == [0, 1, 2]
    assert str(events[2]["STATUS"]) == "CANCELLED"
    for message, event in zip(sent, events, strict=True):
        assert sorted(message["To"].split(", ")) == ["alice@example.com", "bob@example.com"]
        assert event.decoded("DTSTART").utcoffset() == timedelta(0)
        assert str(event["ORGANIZER"]) == "mailto:alice@example.com"
        assert url("postmortem_detail", pm.pk) in str(event["DESCRIPTION"])
    assert len({message["Message-ID"] for message in sent}) == 3
