"""Links are http(s) only (docs/rules.md#input-links), in every way one gets in or out:

- the rule itself (core.web_links), against Hypothesis-made disguises of javascript:,
  data:, vbscript:, file: and //host (case, spaces, tabs and newlines inside the scheme,
  control and invisible characters, character entities), and against real http(s) links;
- the draft page's ticket link and PR/other references, autosaved as the page sends them;
- the ship-with-evidence form's CI run link, submitted through the rendered form
  (django-webtest);
- `manage.py import_postmortems`, naming the file, line and key;
- the final page, which links a stored value only when it passes, and the Markdown
  renderer, which keeps only http, https and mailto links.
"""
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from bs4 import BeautifulSoup
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.markdown import render_markdown
from core.web_links import is_web_link, link_problem
from incidents import action_items
from incidents.models import ActionItem, Postmortem, Reference
from tests.conftest import TEST_DATA
from tests.xss_payloads import dangerous_parts

BAD_SCHEMES = ["javascript", "data", "vbscript", "file", "jar", "blob", "filesystem"]
# What a browser strips or ignores in a URL's scheme (WHATWG URL: leading C0 controls and
# spaces; tab, LF and CR anywhere), plus the invisible characters editors paste.
INVISIBLE = ["\t", "\n", "\r", " ", "\x00", "\x0b", "\x0c", "\x1f", "\x7f", "\u200b",
             "\ufeff", "\u00a0", "\u2028"]
ENTITIES = {":": ["&colon;", "&#58;", "&#x3a;", "%3A"], "j": ["&#106;", "&#x6A;", "&#0000106"],
            "a": ["&#97;"], "/": ["&#47;", "&sol;"]}
WHATWG_STRIPPED = re.compile(r"^[\x00-\x20]+|[\t\n\r]")


def mixed_case(draw, text: str) -> str:
    return "".join(c.upper() if draw(st.booleans()) else c for c in text)


@st.composite
def disguised_scheme_links(draw):
    """A javascript:/data:/… or //host link in one of the shapes that slip past naive
    checks."""
    if draw(st.booleans()):
        link = "//" + draw(st.sampled_from(["evil.example", "evil.example/x", "@evil"]))
    else:
        scheme = mixed_case(draw, draw(st.sampled_from(BAD_SCHEMES)))
        link = scheme + ":" + draw(st.sampled_from(
            ["alert(1)", "//evil.example/%0aalert(1)", "text/html;base64,PHNjcmlwdD4=",
             "///etc/passwd", "https://ok.example/"]))
    for _ in range(draw(st.integers(0, 3))):
        position = draw(st.integers(0, len(link)))
        link = link[:position] + draw(st.sampled_from(INVISIBLE)) + link[position:]
    if draw(st.booleans()):
        index = draw(st.integers(0, len(link) - 1))
        options = ENTITIES.get(link[index].lower())
        if options:
            link = link[:index] + draw(st.sampled_from(options)) + link[index + 1:]
    return draw(st.sampled_from(["", " ", "\x01", "\t"])) + link


@st.composite
def web_links(draw):
    scheme = mixed_case(draw, draw(st.sampled_from(["http", "https"])))
    host = draw(st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z]{2,8}){0,2}\Z"))
    port = draw(st.sampled_from(["", ":8080", ":443"]))
    path = draw(st.from_regex(r"\A(/[A-Za-z0-9._~%!$&'()*+,;=:@-]{0,12}){0,3}\Z"))
    query = draw(st.sampled_from(["", "?a=1&b=2", "?q=%3Cscript%3E", "#frag"]))
    return f"{scheme}://{host}{port}{path}{query}"


@given(disguised_scheme_links())
@settings(max_examples=400, deadline=None)
def test_no_disguise_of_a_script_scheme_passes(link):
    assert link_problem(link) is not None, link


@given(web_links())
@settings(max_examples=300, deadline=None)
def test_real_http_links_pass_and_a_browser_reads_them_as_http(link):
    assert link_problem(link) is None, link
    # What a browser would do with it changes nothing: no stripped character hides a scheme.
    assert WHATWG_STRIPPED.sub("", link).lower().startswith(("http://", "https://"))


@given(st.text(max_size=60))
@settings(max_examples=500, deadline=None)
def test_whatever_passes_is_read_by_a_browser_as_http(text):
    if is_web_link(text):
        assert WHATWG_STRIPPED.sub("", text) == text
        assert text.lower().startswith(("http://", "https://"))


@pytest.mark.parametrize("link", [
    " JaVaScRiPt:alert(1)", "java\tscript:alert(1)", "jav&#x09;ascript:alert(1)",
    "&#106;avascript:alert(1)", "javascript&colon;alert(1)", "data:text/html,<script>",
    "vbscript:msgbox(1)", "file:///etc/passwd", "//evil.example/", "https:evil.example",
    "https:///evil", "http://", "https://[::1", "https://ok.example:99999/",
    "https://ok.example/\nx", "\x01https://ok.example/",
])
def test_the_known_tricks_are_refused(link):
    assert link_problem(link) is not None


# --- The draft page ---------------------------------------------------------------------

def autosave_request(page, input_id: str) -> tuple[str, dict]:
    """(URL, data) htmx sends when the input `input_id` of the rendered page changes: the
    input, the inputs its hx-include names (or its row, closest tr), nothing else."""
    soup = BeautifulSoup(page.text, "html.parser")
    element = soup.find(id=input_id)
    data = {}
    include = element.get("hx-include", "")
    if include == "closest tr":
        row = element.find_parent("tr")
        for field in row.find_all(["input", "select"]):
            selected = field.find("option", selected=True) if field.name == "select" else None
            data[field["name"]] = selected["value"] if selected else field.get("value", "")
    elif include:
        hidden = soup.select_one(include)
        data[hidden["name"]] = hidden["value"]
    return element["hx-post"], data


def htmx_post(app, page, url, data, user):
    return app.post(url, data, user=user, expect_errors=True, headers={
        "HX-Request": "true", "X-CSRFToken": app.cookies["csrftoken"]})


@pytest.mark.parametrize("link", ["javascript:alert(document.cookie)", " JaVaScRiPt:alert(1)",
                                  "data:text/html,<script>alert(1)</script>", "//evil.example"])
def test_the_draft_refuses_a_script_ticket_link_naming_the_field(django_app, alice,
                                                                   complete_draft, link):
    page = django_app.get(f"/postmortems/{complete_draft.pk}/", user=alice)
    url, data = autosave_request(page, "id_fix_ticket_link")
    answer = htmx_post(django_app, page, url, {**data, "fix_ticket_link": link}, alice)
    assert "Ticket link: This link" in answer.text
    assert dangerous_parts(answer.text) == []
    assert Postmortem.objects.get(pk=complete_draft.pk).fix_ticket_link == ""
    good = htmx_post(django_app, page, url,
                     {**data, "fix_ticket_link": "https://tickets.example/T-1"}, alice)
    assert good.status_code == 200 and "Ticket link:" not in good.text
    assert Postmortem.objects.get(pk=complete_draft.pk).fix_ticket_link == \
        "https://tickets.example/T-1"


def test_a_pr_reference_must_be_http_but_a_ticket_keeps_its_text(django_app, alice,
                                                                 complete_draft):
    pr = complete_draft.references.get(kind="pr")
    page = django_app.get(f"/postmortems/{complete_draft.pk}/", user=alice)
    url, data = autosave_request(page, f"reference-{pr.pk}-value")
    answer = htmx_post(django_app, page, url, {**data, "value": "javascript:alert(1)"}, alice)
    assert "Value: A PR link is not an http(s) link" in answer.text
    assert Reference.objects.get(pk=pr.pk).value == "https://git.example.com/pr/12"
    # Switching a stored ticket text to a link kind is refused the same way.
    ticket = Reference.objects.create(postmortem=complete_draft, position=4, kind="ticket",
                                      value="vbscript:msgbox(1)")
    page = django_app.get(f"/postmortems/{complete_draft.pk}/", user=alice)
    url, data = autosave_request(page, f"reference-{ticket.pk}-kind")
    answer = htmx_post(django_app, page, url, {**data, "kind": "other"}, alice)
    assert "Value: A Other link is not an http(s) link" in answer.text
    assert Reference.objects.get(pk=ticket.pk).kind == "ticket"


# --- The ship form ----------------------------------------------------------------------

@pytest.mark.parametrize("link", ["javascript:alert(1)", "java\tscript:alert(1)",
                                  "file:///etc/passwd"])
def test_the_ship_form_refuses_a_script_ci_link_naming_it(django_app, alice, final_postmortem,
                                                         link):
    item = action_items.add_item(final_postmortem, "test", "Add a regression test", alice,
                                 datetime.now(UTC).date() + timedelta(days=7), user=alice)
    page = django_app.get(f"/postmortems/{final_postmortem.pk}/", user=alice)
    form = next(f for f in page.forms.values()
                if f.action.endswith(f"/action-items/{item.pk}/ship/"))
    form["test_name"] = "tests/test_exit.py::test_invalidation_exits"
    form["commit_sha"] = "3f9c2ab"
    form["ci_run_link"] = link
    shown = form.submit().follow()
    assert re.search(r"Evidence: CI run link .* (is not an http\(s\) link|contains a space or "
                     r"control character)", shown.text)
    assert ActionItem.objects.get(pk=item.pk).status == ActionItem.Status.OPEN
    form = next(f for f in shown.forms.values()
                if f.action.endswith(f"/action-items/{item.pk}/ship/"))
    form["test_name"], form["commit_sha"] = "tests/test_exit.py::test_x", "3f9c2ab"
    form["ci_run_link"] = "https://ci.example.com/runs/881"
    form.submit().follow()
    assert ActionItem.objects.get(pk=item.pk).status == ActionItem.Status.SHIPPED


# --- Import -----------------------------------------------------------------------------

def first_line() -> dict:
    return json.loads((TEST_DATA / "postmortems.jsonl").read_text().splitlines()[0])


@pytest.mark.parametrize("change, key", [
    ({"pr_link": "javascript:alert(1)"}, "pr_link"),
    ({"fix_ticket_link": " JaVaScRiPt:alert(1)"}, "fix_ticket_link"),
    ({"fix_ticket_link": "data:text/html,<script>alert(1)</script>"}, "fix_ticket_link"),
    ({"references": [{"kind": "other", "value": "//evil.example"}]}, "references[0].value"),
    ({"references": [{"kind": "pr", "value": "vbscript:msgbox(1)"}]}, "references[0].value"),
])
def test_the_import_refuses_a_script_link_naming_the_line_and_key(db, tmp_path, change, key):
    good = first_line()
    bad = {**first_line(), "id": "0d1f6a3e-2b8c-4c1e-9a51-7f3b2e9c0a99", **change}
    if "references" in change:
        bad["trace_id"] = bad["pr_link"] = ""
    log = tmp_path / "log.jsonl"
    log.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    with pytest.raises(CommandError) as refused:
        call_command("import_postmortems", str(log))
    assert f"log.jsonl, line 2: {key}: " in str(refused.value)
    assert re.search(r"is not an http\(s\) link|contains a space or control character",
                     str(refused.value))
    assert Postmortem.objects.count() == 0  # nothing half-written


def test_the_import_keeps_http_links_and_ticket_text(db, tmp_path):
    line = {**first_line(), "pr_link": "https://git.example.com/pr/7",
            "references": [{"kind": "pr", "value": "https://git.example.com/pr/7"},
                           {"kind": "ticket", "value": "OPS-12"}]}
    log = tmp_path / "log.jsonl"
    log.write_text(json.dumps(line) + "\n", encoding="utf-8")
    call_command("import_postmortems", str(log))
    assert list(Reference.objects.values_list("kind", "value")) == [
        ("pr", "https://git.example.com/pr/7"), ("ticket", "OPS-12")]


# --- Rendering --------------------------------------------------------------------------

def test_a_stored_script_link_is_shown_as_text_never_as_a_link(alice_client, complete_draft):
    """A value stored before the rule (or behind the app) still never becomes an href."""
    Postmortem.objects.filter(pk=complete_draft.pk).update(
        fix_description="no change; documented and deferred", fix_commit_sha="",
        fix_ticket_link="javascript:alert(1)")
    Reference.objects.filter(postmortem=complete_draft, kind="pr").update(
        value=" JaVaScRiPt:alert(2)")
    Postmortem.objects.filter(pk=complete_draft.pk).update(status=Postmortem.Status.FINAL,
                                                           finalized_utc=datetime.now(UTC))
    page = alice_client.get(f"/postmortems/{complete_draft.pk}/").content.decode()
    assert dangerous_parts(page) == []
    assert "<code>javascript:alert(1)</code>" in page
    assert "<code> JaVaScRiPt:alert(2)</code>" in page
    assert 'href="https://' not in page.split("References")[-1].split("</section>")[0]


@pytest.mark.parametrize("markdown", [
    "[x](javascript:alert(1))", "[x]( JaVaScRiPt:alert(1))", "[x](java\tscript:alert(1))",
    "[x](data:text/html,<script>alert(1)</script>)", "[x](vbscript:msgbox(1))",
    "[x](file:///etc/passwd)", "<a href='&#106;avascript:alert(1)'>x</a>",
])
def test_markdown_keeps_only_http_https_and_mailto_links(markdown):
    html = str(render_markdown(markdown))
    assert dangerous_parts(html) == []
    assert re.findall(r'href="([^"]*)"', html) == []


def test_markdown_keeps_real_links():
    html = str(render_markdown("[a](https://ok.example/x) [m](mailto:ops@example.com)"))
    assert re.findall(r'href="([^"]*)"', html) == ["https://ok.example/x",
                                                   "mailto:ops@example.com"]


@given(disguised_scheme_links())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_markdown_never_links_a_disguised_scheme(link):
    html = str(render_markdown(f"[x]({link}) <a href=\"{link}\">y</a>"))
    assert dangerous_parts(html) == []
