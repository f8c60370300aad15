"""What an outside tester of issue 19 found, read from the pages as django-webtest gets them:
a summary with no spaces on the dashboard, counts of users, times in the Markdown export and
of memory evidence, who may own an action item, /favicon.ico, and the demo's site URL."""
import html
import re
from datetime import date
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core import roles
from core.site_url import site_url_of_addrport, use_addrport_unless_configured
from incidents import action_items, markdown_export, services
from incidents.models import ActionItem, Postmortem
from tests.conftest import make_user
from tests.test_long_form import fill_sections, long_form_draft

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_time")]

NO_SPACES = "x" * 2000  # the summary column's limit, one "word"


def page_text(app, path, user) -> str:
    return html.unescape(app.get(path, user=user).text)


def post_form(app, pm, user, action: str):
    page = app.get(reverse("incidents:postmortem_detail", args=[pm.pk]), user=user)
    return next(form for form in page.forms.values()
                if form.method.lower() == "post" and form.action.endswith(action))


# --- 1. A summary with no spaces on the dashboard -------------------------------------------

def test_the_dashboard_shows_a_bounded_head_of_a_summary_without_spaces(django_app, alice):
    draft = services.create_draft(alice)
    draft.summary = NO_SPACES
    draft.save()
    action_items.add_item(draft, "rule", "Cap the summary", alice, date(2026, 3, 20), alice)
    with CaptureQueriesContext(connection) as captured:
        text = page_text(django_app, "/", alice)
    longest = max(len(run) for run in re.findall(r"x+", text))
    assert longest <= 120, f"the dashboard shows {longest} characters of the summary"
    # The summary is read only as far as its head, never whole.
    reads = [q["sql"] for q in captured.captured_queries if '"summary"' in q["sql"]]
    assert reads and all("LEFT(" in sql.upper() or "SUBSTRING" in sql.upper() for sql in reads), \
        reads


def test_a_title_of_a_summary_without_spaces_is_bounded(alice):
    draft = services.create_draft(alice)
    draft.summary = NO_SPACES
    assert len(draft.title) <= 120 and draft.title.endswith("…")


# --- 5. Counts of users ---------------------------------------------------------------------

def test_users_affected_shows_thousands_separators_on_the_final_record_and_export(
        django_app, alice):
    pm = fill_sections(long_form_draft(alice))
    pm.impact_users = 1200
    pm.save()
    pm = services.finalize(pm, alice)
    text = page_text(django_app, reverse("incidents:postmortem_detail", args=[pm.pk]), alice)
    assert "Users affected: 1,200" in text and "1200" not in text
    assert "- Users affected: 1,200" in markdown_export.postmortem_markdown(
        Postmortem.objects.get(pk=pm.pk))


# --- 6. Amendment dates in the Markdown export ----------------------------------------------

def test_the_markdown_export_writes_amendment_dates_to_the_minute(final_postmortem, alice):
    services.add_amendment(final_postmortem, alice, "A later finding.")
    text = markdown_export.postmortem_markdown(Postmortem.objects.get(pk=final_postmortem.pk))
    assert "- Date: 2026-03-09 12:00 UTC" in text
    assert "12:00:00 UTC" not in text.split("## Amendments")[1]


# --- 7. Who may own an action item ----------------------------------------------------------

def test_the_owner_list_offers_only_editors_and_admins_who_can_sign_in(
        django_app, alice, final_postmortem):
    make_user("vera", role=roles.VIEWER, password="vera-password-1")
    make_user("ada", role=roles.ADMIN, password="ada-password-1")
    make_user("gone", password="gone-password-1", is_active=False)
    call_command("create_api_token", "CI gate", "--user", "ci", "--create-user", "editor",
                 stdout=StringIO())
    form = post_form(django_app, final_postmortem, alice, "/action-items/")
    offered = {text for value, _, text in form["owner"].options if value}
    assert offered == {"ada", "alice"}


@pytest.mark.parametrize("who", ["ci", "vera"])
def test_a_posted_owner_outside_the_list_is_refused_naming_owner(
        django_app, alice, final_postmortem, who):
    if who == "ci":
        call_command("create_api_token", "CI gate", "--user", "ci", "--create-user", "editor",
                     stdout=StringIO())
    else:
        make_user("vera", role=roles.VIEWER, password="vera-password-1")
    outsider = get_user_model().objects.get(username=who)
    form = post_form(django_app, final_postmortem, alice, "/action-items/")
    form["kind"], form["description"], form["due_date"] = "rule", "Cap size", "2026-04-01"
    form["owner"].force_value(str(outsider.pk))  # a tampered value no option offers
    shown = html.unescape(form.submit().follow().text)
    assert f"Owner: {who} cannot own an action item" in shown
    assert not ActionItem.objects.exists()


# --- 8. Memory evidence in the future, and how its time shows -------------------------------

def memory_item(pm, alice):
    return action_items.add_item(pm, "memory", "Note the limit", alice, date(2026, 4, 1), alice)


def ship_memory(app, pm, alice, item, typed: str):
    form = post_form(app, pm, alice, f"/action-items/{item.pk}/ship/")
    form["memory_file"], form["last_modified_utc"] = "memory/limits.md", typed
    return html.unescape(form.submit().follow().text)


@pytest.mark.parametrize("typed", ["2099-12-31 23:59", "2026-03-09 12:06"])
def test_memory_evidence_in_the_future_is_refused_naming_the_field(
        django_app, alice, final_postmortem, typed):
    item = memory_item(final_postmortem, alice)
    shown = ship_memory(django_app, final_postmortem, alice, item, typed)
    assert re.search(r"last modified \(UTC\) \S+ \S+ UTC is in the future", shown), \
        re.findall(r"class=\"message[^<]*", shown)
    item.refresh_from_db()
    assert item.status == "open" and not item.evidence


def test_memory_evidence_a_few_minutes_fast_is_kept_and_shown_as_a_utc_time(
        django_app, alice, final_postmortem):
    item = memory_item(final_postmortem, alice)
    shown = ship_memory(django_app, final_postmortem, alice, item, "2026-03-09T12:04:00Z")
    item.refresh_from_db()
    assert item.status == "shipped"
    assert "2026-03-09 12:04 UTC" in shown and "2026-03-09T12:04:00+00:00" not in shown


# --- 4. /favicon.ico ------------------------------------------------------------------------

def test_favicon_ico_answers_without_login(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("favicon.svg")


def test_the_admin_pages_name_the_icon(django_app, alice):
    admin = make_user("ada", role=roles.ADMIN, password="ada-password-1")
    text = django_app.get("/admin/", user=admin).text
    assert 'rel="icon"' in text and "favicon.svg" in text


# --- 9. The demo's site URL -----------------------------------------------------------------

@pytest.mark.parametrize("addrport, url", [
    ("127.0.0.1:8119", "http://127.0.0.1:8119"), ("8119", "http://127.0.0.1:8119"),
    ("0.0.0.0:8119", "http://127.0.0.1:8119"), ("localhost:9000", "http://localhost:9000"),
    ("[::1]:8119", "http://[::1]:8119"),
])
def test_the_site_url_of_an_addrport(addrport, url):
    assert site_url_of_addrport(addrport) == url


@pytest.mark.parametrize("bad", ["", "host:", ":", "127.0.0.1:99999", "a b:80", "x" * 300])
def test_a_bad_addrport_is_refused_naming_it(bad):
    from django.core.management import CommandError
    with pytest.raises(CommandError, match="addrport"):
        site_url_of_addrport(bad)


def test_the_demo_links_to_its_own_port_unless_the_site_url_is_set(settings, monkeypatch):
    monkeypatch.delenv("SCARLOG_SITE_URL", raising=False)
    settings.SCARLOG_SITE_URL = "http://127.0.0.1:8000"
    assert use_addrport_unless_configured("127.0.0.1:8119") == "http://127.0.0.1:8119"
    assert settings.SCARLOG_SITE_URL == "http://127.0.0.1:8119"
    monkeypatch.setenv("SCARLOG_SITE_URL", "https://scarlog.example.com")
    settings.SCARLOG_SITE_URL = "https://scarlog.example.com"
    assert use_addrport_unless_configured("127.0.0.1:8119") == "https://scarlog.example.com"


def test_manage_py_demo_on_port_8119_links_to_8119(settings, monkeypatch, root_patterns):
    from core.site_url import site_link
    monkeypatch.delenv("SCARLOG_SITE_URL", raising=False)
    call_command("demo", "127.0.0.1:8119", "--no-serve", stdout=StringIO())
    assert site_link("/postmortems/") == "http://127.0.0.1:8119/postmortems/"
