"""A postmortem written long after its event is retrospective
(docs/rules.md#meeting-retrospective): no reminders in the past, no "overdue by 5232 d",
the countdown says how long after the event it was written. Reminders end when their purpose ends
(docs/rules.md#reminder-kinds), and emails link to SCARLOG_SITE_URL
(docs/rules.md#reminder-site-url). The clock is time-machine's; the sweep runs as the
Celery task the beat schedule sends (incidents.tasks.sweep_reminders)."""
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from config.env import env_site_url
from incidents import services
from incidents.models import Postmortem, Reminder
from incidents.tasks import sweep_reminders
from incidents.templatetags.scarlog import meeting_deadline, written_after
from tests.conftest import fill_complete_draft, make_user

pytestmark = pytest.mark.django_db

WRITTEN = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
LAST_YEAR = datetime(2025, 1, 6, 3, 15, tzinfo=UTC)  # 14 months before WRITTEN
NEW = reverse("incidents:postmortem_create")


@pytest.fixture(autouse=True)
def locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def author(db):
    return make_user("retro-author", email="retro@example.com")


def new_form(app, user):
    page = app.get(NEW, user=user)
    return next(form for form in page.forms.values() if "occurred_utc" in form.fields)


def test_last_years_outage_is_retrospective_through_the_form(django_app, author):
    with time_machine.travel(WRITTEN, tick=False):
        form = new_form(django_app, author)
        form["occurred_utc"] = "2025-01-06 03:15"
        form["trigger"] = "provider_outage"
        page = form.submit().follow()
        pm = Postmortem.objects.get()
        assert pm.is_retrospective
        assert list(pm.reminders.all()) == []
        countdown = page.html.select_one(".countdown")
        assert countdown.get_text() == "retrospective: written 14 months after the event"
        assert "overdue" not in page.text and not countdown.has_attr("data-deadline")
        listed = django_app.get(reverse("incidents:postmortem_list"), user=author)
        assert "written 14 months after the event" in listed.text
        assert "overdue by" not in listed.text


def test_a_recent_event_is_not_retrospective_and_plans_its_reminders(author):
    with time_machine.travel(WRITTEN, tick=False):
        pm = services.create_draft(author, occurred_utc=WRITTEN - timedelta(hours=71),
                                   trigger="provider_outage")
    assert not pm.is_retrospective
    assert sorted(pm.reminders.values_list("kind", flat=True)) == [
        "deadline_missed", "schedule_meeting"]
    assert "left" in meeting_deadline(pm, now=WRITTEN)


def test_correcting_the_event_to_an_old_time_skips_its_pending_reminders(author):
    with time_machine.travel(WRITTEN, tick=False):
        pm = services.create_draft(author, occurred_utc=WRITTEN - timedelta(hours=1),
                                   trigger="provider_outage")
        services.set_event(pm, LAST_YEAR, "provider_outage")
    reasons = set(pm.reminders.values_list("state", "skip_reason"))
    reason = ("The postmortem is retrospective: it was started more than 72 hours after "
              "the event.")
    assert reasons == {("skipped", reason)}
    with time_machine.travel(WRITTEN + timedelta(days=3), tick=False):
        assert sweep_reminders.apply().get() == {"sent": 0, "skipped": 0, "failed": 0,
                                                 "retry": 0}
    assert mail.outbox == []


@pytest.mark.parametrize("days, text", [
    (3, "3 days"), (45, "45 days"), (426, "14 months"), (1100, "3 years")])
def test_how_long_after_the_event_reads_in_the_largest_unit(days, text):
    assert written_after(timedelta(days=days, hours=5)) == text


def test_finalizing_skips_the_pending_reminders_with_the_reason(author, caplog):
    with time_machine.travel(WRITTEN, tick=False):
        pm = fill_complete_draft(services.create_draft(
            author, occurred_utc=WRITTEN - timedelta(hours=2), trigger="provider_outage"))
        services.finalize(pm, author)
    rows = list(Reminder.objects.filter(postmortem=pm))
    assert len(rows) == 2
    assert {(row.state, row.skip_reason) for row in rows} == {
        ("skipped", "The postmortem was finalized at 2026-03-09 12:00 UTC.")}
    assert sum("skipped: The postmortem was finalized" in r.getMessage()
               for r in caplog.records) == 2
    with time_machine.travel(WRITTEN + timedelta(days=4), tick=False):
        assert sweep_reminders.apply().get()["sent"] == 0
    assert mail.outbox == []


def test_reminder_links_use_the_configured_site_url(author, settings):
    settings.SCARLOG_SITE_URL = "https://scarlog.example.org"
    with time_machine.travel(WRITTEN, tick=False):
        pm = services.create_draft(author, occurred_utc=WRITTEN - timedelta(hours=1),
                                   trigger="provider_outage")
    with time_machine.travel(WRITTEN + timedelta(hours=24), tick=False):
        assert sweep_reminders.apply().get()["sent"] == 1
    [message] = mail.outbox
    assert f"https://scarlog.example.org/postmortems/{pm.pk}/" in message.body
    assert "127.0.0.1" not in message.body


def test_without_a_site_url_the_email_says_so_and_the_deploy_check_warns(author, settings):
    settings.SCARLOG_SITE_URL = ""
    with time_machine.travel(WRITTEN, tick=False):
        pm = services.create_draft(author, occurred_utc=WRITTEN - timedelta(hours=1),
                                   trigger="provider_outage")
    with time_machine.travel(WRITTEN + timedelta(hours=24), tick=False):
        sweep_reminders.apply().get()
    [message] = mail.outbox
    assert f"open /postmortems/{pm.pk}/ in Scarlog" in message.body
    assert "SCARLOG_SITE_URL is not set" in message.body and "http" not in message.body
    warnings = [w.id for w in run_checks(include_deployment_checks=True)]
    assert "scarlog.W001" in warnings
    settings.SCARLOG_SITE_URL = "https://scarlog.example.org"
    assert "scarlog.W001" not in [w.id for w in run_checks(include_deployment_checks=True)]


@pytest.mark.parametrize("value", [
    "ftp://scarlog.example.org", "scarlog.example.org", "https://", "javascript:alert(1)",
    "https://scarlog.example.org/?next=x", "https://scar log.example.org"])
def test_a_site_url_that_is_not_http_is_refused_at_startup(monkeypatch, value):
    monkeypatch.setenv("SCARLOG_SITE_URL", value)
    with pytest.raises(ImproperlyConfigured, match="SCARLOG_SITE_URL="):
        env_site_url("SCARLOG_SITE_URL", "")


def test_a_site_url_is_kept_without_its_trailing_slash(monkeypatch):
    monkeypatch.setenv("SCARLOG_SITE_URL", "https://scarlog.example.org/")
    assert env_site_url("SCARLOG_SITE_URL", "") == "https://scarlog.example.org"
