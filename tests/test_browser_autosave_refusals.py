"""Nothing typed is lost, in real Chromium: when an autosave is refused (the role became
viewer, the record became final in another session, a version conflict, the server cannot
be reached) the text stays in its field, the page stays, and a message beside the field
says why (docs/rules.md#autosave-keeps-text)."""
import re

import pytest
from playwright.sync_api import expect

from core import roles
from incidents import services
from incidents.models import Postmortem
from tests.conftest import fill_complete_draft, make_user, signed_in_drafts


@pytest.fixture(autouse=True)
def as_the_demo_runs(settings):
    """DEBUG on, as `manage.py demo` serves the pages (what a debug-only script does shows)."""
    settings.DEBUG = True


@pytest.fixture
def people(transactional_db):
    return {name: make_user(name, password=f"{name}-password-1") for name in ("alice", "bob")}


@pytest.fixture
def open_as(browser, live_server):
    with signed_in_drafts(browser, live_server) as open_page:
        yield open_page


def refusal_beside(page, field_id: str):
    """The message autosave.js puts right after the field."""
    return page.locator(f"#{field_id} + .save-refused")


def test_demoted_to_viewer_mid_edit_keeps_the_text(people, open_as):
    pm = services.create_draft(people["alice"])
    page = open_as("alice", pm)
    summary = page.get_by_role("textbox", name="1. Summary")
    summary.fill("Position in SYNTHETIC_A was not closed")
    expect(page.locator("#feedback-summary .count")).to_have_text("6 / 40 words")
    assert Postmortem.objects.get(pk=pm.pk).summary == "Position in SYNTHETIC_A was not closed"

    roles.set_role(people["alice"], roles.VIEWER)
    typed = "Position in SYNTHETIC_A was not closed on thesis invalidation at 15:47 UTC."
    summary.fill(typed)
    expect(refusal_beside(page, "id_summary")).to_contain_text("you are a viewer now")
    expect(summary).to_have_value(typed)
    expect(page.get_by_role("heading", name="Postmortem Draft")).to_be_visible()
    expect(page.get_by_role("heading", name="Not allowed")).to_have_count(0)
    assert Postmortem.objects.get(pk=pm.pk).summary == "Position in SYNTHETIC_A was not closed"


def test_finalized_in_another_session_keeps_the_text(people, open_as):
    pm = fill_complete_draft(services.create_draft(people["alice"]))
    page = open_as("alice", pm)
    services.finalize(Postmortem.objects.get(pk=pm.pk), people["bob"])

    prevention = page.get_by_role("textbox", name="6. Prevention")
    typed = "An invalidation monitor emits a metric; an alert fires when it expires."
    prevention.fill(typed)
    refusal = refusal_beside(page, "id_prevention")
    expect(refusal).to_contain_text("finalized in another session")
    expect(refusal.get_by_role("link", name="Open the final record")).to_have_attribute(
        "href", f"/postmortems/{pm.pk}/")
    expect(prevention).to_have_value(typed)
    expect(page.get_by_role("heading", name="Postmortem Draft")).to_be_visible()
    assert Postmortem.objects.get(pk=pm.pk).prevention != typed


def test_a_conflict_keeps_my_text_in_the_field_beside_theirs(people, open_as):
    pm = services.create_draft(people["alice"])
    alice, bob = open_as("alice", pm), open_as("bob", pm)
    # Bob's page does not see Alice's save come in (its live updates cut off), so it is
    # stale; the live path is tests/test_browser_live.py's.
    bob.route(re.compile(r"/live/\?"), lambda route: route.abort())
    alice.get_by_role("textbox", name="1. Summary").fill("Alice's summary of the loss.")
    expect(alice.locator("#feedback-summary .count")).to_have_text("5 / 40 words")
    assert Postmortem.objects.get(pk=pm.pk).summary == "Alice's summary of the loss."

    mine = "Bob's summary of the loss, typed on a page that had not seen Alice's."
    summary = bob.get_by_role("textbox", name="1. Summary")
    summary.fill(mine)
    conflict = bob.locator("#feedback-summary.conflict")
    expect(conflict.locator("td.theirs")).to_have_text("Alice's summary of the loss.")
    expect(conflict.locator("td.mine")).to_have_text(mine)
    expect(summary).to_have_value(mine)


def test_an_unreachable_server_keeps_the_text_and_saves_it_later(people, open_as):
    pm = services.create_draft(people["alice"])
    page = open_as("alice", pm)
    page.route("**/field/**", lambda route: route.abort("internetdisconnected"))
    summary = page.get_by_role("textbox", name="1. Summary")
    typed = "Position in SYNTHETIC_A was not closed on thesis invalidation."
    summary.fill(typed)
    refusal = refusal_beside(page, "id_summary")
    expect(refusal).to_contain_text("Scarlog could not be reached")
    expect(summary).to_have_value(typed)
    assert Postmortem.objects.get(pk=pm.pk).summary == ""

    # The connection is back: the next change saves all of it and the message goes.
    page.unroute("**/field/**")
    summary.press("End")
    summary.type(" Loss 1.4%.")
    expect(page.locator("#feedback-summary .count")).to_have_text("11 / 40 words")
    expect(refusal).to_have_count(0)
    assert Postmortem.objects.get(pk=pm.pk).summary == typed + " Loss 1.4%."
