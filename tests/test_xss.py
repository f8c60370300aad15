"""Every Markdown field goes through the one sanitizer (incidents.markdown.render_markdown),
and the OWASP XSS filter-evasion payloads come out inert from each of them: amendment
notes, a mishap entry's what happened / root cause / its items / prevention items, and a
runbook body. Plain-text fields (the seven-field template) are escaped, not rendered."""
import re
from datetime import UTC, datetime

import pytest

from costlog.services import EntryInput, record_entry
from incidents import services
from incidents.markdown import render_markdown
from runbooks.models import Runbook
from tests.conftest import PROJECT_DIR
from tests.xss_payloads import OWASP_PAYLOADS, dangerous_parts

ALL_PAYLOADS = "\n\n".join(OWASP_PAYLOADS)


def test_the_checker_finds_what_a_raw_payload_would_run():
    assert dangerous_parts("<p><img src=x onerror=alert(1)></p>")
    assert dangerous_parts('<a href=" JaVa\tScRiPt:alert(1)">x</a>')
    assert dangerous_parts("<svg></svg>")
    assert dangerous_parts('<script src="/static/js/autosave.js"></script>') == []


@pytest.mark.parametrize("payload", OWASP_PAYLOADS)
def test_each_payload_is_inert_after_the_sanitizer(payload):
    assert dangerous_parts(str(render_markdown(payload))) == []


def test_markdown_is_rendered_in_one_place_only():
    """No module but incidents/markdown.py converts Markdown or cleans HTML itself."""
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
    for payload in OWASP_PAYLOADS:
        services.add_amendment(final_postmortem, alice, payload)
    entry = record_entry(EntryInput(
        occurred_utc=datetime(2026, 3, 2, 14, 30, tzinfo=UTC), logged_zone="UTC",
        title="Payload entry", what_happened=ALL_PAYLOADS, root_cause=ALL_PAYLOADS,
        root_cause_items=OWASP_PAYLOADS, prevention_items=OWASP_PAYLOADS,
        patterns=[next(iter(root_patterns.values()))], cost_low_usd=1, cost_high_usd=1,
    ), user=alice)
    runbook = Runbook.objects.get(key="ops-04")
    runbook.body = "# Payloads\n\n" + ALL_PAYLOADS
    runbook.save()

    pages = {
        "amendment notes": f"/postmortems/{final_postmortem.pk}/",
        "mishap entry fields": f"/costs/entries/{entry.pk}/",
        "runbook body": "/runbooks/ops-04/",
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
