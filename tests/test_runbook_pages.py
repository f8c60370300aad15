"""Runbooks as people and agents use them: navigation, editing with history, staleness
reminders, checklist runs and the go/no-go API, sanitized bodies.

The new, edit and "Reviewed, no change" forms are submitted as the page renders them
(django-webtest); a checklist item's result is an htmx post of its inline form (the page's
JS), so that test posts it directly with the CSRF header, as base.html's hx-headers does.
"""
import pytest
from django.core import mail
from django.test import override_settings

from core.api_tokens import create_token
from runbooks.models import ChecklistResult, Runbook, RunbookRevision, StaleReminder
from runbooks.services import RunbookError, edit_runbook, record_result, start_run
from runbooks.tasks import remind_stale_runbooks

XSS_PAYLOADS = [
    "<script>window.__xss = 1</script>",
    "<img src=x onerror=\"window.__xss=1\">",
    "[click me](javascript:window.__xss=1)",
    "<svg onload=\"window.__xss=1\"></svg>",
    "<a href=\"jav&#x09;ascript:window.__xss=1\">tab</a>",
    "<iframe src=\"javascript:window.__xss=1\"></iframe>",
    "<body onload=window.__xss=1>",
    "<div style=\"background:url(javascript:window.__xss=1)\">styled</div>",
    "<IMG SRC=JaVaScRiPt:window.__xss=1>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9MTwvc2NyaXB0Pg==\">data</a>",
    "<details open ontoggle=window.__xss=1>",
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=1>",
]


def test_navigation_by_tag_key_file_and_both_directions(alice_client, real_runbooks):
    tagged = alice_client.get("/runbooks/?tag=checklist").content.decode()
    assert "Deployment Checklist" in tagged and "Trading Morning Go/No-Go" in tagged
    assert "System Overview" not in tagged
    by_file = alice_client.get("/runbooks/?key_file=health.py").content.decode()
    assert "Trading Morning Go/No-Go" in by_file and "Deployment Checklist" not in by_file
    ops01 = alice_client.get("/runbooks/ops-01/").content.decode()
    assert "arch-01: System Overview" in ops01            # depends on
    assert "ops-03: Deployment Checklist" in ops01        # needed by
    assert 'href="/runbooks/ops-05/"' in ops01            # relative .md link resolved
    ops05 = alice_client.get("/runbooks/ops-05/").content.decode()
    assert "ops-14</span> <span class=\"badge missing\">not in Scarlog" in ops05
    assert alice_client.get("/runbooks/?perspective=finance").status_code == 400


def test_task_index_marks_missing_targets_and_graph_shows_ops14(alice_client, real_runbooks):
    tasks = alice_client.get("/runbooks/tasks/").content.decode()
    assert "3 rows point at a document that is not in Scarlog" in tasks
    assert tasks.count('class="badge missing">missing') == 3
    assert 'href="/runbooks/ops-03/">ops/03-deployment-checklist.md' in tasks
    graph = alice_client.get("/runbooks/graph/").content.decode()
    assert "ops-05</a> depends on <strong>ops-14</strong>, which is not in Scarlog" in graph
    assert 'class="node dangling" data-key="ops-14"' in graph


def rendered_runbook_form(app, user, page_path, **typed):
    """The runbook form `page_path` renders, with `typed` filled in over its values."""
    form = next(form for form in app.get(page_path, user=user).forms.values()
                if "title" in form.fields)
    for name, value in typed.items():
        form[name] = value
    return form


def test_edit_creates_revision_and_sets_last_updated(django_app, alice_client, alice,
                                                     real_runbooks):
    runbook = Runbook.objects.get(key="ops-04")
    form = rendered_runbook_form(django_app, alice, "/runbooks/ops-04/edit/",
                                 tags="hotfix, rollback, urgent",
                                 body=runbook.body + "\nFreeze pipeline state first.\n",
                                 owner=str(alice.pk), review_interval_days="30")
    assert form["title"].value == runbook.title and form["depends_on"].value == "ops-03"
    response = form.submit()
    assert response.status_code == 302
    runbook.refresh_from_db()
    assert runbook.last_updated.isoformat() != "2026-02-17"
    assert runbook.owner == alice and runbook.review_interval_days == 30
    latest = RunbookRevision.objects.filter(runbook=runbook).order_by("-number").first()
    assert (latest.number, latest.author) == (2, alice)
    history = alice_client.get("/runbooks/ops-04/history/").content.decode()
    assert "imported from ops/04-hotfix-and-rollback.md" in history and "alice" in history
    bad = rendered_runbook_form(django_app, alice, "/runbooks/ops-04/edit/",
                                depends_on="ops 03!").submit(expect_errors=True)
    assert bad.status_code == 422
    assert "Depends on: &#x27;ops 03!&#x27; is not a runbook id" in bad.text
    assert 'value="ops 03!"' in bad.text  # what was typed stays
    assert RunbookRevision.objects.filter(runbook=runbook).count() == 2


def test_revisions_are_append_only_in_postgresql(real_runbooks):
    from django.db import IntegrityError, connection, transaction
    revision = RunbookRevision.objects.first()
    with pytest.raises(IntegrityError, match="is append-only"), transaction.atomic():
        RunbookRevision.objects.filter(pk=revision.pk).update(body="rewritten")
    # The ORM refuses first (the runbook's current_revision protects it); SQL meets the guard.
    with pytest.raises(IntegrityError, match="is append-only"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute("DELETE FROM runbooks_runbookrevision WHERE id = %s", [revision.pk])
    assert RunbookRevision.objects.get(pk=revision.pk).body == revision.body


@override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
def test_stale_runbook_reminds_its_owner_once(alice, real_runbooks):
    alice.email = "alice@example.com"
    alice.save()
    Runbook.objects.filter(key="ops-05").update(owner=alice)
    first = remind_stale_runbooks("2026-11-21")
    assert first["sent"] == 1 and sorted(first["no_owner"]) == [
        "arch-01", "ops-01", "ops-03", "ops-04", "risk-15"]
    assert mail.outbox[0].to == ["alice@example.com"]
    assert "ops-05" in mail.outbox[0].subject and "due on 2026-05-29" in mail.outbox[0].body
    assert remind_stale_runbooks("2026-11-22")["already_sent"] == 1
    assert len(mail.outbox) == 1
    assert remind_stale_runbooks("2026-03-01")["sent"] == 0   # not yet stale then
    assert StaleReminder.objects.count() == 1


def test_reviewed_no_change_clears_staleness(django_app, alice, alice_client, real_runbooks):
    detail = django_app.get("/runbooks/ops-01/", user=alice)
    assert "Review due since" in detail.text
    next(form for form in detail.forms.values()
         if form.action.endswith("/reviewed/")).submit()
    page = alice_client.get("/runbooks/ops-01/").content.decode()
    assert "Review due since" not in page
    assert RunbookRevision.objects.filter(runbook__key="ops-01",
                                          note="reviewed, no change").exists()


def test_go_no_go_flips_to_true_only_when_every_item_passed(client, alice, real_runbooks):
    _, key = create_token("morning", alice, ["docs:read"])
    auth = {"Authorization": f"Bearer {key}"}
    url = "/api/runbooks/ops-05/go-no-go"
    assert client.get(url).status_code == 401
    empty = client.get(url, headers=auth).json()
    assert empty["overall_ready"] is False and empty["run"] is None
    assert [item["status"] for item in empty["items"]] == ["not run"] * 6
    runbook = Runbook.objects.get(key="ops-05")
    run = start_run(runbook, alice)
    for position in range(5):
        record_result(run, position, True, f"checked {position}", alice)
    record_result(run, 5, False, "watchlist holds 3 symbols, all from one sector", alice)
    answer = client.get(url, headers=auth).json()
    assert answer["overall_ready"] is False and answer["items"][5]["status"] == "failed"
    run = start_run(runbook, alice)
    for position in range(6):
        record_result(run, position, True, f"ok {position}", alice)
    answer = client.get(url, headers=auth).json()
    assert answer["overall_ready"] is True
    assert answer["items"][2] == {
        "item": "Risk controls: concentration limits include pending orders",
        "status": "passed", "evidence": "ok 2", "by": "alice",
        "at_utc": answer["items"][2]["at_utc"]}
    assert client.get("/api/runbooks/ops-99/go-no-go", headers=auth).status_code == 404
    assert client.get("/api/runbooks/arch-01/go-no-go", headers=auth).status_code == 404


def test_checklist_result_refusals(alice, real_runbooks):
    run = start_run(Runbook.objects.get(key="ops-03"), alice)
    assert len(run.items) == 7
    with pytest.raises(RunbookError) as caught:
        record_result(run, 0, True, "   ", alice)
    assert caught.value.field == "evidence"
    record_result(run, 0, True, "inference.py imports only torch", alice)
    with pytest.raises(RunbookError) as caught:
        record_result(run, 0, False, "again", alice)
    assert caught.value.field == "position"
    with pytest.raises(RunbookError):
        record_result(run, 7, True, "no such item", alice)
    with pytest.raises(RunbookError, match="no checklist items"):
        start_run(Runbook.objects.get(key="arch-01"), alice)
    assert ChecklistResult.objects.count() == 1


def test_htmx_run_record_swaps_item_and_answer(alice_client, alice, real_runbooks):
    run = start_run(Runbook.objects.get(key="ops-03"), alice)
    url = f"/runbooks/ops-03/runs/{run.pk}/items/0/"
    refused = alice_client.post(url, {"outcome": "passed", "evidence": ""}, htmx=True)
    assert refused.status_code == 422
    assert "evidence: Evidence is required" in refused.content.decode()
    done = alice_client.post(url, {"outcome": "passed", "evidence": "no ray import"}, htmx=True)
    body = done.content.decode()
    assert done.status_code == 200 and "no ray import" in body
    assert 'id="go-no-go"' in body and "overall_ready: false" in body


def test_xss_payloads_in_a_runbook_body_render_inert(alice_client, alice, real_runbooks):
    runbook = Runbook.objects.get(key="ops-04")
    edit_runbook(runbook, {"body": "\n\n".join(XSS_PAYLOADS)}, alice)
    page = alice_client.get("/runbooks/ops-04/").content.decode()
    body = page.split('<article class="runbook-body">')[1].split("</article>")[0]
    lowered = body.lower()
    for marker in ("<script", "onerror", "onload", "ontoggle", "javascript:", "<iframe",
                   "<svg", "style=", "data:text"):
        assert marker not in lowered, marker


def test_new_runbook_in_the_browser_exports_with_its_frontmatter(django_app, alice,
                                                                   real_runbooks, tmp_path):
    from runbooks.docs_io import export_runbooks
    typed = {"key": "ops-06", "path": "ops/06-incident-response.md",
             "title": "Incident Response", "tags": "incidents, on-call", "depends_on": "ops-04",
             "body": "# Incident Response\n\n- [ ] Page the owner\n",
             "owner": str(alice.pk), "review_interval_days": "60"}
    response = rendered_runbook_form(django_app, alice, "/runbooks/new/", **typed).submit()
    assert response.status_code == 302 and response["Location"] == "/runbooks/ops-06/"
    export_runbooks(tmp_path)
    text = (tmp_path / "ops" / "06-incident-response.md").read_text()
    assert text.startswith("---\nid: ops-06\ntitle: Incident Response\nperspective: operations\n"
                           "tags: [incidents, on-call]\ndepends_on: [ops-04]\nkey_files: []\n")
    assert text.endswith("---\n# Incident Response\n\n- [ ] Page the owner\n")
    again = rendered_runbook_form(django_app, alice, "/runbooks/new/",
                                  **{**typed, "path": "../outside.md"}).submit(expect_errors=True)
    page = again.text
    assert again.status_code == 422
    assert "Runbook ops-06 already exists." in page and "Give a relative path ending in .md" in page
    assert Runbook.objects.count() == 7


def test_saving_the_edit_form_unchanged_adds_no_revision(django_app, alice, real_runbooks):
    runbook = Runbook.objects.get(key="ops-03")
    form = rendered_runbook_form(django_app, alice, "/runbooks/ops-03/edit/")
    # A browser sends a textarea's line breaks as CRLF.
    form["body"] = form["body"].value.replace("\n", "\r\n")
    form["key_files"] = form["key_files"].value.replace("\n", "\r\n")
    form.submit()
    runbook.refresh_from_db()
    assert runbook.last_updated.isoformat() == "2026-03-01"
    assert runbook.revisions.count() == 1
