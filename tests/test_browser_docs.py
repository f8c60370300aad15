"""In real Chromium: walk a decision tree, run the morning go/no-go checklist until it
answers overall_ready true, find KXIN from the search box, and see an XSS payload list in
a runbook body stay inert."""
import pytest
from playwright.sync_api import expect

from core.api_tokens import create_token
from runbooks.models import Runbook
from runbooks.services import edit_runbook
from tests.conftest import make_user
from tests.test_browser_postmortem import signed_in_page
from tests.test_runbook_pages import XSS_PAYLOADS


@pytest.fixture
def alice_user(transactional_db):
    return make_user("alice", password="alice-password-1")


@pytest.fixture
def page(browser, live_server, alice_user, real_postmortems, real_knowledge,
         real_runbooks):
    page = signed_in_page(browser, live_server, "/knowledge/", "Knowledge base")
    yield page
    page.context.close()


def test_walk_the_urgent_failure_decision_tree(page):
    page.get_by_role("link", name="Urgent failure while jobs burn money").click()
    walk = page.locator("#walk")
    expect(walk).to_contain_text("Step 1: Are jobs failing and costing money right now?")
    walk.get_by_role("link", name="Yes").click()
    expect(walk).to_contain_text("Do this: Stop failing jobs, deploy fix, reset state, "
                                 "retrigger; then do the PR paperwork")
    expect(walk).to_contain_text("Steps so far: start")
    walk.get_by_role("link", name="Start again").click()
    walk.get_by_role("link", name="No").click()
    expect(walk).to_contain_text("Do this: Follow the deployment checklist through CI")


def test_checklist_run_flips_go_no_go_to_true(page, live_server, alice_user):
    _, key = create_token("morning", alice_user, ["docs:read"])
    api = page.context.request
    url = f"{live_server.url}/api/runbooks/ops-05/go-no-go"
    headers = {"Authorization": f"Bearer {key}"}
    assert api.get(url, headers=headers).json()["overall_ready"] is False

    page.goto("/runbooks/ops-05/")
    page.get_by_role("button", name="Start a checklist run").click()
    answer = page.locator("#go-no-go")
    expect(answer).to_contain_text("overall_ready: false")
    items = page.locator("li.run-item")
    expect(items).to_have_count(6)
    # an item needs evidence: the browser refuses an empty one, the server too
    for position in range(6):
        item = page.locator(f"#item-{position}")
        item.get_by_label(f"Evidence for item {position + 1}").fill(
            f"checked at 08:{10 + position} ET")
        item.get_by_role("button", name="Passed").click()
        expect(page.locator(f"#item-{position} .badge")).to_have_text("passed")
        if position < 5:
            expect(answer).to_contain_text("overall_ready: false")
    expect(answer).to_contain_text("overall_ready: true")
    body = api.get(url, headers=headers).json()
    assert body["overall_ready"] is True
    assert [item["status"] for item in body["items"]] == ["passed"] * 6
    assert body["items"][0]["evidence"] == "checked at 08:10 ET"


def test_search_box_finds_kxin_from_pending_orders(page):
    page.get_by_role("searchbox", name="Search").first.fill("pending orders")
    page.get_by_role("searchbox", name="Search").first.press("Enter")
    first = page.locator("ol.search-results li").first
    expect(first).to_contain_text("A single stock crashed 74%")
    expect(first.locator("mark").first).to_have_text("pending")
    first.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Feedback loop")).to_be_visible()


def test_xss_payloads_in_a_runbook_stay_inert_in_chromium(page):
    runbook = Runbook.objects.get(key="ops-04")
    edit_runbook(runbook, {"body": "# Payloads\n\n" + "\n\n".join(XSS_PAYLOADS)}, None)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto("/runbooks/ops-04/")
    expect(page.get_by_role("heading", name="Payloads")).to_be_visible()
    for link in page.locator("article.runbook-body a").all():
        link.click(modifiers=["Alt"], no_wait_after=True)
    page.locator("article.runbook-body").hover()
    assert page.evaluate("window.__xss") is None
    assert page.locator("article.runbook-body script, article.runbook-body iframe, "
                        "article.runbook-body svg, article.runbook-body [onerror]").count() == 0
    assert dialogs == []
