"""No query parameter is ever reflected unescaped, and no query value makes a 5xx.

The crawl finds every GET view of the URLconf (tests.security_helpers.url_patterns, admin
included), fills its path from real objects (populated_site), and learns which query
parameters each view reads by watching: a test middleware swaps request.GET for a
QueryDict that records every key asked for (get, [], getlist, in) and notes when the
whole query is read (items, copy, urlencode: the admin's filters, the cost log's page
links). Then every parameter of every view is sent each XSS payload and each junk value
(a 400-digit number, 1e999999, a NUL byte, 10,000 characters, 0000-01, …), logged in as
an admin with an API token that has every scope, so the token APIs read their
parameters too. Each answer must be under 500; an HTML answer may not contain the
payload's markup verbatim nor anything the page did not already have that could run
script (tests.xss_payloads.dangerous_parts); a JSON, CSV or text answer keeps its content
type and is sent with nosniff, so a browser never reads it as HTML.
"""
import html

import pytest
from django.http import QueryDict
from django.test import Client

from core import roles
from core.api_tokens import SCOPES, create_token
from tests.conftest import make_user
from tests.security_helpers import concrete_path, populated_site, url_patterns
from tests.xss_payloads import dangerous_parts

WHOLE_QUERY = "*"  # the view reads every parameter (items, copy, urlencode)
ANY_PARAMETER = "unlisted_parameter"  # what the crawl sends to a view that reads them all

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg/onload=alert(1)>",
    '" autofocus onfocus="alert(1)',
    "</textarea></title><script>alert(1)</script>",
    "<IMG SRC=JaVaScRiPt:alert('XSS')>",
    "javascript:alert(1)",
]
JUNK = [
    "9" * 400,
    "1e999999",
    "-1",
    "a\x00b",
    "x" * 10_000,
    "0000-01",
    "9999-12",
    "2026-13",
    "",
]
# What each machine endpoint answers with, error or not (never text/html).
MACHINE_TYPES = {
    "api_gate": "application/json", "api_go_no_go": "application/json",
    # A download's refusal is plain text, as its clients read (core.errors.answer_form).
    "costlog:totals_csv": ("text/csv", "text/plain"),
    "knowledge:insights_csv": ("text/csv", "text/plain"),
    "knowledge:insights_json": "application/json",
    "knowledge:knowledge_yaml": "text/plain", "knowledge:policies_markdown": "text/plain",
    "incidents:postmortem_markdown": ("text/markdown", "text/html"),
    "healthz": "application/json",
}
SKIPPED = {"logout", "admin:logout"}  # a GET would end the crawl's session


class RecordingQueryDict(QueryDict):
    """request.GET that notes every key a view (or its template) asks for in `seen`."""

    seen: set | None = None  # a view's own copy() records nothing

    def _note(self, key):
        if self.seen is not None:
            self.seen.add(key)

    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self._note(key)
        return super().get(key, default)

    def getlist(self, key, default=None):
        self._note(key)
        return super().getlist(key, default)

    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)

    def _whole(self, method, *args, **kwargs):
        self._note(WHOLE_QUERY)
        return getattr(super(), method)(*args, **kwargs)

    def items(self):
        return self._whole("items")

    def lists(self):
        return self._whole("lists")

    def keys(self):
        return self._whole("keys")

    def dict(self):
        return self._whole("dict")

    def copy(self):
        return self._whole("copy")

    def urlencode(self, safe=None):
        return self._whole("urlencode", safe)

    def __iter__(self):
        return self._whole("__iter__")


SEEN: dict[str, set] = {}


class RecordQueryReads:
    """Test middleware: request.GET records the keys read into SEEN[request.path]."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        recording = RecordingQueryDict(request.META.get("QUERY_STRING", ""), mutable=False)
        recording.seen = SEEN.setdefault(request.path, set())
        request.GET = recording
        return self.get_response(request)


@pytest.fixture
def crawl(settings, real_runbooks, real_knowledge, real_cost_log):
    """(client, [(url name, path)]) of every GET-able view, signed in as an admin whose
    API token has every scope; the recording middleware installed first."""
    settings.MIDDLEWARE = [f"{__name__}.RecordQueryReads", *settings.MIDDLEWARE]
    admin = make_user("root", role=roles.ADMIN)
    _token, key = create_token("crawl", admin, list(SCOPES))
    client = Client(raise_request_exception=False, headers={"Authorization": f"Bearer {key}"})
    client.force_login(admin)
    paths = {}
    for values in populated_site(admin, real_runbooks):
        for route, name in url_patterns():
            if name not in SKIPPED:
                paths.setdefault(concrete_path(route, values), name)
    SEEN.clear()
    gettable = []
    for path, name in paths.items():
        if client.get(path).status_code != 405:
            gettable.append((name, path))
    return client, gettable


def parameters_of(path: str) -> list[str]:
    seen = SEEN.get(path, set())
    names = sorted(seen - {WHOLE_QUERY})
    return [*names, ANY_PARAMETER] if WHOLE_QUERY in seen else names


def content_type_problem(name: str, response) -> str | None:
    kind = response.get("Content-Type", "")
    expected = MACHINE_TYPES.get(name)
    if expected is not None and not kind.startswith(expected):
        return f"content type {kind}, expected {expected}"
    if not kind.startswith("text/html") and response.get("X-Content-Type-Options") != "nosniff":
        return f"{kind} without nosniff"
    return None


def unescaped(payload: str, response, baseline: set[str]) -> list[str]:
    """What of `payload` an HTML answer carries that could run: its markup verbatim, or a
    handler, script or URL the page without it did not have."""
    if not response.get("Content-Type", "").startswith("text/html"):
        return []
    body = response.content.decode()
    found = [f"verbatim {payload[:30]!r}"] if any(c in payload for c in "<>\"'") and \
        payload in body else []
    return found + sorted(set(dangerous_parts(body)) - baseline)


def test_the_crawl_learns_the_parameters_of_the_views_that_read_them(crawl):
    _client, gettable = crawl
    names = {name for name, _ in gettable}
    by_name = {}
    for name, path in gettable:
        by_name.setdefault(name, set()).update(parameters_of(path))
    # The filters this issue found reflected, and those of every list with filters.
    assert {"severity", "kind", "category", "id"} <= by_name["knowledge:entry_list"]
    assert {"type", "group", "overdue", "owner", "domain"} <= by_name["incidents:dashboard"]
    assert {"period", "root_cause", "pattern", "page"} <= by_name["costlog:entry_list"]
    assert {"tag", "perspective", "key_file"} <= by_name["runbooks:list"]
    assert "allow_unknown" in by_name["api_gate"]
    assert "q" in by_name["knowledge:search"]  # and the search box of every page
    assert ANY_PARAMETER in by_name["admin:incidents_postmortem_changelist"]
    assert len(names) > 100  # the admin's pages and each app's


def test_no_parameter_is_reflected_unescaped_and_none_makes_a_5xx(crawl):
    client, gettable = crawl
    wrong, requests = [], 0
    for name, path in gettable:
        baseline = set(dangerous_parts(client.get(path).content.decode()))
        for parameter in parameters_of(path):
            for value in XSS_PAYLOADS + JUNK:
                response = client.get(path, {parameter: value})
                requests += 1
                where = f"GET {path} ({name}) ?{parameter}={value[:30]!r}"
                if response.status_code >= 500 and name != "healthz":
                    wrong.append(f"{where} → {response.status_code}")
                    continue
                problem = content_type_problem(name, response)
                if problem:
                    wrong.append(f"{where}: {problem}")
                wrong.extend(f"{where}: {part}" for part in unescaped(value, response, baseline))
    assert wrong == []
    assert requests > 1000


@pytest.mark.parametrize("path, field, allowed", [
    ("/knowledge/", "severity", "CRITICAL"),
    ("/knowledge/", "kind", "decision_tree"),
    ("/", "type", "hook"),
    ("/", "group", "domain"),
    ("/", "overdue", "1"),
    ("/runbooks/", "perspective", "operations"),
    ("/costs/", "root_cause", "correctness"),
    ("/costs/", "period", None),
    ("/costs/entries/", "pattern", None),
])
def test_a_bad_filter_is_a_400_page_naming_it_with_the_value_escaped(
        alice_client, path, field, allowed):
    payload = '"><img src=x onerror=alert(1)>'
    response = alice_client.get(path, {field: payload})
    body = response.content.decode()
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert payload not in body and dangerous_parts(body) == []
    assert f"<strong>{field}</strong>:" in body
    # Quoted (escaped), so the user sees what was sent.
    assert "&lt;img src=x onerror" in body.lower()
    assert "<img src=x onerror" in html.unescape(body).lower()
    if allowed:
        assert f"<code>{allowed}</code>" in body


def test_a_long_bad_value_is_quoted_cut_short(alice_client):
    response = alice_client.get("/knowledge/", {"severity": "Z" * 10_000})
    assert response.status_code == 400
    assert "Z" * 100 not in response.content.decode()
    assert "…" in response.content.decode()


@pytest.mark.django_db
def test_a_nul_in_a_path_is_a_400_naming_the_argument_never_a_500(client, settings):
    from django.contrib.auth import get_user_model

    from core.api_tokens import create_token
    user = get_user_model().objects.create_user("pathnul", password="pathnul-password-1")
    client.force_login(user)
    for path in ("/knowledge/a%00b/", "/runbooks/a%00b/"):
        response = client.get(path)
        assert response.status_code == 400, path
        assert "<strong>key</strong>: contains a NUL character" in response.content.decode()
    _, key = create_token("docs", user, ["docs:read"])
    answer = client.get("/api/runbooks/a%00b/go-no-go", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert answer.status_code == 400 and answer.json()["field"] == "key"


def test_markdown_drops_protocol_relative_links():
    from core.markdown import render_markdown
    for link in ("//evil.example/x", "/\\evil.example", "\\\\evil.example", " //evil.example"):
        assert "href" not in str(render_markdown(f"[d]({link})")), link
