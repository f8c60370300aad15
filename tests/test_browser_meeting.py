"""The 30-minute meeting in real Chromium: three people editing one draft at once with a
conflict resolved without loss, the meeting timer and agenda, pending trace review, the
failure-mode scan and the blameless checks."""
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from incidents import meetings, services
from incidents.meetings import AttendeeInput
from incidents.models import FieldRevision, Postmortem, ScanAnswer
from tests.conftest import NOW, fill_complete_draft, make_user, signed_in_drafts
from tests.test_browser_postmortem import answer_scan

OCCURRED = NOW - timedelta(hours=5)


@pytest.fixture
def people(transactional_db):
    return {name: make_user(name, password=f"{name}-password-1")
            for name in ("alice", "bob", "carol")}


@pytest.fixture
def open_as(browser, live_server, frozen_time):
    """Pages whose live updates are cut off (the live poll aborted), so each keeps the
    values it was opened with and a stale save meets the conflict box; the live path is
    tests/test_browser_live.py's."""
    with signed_in_drafts(browser, live_server, now=NOW) as open_page:
        def open_stale(name, pm):
            page = open_page(name, pm)
            page.route(re.compile(r"/live/\?"), lambda route: route.abort())
            return page
        yield open_stale


def test_three_people_edit_at_once_and_a_conflict_is_resolved_without_loss(people, open_as):
    pm = services.create_draft(people["alice"], occurred_utc=OCCURRED, trigger="drawdown")
    alice, bob, carol = (open_as(name, pm) for name in ("alice", "bob", "carol"))

    # Three people type into three fields at the same moment: every value is kept.
    summary = "Position in SYNTHETIC_A was not closed on thesis invalidation at 15:47 UTC."
    prevention = "An invalidation monitor emits a metric; an alert fires on expiry."
    went_well = "The drawdown alert fired at session end as designed."
    alice.get_by_role("textbox", name="1. Summary").fill(summary)
    bob.get_by_role("textbox", name="6. Prevention").fill(prevention)
    carol.locator("#fold-long-form > summary").click()  # folded until wanted
    carol.get_by_role("textbox", name="9. What went well").fill(went_well)
    expect(alice.locator("#feedback-summary")).to_contain_text("Summary is complete")
    expect(bob.locator("#feedback-prevention")).to_contain_text("Prevention is complete")
    expect(carol.locator("#feedback-what_went_well")).to_contain_text("What went well is filled")
    stored = Postmortem.objects.get(pk=pm.pk)
    assert (stored.summary, stored.prevention, stored.what_went_well) == \
           (summary, prevention, went_well)

    # Bob's page still holds the summary as it was when he opened it. His edit is refused
    # with Alice's text beside his; he keeps his.
    bobs = summary.replace("was not closed", "stayed open")
    bob.get_by_role("textbox", name="1. Summary").fill(bobs)
    conflict = bob.locator("#feedback-summary.conflict")
    expect(conflict).to_contain_text("alice saved this while you were typing")
    expect(conflict.locator("td.theirs")).to_have_text(summary)
    expect(conflict.locator("td.mine")).to_have_text(bobs)
    assert Postmortem.objects.get(pk=pm.pk).summary == summary
    conflict.get_by_role("button", name="Keep mine").click()
    expect(bob.locator("#feedback-summary")).to_contain_text("Summary is complete")
    expect(bob.locator("#feedback-summary.conflict")).to_have_count(0)
    assert Postmortem.objects.get(pk=pm.pk).summary == bobs

    # Alice types on from her now stale page: she is shown Bob's text and keeps theirs,
    # then her next words build on it without another conflict.
    alice.get_by_role("textbox", name="1. Summary").fill(summary + " Loss 1.4%.")
    conflict = alice.locator("#feedback-summary.conflict")
    expect(conflict.locator("td.theirs")).to_have_text(bobs)
    conflict.get_by_role("button", name="Keep theirs").click()
    expect(alice.get_by_role("textbox", name="1. Summary")).to_have_value(bobs)
    expect(alice.locator("#feedback-summary")).to_contain_text("Summary is complete")
    expect(alice.locator("#feedback-summary.conflict")).to_have_count(0)
    alice.get_by_role("textbox", name="1. Summary").fill(bobs + " Loss 1.4%.")
    words = len((bobs + " Loss 1.4%.").split())
    expect(alice.locator("#feedback-summary")).to_contain_text(f"{words} / 40 words")
    assert Postmortem.objects.get(pk=pm.pk).summary == bobs + " Loss 1.4%."

    # Every accepted save is in the field's history, with who saved it.
    alice.locator("#feedback-summary").get_by_role("button", name="History").click()
    history = alice.locator("#history-summary tbody tr")
    expect(history).to_have_count(3)
    expect(history.nth(0)).to_contain_text("alice")
    expect(history.nth(1)).to_contain_text("bob")
    expect(history.nth(1)).to_contain_text(bobs)
    expect(history.nth(2)).to_contain_text(summary)
    assert list(FieldRevision.objects.filter(key="summary").order_by("version")
                .values_list("author__username", flat=True)) == ["alice", "bob", "alice"]


def test_the_meeting_runs_the_scan_and_the_blameless_checks(people, open_as):
    alice_user, bob_user = people["alice"], people["bob"]
    pm = fill_complete_draft(services.create_draft(alice_user, occurred_utc=OCCURRED,
                                                   trigger="thesis_invalidation"))
    ScanAnswer.objects.filter(postmortem=pm).delete()
    meetings.schedule_meeting(pm, OCCURRED + timedelta(hours=4), alice_user, [
        AttendeeInput(alice_user, "operator"), AttendeeInput(bob_user, "code_owner")])
    page = open_as("alice", pm)

    # The facilitator starts the 30-minute timer; the sidebar becomes the agenda.
    page.get_by_role("button", name="Start meeting").click()
    expect(page.locator("#meeting .meeting-timer")).to_have_text("30:00 left")
    expect(page.locator("#progress")).to_contain_text("Meeting in progress")

    # The scan: a yes becomes a contributing factor in one click.
    page.get_by_label("7. Tool-result injection: Yes", exact=True).check()
    page.get_by_role("button", name="Add \u201cTool-result injection\u201d as a contributing "
                                    "factor").click()
    expect(page.locator("#section-contributing_factors li")).to_have_count(4)
    expect(page.locator("#factor-" + str(pm.contributing_factors.last().pk) + "-text")) \
        .to_have_value(re.compile(r"^Tool-result injection: retrieved documents are not "))
    expect(page.locator("#scan-row-tool_result_injection")).to_contain_text(
        "Listed as a contributing factor")
    answer_scan(page, "Not applicable", skip={"tool_result_injection"})

    # Blame-flavoured wording gets the seed's rewrite as it is typed.
    page.get_by_label("Contributing factor 1", exact=True).fill(
        "The operator did not check the dashboard")
    feedback = page.locator("#feedback-contributing_factors")
    expect(feedback).to_contain_text("Contributing factor 1 reads as blame: "
                                     "\u201coperator did not check the dashboard\u201d")
    expect(feedback).to_contain_text("try: No alerting on the dashboard metric")

    # A field the team cannot fill is marked and keeps the draft open.
    page.locator("#feedback-references").get_by_role(
        "button", name="Mark incomplete, pending trace review").click()
    expect(page.locator("#progress")).to_contain_text("pending trace review")
    page.get_by_role("button", name="Finalize postmortem").first.click()
    refusal = page.locator("#finalize-refused")
    expect(refusal).to_contain_text("Contributing factor 1 reads as blame")
    expect(refusal).to_contain_text("References is marked incomplete, pending trace review")
    page.get_by_role("button", name="End meeting").click()
    expect(page.locator(".messages")).to_contain_text(
        "the postmortem stays a draft (pending trace review: References")
    assert pm.reminders.filter(kind="reconvene", state="pending").exists()

    # At the reconvened meeting: the traces are reviewed, the facilitator keeps factor 1's
    # wording after discussion, and the postmortem is finalized.
    page.locator("#feedback-references").get_by_role("button", name="Clear the mark").click()
    expect(page.locator("#feedback-references")).to_contain_text("References is complete")
    page.get_by_role("button", name="Facilitator: mark factor 1 reviewed").click()
    expect(feedback).to_contain_text("Reviewed by alice")
    page.get_by_role("button", name="Finalize postmortem").first.click()
    expect(page.get_by_text("Postmortem finalized.")).to_be_visible()
    expect(page.locator("#section-scan")).to_contain_text(
        "1 of 20 answers reveal a failure mode: Tool-result injection.")
    assert Postmortem.objects.get(pk=pm.pk).is_final


def test_keep_mine_on_a_timeline_row_keeps_the_other_persons_edits_to_its_other_cells(
        people, open_as):
    pm = services.create_draft(people["alice"], occurred_utc=OCCURRED, trigger="drawdown")
    alice = open_as("alice", pm)
    alice.get_by_role("button", name="Add timeline row").click()
    alice.get_by_label("Timeline row 1 time (UTC)").fill("2026-11-30 14:02")
    alice.get_by_label("Timeline row 1 event").fill("Drawdown alert fired")
    alice.get_by_label("Timeline row 1 trace_id").fill("trace-0001")
    alice.get_by_label("Timeline row 1 trace_id").press("Tab")
    row = pm.timeline_entries.get()
    expect(alice.locator("#feedback-timeline")).not_to_contain_text("Saving")
    alice.wait_for_function(
        f"() => document.getElementById('version-timeline-{row.pk}').value !== '0'")
    bob = open_as("bob", pm)

    # Alice corrects the event; Bob, on the page he opened before, corrects the trace id.
    alice.get_by_label("Timeline row 1 event").fill("Drawdown alert fired at -2.1%")
    alice.get_by_label("Timeline row 1 event").press("Tab")
    expect(alice.locator("#feedback-timeline")).not_to_contain_text("saved this while")
    alice.wait_for_function(
        "() => !document.querySelector('#section-timeline .htmx-request')")
    bob.get_by_label("Timeline row 1 trace_id").fill("trace-0002")
    bob.get_by_label("Timeline row 1 trace_id").press("Tab")
    conflict = bob.locator("#feedback-timeline.conflict")
    expect(conflict).to_contain_text("alice saved this while you were typing")
    conflict.get_by_role("button", name="Keep mine").click()
    expect(bob.locator("#feedback-timeline.conflict")).to_have_count(0)

    # Bob's trace id is kept, and so is Alice's event: nothing she typed was reverted.
    expect(bob.get_by_label("Timeline row 1 event")).to_have_value("Drawdown alert fired at -2.1%")
    expect(bob.get_by_label("Timeline row 1 trace_id")).to_have_value("trace-0002")
    bob.wait_for_function(
        "() => !document.querySelector('#section-timeline .htmx-request')")
    row.refresh_from_db()
    assert (row.event, row.trace_id) == ("Drawdown alert fired at -2.1%", "trace-0002")
