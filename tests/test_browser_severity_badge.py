"""The severity badge is readable (issue 19): in real Chromium, every level's badge on the
postmortem list, and the draft's, has an opaque background and a text colour at least
4.5:1 against it (WCAG AA), each level its own colour, from CSS classes alone (CSP)."""
import re

from incidents import services
from incidents.models import Severity
from tests.conftest import make_user
from tests.test_browser_postmortem import signed_in_page

CONTRAST_AA = 4.5


def rgb(css: str) -> tuple[float, float, float, float]:
    """'rgb(1, 2, 3)' / 'rgba(1, 2, 3, 0.5)' -> (r, g, b, alpha)."""
    parts = [float(p) for p in re.findall(r"[\d.]+", css)]
    return (*parts[:3], parts[3] if len(parts) > 3 else 1.0)


def luminance(colour) -> float:
    def channel(value):
        value /= 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(v) for v in colour[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_every_severity_badge_is_readable_and_levels_differ(browser, live_server,
                                                             transactional_db):
    alice = make_user("alice", password="alice-password-1")
    codes = list(Severity.objects.order_by("rank").values_list("code", flat=True))
    for code in codes:
        services.create_draft(alice, summary=f"Rated {code}", severity=code)
    unrated = services.create_draft(alice, summary="Not rated yet")
    page = signed_in_page(browser, live_server, "/postmortems/", "Postmortems")
    try:
        badges = page.locator("#postmortem-list .badge.severity")
        assert badges.count() == len(codes) + 1
        seen = {}
        for index in range(badges.count()):
            badge = badges.nth(index)
            style = badge.evaluate("b => { const s = getComputedStyle(b);"
                                   " return [s.color, s.backgroundColor,"
                                   " b.getAttribute('style')]; }")
            colour, background, inline = rgb(style[0]), rgb(style[1]), style[2]
            assert inline is None
            assert background[3] == 1.0, f"{badge.inner_text()}: transparent background"
            assert contrast(colour, background) >= CONTRAST_AA, badge.inner_text()
            seen[badge.inner_text()] = background[:3]
        rated = [seen[label] for label in seen if label != "not rated"]
        assert len(set(rated)) == len(codes)  # one colour per level
        page.goto(f"/postmortems/{unrated.pk}/")
        draft_badge = page.locator("#severity .badge.severity")
        colour, background = (rgb(v) for v in draft_badge.evaluate(
            "b => [getComputedStyle(b).color, getComputedStyle(b).backgroundColor]"))
        assert background[3] == 1.0 and contrast(colour, background) >= CONTRAST_AA
    finally:
        page.context.close()
