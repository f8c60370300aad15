"""In Chromium: an editor restricts a draft to a group through "Who can read this"; a
teammate outside the group then finds no trace of it (docs/rules.md#private-postmortems)."""
import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from incidents.models import Postmortem
from tests.conftest import make_user, signed_in_drafts

pytestmark = pytest.mark.django_db(transaction=True)


def test_restricting_a_draft_hides_it_from_a_non_member(browser, live_server):
    security = Group.objects.create(name="Security")
    mara = make_user("mara", password="mara-password-1")
    mara.groups.add(security)
    make_user("otto", password="otto-password-1")
    pm = Postmortem.objects.create(created_by=mara, summary="Badge clone at the side door")
    with signed_in_drafts(browser, live_server) as open_page:
        page = open_page("mara", pm)
        page.locator("#access-form").get_by_label("Security").check()
        page.get_by_role("button", name="Save who can read this").click()
        expect(page.get_by_text("Restricted to Security.")).to_be_visible()
        expect(page.locator("#access")).to_contain_text("Only members of Security")
        context = browser.new_context(base_url=live_server.url)
        other = context.new_page()
        other.goto("/accounts/login/")
        other.get_by_label("Username").fill("otto")
        other.get_by_label("Password").fill("otto-password-1")
        other.get_by_role("button", name="Sign in").click()
        expect(other.get_by_role("heading", name="Dashboard")).to_be_visible()
        expect(other.locator("body")).not_to_contain_text("Badge clone")
        other.goto("/postmortems/")
        expect(other.locator("body")).not_to_contain_text("Badge clone")
        answer = other.goto(f"/postmortems/{pm.pk}/")
        assert answer.status == 404
        context.close()
