"""The postmortem list in real Chromium: filter with the form, then page through the
filtered list with the filters kept (issue 19)."""
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.conftest import make_user
from tests.test_browser_postmortem import signed_in_page
from tests.test_postmortem_list import EVENT, record


@pytest.fixture
def page(browser, live_server, transactional_db):
    make_user("alice", password="alice-password-1")
    for number in range(55):
        record(f"Leaked key number {number:02d}", root_cause="security", trigger="injection",
               occurred=EVENT - timedelta(hours=number))
    for number in range(5):
        record(f"Provider outage number {number}", occurred=EVENT + timedelta(days=number))
    page = signed_in_page(browser, live_server, "/postmortems/", "Postmortems")
    yield page
    page.context.close()


def test_filter_then_page_through_the_filtered_list(page):
    rows = page.locator("#postmortem-list tbody tr")
    expect(rows).to_have_count(50)
    expect(page.locator("[data-list-count]")).to_contain_text("60 postmortems, 1–50 shown")

    page.get_by_label("Root cause").select_option("security")
    page.get_by_label("Sort").select_option("-event")
    page.get_by_label("Event from (UTC date)").fill("2026-02-20")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"root_cause=security"))
    expect(page.locator("[data-list-count]")).to_contain_text("55 postmortems, 1–50 shown")
    expect(rows.first).to_contain_text("Leaked key number 00")
    expect(page.get_by_text("Provider outage number 0")).to_have_count(0)

    page.get_by_role("link", name="Next").click()
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(rows).to_have_count(5)
    expect(rows.last).to_contain_text("Leaked key number 54")
    expect(page.get_by_label("Root cause")).to_have_value("security")
    expect(page.get_by_label("Event from (UTC date)")).to_have_value("2026-02-20")

    page.get_by_label("Root cause").select_option("")
    page.get_by_label("Event from (UTC date)").fill("")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("[data-list-count]")).to_contain_text("60 postmortems")
    expect(page).not_to_have_url(re.compile(r"page="))

    # The wide table scrolls in its own box and the form wraps: neither widens the page
    # (the site header is another matter, checked by the crawl test).
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        widest = page.locator("#list-filters").evaluate(
            "form => Math.max(...[form, ...form.querySelectorAll('*')].map("
            "node => node.getBoundingClientRect().right))")
        assert widest <= width, ("filter form", width, widest)
        for part in (".table-scroll", ".pager"):
            right = page.locator(part).evaluate("node => node.getBoundingClientRect().right")
            assert right <= width, (part, width, right)
