"""Bad input, property-based (Hypothesis): every form and JSON endpoint is fed text with NUL
bytes, huge strings, wrong types, out-of-range dates and numbers, and odd unicode.

For every example: no response is a 5xx; a refusal (400/409/422) names a field of the
endpoint; and a refused request changes nothing stored. At least 100 examples per
endpoint (HYPOTHESIS_EXAMPLES raises it), derandomized, with the clock frozen at NOW so
that dates near "now" fall on the same side of it in every run.

"Changes nothing stored" is checked on the tables the request wrote to, which PostgreSQL's
per-transaction write counts name (security_helpers.changed_since); a table they do not
name has not been written, so no table goes unchecked and no example pays for
fingerprinting the whole database.
"""
import json
import os
from dataclasses import dataclass, field

import pytest
from django.contrib.messages import constants as message_levels
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.api_tokens import create_token
from tests.conftest import CsrfClient
from tests.security_helpers import changed_since, populated_site, write_counts

EXAMPLES = max(100, int(os.environ.get("HYPOTHESIS_EXAMPLES", "100")))
REFUSALS = (400, 409, 422)
SPECIAL = [
    "", " ", "0", "-1", "1e309", "NaN", "-Infinity", "9999-12-31 23:59:59", "0000-00-00",
    "2026-02-30 25:61", "10000-01-01T00:00:00Z", "1969-12-31T23:59:60Z", "99999999999999999999",
    "-99999999999999999999.999", "true", "null", "[]", "{}", "<script>alert(1)</script>",
    "' OR 1=1 --", "\u202eevil", "😀" * 20, "\x00", "a\x00b", "\ud7ff\ue000", "%00",
    "../../etc/passwd",
    # Shapes that overflowed (docs/rules.md#limits): times in year 1 / 9999 with an offset,
    # amounts beyond any column, integers past int()'s 4,300 digits, impossible periods.
    "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "0001-01-01 00:00",
    "1e999999", "1e-999999", "9" * 5000, "0000-01", "9999-13", "0000-Q1",
]
nasty_text = st.one_of(
    st.text(max_size=40),
    st.text(max_size=20).map(lambda text: text + "\x00" + text),
    st.integers(min_value=300, max_value=120_000).map(lambda n: "x" * n),
    st.sampled_from(SPECIAL),
    st.integers().map(str),
    st.floats().map(str),
    st.dates().map(str),
    st.datetimes().map(lambda moment: moment.isoformat()),
)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | nasty_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=6,
)


@dataclass
class Endpoint:
    """One endpoint: `path(values)` builds its URL from the populated site's values;
    `fields` are the form (or JSON) keys sent; `names` the words a refusal may use to
    name one of them (field names and labels, lower case)."""

    name: str
    path: object
    fields: tuple
    names: tuple = ()
    method: str = "post"
    as_json: bool = False
    htmx: bool = False
    extra: dict = field(default_factory=dict)


def pm(index):
    return lambda values: f"/postmortems/{values[index]['pk']}"


DRAFT, FINAL = 0, 1
ENDPOINTS = [
    Endpoint("new postmortem", lambda v: "/postmortems/new/",
             ("occurred_utc", "trigger", "trigger_reason", "template"),
             ("event occurred", "trigger", "reason", "template")),
    Endpoint("autosave summary", lambda v: pm(DRAFT)(v) + "/field/summary/",
             ("summary", "base_version"), ("summary", "version"), htmx=True),
    Endpoint("autosave impact", lambda v: pm(DRAFT)(v) + "/field/impact_usd/",
             ("impact_usd", "base_version"), ("financial impact", "usd", "version"), htmx=True),
    Endpoint("autosave fix commit", lambda v: pm(DRAFT)(v) + "/field/fix_commit_sha/",
             ("fix_commit_sha", "base_version"), ("fix commit", "sha", "version"), htmx=True),
    Endpoint("timeline row add", lambda v: pm(DRAFT)(v) + "/timeline/add/",
             ("utc", "event", "trace_id"), ("time", "event", "trace"), htmx=True),
    Endpoint("timeline row update",
             lambda v: pm(DRAFT)(v) + f"/timeline/{v[DRAFT]['row_id']}/",
             ("utc", "event", "trace_id", "base_version"), ("time", "event", "trace", "version"),
             htmx=True),
    Endpoint("factor row add", lambda v: pm(DRAFT)(v) + "/factors/add/",
             ("text", "substitution"), ("factor", "text", "substitution"), htmx=True),
    Endpoint("reference row add", lambda v: pm(DRAFT)(v) + "/references/add/",
             ("kind", "value"), ("kind", "reference", "value", "link"), htmx=True),
    Endpoint("scan answer", lambda v: pm(DRAFT)(v) + f"/scan/{v[DRAFT]['mode']}/",
             ("answer", "note"), ("answer", "note"), htmx=True),
    Endpoint("event", lambda v: pm(DRAFT)(v) + "/event/",
             ("occurred_utc", "trigger", "trigger_reason"),
             ("event occurred", "trigger", "reason")),
    Endpoint("meeting", lambda v: pm(DRAFT)(v) + "/meeting/",
             ("scheduled_utc", "facilitator", "operator", "code_owner", "reviewer", "others"),
             ("meeting", "scheduled", "facilitator", "operator", "code owner", "reviewer",
              "other attendees")),
    Endpoint("amendment", lambda v: pm(FINAL)(v) + "/amendments/",
             ("note", "section", "impact_usd", "impact_users", "impact_duration_minutes"),
             ("note", "adds to", "section", "impact", "users", "minutes", "usd")),
    Endpoint("domain", lambda v: pm(FINAL)(v) + "/domain/", ("domain",), ("domain",)),
    Endpoint("restrict", lambda v: pm(DRAFT)(v) + "/access/", ("groups",), ("groups",)),
    Endpoint("action item", lambda v: pm(FINAL)(v) + "/action-items/",
             ("kind", "description", "owner", "due_date"),
             ("kind", "type", "description", "owner", "due")),
    Endpoint("ship action item", lambda v: f"/action-items/{v[FINAL]['item_id']}/ship/",
             ("test_path", "commit_sha", "repo", "evidence_url"),
             ("test", "path", "commit", "repo", "evidence")),
    Endpoint("cost link", lambda v: f"/costs/postmortems/{v[FINAL]['pk']}/link/", ("entry",),
             ("entry", "cost")),
    Endpoint("mishap entry", lambda v: "/costs/entries/new/",
             ("occurred_date", "occurred_time", "logged_zone", "title", "what_happened",
              "root_cause", "root_cause_items", "patterns", "duration", "cost_low_usd",
              "cost_high_usd", "cost_note", "prevention_items", "postmortem",
              "resources-TOTAL_FORMS", "resources-0-resource", "resources-0-quantity",
              "resources-0-duration"),
             ("date", "time", "zone", "title", "what happened", "root cause", "pattern",
              "duration", "cost", "prevention", "postmortem", "resource", "quantity")),
    Endpoint("mishap preview", lambda v: "/costs/entries/preview/",
             ("occurred_date", "cost_low_usd", "cost_high_usd", "resources-TOTAL_FORMS",
              "resources-0-resource", "resources-0-quantity", "resources-0-duration"),
             ("date", "cost", "resource", "quantity", "duration"), htmx=True),
    Endpoint("new runbook", lambda v: "/runbooks/new/",
             ("key", "path", "title", "perspective", "tags", "depends_on", "key_files", "body",
              "owner", "review_interval_days"),
             ("id", "path", "title", "perspective", "tags", "depends on", "key files", "body",
              "owner", "review")),
    Endpoint("edit runbook", lambda v: f"/runbooks/{v[DRAFT]['runbook_key']}/edit/",
             ("title", "perspective", "tags", "depends_on", "key_files", "body", "owner",
              "review_interval_days"),
             ("title", "perspective", "tags", "depends on", "key files", "body", "owner",
              "review")),
    Endpoint("checklist result",
             lambda v: f"/runbooks/{v[DRAFT]['runbook_key']}/runs/{v[DRAFT]['run_id']}/items/1/",
             ("outcome", "evidence"), ("outcome", "evidence", "passed", "failed"), htmx=True),
    Endpoint("knowledge link", lambda v: "/links/",
             ("postmortem", "target_kind", "target", "action", "next"),
             ("postmortem", "target", "kind", "pattern", "policy", "runbook")),
    Endpoint("events API", lambda v: "/api/events",
             ("trigger", "occurred_utc", "trace_id", "summary", "trigger_reason", "template",
              "sessions", "unexpected"),
             ("trigger", "occurred_utc", "trace_id", "summary", "trigger_reason", "template",
              "sessions", "body", "unexpected", "key"), as_json=True),
    Endpoint("pending mark", lambda v: pm(DRAFT)(v) + "/pending/summary/", ("pending",),
             ("pending", "mark"), htmx=True),
    Endpoint("fix deferred", lambda v: pm(DRAFT)(v) + "/fix/deferred/",
             ("base_version", "fix_ticket_link"), ("version", "ticket", "fix")),
    Endpoint("correct mishap entry", lambda v: f"/costs/entries/{v[DRAFT]['cost_pk']}/correct/",
             ("occurred_date", "occurred_time", "logged_zone", "title", "what_happened",
              "root_cause", "patterns", "cost_low_usd", "cost_high_usd", "correction_reason",
              "resources-TOTAL_FORMS"),
             ("date", "time", "zone", "title", "what happened", "root cause", "pattern", "cost",
              "reason", "correction")),
    Endpoint("resource row", lambda v: "/costs/entries/resource-rows/",
             ("resources-TOTAL_FORMS", "resources-0-resource", "resources-0-quantity",
              "resources-0-duration"), ("resource", "quantity", "duration"), htmx=True),
    Endpoint("rate", lambda v: "/costs/rates/",
             ("resource", "unit", "usd", "approximate", "effective_date"),
             ("resource", "unit", "usd", "rate", "effective")),
    Endpoint("search", lambda v: "/search/", ("q",), ("q", "search", "query"), method="get"),
    Endpoint("cost totals", lambda v: "/costs/", ("period", "root_cause", "pattern"),
             ("period", "root cause", "pattern"), method="get"),
    Endpoint("knowledge YAML", lambda v: "/knowledge/ai-knowledge-base.yaml",
             ("severity", "id", "category", "kind"), ("severity", "id", "category", "kind"),
             method="get"),
    Endpoint("dashboard filters", lambda v: "/", ("owner", "domain", "kind", "status", "due"),
             ("owner", "domain", "kind", "type", "status", "due"), method="get"),
    Endpoint("runbook filters", lambda v: "/runbooks/", ("tag", "perspective", "key_file"),
             ("tag", "perspective", "key file"), method="get"),
]


@pytest.fixture
def site(frozen_time, alice, real_runbooks, real_knowledge, real_cost_log):
    return populated_site(alice, real_runbooks)


def send(client, endpoint, values, data, token):
    path = endpoint.path(values)
    if endpoint.as_json:
        body = data if isinstance(data, (bytes, str)) else json.dumps(data)
        return client.post(path, body, content_type="application/json",
                           headers={"Authorization": f"Bearer {token}"})
    if endpoint.method == "get":
        return client.get(path, {k: v.replace("\x00", "") if isinstance(v, str) else v
                                 for k, v in data.items()})
    return client.post(path, data, htmx=endpoint.htmx)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
def test_bad_input_never_breaks_an_endpoint(endpoint, site, alice):
    client = CsrfClient()
    client.force_login(alice)
    _, token = create_token("hypothesis", alice, ["events:write"])

    if endpoint.as_json:
        payloads = st.one_of(
            st.fixed_dictionaries({}, optional=dict.fromkeys(endpoint.fields, json_value)),
            json_value,
            st.binary(max_size=60),
        )
    else:
        payloads = st.fixed_dictionaries({}, optional=dict.fromkeys(endpoint.fields, nasty_text))

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=payloads)
    def check(data):
        counts, savepoint = write_counts(), transaction.savepoint()
        response = send(client, endpoint, site, data, token)
        body = response.content.decode("utf-8", errors="replace").lower()
        assert response.status_code < 500, (endpoint.name, data, body[:500])
        # A page that answers a redirect refuses with an error message shown after it.
        # (Only this request's messages: earlier examples' redirects were never followed.)
        queued = response.wsgi_request._messages._queued_messages
        flashed = " ".join(str(m) for m in queued if m.level >= message_levels.ERROR).lower()
        if response.status_code in REFUSALS or flashed:
            said = flashed or body
            named = any(name in said for name in endpoint.names)
            if endpoint.as_json and response["Content-Type"] == "application/json":
                sent = data if isinstance(data, dict) else {}
                named = response.json()["field"] in (*endpoint.names, *sent)
            assert named, (endpoint.name, data, said[:500])
        if response.status_code >= 400 or flashed:
            assert changed_since(counts, savepoint) == [], (endpoint.name, data)
        else:
            transaction.savepoint_commit(savepoint)

    check()


# --- Found by the properties above, kept as plain examples ------------------------------

def test_an_owner_that_is_not_an_id_is_refused_by_name(alice_client, final_postmortem):
    from incidents.models import ActionItem
    response = alice_client.post(f"/postmortems/{final_postmortem.pk}/action-items/",
                                 {"kind": "test", "description": "Add a test", "owner": ":",
                                  "due_date": "2026-12-01"}, follow=True)
    assert "Owner: choose a person from the list." in response.content.decode()
    assert not ActionItem.objects.exists()


def test_a_next_that_is_not_a_path_falls_back_instead_of_failing(alice_client):
    response = alice_client.post("/links/", {"next": "0", "postmortem": "", "target": ""})
    assert response.status_code == 302 and response["Location"] == "/loop/"


def test_an_unknown_event_key_is_quoted_even_when_empty(alice):
    from incidents.events import parse_event
    from incidents.services import EventError
    with pytest.raises(EventError, match=r"Unknown field\(s\): ''."):
        parse_event({"": None})
