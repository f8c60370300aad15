"""A long-form postmortem in real Chromium: empty sections block finalize, then it finalizes."""
import pytest
from playwright.sync_api import expect

from incidents.models import Postmortem
from tests.conftest import fill_complete_draft, make_user
from tests.test_browser_postmortem import signed_in_page


@pytest.fixture
def page(browser, live_server, transactional_db):
    make_user("alice", password="alice-password-1")
    page = signed_in_page(browser, live_server, "/postmortems/new/", "New postmortem")
    yield page
    page.context.close()


def finalize(page):
    page.get_by_role("button", name="Finalize postmortem").first.click()


def test_a_long_form_draft_cannot_be_finalized_with_an_empty_section(page):
    page.get_by_label("Event occurred (UTC)").fill("2026-03-02 15:47")
    page.get_by_label("Trigger", exact=True).select_option("drawdown")
    page.get_by_label("Long-form").check()
    page.get_by_role("button", name="Start draft").click()
    expect(page.locator("h1")).to_contain_text("Long-form template")
    pm = Postmortem.objects.get()
    assert pm.template == "long-form"

    # The seven fields are filled (their typing is covered by test_browser_postmortem).
    fill_complete_draft(pm)
    page.reload()
    expect(page.locator("#progress")).to_contain_text("7 of 11")

    finalize(page)
    refusal = page.locator("#finalize-refused")
    expect(refusal).to_contain_text("Impact: Impact has no financial impact (USD), no users "
                                    "affected, no duration (minutes)")
    expect(refusal).to_contain_text("What went well: What went well is empty")
    expect(refusal).to_contain_text("What went wrong: What went wrong is empty")
    expect(refusal).to_contain_text("Lessons learned: Lessons learned is empty")
    assert Postmortem.objects.get(pk=pm.pk).status == "draft"

    # A figure that is not an amount is refused beside the field and not stored.
    usd = page.get_by_label("Financial impact (USD)")
    usd.fill("lots")
    expect(page.locator("#feedback-impact")).to_contain_text(
        "Financial impact (USD): 'lots' is not an amount in USD")
    usd.fill("$1,400")
    page.get_by_label("Users affected").fill("0")
    page.get_by_label("Duration (minutes, or 1h 30m)").fill("1h 45m")
    expect(page.locator("#feedback-impact")).to_contain_text("Impact is complete")
    # The cost comparison follows the stated figure as it is typed.
    expect(page.locator("#stated-usd")).to_have_text("$1,400")

    page.get_by_role("textbox", name="9. What went well").fill(
        "The drawdown alert fired at session end as designed.")
    page.get_by_role("textbox", name="10. What went wrong").fill(
        "No monitor watched the invalidation timestamp.")
    expect(page.locator("#feedback-what_went_wrong")).to_contain_text("is complete")
    expect(page.locator("#progress")).to_contain_text("10 of 11")

    # One empty section is still enough to refuse, and the refusal names only it.
    finalize(page)
    refusal = page.locator("#finalize-refused")
    expect(refusal.locator("li")).to_have_count(1)
    expect(refusal).to_contain_text("Lessons learned is empty")
    assert Postmortem.objects.get(pk=pm.pk).status == "draft"

    page.get_by_role("textbox", name="11. Lessons learned").fill(
        "An invalidation signal needs an exit order wired to it.")
    expect(page.locator("#progress")).to_contain_text("11 of 11")
    finalize(page)
    expect(page.get_by_text("Postmortem finalized.")).to_be_visible()
    expect(page.locator("#section-what_went_well")).to_contain_text(
        "The drawdown alert fired at session end as designed.")
    expect(page.locator("#section-impact")).to_contain_text("Duration: 1 h 45 min")
    stored = Postmortem.objects.get(pk=pm.pk)
    assert (stored.status, str(stored.impact_usd), stored.impact_duration_minutes) == \
           ("final", "1400.00", 105)
