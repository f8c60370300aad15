"""Every form a page renders is tested by submitting THE FORM THE PAGE RENDERS (django-webtest),
with the values it renders plus what a person types; never by a hand-built POST.

How coverage is kept honest: `rendered_site` crawls every page reachable by links as an
admin (tests/rendered_forms_site.py) and collects each <form method=post> by (page URL name,
action URL name). test_every_rendered_form_has_a_webtest_test compares that set with
COVERED below, in both directions, and test_every_url_is_a_crawled_page_or_a_listed_endpoint
checks the crawl reached every named URL of the URLconf outside Django's admin, except the
endpoints in NOT_PAGES, each with why it is not a page.

Direct requests that stay direct, and why (docs/rules.md#input-rendered-forms):
- JSON APIs driven by other programs, not by a page: /api/events, /api/gate/<domain>,
  /api/runbooks/<key>/go-no-go (tests/test_event_api.py, test_gate_domain.py, ...).
- htmx endpoints driven by JS from inputs outside any <form> (autosave of each field,
  timeline/factor/reference rows, the failure-mode scan, pending marks, facilitator review,
  "no change; documented and deferred", the cost preview, "Add resource row"): the page
  renders no form for them, so there is no rendered form to submit. Their tests post the
  input with the X-CSRFToken header as base.html's hx-headers does (tests.conftest.CsrfClient),
  and tests/test_browser_*.py drive them in Chromium.
- Attacks, which by definition are not the rendered form: CSRF and role probes
  (tests/test_security.py, test_costlog_pages.py::test_posts_without_a_csrf_token_are_refused),
  anonymous posts (test_postmortem_pages, test_action_item_pages), Hypothesis-generated
  bodies (test_bad_input.py), login brute force (test_login_lockout.py), and tampered link
  posts (test_knowledge_pages.py::test_link_refusals_name_the_field).
- Django's admin (the gate override in test_action_items.py): Django's own forms, outside
  the crawl.
"""
from datetime import UTC, date, datetime
from urllib.parse import urljoin

import pytest
from django.contrib.auth.models import Group
from webtest.forms import Form, Select

from costlog.models import MishapEntry, ResourceRate
from incidents.models import ActionItem, Amendment, Meeting, Postmortem, PostmortemDomain
from knowledge.models import KnowledgeEntry
from runbooks.models import ChecklistRun, Runbook
from tests.rendered_forms_site import (
    RenderedForm,
    build_site,
    crawl,
    every_url_name,
    rendered_forms,
    url_name,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_time")]

UTC_FORMATS = [  # every UTC time input reads each of these (docs/rules.md#input-utc-times)
    ("2026-03-08 19:00", datetime(2026, 3, 8, 19, 0, tzinfo=UTC)),
    ("2026-03-08T19:00", datetime(2026, 3, 8, 19, 0, tzinfo=UTC)),
    ("2026-03-08T19:00:30", datetime(2026, 3, 8, 19, 0, 30, tzinfo=UTC)),
    ("2026-03-08T19:00:00Z", datetime(2026, 3, 8, 19, 0, tzinfo=UTC)),
    ("2026-03-08T21:00:00+02:00", datetime(2026, 3, 8, 19, 0, tzinfo=UTC)),
    ("2026-03-08T14:00-05:00", datetime(2026, 3, 8, 19, 0, tzinfo=UTC)),
]
FUTURE_UTC_FORMATS = [(text.replace("03-08", "03-10"), moment.replace(day=10))
                      for text, moment in UTC_FORMATS]

# Named URLs that are not HTML pages a person opens, so the crawl does not reach them.
NOT_PAGES = {
    "api_events": "JSON API for monitoring systems (token)",
    "api_gate": "JSON API for CI (token)",
    "api_go_no_go": "JSON API for agents (token or session)",
    "mcp": "the MCP server for coding agents over HTTP (token; tests/test_mcp.py)",
    "incidents:live_poll": "JSON poll of an open draft, driven by static/js/live.js "
                           "(tests/test_live.py, test_browser_live.py)",
    "incidents:live_leave": "a page's leave beacon on pagehide, sent by static/js/live.js",
    "incidents:live_next_field": "htmx: the facilitator's Next field button",
    "healthz": "health report for the load balancer",
    "favicon": "a redirect to the static favicon.svg for browsers that ask for /favicon.ico",
    "login": "reached signed out (test_sign_in_through_the_login_form)",
    "logout": "POST only: the header's Sign out form",
    "oidc_start": "single sign-on: a redirect to the provider, 404 unless configured "
                  "(tests/test_sso.py)",
    "oidc_callback": "single sign-on: the provider's redirect back (tests/test_sso.py)",
    "costlog:totals_csv": "CSV download",
    "costlog:entry_preview": "htmx: cost preview of the entry form",
    "costlog:resource_row_add": "htmx: Add resource row",
    "costlog:postmortem_link": "POST only: the panel's Link form",
    "incidents:postmortem_markdown": "Markdown download",
    "incidents:meeting_invitation": ".ics download (tests/test_meeting_invitations.py)",
    "incidents:postmortem_field": "htmx autosave of one field",
    "incidents:postmortem_fix_deferred": "htmx: no change; documented and deferred",
    "incidents:scan_answer": "htmx: one failure-mode answer",
    "incidents:scan_factor": "htmx: a scan answer as a contributing factor",
    "incidents:pending_mark": "htmx: incomplete, pending trace review",
    "incidents:factor_review": "htmx: facilitator review of a flagged factor",
    "incidents:field_history": "htmx: a field's revision history",
    "incidents:row_add": "htmx: add a timeline/factor/reference row",
    "incidents:row_update": "htmx autosave of one row",
    "incidents:row_remove": "htmx: remove a row",
    "incidents:postmortem_finalize": "POST only: the draft's Finalize form",
    "incidents:postmortem_discard": "POST only: the draft's Discard form",
    "incidents:amendment_create": "POST only: the final record's Amend form",
    "incidents:event_set": "POST only: the draft's event form",
    "incidents:meeting_schedule": "POST only: the draft's meeting form",
    "incidents:meeting_change": "POST only: Start / End / Cancel the meeting",
    "incidents:domain_set": "POST only: the action items' domain form",
    "incidents:postmortem_access": "POST only: the \"Who can read this\" form",
    "incidents:action_item_add": "POST only: Add an action item",
    "incidents:action_item_change": "POST only: Start / Ship / Drop an item",
    "knowledge:link": "POST only: the Link forms of each page",
    "knowledge:knowledge_yaml": "YAML download for agents",
    "knowledge:insights_csv": "CSV download of the insights",
    "knowledge:insights_json": "JSON of the insights, for scripts",
    "knowledge:policies_markdown": "Markdown download for agents",
    "knowledge:search": "the header's GET search form (tests/test_knowledge_pages.py)",
    "runbooks:reviewed": "POST only: Reviewed, no change",
    "runbooks:run_start": "POST only: Start a checklist run",
    "runbooks:run_record": "POST only: one checklist item's result",
    "webhooks:subscription_active": "POST only: Disable / Enable a webhook subscription",
    "webhooks:redeliver": "POST only: Redeliver in the webhook delivery log",
    "webhooks:subscription_rotate": "POST only: New secret for a webhook subscription",
}

# Each rendered form -> the test here that submits it.
COVERED = {
    RenderedForm("*", "logout"): "test_sign_out_through_the_header_form",
    RenderedForm("costlog:entry_create", "costlog:entry_create"):
        "test_a_figure_only_mishap_saves_through_the_rendered_form",
    RenderedForm("costlog:entry_correct", "costlog:entry_correct"):
        "test_a_correction_submits_the_rendered_entry",
    RenderedForm("costlog:rate_list", "costlog:rate_list"): "test_a_rate_through_the_rendered_form",
    RenderedForm("incidents:postmortem_create", "incidents:postmortem_create"):
        "test_a_new_draft_reads_every_utc_format",
    RenderedForm("incidents:postmortem_detail", "incidents:event_set"):
        "test_the_event_form_reads_every_utc_format",
    RenderedForm("incidents:postmortem_detail", "incidents:meeting_schedule"):
        "test_the_meeting_form_reads_every_utc_format",
    RenderedForm("incidents:postmortem_detail", "incidents:meeting_change"):
        "test_the_facilitator_starts_the_meeting_through_its_form",
    RenderedForm("incidents:postmortem_detail", "incidents:postmortem_finalize"):
        "test_finalize_through_the_rendered_form_names_the_gaps",
    RenderedForm("incidents:postmortem_detail", "incidents:postmortem_discard"):
        "test_discard_through_the_rendered_form",
    RenderedForm("incidents:postmortem_detail", "costlog:postmortem_link"):
        "test_link_a_mishap_through_the_impact_panel",
    RenderedForm("incidents:postmortem_detail", "incidents:postmortem_access"):
        "test_restrict_a_postmortem_through_its_form",
    RenderedForm("incidents:postmortem_detail", "incidents:domain_set"):
        "test_the_domain_form_keeps_its_rendered_value",
    RenderedForm("incidents:postmortem_detail", "incidents:action_item_add"):
        "test_add_an_action_item_through_its_form",
    RenderedForm("incidents:postmortem_detail", "incidents:action_item_change"):
        "test_ship_memory_evidence_reads_every_utc_format",
    RenderedForm("incidents:postmortem_detail", "incidents:amendment_create"):
        "test_an_impact_amendment_through_its_form",
    RenderedForm("incidents:postmortem_detail", "knowledge:link"):
        "test_link_from_each_page_through_its_form",
    RenderedForm("knowledge:entry_detail", "knowledge:link"):
        "test_link_from_each_page_through_its_form",
    RenderedForm("knowledge:policy_detail", "knowledge:link"):
        "test_link_from_each_page_through_its_form",
    RenderedForm("runbooks:detail", "knowledge:link"): "test_link_from_each_page_through_its_form",
    RenderedForm("runbooks:create", "runbooks:create"): "test_a_new_runbook_through_its_form",
    RenderedForm("runbooks:edit", "runbooks:edit"):
        "test_edit_a_runbook_keeping_its_rendered_values",
    RenderedForm("runbooks:detail", "runbooks:reviewed"):
        "test_reviewed_no_change_through_its_form",
    RenderedForm("runbooks:detail", "runbooks:run_start"):
        "test_a_checklist_run_through_its_forms",
    RenderedForm("runbooks:run_detail", "runbooks:run_record"):
        "test_a_checklist_run_through_its_forms",
    RenderedForm("webhooks:subscriptions", "webhooks:subscriptions"):
        "test_a_webhook_subscription_through_its_form",
}


@pytest.fixture
def site(alice, bob, real_cost_log, real_knowledge, real_runbooks):
    admin, draft, final = build_site(alice, bob)
    return {"admin": admin, "alice": alice, "bob": bob, "draft": draft, "final": final}


def form_to(page, action: str, having: str | None = None, select: bool = False) -> Form:
    """The page's POST form whose action is the URL named `action` (and, if given, which
    has a field named `having`, a <select> when `select`); fails naming what the page
    renders instead."""
    found = []
    for form in page.forms.values():
        if form.method.lower() != "post":
            continue
        name = url_name(urljoin(page.request.path, form.action or page.request.path))
        found.append(name)
        if name == action and (having is None or having in form.fields):
            if select and not isinstance(form.fields[having][0], Select):
                continue
            return form
    raise AssertionError(f"No form to {action} (having {having}); the page has {found}")


def choose(form: Form, field: str, text: str, index: int = 0) -> None:
    """Select the option of `field` whose label contains `text`."""
    select = form.get(field, index=index)
    value = next(value for value, _, label in select.options if text in (label or ""))
    select.value = value


# --- Coverage ---------------------------------------------------------------------------

def test_every_rendered_form_has_a_webtest_test(django_app, site):
    pages = crawl(django_app, site["admin"])
    found = set()
    for path, response in pages.items():
        for form in rendered_forms(path, response):
            found.add(RenderedForm("*", "logout") if form.action == "logout" else form)
    assert found == set(COVERED)
    missing = {name for name in COVERED.values() if name not in globals()}
    assert missing == set()


def test_every_url_is_a_crawled_page_or_a_listed_endpoint(django_app, site):
    pages = crawl(django_app, site["admin"])
    visited = {url_name(path) for path in pages}
    assert every_url_name() - visited == set(NOT_PAGES)
    assert visited & set(NOT_PAGES) == set()


# --- Sign in and out ---------------------------------------------------------------------

def test_sign_in_through_the_login_form(django_app, alice):
    form = django_app.get("/accounts/login/").forms[0]
    form["username"], form["password"] = "alice", "wrong-password"
    refused = form.submit(expect_errors=True)
    assert refused.forms[0]["username"].value == "alice"  # what was typed stays
    refused.forms[0]["password"] = "alice-password-1"
    home = refused.forms[0].submit().follow()
    assert form_to(home, "logout")


def test_sign_out_through_the_header_form(django_app, alice):
    home = django_app.get("/", user=alice)
    signed_out = form_to(home, "logout").submit()
    assert signed_out.status_int in (200, 302)
    assert "/accounts/login/" in django_app.get("/").location


# --- Cost log ----------------------------------------------------------------------------

def fill_mishap(form: Form) -> None:
    form["title"] = "Stale model served after a failed deploy"
    form["what_happened"] = "The endpoint kept the old model for a day."
    form["root_cause"] = "The deploy step did not verify the model version."
    form["prevention_items"] = "Verify the served model version after each deploy"
    form.get("patterns", index=0).checked = True


def test_a_figure_only_mishap_saves_through_the_rendered_form(django_app, site):
    page = django_app.get("/costs/entries/new/", user=site["alice"])
    form = form_to(page, "costlog:entry_create")
    assert form["resources-INITIAL_FORMS"].value == "0"  # the empty row is an extra row
    fill_mishap(form)
    form["cost_low_usd"], form["cost_high_usd"] = "1,200", "$1,500"
    detail = form.submit().follow()
    entry = MishapEntry.objects.get(title="Stale model served after a failed deploy")
    assert (entry.cost_low_usd, entry.cost_high_usd) == (1200, 1500)
    assert not entry.resources.exists()
    assert "$1,200" in detail.text and "$1,200.00" not in detail.text


def test_a_resource_row_with_no_resource_is_refused_keeping_what_was_typed(django_app, site):
    page = django_app.get("/costs/entries/new/", user=site["alice"])
    form = form_to(page, "costlog:entry_create")
    fill_mishap(form)
    form["resources-0-duration"] = "45 min"
    refused = form.submit(expect_errors=True)
    assert refused.status_int == 400
    assert "Choose the resource that ran for this duration" in refused.text
    again = form_to(refused, "costlog:entry_create")
    assert again["resources-0-duration"].value == "45 min"
    assert again["title"].value == "Stale model served after a failed deploy"
    choose(again, "resources-0-resource", "SageMaker Training")
    detail = again.submit().follow()
    row = MishapEntry.objects.get(title="Stale model served after a failed deploy") \
        .resources.get()
    assert row.duration_seconds == 2700
    assert "45 min" in detail.text and "2700 s" not in detail.text


def test_a_correction_submits_the_rendered_entry(django_app, site):
    original = MishapEntry.objects.order_by("pk").first()
    page = django_app.get(f"/costs/entries/{original.pk}/correct/", user=site["alice"])
    form = form_to(page, "costlog:entry_correct")
    form["correction_reason"] = "The title named the wrong service."
    form["title"] = original.title + " (corrected)"
    form.submit().follow()
    correction = MishapEntry.objects.get(corrects=original)
    assert correction.title == original.title + " (corrected)"
    assert (correction.cost_low_usd, correction.cost_high_usd) == \
        (original.cost_low_usd, original.cost_high_usd)  # the rendered values, kept


def test_a_rate_through_the_rendered_form(django_app, site):
    page = django_app.get("/costs/rates/", user=site["alice"])
    form = form_to(page, "costlog:rate_list")
    form["resource"], form["usd"], form["effective_date"] = "GPU box", "0.90", "2026-03-01"
    form["unit"] = "hour"
    listed = form.submit().follow()
    assert ResourceRate.objects.filter(resource="GPU box").exists()
    assert "GPU box" in listed.text


def test_link_a_mishap_through_the_impact_panel(django_app, site):
    final = site["final"]
    page = django_app.get(f"/postmortems/{final.pk}/", user=site["alice"])
    form = form_to(page, "costlog:postmortem_link")
    form["entry"] = form["entry"].options[1][0]
    form.submit().follow()
    assert MishapEntry.objects.filter(postmortem=final).exists()


# --- The draft ---------------------------------------------------------------------------

@pytest.mark.parametrize("typed, moment", UTC_FORMATS)
def test_a_new_draft_reads_every_utc_format(django_app, site, typed, moment):
    page = django_app.get("/postmortems/new/", user=site["alice"])
    form = form_to(page, "incidents:postmortem_create")
    form["occurred_utc"], form["trigger"] = typed, "provider_outage"
    form.submit().follow()
    assert Postmortem.objects.filter(occurred_utc=moment, trigger="provider_outage").exists()


def test_a_new_draft_refuses_a_date_alone_keeping_the_text(django_app, site):
    page = django_app.get("/postmortems/new/", user=site["alice"])
    form = form_to(page, "incidents:postmortem_create")
    form["occurred_utc"], form["trigger"] = "2026-03-08", "provider_outage"
    refused = form.submit(expect_errors=True)
    assert refused.status_int == 400 and "is not a date and time" in refused.text
    assert form_to(refused, "incidents:postmortem_create")["occurred_utc"].value == "2026-03-08"


@pytest.mark.parametrize("typed, moment", UTC_FORMATS)
def test_the_event_form_reads_every_utc_format(django_app, site, typed, moment):
    draft = site["draft"]
    page = django_app.get(f"/postmortems/{draft.pk}/", user=site["alice"])
    form = form_to(page, "incidents:event_set")
    assert form["trigger"].value == "provider_outage"  # rendered, submitted as rendered
    form["occurred_utc"] = typed
    form.submit().follow()
    draft.refresh_from_db()
    assert draft.occurred_utc == moment and draft.trigger == "provider_outage"


@pytest.mark.parametrize("typed, moment", FUTURE_UTC_FORMATS)
def test_the_meeting_form_reads_every_utc_format(django_app, site, typed, moment):
    draft = site["draft"]
    page = django_app.get(f"/postmortems/{draft.pk}/", user=site["alice"])
    form = form_to(page, "incidents:meeting_schedule")
    form["scheduled_utc"] = typed
    choose(form, "facilitator", "alice")
    choose(form, "operator", "alice")
    choose(form, "code_owner", "bob")
    form.submit().follow()
    assert Meeting.objects.get(postmortem=draft, started_utc=None).scheduled_utc == moment


def test_the_facilitator_starts_the_meeting_through_its_form(django_app, site):
    draft = site["draft"]
    page = django_app.get(f"/postmortems/{draft.pk}/", user=site["alice"])
    after = form_to(page, "incidents:meeting_change").submit().follow()
    assert Meeting.objects.get(postmortem=draft).started_utc is not None
    assert "Meeting started" in after.text


def test_finalize_through_the_rendered_form_names_the_gaps(django_app, site):
    draft = site["draft"]
    page = django_app.get(f"/postmortems/{draft.pk}/", user=site["alice"])
    after = form_to(page, "incidents:postmortem_finalize").submit(expect_errors=True)
    after = after.follow() if after.status_int == 302 else after
    draft.refresh_from_db()
    assert draft.status == "draft"
    assert "Summary" in after.text


def test_discard_through_the_rendered_form(django_app, site):
    draft = site["draft"]
    page = django_app.get(f"/postmortems/{draft.pk}/", user=site["alice"])
    form_to(page, "incidents:postmortem_discard").submit().follow()
    assert not Postmortem.objects.filter(pk=draft.pk).exists()


# --- The final record --------------------------------------------------------------------

def test_the_domain_form_keeps_its_rendered_value(django_app, site):
    final = site["final"]
    page = django_app.get(f"/postmortems/{final.pk}/", user=site["alice"])
    form = form_to(page, "incidents:domain_set")
    assert form["domain"].value == "trading"
    form["domain"] = "cloud-training"
    form.submit().follow()
    assert PostmortemDomain.objects.get(postmortem=final).domain == "cloud-training"


def test_restrict_a_postmortem_through_its_form(django_app, site):
    """docs/rules.md#private-postmortems: the admin (a member of Security) restricts the
    final record; alice, outside the group, then gets 404 for it."""
    final = site["final"]
    page = django_app.get(f"/postmortems/{final.pk}/", user=site["admin"])
    form = form_to(page, "incidents:postmortem_access")
    form["groups"] = [str(Group.objects.get(name="Security").pk)]
    assert "Restricted to Security." in form.submit().follow().text
    assert django_app.get(f"/postmortems/{final.pk}/", user=site["alice"],
                          status=404).status_int == 404


def test_add_an_action_item_through_its_form(django_app, site):
    final = site["final"]
    page = django_app.get(f"/postmortems/{final.pk}/", user=site["alice"])
    form = form_to(page, "incidents:action_item_add")
    form["kind"], form["description"], form["due_date"] = "test", "A test for the fix", \
        "2026-03-30"
    choose(form, "owner", "bob")
    form.submit().follow()
    item = ActionItem.objects.get(description="A test for the fix")
    assert item.due_date == date(2026, 3, 30) and item.owner == site["bob"]


@pytest.mark.parametrize("typed, moment", UTC_FORMATS)
def test_ship_memory_evidence_reads_every_utc_format(django_app, site, typed, moment):
    final = site["final"]
    page = django_app.get(f"/postmortems/{final.pk}/", user=site["alice"])
    form = form_to(page, "incidents:action_item_change", having="memory_file")
    form["memory_file"], form["last_modified_utc"] = "memory/limits.md", typed
    form.submit().follow()
    item = ActionItem.objects.get(kind="memory")
    assert item.status == "shipped"
    assert item.evidence["last_modified_utc"] == moment.isoformat()


def test_an_impact_amendment_through_its_form(django_app, site):
    final = site["final"]
    page = django_app.get(f"/postmortems/{final.pk}/", user=site["alice"])
    form = form_to(page, "incidents:amendment_create")
    form["section"] = "impact"
    form["note"] = "Figures from the cost log."
    form["impact_usd"], form["impact_duration_minutes"] = "78,947", "45 min"
    shown = form.submit().follow()
    amendment = Amendment.objects.get(postmortem=final)
    assert (amendment.impact_usd, amendment.impact_duration_minutes) == (78947, 45)
    assert "$78,947" in shown.text and "$78,947.00" not in shown.text
    assert "Duration: 45 min" in shown.text


def test_link_from_each_page_through_its_form(django_app, site):
    final, alice = site["final"], site["alice"]
    entry = KnowledgeEntry.objects.order_by("key").first()
    runbook = Runbook.objects.order_by("key").first()
    page = django_app.get(f"/postmortems/{final.pk}/", user=alice)
    form = form_to(page, "knowledge:link", having="target", select=True)
    form["target"] = form["target"].options[1][0]
    form.submit().follow()
    for path in (f"/knowledge/{entry.key}/", f"/runbooks/{runbook.key}/", "/policies/1/"):
        page = django_app.get(path, user=alice)
        form = form_to(page, "knowledge:link")
        form["postmortem"] = str(final.pk)  # typed, or picked from the datalist
        form.submit().follow()
        assert final.summary[:20] in django_app.get(path, user=alice).text


# --- Runbooks ----------------------------------------------------------------------------

def test_a_new_runbook_through_its_form(django_app, site):
    page = django_app.get("/runbooks/new/", user=site["alice"])
    form = form_to(page, "runbooks:create")
    form["key"], form["path"], form["title"] = "ops-90", "ops/90-restarts.md", "Restarts"
    form["body"] = "# Restarts\n\n- [ ] Drain the queue\n"
    form.submit().follow()
    assert Runbook.objects.get(key="ops-90").review_interval_days == 90  # rendered default


def test_edit_a_runbook_keeping_its_rendered_values(django_app, site):
    runbook = Runbook.objects.order_by("key").first()
    page = django_app.get(f"/runbooks/{runbook.key}/edit/", user=site["alice"])
    form = form_to(page, "runbooks:edit")
    form["title"] = runbook.title + " (v2)"
    form.submit().follow()
    edited = Runbook.objects.get(pk=runbook.pk)
    assert edited.title == runbook.title + " (v2)" and edited.body == runbook.body


def test_reviewed_no_change_through_its_form(django_app, site):
    stale = Runbook.objects.get(last_updated=date(2025, 1, 2))
    page = django_app.get(f"/runbooks/{stale.key}/", user=site["alice"])
    form_to(page, "runbooks:reviewed").submit().follow()
    assert Runbook.objects.get(pk=stale.pk).last_updated > date(2025, 1, 2)


def test_a_checklist_run_through_its_forms(django_app, site):
    runbook = ChecklistRun.objects.get().runbook
    page = django_app.get(f"/runbooks/{runbook.key}/", user=site["alice"])
    run_page = form_to(page, "runbooks:run_start").submit().follow()
    form = form_to(run_page, "runbooks:run_record")
    form["evidence"] = "CI run 4512 green"
    form.submit("outcome", index=0)  # the Passed button
    run = ChecklistRun.objects.order_by("-pk").first()
    assert run.results.get(evidence="CI run 4512 green").passed


def test_a_webhook_subscription_through_its_form(django_app, site):
    """More in tests/test_webhooks_pages.py (refusals, disable, the delivery log)."""
    from core.webhooks.models import WebhookSubscription
    from tests.test_webhooks_pages import fill

    page = django_app.get("/webhooks/", user=site["admin"])
    response = fill(form_to(page, "webhooks:subscriptions", having="event_types"),
                    fmt="teams", events=("gate.closed",)).submit()
    assert response.status_code == 201
    subscription = WebhookSubscription.objects.get()
    assert (subscription.format, subscription.event_types) == ("teams", ["gate.closed"])
    assert subscription.secret in response.text
