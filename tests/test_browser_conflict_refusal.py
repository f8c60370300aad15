"""A refused (409) save in real Chromium: the field says aria-invalid="true" while the
conflict box is shown and stops once resolved; and neither the conflict swap nor Start
meeting breaks the strict CSP (no inline style or script refused, nothing logged as an
error) (docs/rules.md#autosave-keeps-text)."""
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from incidents import meetings, services
from incidents.meetings import AttendeeInput
from tests.conftest import NOW, make_user, signed_in_drafts

# Every securitypolicyviolation the page sees, kept where the test can read it.
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.cspViolations.push(event.violatedDirective + " " + event.blockedURI + " "
                            + (event.sample || ""));
});
"""


@pytest.fixture
def people(transactional_db):
    return {name: make_user(name, password=f"{name}-password-1") for name in ("alice", "bob")}


@pytest.fixture
def scheduled_draft(people):
    pm = services.create_draft(people["alice"], occurred_utc=NOW - timedelta(hours=5),
                               trigger="drawdown")
    meetings.schedule_meeting(pm, NOW, people["alice"], [
        AttendeeInput(people["alice"], "operator"), AttendeeInput(people["bob"], "code_owner")])
    return pm


def watched(page, errors: list):
    """`page` with its console errors appended to `errors`, its live poll cut off (so it
    keeps the values it was opened with and a stale save meets the conflict box), and its
    CSP violations recorded from the next load on."""
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.add_init_script(RECORD_VIOLATIONS)
    page.route(re.compile(r"/live/\?"), lambda route: route.abort())
    page.reload()
    return page


def violations(page) -> list:
    return page.evaluate("window.cspViolations")


def test_a_conflict_marks_the_field_invalid_and_nothing_breaks_the_csp(
        people, scheduled_draft, browser, live_server):
    errors = []
    with signed_in_drafts(browser, live_server) as open_page:
        alice = watched(open_page("alice", scheduled_draft), errors)
        bob = watched(open_page("bob", scheduled_draft), errors)

        alice.get_by_role("button", name="Start meeting").click()
        expect(alice.locator("#meeting-panel .meeting-timer")).to_be_visible()
        summary = "Position in SYNTHETIC_A was not closed on thesis invalidation at 15:47 UTC."
        alice.get_by_role("textbox", name="1. Summary").fill(summary)
        expect(alice.locator("#feedback-summary")).to_contain_text("Summary is complete")

        field = bob.get_by_role("textbox", name="1. Summary")
        field.fill(summary.replace("was not closed", "stayed open"))
        conflict = bob.locator("#feedback-summary.conflict")
        expect(conflict).to_contain_text("alice saved this while you were typing")
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_have_attribute("aria-describedby", "feedback-summary")

        conflict.get_by_role("button", name="Keep mine").click()
        expect(bob.locator("#feedback-summary")).to_contain_text("Summary is complete")
        expect(field).not_to_have_attribute("aria-invalid", "true")

        # Chromium logs the refused save's answer (409) and the polls cut off on purpose as
        # failed loads; anything else logged as an error fails the test.
        errors = [e for e in errors if not e.startswith("Failed to load resource")]
        assert (violations(alice), violations(bob), errors) == ([], [], [])
