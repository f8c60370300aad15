"""The draft as the meeting's page, in real Chromium at 1280 x 800 (issue 20): the agenda
and the field being filled are in view together, the scan is answered by keyboard alone,
timeline rows and pending marks need no mouse, long-form sections and costs fold away
until wanted, and the shortcuts are listed on the page."""
import os
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from incidents import meetings, services
from incidents.failure_modes import FAILURE_MODES
from incidents.meetings import AttendeeInput
from incidents.models import PendingMark, ScanAnswer
from tests.conftest import NOW, make_user, signed_in_drafts

OCCURRED = NOW - timedelta(hours=5)
LAPTOP = {"width": 1280, "height": 800}

IN_VIEW = """el => { const r = el.getBoundingClientRect();
  return r.top >= 0 && r.left >= 0 && r.bottom <= window.innerHeight
         && r.right <= window.innerWidth && r.height > 0; }"""


@pytest.fixture
def alice(transactional_db):
    return make_user("alice", password="alice-password-1")


@pytest.fixture
def open_as(browser, live_server, frozen_time):
    with signed_in_drafts(browser, live_server, now=NOW) as open_page:
        yield open_page


@pytest.fixture
def meeting_page(alice, open_as):
    """Alice's seven-field draft with the 30-minute meeting running, at 1280 x 800."""
    bob = make_user("bob")
    pm = services.create_draft(alice, occurred_utc=OCCURRED, trigger="drawdown")
    meeting = meetings.schedule_meeting(pm, OCCURRED + timedelta(hours=4), alice, [
        AttendeeInput(alice, "operator"), AttendeeInput(bob, "code_owner")])
    meetings.start_meeting(meeting, alice, now=NOW)
    page = open_as("alice", pm)
    page.set_viewport_size(LAPTOP)
    expect(page.locator("#progress")).to_contain_text("Meeting in progress")
    return pm, page


def in_view(locator) -> bool:
    return locator.evaluate(IN_VIEW)


def test_the_agenda_and_every_field_are_in_view_together_at_1280_by_800(meeting_page):
    _pm, page = meeting_page
    agenda = page.locator("#progress")
    seen = []
    for _ in range(40):
        page.keyboard.press("Alt+J")
        current = page.locator(".fields section.field.here")
        focused = page.locator(":focus")
        key = focused.evaluate("el => (el.closest('section.field') || el.closest('details')).id")
        if seen and key == seen[-1]:
            break  # the last stop: Alt+J stays
        seen.append(key)
        assert in_view(agenda), key
        assert in_view(focused), key
        if focused.evaluate("el => el.tagName") != "SUMMARY":
            assert current.get_attribute("id") == key
            heading = current.locator("h2").first
            assert in_view(heading), key
    assert seen[:3] == ["section-scan", "section-summary", "section-timeline"]
    assert "section-prevention" in seen and "fold-long-form" in seen and "fold-costs" in seen
    # The agenda line of the current field is marked.
    page.keyboard.press("Alt+K")
    page.keyboard.press("Alt+K")
    expect(page.locator("#progress li.here")).to_have_count(0)  # a fold heading has no line
    page.get_by_role("textbox", name="6. Prevention").focus()
    expect(page.locator("#progress-prevention")).to_have_attribute("aria-current", "step")
    assert in_view(agenda) and in_view(page.get_by_role("textbox", name="6. Prevention"))


def test_the_scan_is_answered_by_keyboard_alone_and_saved(meeting_page):
    pm, page = meeting_page
    rows = page.locator("form[data-scan-row]")
    expect(rows).to_have_count(len(FAILURE_MODES))
    # One line a question: every row is as tall as one line of its text, give or take.
    heights = rows.evaluate_all("rs => rs.map(r => r.getBoundingClientRect().height)")
    assert max(heights) < 45, heights
    page.keyboard.press("Alt+S")
    first = FAILURE_MODES[0]
    expect(page.locator(":focus")).to_have_attribute(
        "aria-label", f"{first.number}. {first.name}: Yes")
    keys = {"y": "yes", "n": "no", "a": "na"}
    wanted = {}
    for index, mode in enumerate(FAILURE_MODES):
        key = "yna"[index % 3] if index else "n"
        wanted[mode.slug] = keys[key]
        page.keyboard.press(key)
    expect(page.locator("#check-scan")).to_contain_text("✓")
    saved = dict(ScanAnswer.objects.filter(postmortem=pm)
                 .values_list("question__slug", "answer"))
    assert saved == wanted
    # Up and down move between questions; the answer of one is changed in place.
    page.keyboard.press("Alt+S")  # no question is open: the first one
    page.keyboard.press("ArrowDown")
    second = FAILURE_MODES[1]
    label = "Yes" if wanted[second.slug] == "yes" else "No"
    expect(page.locator(":focus")).to_have_attribute(
        "aria-label", f"{second.number}. {second.name}: {label}")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("a")
    expect(page.locator(f"#scan-row-{first.slug} input[value=na]")).to_be_checked()
    page.wait_for_function("() => !document.querySelector('#section-scan .htmx-request')")
    assert ScanAnswer.objects.get(postmortem=pm, question__slug=first.slug).answer == "na"


def test_a_timeline_row_and_a_pending_mark_by_keyboard(meeting_page):
    pm, page = meeting_page
    page.keyboard.press("Alt+T")
    time_input = page.get_by_label("Timeline row 1 time (UTC)")
    expect(time_input).to_be_focused()
    page.keyboard.type("2026-11-30 14:02")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Timeline row 1 event")).to_be_focused()
    page.keyboard.type("Drawdown alert fired")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Timeline row 1 trace_id")).to_be_focused()
    page.keyboard.type("trace-0001")
    page.keyboard.press("Tab")
    page.wait_for_function("() => !document.querySelector('#section-timeline .htmx-request')")
    expect(page.locator("#feedback-timeline")).not_to_contain_text("not saved")
    page.keyboard.press("Alt+T")
    expect(page.get_by_label("Timeline row 2 time (UTC)")).to_be_focused()
    row = pm.timeline_entries.order_by("position").first()
    assert (row.event, row.trace_id) == ("Drawdown alert fired", "trace-0001")
    assert pm.timeline_entries.count() == 2

    # Move to References by keyboard and mark it pending, then clear the mark.
    for _ in range(10):
        page.keyboard.press("Alt+J")
        if page.locator("#section-references.here").count():
            break
    expect(page.locator("#section-references")).to_have_class("field here")
    page.keyboard.press("Alt+M")
    expect(page.locator("#feedback-references .pending-badge")).to_have_text(
        "Incomplete, pending trace review")
    expect(page.locator("#progress-references")).to_contain_text("pending trace review")
    assert PendingMark.objects.filter(postmortem=pm, field="references").exists()
    page.keyboard.press("Alt+M")
    expect(page.locator("#feedback-references .pending-badge")).to_have_count(0)
    assert not PendingMark.objects.filter(postmortem=pm, field="references").exists()


def test_long_form_and_costs_fold_away_until_wanted_and_stay_as_left(meeting_page):
    pm, page = meeting_page
    went_well = page.get_by_role("textbox", name="9. What went well")
    expect(went_well).to_be_hidden()
    expect(page.locator("#impact-costs")).to_be_hidden()
    # Opened by keyboard: the first folded field takes the focus.
    page.keyboard.press("Alt+L")
    expect(page.get_by_label("Financial impact (USD)")).to_be_focused()
    expect(went_well).to_be_visible()
    went_well.fill("The drawdown alert fired at session end as designed.")
    expect(page.locator("#feedback-what_went_well")).to_contain_text("What went well is filled")
    # The cost panel: its heading is a keyboard stop; Enter opens it.
    page.locator("#fold-costs > summary").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#impact-costs")).to_be_visible()
    # Remembered for this person across reloads.
    page.reload()
    expect(went_well).to_be_visible()
    expect(page.locator("#impact-costs")).to_be_visible()
    page.keyboard.press("Alt+L")
    expect(went_well).to_be_hidden()
    page.reload()
    expect(went_well).to_be_hidden()
    # A link to a folded field (as the finalize refusal gives) opens its fold.
    page.goto(f"/postmortems/{pm.pk}/#section-what_went_well")
    expect(went_well).to_be_visible()


def test_the_shortcuts_are_listed_on_the_page(meeting_page):
    _pm, page = meeting_page
    shortcuts = page.locator("#shortcuts")
    expect(shortcuts).to_be_visible()
    page.keyboard.press("Alt+J")  # in the meeting, beside the field being read
    for text in ("next / previous field", "add a timeline row", "mark this field pending",
                 "answer the focused question"):
        expect(shortcuts).to_contain_text(text)
    assert in_view(shortcuts.get_by_text("add a timeline row"))


def test_a_screenshot_of_the_draft_at_1280_by_800(meeting_page, tmp_path):
    pm, page = meeting_page
    page.get_by_role("textbox", name="1. Summary").fill(
        "Position in SYNTHETIC_A was not closed on thesis invalidation at 15:47 UTC.")
    expect(page.locator("#feedback-summary")).to_contain_text("Summary is complete")
    page.keyboard.press("Alt+S")
    for key in "nnyna":
        page.keyboard.press(key)
    page.wait_for_function("() => !document.querySelector('#section-scan .htmx-request')")
    expect(page.locator("#check-scan")).to_contain_text("5 of 20 answered")
    page.locator("#section-scan").evaluate("el => el.scrollIntoView({block: 'start'})")
    # SCARLOG_SCREENSHOT=docs/postmortem-form.png refreshes the README's picture.
    path = Path(os.environ.get("SCARLOG_SCREENSHOT") or tmp_path / "draft.png")
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000
    assert ScanAnswer.objects.filter(postmortem=pm).count() == 5
