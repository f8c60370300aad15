"""The live meeting panel, in real Chromium: when the facilitator starts, ends, cancels or
reschedules the meeting, every other open page's meeting panel shows it within two
seconds without a reload, its timer stopping with it (docs/rules.md#live-feed)."""
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from incidents import meetings, services
from incidents.meetings import AttendeeInput
from tests.conftest import NOW, make_user, signed_in_drafts

TWO_SECONDS = 2000


@pytest.fixture
def people(transactional_db):
    return {name: make_user(name, password=f"{name}-password-1") for name in ("alice", "bob")}


@pytest.fixture
def scheduled_draft(people):
    """A draft whose meeting alice facilitates, bob the code owner; not started yet."""
    pm = services.create_draft(people["alice"], occurred_utc=NOW - timedelta(hours=5),
                               trigger="drawdown")
    meetings.schedule_meeting(pm, NOW, people["alice"], [
        AttendeeInput(people["alice"], "operator"), AttendeeInput(people["bob"], "code_owner")])
    return pm


def test_start_and_end_reach_the_others_meeting_panel(people, scheduled_draft, browser,
                                                      live_server):
    with signed_in_drafts(browser, live_server) as open_page:
        alice, bob = open_page("alice", scheduled_draft), open_page("bob", scheduled_draft)
        bob.evaluate("window.notReloaded = true")
        panel = bob.locator("#meeting-panel")
        expect(panel).not_to_contain_text("started")

        alice.get_by_role("button", name="Start meeting").click()
        expect(panel).to_contain_text("started", timeout=TWO_SECONDS)
        expect(panel.locator(".meeting-timer")).to_be_visible()

        alice.get_by_role("button", name="End meeting").click()
        expect(panel).to_contain_text("ended", timeout=TWO_SECONDS)
        expect(panel.locator(".meeting-timer")).to_have_count(0)
        assert bob.evaluate("window.notReloaded") is True
