"""The dashboard in real Chromium: overdue items highlighted, filters without a reload."""
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from incidents import action_items, services
from incidents.models import Postmortem
from tests.conftest import NOW, fill_complete_draft, make_user
from tests.test_browser_postmortem import signed_in_page

TODAY = NOW.date()


@pytest.fixture
def page(browser, live_server, transactional_db, frozen_time):
    alice = make_user("alice", password="alice-password-1")
    bob = make_user("bob", password="bob-password-1")
    pm = services.finalize(fill_complete_draft(Postmortem.objects.create(created_by=alice)), alice)
    services.set_domain(pm, "cloud-training", user=alice)
    action_items.add_item(pm, "rule", "Add auto_destroy=False for long runs", alice,
                          TODAY - timedelta(days=3))
    action_items.add_item(pm, "hook", "Independent watchdog process", bob,
                          TODAY + timedelta(days=5))
    action_items.add_item(pm, "test", "Heartbeat survives a 5-minute blip", bob,
                          TODAY - timedelta(days=1))
    page = signed_in_page(browser, live_server, "/", "Dashboard", now=NOW)
    yield page
    page.context.close()


def test_overdue_items_are_highlighted_and_filters_apply_without_reload(page):
    overdue = page.locator("tr.overdue")
    expect(overdue).to_have_count(2)
    expect(overdue.first).to_contain_text("overdue")
    background = overdue.first.locator("td").first.evaluate(
        "cell => getComputedStyle(cell).backgroundColor")
    assert background == "rgb(255, 245, 245)"
    page.evaluate("window.notReloaded = true")

    page.get_by_label("Owner").select_option("bob")
    expect(page).to_have_url(re.compile(r"owner=bob"))
    expect(page.locator("[data-item]")).to_have_count(2)
    page.get_by_label("Overdue only").check()
    expect(page).to_have_url(re.compile(r"overdue=1"))
    expect(page.locator("[data-item]")).to_have_count(1)
    expect(page.locator("[data-item]")).to_contain_text("Heartbeat survives a 5-minute blip")
    expect(page.locator("[data-counts]")).to_contain_text("1 open action item")
    assert page.evaluate("window.notReloaded") is True

    page.reload()
    expect(page.locator("[data-item]")).to_have_count(1)
    expect(page.get_by_label("Overdue only")).to_be_checked()
