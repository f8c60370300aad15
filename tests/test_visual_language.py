"""One visual language (issue 20): the CSS is one set of tokens, no raw hex colour outside
them; a status badge, a field's feedback, a conflict box and an error are one component
(templates/components/notice.html, the `notice` class family); rendered forms name their
feedback with aria-describedby and say aria-invalid="true" when a submission is refused."""
import re
from pathlib import Path

from bs4 import BeautifulSoup

from incidents.models import Postmortem
from tests.conftest import CsrfClient
from tests.test_costlog_pages import rendered_entry_form, typed_entry
from tests.test_postmortem_pages import page_form, url

ROOT = Path(__file__).resolve().parent.parent
CSS_FILES = sorted((ROOT / "static").rglob("*.css"))
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))
HEX = re.compile(r"#[0-9a-fA-F]{3,8}\b")
TOKEN_BLOCK = re.compile(r":root\s*\{[^}]*\}")
# In a template a colour is an attribute value (fill="#555") or inside style="" / <style>;
# "#section-x" links and "#feedback-x" selectors are not colours.
TEMPLATE_COLOUR = re.compile(
    r"(?:\b(?:fill|stroke|color|stop-color|bgcolor|flood-color|lighting-color)\s*=\s*[\"']?\s*"
    r"|style\s*=\s*[\"'][^\"']*|<style[^>]*>[^<]*)#[0-9a-fA-F]{3,8}\b", re.I)


def stray_css_colours(css: str) -> list[str]:
    """Hex colours in `css` outside its :root token block (comments removed first)."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    return HEX.findall(TOKEN_BLOCK.sub("", css))


def test_the_check_sees_a_stray_colour_and_ignores_the_tokens():
    assert stray_css_colours(":root { --ink: #1b1f24; }\na { color: var(--ink); }") == []
    assert stray_css_colours(":root { --ink: #1b1f24; }\na { color: #fff; }") == ["#fff"]
    assert TEMPLATE_COLOUR.search('<path fill="#555"/>')
    assert TEMPLATE_COLOUR.search('<p style="color: #b42318">')
    assert not TEMPLATE_COLOUR.search('<a href="#section-fee">')


def test_no_raw_hex_colour_outside_the_token_block():
    assert CSS_FILES, "no stylesheet found"
    stray = {str(path.relative_to(ROOT)): found for path in CSS_FILES
             if (found := stray_css_colours(path.read_text()))}
    assert stray == {}
    blocks = [len(TOKEN_BLOCK.findall(path.read_text())) for path in CSS_FILES]
    assert sum(blocks) == 1, "one token block for the whole site"


def test_no_hex_colour_in_a_template():
    stray = {str(path.relative_to(ROOT)): match.group(0) for path in TEMPLATES
             if (match := TEMPLATE_COLOUR.search(path.read_text()))}
    assert stray == {}


def test_every_token_used_is_defined():
    css = "\n".join(path.read_text() for path in CSS_FILES)
    defined = set(re.findall(r"(--[\w-]+)\s*:", css))
    used = set(re.findall(r"var\((--[\w-]+)", css))
    assert used - defined == set()
    root = TOKEN_BLOCK.search(css).group(0)
    for family in ("--ink", "--bad", "--space-", "--text-", "--font-body"):
        assert family in root, family


def notices(soup, selector):
    element = soup.select_one(selector)
    assert element is not None, selector
    return element["class"]


def test_badge_feedback_conflict_and_error_are_the_one_notice_component(alice, bob):
    pm = Postmortem.objects.create(created_by=alice)
    alice_client, bob_client = CsrfClient(), CsrfClient()
    alice_client.force_login(alice)
    bob_client.force_login(bob)

    def save(client, name, value, base):
        return client.post(url("postmortem_field", pm.pk, name),
                           {name: value, "base_version": str(base)}, htmx=True,
                           headers={"X-Scarlog-Editor": f"page-{client is bob_client}"})

    page = BeautifulSoup(alice_client.get(url("postmortem_detail", pm.pk)).content,
                         "html.parser")
    badge = notices(page, "h1 .badge.draft")
    assert {"notice", "notice-badge", "notice-warn"} <= set(badge)
    assert save(alice_client, "prevention", "An alert fires on expiry.", 0).status_code == 200
    refused = save(alice_client, "impact_usd", "lots", 0)
    error = BeautifulSoup(refused.content, "html.parser")
    assert {"notice", "notice-line", "notice-bad"} <= set(notices(error, "#feedback-impact .error"))
    complete = BeautifulSoup(save(alice_client, "summary", "A short factual summary.", 0).content,
                             "html.parser")
    assert {"notice", "notice-ok"} <= set(notices(complete, "#feedback-summary .ok"))
    conflict = save(bob_client, "prevention", "A metric on open positions.", 0)
    assert conflict.status_code == 409
    box = BeautifulSoup(conflict.content, "html.parser")
    assert {"notice", "notice-box", "notice-bad", "conflict"} <= set(
        notices(box, "#feedback-prevention"))
    mark = alice_client.post(url("pending_mark", pm.pk, "references"), {"pending": "1"},
                             htmx=True)
    assert {"notice", "notice-badge", "notice-warn"} <= set(
        notices(BeautifulSoup(mark.content, "html.parser"), ".pending-badge"))
    css = (ROOT / "static/css/scarlog.css").read_text()
    for shape in (".notice-line", ".notice-badge", ".notice-box", ".notice-bad", ".notice-ok"):
        assert shape + " {" in css, shape


def describes(soup, field, message: str):
    """The refused `field` says aria-invalid="true" and its aria-describedby names an
    element on the page that holds `message`."""
    assert field.get("aria-invalid") == "true", field
    ids = field.get("aria-describedby", "").split()
    assert ids, field
    texts = [soup.find(id=i).get_text(" ", strip=True) for i in ids if soup.find(id=i)]
    assert any(message in text for text in texts), (ids, texts)


def test_a_refused_new_postmortem_marks_and_describes_its_fields(django_app, alice):
    form = page_form(django_app, url("postmortem_create"), alice, url("postmortem_create"),
                     occurred_utc="yesterday", trigger="other")
    response = form.submit(expect_errors=True)
    assert response.status_code == 400
    soup = response.html
    describes(soup, soup.find(id="id_occurred_utc"), "'yesterday' is not a date and time")
    # A field that was accepted is not marked.
    assert soup.find(id="id_severity").get("aria-invalid") is None
    assert soup.find(id="id_trigger").get("aria-invalid") is None
    form = page_form(django_app, url("postmortem_create"), alice, url("postmortem_create"),
                     occurred_utc="2026-03-02 15:47", trigger="other")
    soup = form.submit(expect_errors=True).html
    describes(soup, soup.find(id="id_trigger_reason"), "say why a postmortem is needed")
    assert soup.find(id="id_occurred_utc").get("aria-invalid") is None


def test_a_refused_cost_entry_marks_and_describes_its_field(django_app, alice, root_patterns,
                                                            real_cost_log):
    form = rendered_entry_form(django_app, alice, **typed_entry(root_patterns, title=""))
    response = form.submit(expect_errors=True)
    assert response.status_code == 400
    soup = response.html
    describes(soup, soup.find(id="id_title"), "Title:")
    assert soup.find(id="id_what_happened").get("aria-invalid") is None


def test_every_draft_input_names_feedback_that_is_on_the_page(alice_client, complete_draft):
    soup = BeautifulSoup(alice_client.get(url("postmortem_detail", complete_draft.pk)).content,
                         "html.parser")
    described = soup.select(".fields [aria-describedby]")
    assert len(described) >= 15
    for element in described:
        for target in element["aria-describedby"].split():
            assert soup.find(id=target) is not None, (element.get("id"), target)
    for name in ("summary", "prevention", "what_went_well", "impact_usd"):
        field = soup.find(attrs={"name": name})
        assert field.get("aria-describedby", "").startswith("feedback-"), name
