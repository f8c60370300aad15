"""A person logs a mishap with a live cost preview and filters the totals, in real Chromium."""
import re

import pytest
from playwright.sync_api import expect

from costlog.models import MishapEntry
from tests.conftest import make_user
from tests.test_browser_postmortem import signed_in_page


@pytest.fixture
def page(browser, live_server, transactional_db, real_cost_log):
    make_user("alice", password="alice-password-1")
    page = signed_in_page(browser, live_server, "/costs/?period=all",
                          "Mishap costs by root pattern")
    yield page
    page.context.close()


def totals_row(page, name):
    link = page.get_by_role("link", name=name, exact=True)
    return page.locator("#totals tbody tr").filter(has=link)


def test_log_a_mishap_with_a_live_cost_preview(page):
    page.get_by_role("link", name="Log a mishap").click()
    page.get_by_label("Date").fill("2026-03-02")
    page.get_by_label("Time").fill("09:30")
    page.get_by_label("Zone").select_option("ET")
    page.get_by_label("Title").fill("HPO sweep trained on a stale feature list")
    page.get_by_label("What happened").fill("Fifteen training jobs used last month's features.")
    page.locator("#id_root_cause").fill("The feature list was copied by hand.")
    page.get_by_label("Feature mismatch").check()
    page.get_by_label("Resource 1").select_option("SageMaker Training (ml.m5.xlarge)")
    page.get_by_label("Quantity 1").fill("15")
    page.get_by_label("Duration 1").fill("2h")
    preview = page.locator("#cost-preview")
    # 15 jobs × 2 h × $0.23/h, priced while typing.
    expect(preview.locator('[data-preview="estimate"]')).to_have_text("~$6.90")
    page.get_by_role("button", name="Add resource row").click()
    expect(page.get_by_label("Resource 2")).to_be_focused()
    page.get_by_label("Resource 2").select_option("SageMaker Endpoint (ml.t2.medium)")
    page.get_by_label("Duration 2").fill("10h")
    expect(preview.locator('[data-preview="estimate"]')).to_have_text("~$7.40")
    expect(preview).to_contain_text("1x SageMaker Endpoint (ml.t2.medium) for 10h")
    page.get_by_label("Duration 2").fill("soon")
    expect(preview).to_contain_text("Complete each resource row")
    page.get_by_label("Duration 2").fill("10h")
    expect(preview.locator('[data-preview="estimate"]')).to_have_text("~$7.40")
    page.get_by_label("Prevention").fill("Import features.py in training and inference")
    page.get_by_role("button", name="Save the entry").click()

    heading = page.get_by_role("heading", name="HPO sweep trained on a stale feature list")
    expect(heading).to_be_visible()
    expect(page.get_by_text("(logged as 2026-03-02 9:30 AM ET)")).to_be_visible()
    entry = MishapEntry.objects.get(title="HPO sweep trained on a stale feature list")
    assert str(entry.cost_high_usd) == "7.40"

    page.get_by_role("link", name="Costs", exact=True).click()
    expect(totals_row(page, "Feature mismatch")).to_contain_text("$157.40")


def test_filter_the_totals_without_reloading(page):
    expect(totals_row(page, "Silent fallback")).to_contain_text("$79,207")
    page.evaluate("window.notReloaded = true")
    page.get_by_label("Period").select_option(label="February 2026")
    expect(page).to_have_url(re.compile(r"period=2026-02"))
    expect(page.locator("#totals h2")).to_have_text("February 2026")
    expect(totals_row(page, "Silent fallback")).to_contain_text("$0")
    expect(totals_row(page, "Training/inference mismatch").locator("td").nth(2)).to_have_text("1")
    page.get_by_label("Root cause of the linked postmortem").select_option(
        label="No linked postmortem")
    expect(page).to_have_url(re.compile(r"root_cause=unlinked"))
    assert page.evaluate("window.notReloaded") is True
    # The URL reflects the filters: reloading shows the same figures.
    page.reload()
    expect(page.locator("#totals h2")).to_contain_text("February 2026")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == "mishap-costs-2026-02.csv"


def test_log_a_figure_only_mishap_leaving_the_resource_row_empty(page):
    """The empty resource row the page renders may stay empty: a low/high estimate alone
    is saved (docs/rules.md#cost-resource-row-optional)."""
    page.get_by_role("link", name="Log a mishap").click()
    page.get_by_label("Title").fill("Backfill ran twice against production")
    page.get_by_label("What happened").fill("A retried job wrote every row a second time.")
    page.locator("#id_root_cause").fill("The retry did not check for a finished run.")
    page.get_by_label("Silent fallback").check()
    page.get_by_label("Estimated cost, low (USD)").fill("1,200")
    page.get_by_label("Estimated cost, high (USD)").fill("$1,500")
    expect(page.locator('#cost-preview [data-preview="estimate"]')).to_have_text(
        "$1,200–$1,500")
    page.get_by_label("Prevention").fill("Retries check for a finished run first")
    page.get_by_role("button", name="Save the entry").click()

    expect(page.get_by_role("heading", name="Backfill ran twice against production")) \
        .to_be_visible()
    expect(page.get_by_text("Resource row 1")).to_have_count(0)
    entry = MishapEntry.objects.get(title="Backfill ran twice against production")
    assert (str(entry.cost_low_usd), str(entry.cost_high_usd)) == ("1200.00", "1500.00")
    assert not entry.resources.exists()
