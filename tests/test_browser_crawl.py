"""Every GET page in real Chromium, as admin, editor and viewer, on the demo's data: no
console error or page error (CSP violations included), no horizontal overflow at 1280 and
390 px, the header on one row at 1280 px and at most 120 px tall at 390 px.

The pages come from the URLconf itself: each route's converters are filled with objects of
the demo-like site (tests/site_data.py); a new route with a converter this test cannot fill
fails it. Admin's own pages (Django's) and the token APIs are not Scarlog's pages; the
non-HTML downloads (CSV, YAML, Markdown) and htmx fragments are fetched and must answer 200.
"""
import re

import pytest
from playwright.sync_api import expect

from core.webhooks.views import ADMIN_REFUSAL
from incidents.failure_modes import FAILURE_MODES
from incidents.models import ContributingFactor, TimelineEntry
from tests.conftest import browser_context
from tests.security_helpers import CONVERTER, url_patterns
from tests.site_data import PASSWORDS, site

WIDTHS = (1280, 390)
# Not pages: the admin, the APIs, health, the icon, sign-in, and a draft's live poll (JSON
# a page asks for with its feed version and page id: tests/test_live.py).
# Not pages: the admin, JSON APIs, health, the live poll and its leave beacon, the meeting's
# .ics download (tests/test_meeting_invitations.py), and the MCP server's regex route
# (token-authenticated, tests/test_mcp.py).
NOT_PAGES = re.compile(r"^(admin/|api/|healthz$|favicon\.ico$|accounts/"
                       r"|postmortems/[^/]+/live/$|postmortems/[^/]+/live/leave/$"
                       r"|postmortems/[^/]+/meeting/[^/]+/invitation\.ics$|\^mcp/\?\$$)")
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
# On a phone the header stays compact (the nav scrolls sideways in one row), in px.
PHONE_HEADER_MAX = 120
HEADER_HEIGHT = "() => document.querySelector('.site-header').getBoundingClientRect().height"
# The header's height beyond one row: its box minus padding, minus its tallest item.
HEADER_EXTRA = """() => {
  const header = document.querySelector(".site-header");
  const style = getComputedStyle(header);
  const inner = header.getBoundingClientRect().height
    - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
  const items = [...header.children, ...header.querySelectorAll("nav > *")]
    .filter((el) => el.tagName !== "NAV" && el.getClientRects().length);
  const tallest = Math.max(...items.map((el) => el.getBoundingClientRect().height));
  return inner - tallest;
}"""


def fill_route(route: str, values: dict) -> str:
    """The path of `route` with each converter filled from `values` (KeyError when new)."""
    def fill(match):
        name = match.group("name")
        if name == "key":
            return str(values["runbook_key" if route.startswith("runbooks/") else "knowledge_key"])
        if name == "pk" and route.startswith("costs/entries"):
            return str(values["cost_pk"])
        return str(values[name])

    return "/" + CONVERTER.sub(fill, route)


def crawl_paths(demo) -> list[str]:
    """Every route of the URLconf that is a Scarlog page, once per postmortem kind."""
    paths = []
    for pm in (demo.draft, demo.final):
        values = {
            "pk": pm.pk, "name": "summary", "field": "summary", "mode": FAILURE_MODES[0].slug,
            "kind": "timeline", "change": "start", "runbook_key": demo.runbook.key,
            "knowledge_key": demo.knowledge.key, "number": demo.policy.number,
            "cost_pk": demo.entry.pk, "run_id": demo.run.pk, "position": 0,
            "item_id": demo.final.action_items.first().pk,
            "meeting_id": getattr(pm.meetings.first(), "pk", 0),
            "row_id": TimelineEntry.objects.filter(postmortem=pm).values_list("pk", flat=True)
            .first() or 0,
            "factor_id": ContributingFactor.objects.filter(postmortem=pm)
            .values_list("pk", flat=True).first() or 0,
            # The webhook routes with an id are POST-only buttons (405 to a GET).
            "subscription_id": 0, "delivery_id": "00000000-0000-0000-0000-000000000000",
        }
        for route, _name in url_patterns():
            if not NOT_PAGES.match(route):
                path = fill_route(route, values)
                if path not in paths:
                    paths.append(path)
    return paths



@pytest.fixture(autouse=True)
def as_the_demo_runs(settings):
    """DEBUG on, as `manage.py demo` serves the pages (what a debug-only script does shows)."""
    settings.DEBUG = True


@pytest.fixture
def demo(transactional_db):
    return site()


def signed_in(browser, live_server, username: str):
    context = browser_context(browser, live_server)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORDS[username])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    return context, page


def listen_for_errors(page) -> list[str]:
    """The console errors (CSP violations included) and uncaught errors of `page`."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def test_every_page_as_every_role_has_no_console_error_and_fits(browser, live_server, demo):
    paths = crawl_paths(demo)
    visited, problems = 0, []
    for role, user in demo.users.items():
        context, page = signed_in(browser, live_server, user.get_username())
        errors = listen_for_errors(page)
        for path in paths:
            answer = context.request.get(path, max_redirects=0)
            if answer.status == 405:  # a POST-only route (a button's target), not a page
                continue
            if role != "admin" and path.startswith("/webhooks/") and answer.status == 403:
                assert ADMIN_REFUSAL in answer.text(), path  # admins' pages
                continue
            if role == "viewer" and answer.status == 403:
                assert "Your role is viewer" in answer.text(), path
                continue
            assert answer.status == 200, (role, path, answer.status)
            if not answer.headers["content-type"].startswith("text/html"):
                continue  # a download (CSV, YAML, Markdown)
            if not answer.text().lstrip().lower().startswith("<!doctype html>"):
                continue  # an htmx fragment (a field's history), shown inside a page
            page.set_viewport_size({"width": WIDTHS[0], "height": 900})
            del errors[:]
            page.goto(path)
            page.wait_for_load_state("load")
            visited += 1
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 900})
                overflow = page.evaluate(OVERFLOW)
                if overflow > 0:
                    problems.append(f"{role} {path} at {width}px: {overflow}px too wide")
                if width == 390 and page.locator(".site-header").count():
                    height = page.evaluate(HEADER_HEIGHT)
                    if height > PHONE_HEADER_MAX:
                        problems.append(f"{role} {path} at 390px: header {height:.0f}px tall")
            page.set_viewport_size({"width": WIDTHS[0], "height": 900})
            if page.locator(".site-header").count():
                extra = page.evaluate(HEADER_EXTRA)
                if extra > 1:
                    problems.append(f"{role} {path}: header wraps ({extra:.0f}px over one row)")
            problems.extend(f"{role} {path}: {error}" for error in errors)
        context.close()
    assert problems == [], "\n".join(problems)
    assert visited >= 3 * 20
