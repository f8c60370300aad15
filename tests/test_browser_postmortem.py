"""A person fills, finalizes and amends a postmortem in real Chromium (Debian's /usr/bin/chromium).

Playwright for Python drives the browser against pytest-django's live server, which
talks to the PostgreSQL test database.
"""
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from incidents.failure_modes import FAILURE_MODES
from incidents.models import Amendment, Postmortem
from tests.conftest import NOW, browser_context, make_user

TIMELINE = [
    ("2026-03-02 13:40", "Idea generated", "tr-5f2a9c"),
    ("2026-03-02 13:55", "Research completed", "tr-5f2a9c"),
    ("2026-03-02 14:02", "Order placed and filled", "tr-5f2a9c"),
    ("2026-03-02 15:47", "Invalidation signal: thesis demonstrably false", "tr-5f2a9c"),
    ("2026-03-02 19:55", "Position exited at session close", "tr-5f2a9c"),
]
FACTORS = [
    "No automated invalidation monitor on open positions",
    "Invalidation signal was logged but not wired to an exit",
    "Daily drawdown alert fired only at session end",
]
REFERENCES = [
    ("trace_id", "tr-5f2a9c"),
    ("commit", "3f9c2ab41d"),
    ("pr", "https://git.example.com/trading/pull/212"),
]


@pytest.fixture
def page(browser, live_server, transactional_db, frozen_time):
    make_user("alice", password="alice-password-1")
    context = browser_context(browser, live_server, now=NOW)
    page = context.new_page()
    yield page
    context.close()


def signed_in_page(browser, live_server, path: str, heading: str, now=None):
    """A new browser page signed in as alice (who must exist) through the login form,
    opened at `path`; waits for `heading`. `now`: as for browser_context. Close its context
    when done."""
    context = browser_context(browser, live_server, now=now)
    page = context.new_page()
    page.goto(path)
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("alice-password-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    return page


def sign_in(page):
    page.goto("/postmortems/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("alice-password-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Postmortems")).to_be_visible()


def answer_scan(page, answer: str, skip=()):
    """Answer every failure-mode question not in `skip` (slugs) with `answer` (Yes, No,
    Not applicable), then wait until the sidebar shows the scan done."""
    for mode in FAILURE_MODES:
        if mode.slug not in skip:
            radio = page.get_by_label(f"{mode.number}. {mode.name}: {answer}", exact=True)
            radio.check()
            expect(page.locator(f"#scan-row-{mode.slug} .scan-note")).to_be_visible()
    expect(page.locator("#check-scan")).to_contain_text("✓")


def add_row_by_keyboard(page, section, button_name, values):
    """Press the Add button, then type each value into the autofocused row, Tab between."""
    rows = page.locator(f"{section} tbody tr, {section} ul.bullets li")
    before = rows.count()
    page.get_by_role("button", name=button_name).click()
    expect(rows).to_have_count(before + 1)
    # Keyboard only: the new row's first field takes the focus.
    expect(rows.nth(before).locator("input:not([type=hidden])").first).to_be_focused()
    for value in values:
        page.keyboard.type(value)
        page.keyboard.press("Tab")


def test_a_person_fills_finalizes_and_amends_a_postmortem(page):
    sign_in(page)
    page.get_by_role("link", name="New postmortem").click()
    # The event is required: without it the draft is refused, naming the field.
    page.get_by_label("Trigger", exact=True).select_option("thesis_invalidation")
    page.get_by_role("button", name="Start draft").click()
    expect(page.get_by_label("Event occurred (UTC)")).to_be_visible()
    occurred = (NOW - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    page.get_by_label("Event occurred (UTC)").fill(occurred)
    # The seven-field template is the default choice.
    expect(page.get_by_label("Seven-field")).to_be_checked()
    page.get_by_role("button", name="Start draft").click()
    expect(page.get_by_role("heading", name="Postmortem Draft")).to_be_visible()
    expect(page.locator("h1")).to_contain_text("Seven-field template")
    # The 72-hour meeting deadline counts down on the page: 70 hours left.
    expect(page.locator("#meeting .countdown")).to_have_text("2 d 22 h left")
    pm = Postmortem.objects.get()

    summary = ("Position opened in SYNTHETIC_A at 14:02 UTC was not closed on thesis "
               "invalidation at 15:47 UTC; realized loss 1.4 percent of deployed capital.")
    page.get_by_role("textbox", name="1. Summary").fill(summary)
    expect(page.locator("#feedback-summary")).to_contain_text("Summary is complete")

    # Closing the tab loses nothing: a reload shows what was typed.
    page.reload()
    expect(page.get_by_role("textbox", name="1. Summary")).to_have_value(summary)

    for time, event, trace_id in TIMELINE:
        add_row_by_keyboard(page, "#section-timeline", "Add timeline row", [time, event, trace_id])
    expect(page.locator("#feedback-timeline")).to_contain_text("Timeline is complete")

    page.get_by_label("Correctness").check()
    expect(page.locator("#feedback-root_cause")).to_contain_text("Root cause is complete")

    # Finalize is refused while a field is missing, with a message naming it.
    page.get_by_role("button", name="Finalize postmortem").first.click()
    refusal = page.locator("#finalize-refused")
    expect(refusal).to_contain_text("Finalize refused")
    expect(refusal).to_contain_text(
        "Contributing factors has 0 bullets; the template asks for 3 to 5.")
    expect(refusal).to_contain_text("References has 0 links")
    assert Postmortem.objects.get(pk=pm.pk).status == "draft"

    for factor in FACTORS:
        add_row_by_keyboard(page, "#section-contributing_factors", "Add contributing factor",
                            [factor])
    expect(page.locator("#feedback-contributing_factors")).to_contain_text(
        "not yet through the substitution test")
    for number in range(1, len(FACTORS) + 1):
        page.get_by_label(f"Contributing factor {number} substitution test").select_option(
            "structural")
    expect(page.locator("#feedback-contributing_factors")).to_contain_text("is complete")

    page.get_by_label("Commit SHA").fill("3f9c2ab41d")
    page.get_by_label("Change described").fill("Wired the invalidation signal to an exit order.")
    expect(page.locator("#feedback-fix")).to_contain_text("Fix implemented is complete")

    page.get_by_role("textbox", name="6. Prevention").fill(
        "An invalidation monitor watches every open position and emits a metric; an alert "
        "fires when a position outlives its invalidation timestamp."
    )
    expect(page.locator("#feedback-prevention")).to_contain_text("Prevention is complete")

    reference_rows = page.locator("#section-references tbody tr")
    for number, (kind, value) in enumerate(REFERENCES, start=1):
        page.get_by_role("button", name="Add reference").click()
        expect(reference_rows).to_have_count(number)
        row = reference_rows.nth(number - 1)
        row.get_by_role("combobox").select_option(kind)
        row.get_by_role("textbox").fill(value)
        row.get_by_role("textbox").press("Tab")
    expect(page.locator("#feedback-references")).to_contain_text("References is complete")
    expect(page.locator("#progress")).to_contain_text("7 of 7")
    answer_scan(page, "No")

    page.get_by_role("button", name="Finalize postmortem").first.click()
    expect(page.get_by_text("Postmortem finalized.")).to_be_visible()
    expect(page.get_by_role("heading", name="Postmortem Final")).to_be_visible()

    # No way to edit the record: outside the action items, the cost log link, the
    # feedback-loop links and who may read it (living records kept apart from the
    # immutable content), the only form left on the page is the amendment's.
    editable = page.locator(
        "main :is(input:not([type=hidden]), textarea, select)"
        ":not(#action-items *):not(#impact-costs *):not(#feedback-loop *):not(#access *)"
        ":not(.amend-form *)")
    expect(editable).to_have_count(0)
    expect(page.get_by_label("Amendment note (Markdown)")).to_be_visible()
    expect(page.get_by_role("button", name="Finalize postmortem")).to_have_count(0)
    expect(page.locator("#section-timeline tbody tr")).to_have_count(5)
    assert Postmortem.objects.get(pk=pm.pk).status == "final"

    page.get_by_label("Amendment note (Markdown)").fill(
        "Trace replay shows the **invalidation signal** fired twice."
    )
    page.get_by_role("button", name="Add amendment").click()
    amendment = page.locator(".amendment")
    expect(amendment).to_have_count(1)
    expect(amendment.locator("strong")).to_have_text("invalidation signal")
    expect(amendment).to_contain_text("UTC · alice")
    assert Amendment.objects.get().postmortem_id == pm.pk
