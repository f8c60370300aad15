"""Security by default, over every URL pattern the project has (admin included):

- anonymous visitors are sent to a login page or refused (401/403), except on the login
  pages and the health check;
- every POST without a CSRF token is refused and changes nothing;
- no GET changes anything stored, and the action endpoints refuse GET (405);
- a viewer reads but every write is refused (403) and changes nothing; only admins reach
  the admin site;
- every page carries a nonce-based Content-Security-Policy and holds no inline script,
  handler or style that the policy would have to allow.
"""
import logging
import re
from html.parser import HTMLParser

import pytest
from django.test import Client

from core import roles
from tests.conftest import CsrfClient, make_user
from tests.security_helpers import (
    changed_tables,
    concrete_path,
    fingerprint,
    populated_site,
    url_patterns,
)

PUBLIC = {"login": {200}, "admin:login": {200}, "healthz": {200, 503}, "favicon": {301},
          # Single sign-on's two views: 404 while it is not configured (tests/test_sso.py).
          "oidc_start": {404}, "oidc_callback": {404}}
TOKEN_APIS = {"api_gate", "api_events", "api_go_no_go", "mcp", "knowledge:knowledge_yaml",
              "knowledge:policies_markdown"}
LOGIN_REDIRECT = re.compile(r"^/(accounts|admin)/login/\?next=")
# Endpoints that only change state: a GET is refused with 405.
ACTIONS = {
    "logout", "incidents:postmortem_fix_deferred", "incidents:scan_answer",
    "incidents:scan_factor", "incidents:pending_mark", "incidents:factor_review",
    "incidents:row_add", "incidents:row_update", "incidents:row_remove",
    "incidents:postmortem_finalize", "incidents:postmortem_discard",
    "incidents:event_set", "incidents:meeting_change", "incidents:live_next_field",
    "costlog:postmortem_link",
    "incidents:domain_set", "incidents:action_item_add", "incidents:action_item_change",
    "incidents:postmortem_field", "knowledge:link", "runbooks:reviewed",
    "runbooks:run_start", "runbooks:run_record", "costlog:resource_row_add",
    "costlog:entry_preview", "api_events", "webhooks:subscription_active",
    "webhooks:redeliver", "webhooks:subscription_rotate",
}


@pytest.fixture
def site(alice, real_runbooks, real_knowledge, real_cost_log):
    return populated_site(alice, real_runbooks)


def every_path(values: dict) -> list[tuple[str, str]]:
    return [(name, concrete_path(route, values)) for route, name in url_patterns()]


def test_the_crawl_covers_every_pattern():
    patterns = list(url_patterns())
    assert len(patterns) > 150  # the admin's and each app's
    for route, _ in patterns:
        assert concrete_path(route, {"runbook_key": "r", "knowledge_key": "k"}).startswith("/")


def test_anonymous_visitors_are_sent_to_login_or_refused_everywhere(site):
    wrong = []
    for name, path in every_path(site[1]):
        for method in ("get", "post"):
            response = getattr(Client(enforce_csrf_checks=True), method)(path)
            status, location = response.status_code, response.get("Location", "")
            if name in PUBLIC and method == "get":
                ok = status in PUBLIC[name]
            elif name in TOKEN_APIS:
                ok = status in (401, 403, 405)
            elif method == "post":
                ok = status in (401, 403, 405) or (status == 302 and LOGIN_REDIRECT.match(location))
            else:
                ok = (status == 302 and LOGIN_REDIRECT.match(location)) or status in (401, 403, 405)
            if not ok:
                wrong.append(f"{method.upper()} {path} ({name}) → {status} {location}")
    assert wrong == []


def test_every_post_without_a_csrf_token_is_refused_and_changes_nothing(site, alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    before = fingerprint()
    wrong = []
    for values in site:
        for name, path in every_path(values):
            response = client.post(path, {"value": "changed", "note": "x"})
            # The CSRF-exempt views (events, MCP) are token-authenticated: no token, no entry.
            expected = 401 if name in ("api_events", "mcp") else 403
            if response.status_code != expected:
                wrong.append(f"POST {path} ({name}) → {response.status_code}")
    assert wrong == []
    assert changed_tables(before) == []


def test_no_get_changes_anything_and_actions_refuse_get(site, alice):
    client = CsrfClient()
    client.force_login(alice)
    before = fingerprint()
    wrong, refused = [], set()
    for values in site:
        for name, path in every_path(values):
            response = client.get(path)
            if response.status_code >= 500 and name != "healthz":  # 503 = a health report
                wrong.append(f"GET {path} ({name}) → {response.status_code}")
            if response.status_code == 405:
                refused.add(name)
    assert wrong == []
    assert changed_tables(before) == []
    assert ACTIONS - refused == set()


def test_a_viewer_reads_but_every_write_is_refused(site):
    viewer = make_user("victor", role=roles.VIEWER)
    client = CsrfClient()
    client.force_login(viewer)
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert "(viewer)" in dashboard.content.decode()
    assert "New postmortem" not in dashboard.content.decode()
    before = fingerprint()
    wrong = []
    for values in site:
        for name, path in every_path(values):
            if name in PUBLIC or name in TOKEN_APIS or name in ("logout", "admin:logout"):
                continue
            response = client.post(path, {"value": "changed", "note": "x"}, htmx=True)
            if name == "incidents:live_leave":
                # Every role's page leaves (its own presence entry, in Redis, only with
                # the id signed for it: test_live.py); an unsigned id is refused.
                if response.status_code != 400:
                    wrong.append(f"POST {path} ({name}) → {response.status_code}")
                continue
            ok = (response.status_code == 403
                  and "Your role is viewer" in response.content.decode())
            if not ok:
                wrong.append(f"POST {path} ({name}) → {response.status_code}")
    assert wrong == []
    assert changed_tables(before) == []


@pytest.mark.parametrize("role, admin_status", [
    (roles.VIEWER, 302), (roles.EDITOR, 302), (roles.ADMIN, 200)])
def test_only_admins_reach_the_admin_site(db, role, admin_status):
    client = Client()
    client.force_login(make_user(f"someone-{role}", role=role))
    assert client.get("/admin/").status_code == admin_status
    assert client.get("/admin/core/apitoken/").status_code == admin_status


def test_set_role_command_moves_a_user_between_roles(db):
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    make_user("dana", role=roles.VIEWER)

    def dana():  # a fresh object, as the next request would load
        return get_user_model().objects.get(username="dana")

    call_command("set_role", "dana", "editor")
    assert roles.role_of(dana()) == roles.EDITOR
    call_command("set_role", "dana", "admin")
    assert roles.role_of(dana()) == roles.ADMIN and dana().is_staff
    call_command("set_role", "dana", "viewer")
    assert roles.role_of(dana()) == roles.VIEWER and not dana().is_staff


def test_a_role_change_takes_effect_on_the_signed_in_users_next_request(db):
    """The role is read with the user on every request (core.roles.RoleModelBackend),
    never kept in the session: promoting or demoting a signed-in user needs no new sign-in."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    erin = make_user("erin", role=roles.VIEWER)
    client = CsrfClient()
    client.force_login(erin)
    assert client.post("/postmortems/new/", {}).status_code == 403
    with CaptureQueriesContext(connection) as captured:
        page = client.get("/")
    assert "(viewer)" in page.content.decode()
    # The role comes with the user: the one query reading the Editors group is the user's.
    group_queries = [q["sql"] for q in captured.captured_queries if '"auth_group"' in q["sql"]]
    assert len(group_queries) == 1 and group_queries[0].startswith('SELECT "auth_user"."id"')

    roles.set_role(erin, roles.EDITOR)
    assert "(editor)" in client.get("/").content.decode()
    assert client.post("/postmortems/new/", {}).status_code != 403
    roles.set_role(erin, roles.VIEWER)
    assert client.post("/postmortems/new/", {}).status_code == 403


class InlineCodeFinder(HTMLParser):
    """Collects scripts (with their nonce), inline handlers, style attributes and <style>."""

    def __init__(self):
        super().__init__()
        self.scripts, self.handlers, self.styles = [], [], []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script":
            self.scripts.append(attributes)
        if tag == "style":
            self.styles.append("<style>")
        for name, _ in attrs:
            if name.startswith("on"):
                self.handlers.append(f"<{tag} {name}>")
            if name == "style":
                self.styles.append(f"<{tag} style>")


def test_every_page_has_a_nonce_csp_and_no_inline_code(site, alice):
    client = CsrfClient()
    client.force_login(alice)
    pages = 0
    for values in site[:1]:
        for name, path in every_path(values):
            response = client.get(path)
            if response.status_code != 200 or "text/html" not in response["Content-Type"]:
                continue
            pages += 1
            policy = response["Content-Security-Policy"]
            for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'",
                              "default-src 'self'", "style-src 'self'"):
                assert directive in policy, (path, directive)
            finder = InlineCodeFinder()
            finder.feed(response.content.decode())
            assert finder.handlers == [] and finder.styles == [], (path, finder.handlers,
                                                                  finder.styles)
            inline = [script for script in finder.scripts if "src" not in script]
            if inline:
                nonce = re.search(r"script-src 'self' 'nonce-([^']+)'", policy).group(1)
                assert all(script.get("nonce") == nonce for script in inline), path
            assert all(script["src"].startswith("/static/") for script in finder.scripts
                       if "src" in script), path
            if name.startswith("incidents:") and finder.scripts:
                nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
                assert all(script.get("nonce") == nonce for script in finder.scripts), path
            if "/htmx" in response.content.decode():
                assert '"includeIndicatorStyles": false' in response.content.decode(), path
    assert pages > 25


def test_signed_in_pages_are_private_and_never_stored(alice_client, anonymous_client):
    for path in ("/", "/accounts/login/"):
        response = alice_client.get(path)
        assert response["Cache-Control"] == "private, no-store", path
    # Signed out, the login page keeps Django's own never_cache header (no private data).
    assert anonymous_client.get("/accounts/login/")["Cache-Control"] != "private, no-store"
    # The health check is left alone, signed in or not.
    assert "no-store" not in alice_client.get("/healthz").get("Cache-Control", "")
    assert "no-store" not in anonymous_client.get("/healthz").get("Cache-Control", "")


@pytest.mark.parametrize("given, kept", [
    ("abc-123", True),
    ("deploy.check_1", True),
    ("a" * 64, True),
    ("<script>", False),
    ("a" * 500, False),
    ("a" * 65, False),
    ("abc 123", False),
])
def test_a_client_request_id_is_kept_only_when_short_and_safe(db, caplog, given, kept):
    from django_guid.log_filters import CorrelationId

    caplog.handler.addFilter(CorrelationId(correlation_id_field="request_id"))
    caplog.set_level(logging.INFO)
    response = Client().get("/no-such-page/", headers={"X-Request-ID": given})
    returned = response["X-Request-ID"]
    if kept:
        assert returned == given
    else:
        assert returned != given and re.fullmatch(r"[0-9a-f]{32}", returned)
        refusal = [r for r in caplog.records if r.name == "scarlog.request"]
        assert refusal and refusal[0].request_id == returned
        assert given not in refusal[0].getMessage()
    logged = [r for r in caplog.records if r.name == "django.request"]
    assert logged and all(r.request_id == returned for r in logged)
