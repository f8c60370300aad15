"""Knowledge base, policies, loop gaps, links and search as a signed-in person sees them,
and the agent documents (YAML, policies.md) with their token rules.

Links are made and removed through the Link/unlink forms the pages render (django-webtest);
test_link_refusals_name_the_field also posts tampered values no page renders (a policy
that does not exist, an outside `next`): that is what an attacker sends, not the form.
"""
import yaml
from django.db import connection

from core.api_tokens import create_token
from incidents.models import ActionItem, Postmortem
from knowledge.models import KnowledgeEntry, Policy
from knowledge.search import SOURCES, search

KXIN = "c3e8b7a2-6d45-4f10-a2b9-8e7c6d5b0d04"
EVENTBRIDGE = "0d1f6a3e-2b8c-4c1e-9a51-7f3b2e9c0a01"


def test_list_filters_by_severity_and_shows_incidents_and_cost(
        alice_client, real_postmortems, real_knowledge, real_cost_log):
    from costlog.services import current_entries, link_entry
    link_entry(current_entries().get(title="KXIN Concentration Loss"),
               Postmortem.objects.get(pk=KXIN))
    KnowledgeEntry.objects.get(key="silent_fallback").postmortems.add(KXIN)
    page = alice_client.get("/knowledge/?severity=CRITICAL").content.decode()
    assert "Silent Fallback" in page and "Feature Verification Checklist" in page
    assert "Model Deployment Process" not in page
    assert "$78,947<" in page and "$78,947.00" not in page
    detail = alice_client.get("/knowledge/silent_fallback/").content.decode()
    assert "A single stock crashed 74%" in detail
    assert "$78,947 over 1 mishap entry" in detail
    assert alice_client.get("/knowledge/?severity=URGENT").status_code == 400


def test_decision_tree_walks_yes_and_no(alice_client, real_knowledge):
    start = alice_client.get("/knowledge/urgent_failure/").content.decode()
    assert "Are jobs failing and costing money right now?" in start
    yes = alice_client.get("/knowledge/urgent_failure/?step=stop_jobs&path=start").content.decode()
    assert "Stop failing jobs, deploy fix, reset state, retrigger" in yes
    no = alice_client.get("/knowledge/urgent_failure/?step=normal_process").content.decode()
    assert "Follow the deployment checklist through CI" in no
    assert alice_client.get("/knowledge/urgent_failure/?step=nowhere").status_code == 404


def test_yaml_for_agents_needs_a_docs_token_and_filters(client, alice, real_knowledge):
    assert client.get("/knowledge/ai-knowledge-base.yaml").status_code == 401
    _, gate_only = create_token("ci", alice, ["gate:read"])
    assert client.get("/knowledge/ai-knowledge-base.yaml",
                      headers={"Authorization": f"Bearer {gate_only}"}).status_code == 403
    _, key = create_token("agent", alice, ["docs:read"])
    auth = {"Authorization": f"Bearer {key}"}
    critical = yaml.safe_load(client.get("/knowledge/ai-knowledge-base.yaml?severity=CRITICAL",
                                         headers=auth).content)
    assert [entry["id"] for entry in critical["patterns"] + critical["anti_patterns"]] == [
        "feature_verification", "silent_fallback"]
    assert critical["decision_trees"] == []
    one = yaml.safe_load(client.get("/knowledge/ai-knowledge-base.yaml?id=deployment_process",
                                    headers=auth).content)
    assert [entry["id"] for entry in one["patterns"]] == ["deployment_process"]
    missing = client.get("/knowledge/ai-knowledge-base.yaml?id=nope", headers=auth)
    assert missing.status_code == 404 and b"nope" in missing.content
    bad = client.get("/knowledge/ai-knowledge-base.yaml?severity=SEVERE", headers=auth)
    assert bad.status_code == 400 and b"severity" in bad.content


def test_policies_flag_untraced_and_serve_markdown(alice_client, client, alice, real_knowledge):
    page = alice_client.get("/policies/").content.decode()
    assert "7 policies trace to no incident" in page
    assert page.count("traces to no incident</span>") == 7
    _, policies_text = real_knowledge
    _, key = create_token("agent", alice, ["docs:read"])
    served = client.get("/policies.md", headers={"Authorization": f"Bearer {key}"})
    assert served.content.decode() == policies_text
    assert client.get("/policies.md").status_code == 401


def link_form(page, **fields):
    """The page's POST form to /links/ whose rendered fields have these values."""
    return next(form for form in page.forms.values()
                if form.action.endswith("/links/")
                and all(name in form.fields and form[name].value == value
                        for name, value in fields.items()))


def test_link_from_both_sides_and_loop_steps(django_app, alice, alice_client, real_postmortems,
                                             real_knowledge, real_runbooks):
    pm_page = f"/postmortems/{EVENTBRIDGE}/"
    before = django_app.get(pm_page, user=alice)
    assert "missing: no policy is linked" in before.text
    form = link_form(before, target_kind="policy", postmortem=EVENTBRIDGE)
    form["target"] = "3"
    response = form.submit()
    assert response.status_code == 302
    assert response["Location"] == pm_page + "#feedback-loop"
    assert list(Policy.objects.get(number=3).postmortems.values_list("pk", flat=True)) == [
        Postmortem.objects.get(pk=EVENTBRIDGE).pk]
    # from the runbook's side, with the postmortem's page address
    form = link_form(django_app.get("/runbooks/ops-05/", user=alice), target="ops-05")
    form["postmortem"] = f"http://testserver{pm_page}"
    form.submit()
    after = alice_client.get(pm_page).content.decode()
    assert "Policy 3: Verify deployments" in after and "ops-05: Trading Morning" in after
    assert "missing: no policy is linked" not in after
    runbook_page = alice_client.get("/runbooks/ops-05/").content.decode()
    assert "All scheduled EventBridge trading rules were disabled" in runbook_page
    link_form(django_app.get("/policies/3/", user=alice), target="3",
              postmortem=EVENTBRIDGE).submit()  # its "unlink" button
    assert not Policy.objects.get(number=3).postmortems.exists()


def test_link_refusals_name_the_field(django_app, alice, alice_client, real_postmortems,
                                      real_knowledge):
    form = link_form(django_app.get("/policies/3/", user=alice), target="3")
    form["postmortem"] = "not-an-id"
    assert "Not linked (postmortem)" in form.submit().follow().text
    response = alice_client.post("/links/", {"postmortem": KXIN, "target_kind": "policy",
                                             "target": "99", "next": "/policies/"}, follow=True)
    assert "Not linked (target): No policy &#x27;99&#x27; exists." in response.content.decode()
    response = alice_client.post("/links/", {"postmortem": KXIN, "target_kind": "policy",
                                             "target": "3", "next": "https://evil.example/"})
    assert response["Location"] == "/loop/"
    assert alice_client.get("/links/").status_code == 405


def test_loop_gaps_worst_first(alice_client, real_postmortems, real_knowledge, real_runbooks,
                               alice):
    kxin = Postmortem.objects.get(pk=KXIN)
    KnowledgeEntry.objects.get(key="silent_fallback").postmortems.add(kxin)
    Policy.objects.get(number=4).postmortems.add(kxin)
    item = ActionItem.objects.create(postmortem=kxin, kind="test", description="concentration test",
                                     owner=alice, due_date="2026-02-10", status="shipped",
                                     evidence={"test_name": "t", "commit_sha": "abcdef1"})
    assert item.pk
    page = alice_client.get("/loop/").content.decode()
    rows = page.split("<tbody>")[1]
    # the other legacy records miss more steps than KXIN, so they come first
    assert rows.index("A single stock crashed 74%") > rows.index("All scheduled EventBridge")
    assert "8 postmortems with gaps" in page
    kxin_row = rows[rows.index("A single stock crashed 74%"):].split("</tr>")[0]
    assert "3 of 7" in kxin_row and "Incident, Runbook, Code change" in kxin_row


def test_search_finds_kxin_from_pending_orders_using_the_indexes(
        alice_client, real_postmortems, real_knowledge, real_runbooks):
    hits = search("pending orders")
    assert hits[0].url == f"/postmortems/{KXIN}/"
    assert {"postmortem", "timeline", "factor"} <= set(hits[0].matched_in)
    assert any(hit.title.startswith("ops-05") for hit in hits)
    page = alice_client.get("/search/?q=pending+orders").content.decode()
    assert "A single stock crashed 74%" in page and "<mark>pending</mark>" in page
    assert "Amendment" in alice_client.get("/search/?q=stop-loss").content.decode()
    assert "Policy 6" in alice_client.get("/search/?q=segfault").content.decode()
    assert alice_client.get("/search/?q=" + "x" * 300).status_code == 400
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        for source in SOURCES:
            cursor.execute(f"EXPLAIN SELECT 1 FROM {source.table} WHERE {source.vector} @@ "
                           "websearch_to_tsquery('english', 'pending orders')")
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert source.index in plan, plan
        cursor.execute("SET enable_seqscan = on")
