"""The event and meeting panels, the countdown everywhere a draft appears, failed reminders.

The event, meeting and Start/End forms are submitted as the draft page renders them
(django-webtest); the pending marks and scan answers are htmx posts from inputs outside any
form, so those are posted directly with the CSRF header."""
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from incidents import reminders, services
from incidents.models import Meeting, Reminder
from tests.conftest import NOW, make_user

pytestmark = pytest.mark.django_db

EVENT = datetime(2026, 3, 2, 15, 47, tzinfo=UTC)


def url(name, *args):
    return reverse(f"incidents:{name}", args=args)


@pytest.fixture
def team(alice, bob, django_user_model):
    return [alice, bob] + [make_user(name, password="pw-123456789")
                           for name in ("carol", "dave", "erin")]


def draft_form(app, pm, user, action: str, **typed):
    """The draft page's form whose action ends with `action`, with `typed` filled in
    (people by user: a select takes their id; `others` a list of users)."""
    page = app.get(url("postmortem_detail", pm.pk), user=user)
    form = next(form for form in page.forms.values()
                if form.method.lower() == "post" and form.action.endswith(action))
    for name, value in typed.items():
        if isinstance(value, list):
            form[name] = [str(person.pk) for person in value]
        else:
            form[name] = str(value.pk) if hasattr(value, "pk") else value
    return form


def test_scheduling_with_five_people_warns_and_plans_the_meeting_notice(django_app, alice, team):
    pm = services.create_draft(alice, occurred_utc=EVENT, trigger="drawdown")
    _, bob, carol, dave, erin = team
    response = draft_form(django_app, pm, alice, "/meeting/", scheduled_utc="2026-03-03 14:00",
                          facilitator=alice, operator=bob, code_owner=carol, reviewer=dave,
                          others=[erin, alice]).submit().follow()
    page = response.text
    assert "5 attendees: the meeting works with three people, not five" in page
    meeting = Meeting.objects.get()
    assert meeting.attendees.count() == 5
    assert pm.reminders.get(kind="meeting_starts").due_utc == \
        datetime(2026, 3, 3, 13, 0, tzinfo=UTC)


def test_a_meeting_without_a_code_owner_is_refused_naming_it(django_app, alice, team):
    pm = services.create_draft(alice, occurred_utc=EVENT, trigger="drawdown")
    response = draft_form(django_app, pm, alice, "/meeting/", scheduled_utc="2026-03-03 14:00",
                          facilitator=alice, operator=team[1]).submit(expect_errors=True)
    response = response.follow() if response.status_code == 302 else response
    assert "Attendees: add the code owner." in response.text
    assert not Meeting.objects.exists()


def test_starting_and_ending_an_incomplete_meeting_plans_the_reconvene(django_app, alice_client,
                                                                      alice, team):
    pm = services.create_draft(alice, occurred_utc=EVENT, trigger="drawdown")
    draft_form(django_app, pm, alice, "/meeting/", scheduled_utc="2026-03-03 14:00",
               facilitator=alice, operator=team[1], code_owner=team[2]).submit()
    meeting = Meeting.objects.get()
    draft_form(django_app, pm, alice, f"/meeting/{meeting.pk}/start/").submit()
    page = alice_client.get(url("postmortem_detail", pm.pk)).content.decode()
    assert 'class="meeting-timer" data-ends="' in page and "left</span>" in page
    answer = alice_client.post(url("pending_mark", pm.pk, "timeline"), {"pending": "1"},
                               htmx=True).content.decode()
    assert "Incomplete, pending trace review" in answer
    response = draft_form(django_app, pm, alice, f"/meeting/{meeting.pk}/end/").submit().follow()
    body = response.text
    assert "the postmortem stays a draft (pending trace review: Timeline; incomplete: " in body
    assert "Reconvene within a week" in body
    assert pm.reminders.filter(kind="reconvene", state="pending").exists()


def test_only_the_facilitator_starts_the_meeting(django_app, alice, team):
    pm = services.create_draft(alice, occurred_utc=EVENT, trigger="drawdown")
    bob = team[1]
    draft_form(django_app, pm, bob, "/meeting/", scheduled_utc="2026-03-03 14:00",
               facilitator=alice, operator=bob, code_owner=team[2]).submit()
    meeting = Meeting.objects.get()
    response = draft_form(django_app, pm, bob, f"/meeting/{meeting.pk}/start/").submit()
    assert "Only alice, the facilitator, can start the meeting." in response.follow().text
    meeting.refresh_from_db()
    assert meeting.started_utc is None


def test_correcting_the_event_moves_the_pending_reminders(django_app, alice):
    with time_machine.travel(EVENT + timedelta(hours=3), tick=False):
        pm = services.create_draft(alice, occurred_utc=EVENT, trigger="drawdown")
        draft_form(django_app, pm, alice, "/event/", occurred_utc="2026-03-02 18:00",
                   trigger="provider_outage").submit()
    pm.refresh_from_db()
    assert pm.trigger == "provider_outage"
    assert pm.reminders.get(kind="deadline_missed").due_utc == \
        datetime(2026, 3, 5, 18, 0, tzinfo=UTC)


def test_the_countdown_shows_on_the_list_and_the_dashboard_nearest_first(alice_client, alice,
                                                                         frozen_time):
    later = services.create_draft(alice, occurred_utc=NOW - timedelta(hours=1), trigger="drawdown",
                                  summary="Later deadline")
    sooner = services.create_draft(alice, occurred_utc=NOW - timedelta(hours=70),
                                   trigger="injection", summary="Sooner deadline")
    dashboard = alice_client.get(url("dashboard")).content.decode()
    assert dashboard.index("Sooner deadline") < dashboard.index("Later deadline")
    assert 'class="countdown soon"' in dashboard and 'class="countdown open"' in dashboard
    assert ">2 h 00 m left</span>" in dashboard and ">2 d 23 h left</span>" in dashboard
    listing = alice_client.get(url("postmortem_list")).content.decode()
    assert listing.count('class="countdown') == 2
    assert later.pk and sooner.pk


def test_a_failed_reminder_is_visible_on_the_dashboard(alice_client, alice):
    with time_machine.travel(EVENT + timedelta(hours=1), tick=False):
        services.create_draft(alice, occurred_utc=EVENT, trigger="drawdown", summary="Quiet one")
    reminders.sweep(now=EVENT + timedelta(hours=25))  # alice has no email address
    assert Reminder.objects.filter(state="failed").count() == 1
    page = alice_client.get(url("dashboard")).content.decode()
    assert "Reminders that failed" in page
    assert "Schedule the meeting — Nobody can receive it" in page


def test_the_reschedule_form_starts_from_the_meeting_as_scheduled(django_app, alice, team):
    # Changing only the time keeps the facilitator and every attendee in their role.
    pm = services.create_draft(alice, occurred_utc=EVENT, trigger="drawdown")
    _, bob, carol, dave, erin = team
    draft_form(django_app, pm, alice, "/meeting/", scheduled_utc="2026-03-03 14:00",
               facilitator=alice, operator=bob, code_owner=carol, reviewer=dave,
               others=[erin]).submit()
    form = draft_form(django_app, pm, alice, "/meeting/")
    assert form["scheduled_utc"].value == "2026-03-03 14:00"
    form["scheduled_utc"] = "2026-03-04 09:30"
    response = form.submit().follow()
    assert "Meeting scheduled for 2026-03-04 09:30 UTC" in response.text
    meeting = Meeting.objects.get()
    assert meeting.scheduled_utc == datetime(2026, 3, 4, 9, 30, tzinfo=UTC)
    assert meeting.facilitator == alice and meeting.sequence == 1
    assert sorted((a.role, a.user.username) for a in meeting.attendees.all()) == [
        ("code_owner", "carol"), ("operator", "bob"), ("other", "erin"), ("reviewer", "dave")]
