"""Extreme input, property-based, through what the pages render (django-webtest).

Every POST form a page renders is filled with valid values, then one field at a time is
given a shape that breaks things: a time in year 1 or 9999 with an offset, integers of
thousands of digits, 1e±999999, a NUL byte, text far over its limit, JSON-like nesting
20,000 deep. Every htmx input of the draft page (each autosaved field, each row cell, each
scan answer) is posted as htmx would post it, with the version the page rendered; the
events API gets the same shapes as JSON values. For every example: no 5xx; a refusal
(400/409/422, or an error message after a redirect) names a field of what was sent; a
refusal changes no table. test_every_post_endpoint_is_covered holds the list of pages
and endpoints equal to the URLconf's, so a new POST view cannot be left out.

Rules: docs/rules.md#limits-time-range, docs/rules.md#limits-text,
docs/rules.md#limits-numbers, docs/rules.md#limits-request-body.
"""
import json
import os
import re
from dataclasses import dataclass

import pytest
from django.db import transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from core.api_tokens import create_token
from tests.conftest import CsrfClient
from tests.security_helpers import changed_since, populated_site, url_patterns, write_counts

# Per input: each page has many, so fewer examples each than test_bad_input (raise with
# EXTREME_EXAMPLES); every shape family still comes up across a page's inputs.
EXAMPLES = int(os.environ.get("EXTREME_EXAMPLES", "10"))
REFUSALS = (400, 409, 413, 422)
# No shrinking: a failing example is reported as generated (shrinking re-runs pages).
PHASES = (Phase.explicit, Phase.reuse, Phase.generate)

extreme_moment = st.builds(
    lambda stamp, sign, hours: f"{stamp}{sign}{hours:02d}:00",
    st.sampled_from(["0001-01-01T00:00:00", "0001-01-01 00:30", "9999-12-31T23:59:59",
                     "9999-12-31 23:00"]),
    st.sampled_from("+-"), st.integers(1, 23),
)
SHAPES = st.one_of(
    st.sampled_from([
        "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "0001-01-01", "9999-12-31",
        "0001-01-01 00:00", "9999-12-31 23:59", "1969-12-31T23:59:59Z", "2100-01-01T00:00:00Z",
        "1e999999", "1e-999999", "-1e999999", "1E+5000", "0000-01", "9999-13", "-1",
    ]),
    extreme_moment,
    st.integers(4_301, 6_000).map(lambda digits: "9" * digits),
    st.integers(20, 40).map(lambda digits: "9" * digits),
    st.text(max_size=20).map(lambda text: text + "\x00" + text),
    st.sampled_from([2_001, 20_001, 200_001]).map(lambda n: "x" * n),
    st.integers(1_000, 20_000).map(lambda depth: "[" * depth + "]" * depth),
)

# What a person would type into each field, so that the one field given a shape is the
# only thing wrong with the submission.
VALID = {
    "occurred_utc": "2026-03-08 10:00", "trigger": "drawdown", "trigger_reason": "",
    "scheduled_utc": "2026-03-10 10:00", "description": "Add a regression test",
    "due_date": "2026-04-01", "note": "Restated after the trace review.",
    "drop_reason": "Superseded by a hook", "test_name": "tests/test_fill.py::test_fill",
    "commit_sha": "a" * 40, "ci_run_link": "https://ci.example.com/runs/1",
    "repository": "", "domain": "trading", "occurred_date": "2026-03-01",
    "occurred_time": "10:00", "title": "A mishap", "what_happened": "A job ran twice.",
    "root_cause": "No idempotency key.", "prevention_items": "Add a key",
    "correction_reason": "Wrong cost", "resource": "GPU hour", "usd": "1.50",
    "effective_date": "2026-03-01", "key": "ops-99", "path": "ops/ops-99.md",
    "body": "Steps.", "evidence": "Checked the dashboard.", "username": "alice",
    "password": "not-the-password", "review_interval_days": "90", "tags": "ops",
    "resources-0-quantity": "1", "resources-0-duration": "1h",
}
SKIPPED_FORMS = ("/accounts/logout/",)  # takes no input


@dataclass
class Target:
    """One thing a page lets a person send: a rendered form (submitted through webtest) or
    an htmx input (posted with the values htmx includes)."""

    name: str
    url: str
    fields: dict  # name -> value sent when the field is not the one given a shape
    names: tuple  # words a refusal may use to name a field (lower case)
    form_key: object = None  # the page's form index, for webtest


def _labels(html) -> dict:
    return {label.get("for"): label.get_text(" ", strip=True).lower()
            for label in html.select("label[for]")}


def _value(element) -> str:
    if element.name == "textarea":
        return element.get_text()
    if element.name == "select":
        chosen = element.select_one("option[selected]") or next(
            (o for o in element.select("option") if o.get("value")), None)
        return chosen.get("value", "") if chosen else ""
    return element.get("value", "")


def _words(names, labels_by_id, elements) -> tuple:
    words = set()
    for name in names:
        words |= {name.lower(), name.replace("_", " ").lower(),
                  re.sub(r"^resources-\d+-", "", name)}
    for element in elements:
        if element.get("id") in labels_by_id:
            label = labels_by_id[element["id"]]
            words |= {label, re.sub(r"\s*\(.*?\)\s*$", "", label)}
        if element.get("aria-label"):
            words.add(element["aria-label"].lower())
    return tuple(word for word in words if word)


def page_targets(app, user, page: str) -> list[Target]:
    """Every POST form and htmx input `page` renders, each once per URL shape (the first
    timeline row stands for the others)."""
    response = app.get(page, user=user)
    html, labels, targets, seen = response.html, _labels(response.html), [], set()

    def add(target, shape):
        if shape not in seen:
            seen.add(shape)
            targets.append(target)

    for key, form in response.forms.items():
        action = form.action or page
        if form.method.lower() != "post" or action in SKIPPED_FORMS:
            continue
        names = [name for name in form.fields if name and name != "csrfmiddlewaretoken"]
        elements = html.select(f"form[action='{form.action}'] [name]") if form.action else []
        shape = (re.sub(r"\d+|[0-9a-f-]{36}", "N", action), tuple(names))
        add(Target(f"form {action}", action, {}, _words(names, labels, elements), key), shape)
    for element in html.select("[hx-post]"):
        url = element["hx-post"]
        if not element.get("name"):
            included = element.select("[name]")
            if not included:
                continue
        else:
            include = element.get("hx-include") or ""
            if include.startswith("#"):
                included = [element, *html.select(include)]
            elif include.startswith("closest "):
                included = element.find_parent(include.split()[1]).select("[name]")
            else:
                included = [element]
        fields = {el["name"]: _value(el) for el in included if el.get("name")}
        if element.get("name"):
            fields.setdefault(element["name"], _value(element))
        names = [name for name in fields if name != "base_version"]
        shape = (re.sub(r"/\d+/|[0-9a-f-]{36}|scan/[a-z_]+/", "/N/", url), tuple(sorted(fields)))
        add(Target(f"htmx {url} {element.get('name', '')}", url, fields,
                   _words(names, labels, included)), shape)
    return targets


def _refusal_text(response, app, user) -> tuple[bool, str]:
    """(refused, what it said): a 4xx with its body, or a redirect whose next page shows an
    error message."""
    if response.status_code in REFUSALS:
        return True, response.text.lower()
    if response.status_code in (301, 302, 303):
        shown = app.get(response.headers["Location"], user=user)
        errors = " ".join(li.get_text(" ", strip=True)
                          for li in shown.html.select("li.message.error")).lower()
        return bool(errors), errors
    errors = " ".join(el.get_text(" ", strip=True) for el in response.html.select(
        ".errorlist, .error, [role=alert]")).lower() if "html" in response.content_type else ""
    return bool(errors.strip()), errors


@pytest.fixture
def site(frozen_time, alice, real_runbooks, real_knowledge, real_cost_log):
    return populated_site(alice, real_runbooks)


def pages(values) -> dict[str, str]:
    """The page of each URL name whose POST form or htmx input it renders."""
    draft, final = values
    return {
        "new postmortem": "/postmortems/new/",
        "draft": f"/postmortems/{draft['pk']}/",
        "final": f"/postmortems/{final['pk']}/",
        "new mishap entry": "/costs/entries/new/",
        "correct mishap entry": f"/costs/entries/{draft['cost_pk']}/correct/",
        "rates": "/costs/rates/",
        "new runbook": "/runbooks/new/",
        "edit runbook": f"/runbooks/{draft['runbook_key']}/edit/",
        "runbook": f"/runbooks/{draft['runbook_key']}/",
        "checklist run": f"/runbooks/{draft['runbook_key']}/runs/{draft['run_id']}/",
        "knowledge entry": f"/knowledge/{draft['knowledge_key']}/",
    }


PAGES = ["new postmortem", "draft", "final", "new mishap entry", "correct mishap entry",
         "rates", "new runbook", "edit runbook", "runbook", "checklist run", "knowledge entry"]


def _fill_and_submit(app, user, page, target, field, value):
    """The page's form `target.form_key`, filled with VALID values (a select or checkbox
    left at its first option), `field` set to `value`, submitted as a browser would."""
    form = app.get(page, user=user).forms[target.form_key]
    for name, fields in form.fields.items():
        if not name or name == "csrfmiddlewaretoken":
            continue
        widget = fields[0]
        kind = type(widget).__name__
        if kind == "Checkbox":
            widget.checked = widget.checked or name == "patterns"
        elif kind in ("Select", "MultipleSelect"):
            options = [option for option, *_ in widget.options if option]
            if options and not widget.value and kind == "Select":
                widget.value = VALID.get(name) if VALID.get(name) in options else options[0]
        elif kind not in ("Submit", "Hidden") and name in VALID:
            widget.value = VALID[name]
    widget = form.fields[field][0]
    if hasattr(widget, "force_value"):
        widget.force_value(value)
    else:
        widget.value = value
    submit = next((n for n, f in form.fields.items() if type(f[0]).__name__ == "Submit"), None)
    return form.submit(submit, status="*") if submit else form.submit(status="*")


def check(response_status, refused, said, target, value, refused_changes):
    assert response_status < 500, (target.name, value[:80], said[:300])
    if refused:
        assert any(word in said for word in target.names), (target.name, value[:80], said[:300])
        assert refused_changes == [], (target.name, value[:80], refused_changes)


@pytest.mark.parametrize("page", PAGES)
def test_every_rendered_input_refuses_extreme_values_by_name(page, site, alice, django_app):
    path = pages(site)[page]
    targets = page_targets(django_app, alice, path)
    assert targets, page
    client = CsrfClient()
    client.force_login(alice)
    forms = django_app.get(path, user=alice).forms
    for target in targets:
        if target.form_key is not None:
            fields = forms[target.form_key].fields
            names = [n for n in fields if n and n != "csrfmiddlewaretoken"
                     and type(fields[n][0]).__name__ not in ("Submit", "Checkbox")]
        else:
            names = [n for n in target.fields if n != "base_version"]
        if not names:
            continue

        _run(target, names, path, django_app, client, alice)


def _run(target, names, path, django_app, client, alice):
    """EXAMPLES examples of one target: one of its fields `names` given a shape."""

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=PHASES)
    @given(field=st.sampled_from(names), value=SHAPES)
    def example(field, value):
        counts, savepoint = write_counts(), transaction.savepoint()
        if target.form_key is not None:
            response = _fill_and_submit(django_app, alice, path, target, field, value)
        else:
            response = client.post(target.url, {**target.fields, field: value}, htmx=True)
        refused, said = (_refusal_text(response, django_app, alice) if target.form_key
                         is not None else _htmx_refusal(response))
        changes = changed_since(counts, savepoint) if refused else []
        if not refused:
            transaction.savepoint_rollback(savepoint)
        check(response.status_code, refused, said, target, value, changes)

    example()


def _htmx_refusal(response) -> tuple[bool, str]:
    body = response.content.decode("utf-8", "replace").lower()
    return response.status_code in REFUSALS, body


@dataclass
class RawJSON:
    """A JSON value written as is: nesting deeper than json.dumps recurses, 5,000-digit
    numbers, 1e999999."""

    text: str

    def __getitem__(self, index):  # the assertion messages slice values
        return self.text[index]


@pytest.mark.parametrize("key", ["trigger", "occurred_utc", "trace_id", "summary",
                                 "trigger_reason", "template", "sessions"])
def test_the_events_api_refuses_extreme_values_by_name(key, site, alice, client):
    _, token = create_token("hypothesis", alice, ["events:write"])
    valid = {"trigger": "other", "occurred_utc": "2026-03-08T10:00:00Z", "trace_id": "t-1",
             "summary": "A job ran twice.", "trigger_reason": "A near-miss worth writing up."}
    from incidents.models import Postmortem

    nested = st.integers(1_000, 20_000).map(lambda depth: RawJSON("[" * depth + "]" * depth))
    huge = st.integers(4_301, 6_000).map(lambda digits: RawJSON("9" * digits))
    exponent = st.sampled_from(["1e999999", "1e-999999", "-1E+5000"]).map(RawJSON)

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))

    @given(value=SHAPES | SHAPES.map(lambda text: [{"loss_usd": text}]) | nested | huge
           | exponent)
    def example(value):
        before = Postmortem.objects.count()
        if isinstance(value, RawJSON):  # a JSON value json.dumps cannot write
            body = json.dumps({**valid, key: "@"}).replace('"@"', value.text)
        else:
            body = json.dumps({**valid, key: value})
        response = client.post("/api/events", body, content_type="application/json",
                               headers={"Authorization": f"Bearer {token}"})
        assert response.status_code < 500, (key, str(value)[:80])
        if response.status_code >= 400:
            assert response.json()["field"].split("[")[0].split(".")[0] in (key, "body")
            assert Postmortem.objects.count() == before

    example()


# --- Which POST endpoints exist, and which test sends them input -----------------------

# URL name -> where its input comes from: a page above (its forms and htmx inputs are
# found by page_targets), the events API test, or why it takes no input to vary.
POST_COVERAGE = {
    "login": "login page (test_login_refuses_extreme_values)",
    "logout": "no input",
    "api_events": "events API",
    "incidents:postmortem_create": "new postmortem",
    "incidents:postmortem_field": "draft", "incidents:postmortem_fix_deferred": "draft",
    "incidents:scan_answer": "draft", "incidents:scan_factor": "no input",
    "incidents:pending_mark": "draft", "incidents:factor_review": "no input",
    "incidents:row_add": "no input", "incidents:row_update": "draft",
    "incidents:row_remove": "no input", "incidents:postmortem_finalize": "no input",
    "incidents:postmortem_discard": "no input", "incidents:amendment_create": "final",
    "incidents:event_set": "draft", "incidents:meeting_schedule": "draft",
    "incidents:meeting_change": "no input", "incidents:domain_set": "final",
    "incidents:action_item_add": "final", "incidents:action_item_change": "final",
    "costlog:entry_create": "new mishap entry", "costlog:entry_preview": "new mishap entry",
    "costlog:resource_row_add": "new mishap entry",
    "costlog:entry_correct": "correct mishap entry", "costlog:rate_list": "rates",
    "costlog:postmortem_link": "draft", "runbooks:create": "new runbook",
    "runbooks:edit": "edit runbook", "runbooks:reviewed": "no input",
    "runbooks:run_start": "no input", "runbooks:run_record": "checklist run",
    "knowledge:link": "knowledge entry",
}


def test_every_post_endpoint_is_covered(site, alice):
    """Every URL of the URLconf (but the admin's) either refuses POST with 405 or is in
    POST_COVERAGE; and each covered one is reached by a page listed in PAGES."""
    from tests.security_helpers import concrete_path
    client = CsrfClient()
    client.force_login(alice)
    takes_post, ignores_post = set(), {}
    for route, name in url_patterns():
        if route.startswith("admin/"):
            continue
        path = concrete_path(route, site[0])
        counts, savepoint = write_counts(), transaction.savepoint()
        response = client.post(path, {"x": "\x00" + "9" * 5000},
                               headers={"Authorization": "Bearer x"})
        assert response.status_code < 500, path
        if response.status_code != 405 and name not in POST_COVERAGE:
            # A page that answers POST as it answers GET: it reads no input, writes nothing.
            ignores_post[name] = changed_since(counts, savepoint)
        else:
            transaction.savepoint_rollback(savepoint)
            if response.status_code != 405:
                takes_post.add(name)
    assert takes_post == set(POST_COVERAGE)
    assert all(changes == [] for changes in ignores_post.values()), ignores_post
    assert set(POST_COVERAGE.values()) - set(PAGES) <= {
        "no input", "events API", "login page (test_login_refuses_extreme_values)"}


def test_login_refuses_extreme_values(db, django_app):
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(field=st.sampled_from(["username", "password"]), value=SHAPES)
    def example(field, value):
        page = django_app.get("/accounts/login/")
        form = next(f for f in page.forms.values() if f.action == "/accounts/login/")
        form["username"], form["password"] = "alice", "wrong"
        form[field] = value
        response = form.submit(status="*")
        assert response.status_int < 500, (field, value[:80])

    example()
