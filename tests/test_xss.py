"""Every Markdown field goes through the one sanitizer (core.markdown.render_markdown),
and the OWASP XSS filter-evasion payloads come out inert from each of them: amendment
notes, a mishap entry's what happened / root cause / its items / prevention items, and a
runbook body. Plain-text fields (the seven-field template) are escaped, not rendered."""
import re

import pytest

from core.markdown import render_markdown
from tests.conftest import PROJECT_DIR
from tests.xss_payloads import ALL_PAYLOADS, OWASP_PAYLOADS, dangerous_parts, store_payloads


def test_the_checker_finds_what_a_raw_payload_would_run():
    assert dangerous_parts("<p><img src=x onerror=alert(1)></p>")
    assert dangerous_parts('<a href=" JaVa\tScRiPt:alert(1)">x</a>')
    assert dangerous_parts("<svg></svg>")
    assert dangerous_parts('<script src="/static/js/autosave.js"></script>') == []


@pytest.mark.parametrize("payload", OWASP_PAYLOADS)
def test_each_payload_is_inert_after_the_sanitizer(payload):
    assert dangerous_parts(str(render_markdown(payload))) == []


def test_markdown_is_rendered_in_one_place_only():
    """No module but core/markdown.py converts Markdown or cleans HTML itself."""
    offenders = []
    for path in PROJECT_DIR.glob("*/**/*.py"):
        if ".venv" in path.parts or "tests" in path.parts or path.name == "markdown.py":
            continue
        source = path.read_text(encoding="utf-8")
        if re.search(r"^\s*(import markdown|from markdown |import nh3|import bleach)", source,
                     re.MULTILINE):
            offenders.append(str(path.relative_to(PROJECT_DIR)))
    assert offenders == []


def test_payloads_in_every_markdown_field_render_inert(alice_client, alice, final_postmortem,
                                                       root_patterns, real_runbooks):
    pages = {
        **store_payloads(alice, final_postmortem, root_patterns),
        "runbook history": "/runbooks/ops-04/history/",
        "search results": "/search/?q=alert",
    }
    for what, path in pages.items():
        response = alice_client.get(path)
        assert response.status_code == 200, what
        assert dangerous_parts(response.content.decode()) == [], what
    # The harmless part of a payload survives: the link text stays, its handler does not.
    amendments = alice_client.get(pages["amendment notes"]).content.decode()
    assert '<a rel="noopener noreferrer">xxs link</a>' in amendments


def test_payloads_in_plain_text_fields_are_escaped(alice_client, complete_draft):
    complete_draft.summary = OWASP_PAYLOADS[6]
    complete_draft.prevention = ALL_PAYLOADS
    complete_draft.save()
    page = alice_client.get(f"/postmortems/{complete_draft.pk}/").content.decode()
    assert dangerous_parts(page) == []
    assert "&lt;a onmouseover=&quot;alert(document.cookie)&quot;&gt;" in page
