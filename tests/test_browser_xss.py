"""In real Chromium: the OWASP payloads stored in every Markdown field (amendment notes,
a mishap entry, a runbook body) run nothing when the pages are opened, hovered and their
links clicked: no dialog, no CSP violation (nothing even tried to run)."""

import pytest

from incidents import services
from incidents.models import Postmortem
from tests.conftest import fill_complete_draft, make_user
from tests.test_browser_postmortem import signed_in_page
from tests.xss_payloads import store_payloads


@pytest.fixture
def pages_with_payloads(transactional_db, root_patterns, real_runbooks):
    alice = make_user("alice", password="alice-password-1")
    pm = services.finalize(fill_complete_draft(Postmortem.objects.create(created_by=alice)), alice)
    return list(store_payloads(alice, pm, root_patterns).values())


def test_owasp_payloads_in_every_markdown_field_stay_inert_in_chromium(
        browser, live_server, pages_with_payloads):
    page = signed_in_page(browser, live_server, "/", "Dashboard")
    dialogs, violations = [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    try:
        for path in pages_with_payloads:
            page.goto(path)
            content = page.locator("main")
            for link in content.locator("a[href]").all()[:80]:
                href = link.get_attribute("href") or ""
                if not href.startswith(("/", "#", "http")):
                    link.click(modifiers=["Alt"], no_wait_after=True)
            # Every element gets a mouseover and a focus, as a reader's pointer would.
            page.evaluate("""document.querySelectorAll('main *').forEach(element => {
                element.dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));
                element.dispatchEvent(new FocusEvent('focus'));
            })""")
            assert page.evaluate("typeof window.__xss") == "undefined", path
            assert content.locator("script, iframe, object, embed, svg, math, [onerror], "
                                   "[onload], [onmouseover], [style]").count() == 0, path
            assert page.evaluate("document.querySelectorAll('base').length") == 0, path
    finally:
        page.context.close()
    assert dialogs == []
    assert violations == []
