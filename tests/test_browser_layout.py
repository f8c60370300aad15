"""Layout defects, measured in real Chromium on the demo's data: the runbook graph's edges
cross no other box, the cost chart's labels stay inside it, tags and ids never break
inside a word. The text defects (placeholders, a repeated title, the meeting line of a
final record, evidence labels) are read from the pages as django-webtest gets them."""
from datetime import date, timedelta
from itertools import pairwise

import pytest
from playwright.sync_api import expect

from incidents import action_items
from incidents.models import ActionItem, Postmortem
from tests.conftest import browser_context
from tests.site_data import PASSWORDS, site


@pytest.fixture
def demo(transactional_db):
    return site()


@pytest.fixture
def page(browser, live_server, demo):
    context = browser_context(browser, live_server)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("vera-viewer")
    page.get_by_label("Password").fill(PASSWORDS["vera-viewer"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    yield page
    context.close()


def segment_hits_box(p, q, box) -> bool:
    """Whether segment p-q passes through the inside of `box` (x, y, width, height), by
    Liang-Barsky clipping; touching an edge of the box does not count."""
    (x1, y1), (x2, y2) = p, q
    x, y, w, h = box
    dx, dy = x2 - x1, y2 - y1
    low, high = 0.0, 1.0
    for edge_p, edge_q in ((-dx, x1 - x), (dx, x + w - x1), (-dy, y1 - y), (dy, y + h - y1)):
        if edge_p == 0:
            if edge_q <= 0:
                return False
            continue
        t = edge_q / edge_p
        if edge_p < 0:
            low = max(low, t)
        else:
            high = min(high, t)
        if low >= high:
            return False
    return high - low > 1e-9


def test_segment_check_sees_a_crossing_and_not_a_miss():
    box = (100, 100, 50, 20)
    assert segment_hits_box((0, 110), (300, 110), box)
    assert not segment_hits_box((0, 90), (300, 90), box)
    assert not segment_hits_box((0, 100), (300, 100), box)  # along its top edge


def test_no_runbook_graph_edge_crosses_another_runbooks_box(page):
    page.goto("/runbooks/graph/")
    edges = page.evaluate("""() => [...document.querySelectorAll('figure.graph .edge')].map(e => ({
        source: e.dataset.source, target: e.dataset.target,
        points: [...e.points].map(p => [p.x, p.y])}))""")
    boxes = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll(
        'figure.graph .node')].map(g => { const r = g.querySelector('rect');
        return [g.dataset.key, [r.x.baseVal.value, r.y.baseVal.value,
                                r.width.baseVal.value, r.height.baseVal.value]]; }))""")
    assert ("ops-05", "ops-14") in {(edge["source"], edge["target"]) for edge in edges}
    assert "risk-15" in boxes
    crossings = []
    for edge in edges:
        points = edge["points"]
        for key, box in boxes.items():
            if key in (edge["source"], edge["target"]):
                continue
            for p, q in pairwise(points):
                if segment_hits_box(p, q, box):
                    crossings.append(f"{edge['source']} → {edge['target']} crosses {key}")
    assert crossings == []


def test_the_cost_chart_keeps_its_labels_inside(page):
    page.goto("/costs/?period=all")
    svg = page.locator("figure.chart svg")
    expect(svg).to_be_visible()
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        outside = page.evaluate("""() => {
          const svg = document.querySelector('figure.chart svg');
          const frame = svg.getBoundingClientRect();
          const out = [];
          for (const text of svg.querySelectorAll('text')) {
            const r = text.getBoundingClientRect();
            if (r.left < frame.left - 0.5 || r.right > frame.right + 0.5
                || r.top < frame.top - 0.5 || r.bottom > frame.bottom + 0.5) {
              out.push(text.textContent);
            }
          }
          // A pattern's name must not run under the bars either.
          for (const group of svg.querySelectorAll('g[data-pattern]')) {
            const name = group.querySelector('.chart-label').getBoundingClientRect();
            const bar = group.querySelector('rect').getBoundingClientRect();
            if (name.right > bar.left + 0.5 && name.bottom > bar.top + 0.5) {
              out.push('under the bar: ' + group.dataset.pattern);
            }
          }
          return out;
        }""")
        assert outside == [], width
        assert svg.locator("text.chart-label").count() >= 3


def test_runbook_tags_and_ids_never_break_inside_a_word(page, demo):
    for path in ("/runbooks/", f"/runbooks/{demo.runbook.key}/", "/runbooks/risk-15/"):
        page.goto(path)
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 900})
            broken = page.evaluate("""() => [...document.querySelectorAll(
                'main .badge, main td > code:not(.path), main .meta > code')]
                .filter(el => el.getClientRects().length > 1
                              || el.getBoundingClientRect().height > 1.6 * parseFloat(
                                   getComputedStyle(el).lineHeight || 20))
                .map(el => el.textContent)""")
            assert broken == [], (path, width)


def test_impact_placeholders_read_as_hints(django_app, demo):
    page = django_app.get(f"/postmortems/{demo.draft.pk}/", user=demo.editor)
    for name in ("impact_usd", "impact_users", "impact_duration_minutes"):
        field = page.html.select_one(f"input[name={name}]")
        assert field.get("value", "") == "", name
        assert field["placeholder"].startswith("e.g. "), name


def test_a_placeholder_is_muted_and_italic_in_chromium(page, demo):
    # The draft's Impact inputs, as an editor sees them.
    context = page.context
    context.clear_cookies()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("eddie-editor")
    page.get_by_label("Password").fill(PASSWORDS["eddie-editor"])
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/postmortems/{demo.draft.pk}/")
    style = page.evaluate("""() => { const input = document.getElementById('id_impact_usd');
        const hint = getComputedStyle(input, '::placeholder');
        return [hint.fontStyle, hint.color, getComputedStyle(input).color]; }""")
    assert style[0] == "italic"
    assert style[1] != style[2]


def test_the_runbook_title_appears_once(django_app, demo):
    page = django_app.get("/runbooks/risk-15/", user=demo.viewer)
    title = "Risk Incidents and Lessons Learned"
    headings = [h.get_text(strip=True) for h in page.html.select("main h1, main h2")]
    assert headings.count(title) == 1
    assert page.html.select_one("main h1").get_text(strip=True) == title
    # The rest of the body is still there.
    assert "EventBridge rules disabled" in page.html.select_one("article.runbook-body").text


def test_a_final_record_without_a_meeting_says_none_was_recorded(django_app, demo):
    final = demo.final
    assert not final.meetings.exists()
    page = django_app.get(f"/postmortems/{final.pk}/", user=demo.viewer)
    meeting = page.html.select_one(".meeting-panel").get_text(" ", strip=True)
    assert "no meeting was recorded" in meeting
    assert "scheduled yet" not in meeting
    draft = django_app.get(f"/postmortems/{demo.draft.pk}/", user=demo.viewer)
    assert "facilitator" in draft.html.select_one(".meeting-panel").get_text(" ", strip=True)


def test_evidence_labels_read_as_words(django_app, demo):
    page = django_app.get(f"/postmortems/{demo.final.pk}/", user=demo.viewer)
    labels = [dt.get_text(strip=True) for dt in page.html.select("dl.evidence dt")]
    assert labels == ["Hook file", "Commit SHA"]


def signed_in_page(browser, live_server, username: str):
    context = browser_context(browser, live_server)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORDS[username])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    return context, page


OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
HEADER_HEIGHT = "() => document.querySelector('.site-header').getBoundingClientRect().height"


def test_a_summary_without_spaces_never_widens_the_lists(page, demo):
    Postmortem.objects.filter(pk=demo.draft.pk).update(summary="x" * 2000)
    action_items.add_item(demo.draft, ActionItem.Kind.RULE, "y" * 500, demo.editor,
                          date(2026, 12, 24), demo.admin)
    for path in ("/", "/postmortems/"):
        page.goto(path)
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 900})
            assert page.evaluate(OVERFLOW) <= 0, (path, width)
            assert page.get_by_text("x" * 100, exact=False).first.is_visible(), (path, width)


def test_the_retrospective_label_wraps_on_a_phone(page, demo):
    Postmortem.objects.filter(pk=demo.draft.pk).update(
        occurred_utc=demo.draft.created_utc - timedelta(days=280))
    for path in ("/", f"/postmortems/{demo.draft.pk}/"):
        page.goto(path)
        label = page.locator(".countdown.retrospective").first
        expect(label).to_contain_text("retrospective: written 9 months after the event")
        page.set_viewport_size({"width": 390, "height": 900})
        assert page.evaluate(OVERFLOW) <= 0, path
        right = label.evaluate("el => el.getBoundingClientRect().right")
        assert right <= 390, (path, right)


def test_the_header_is_compact_on_a_phone_and_one_row_on_a_laptop(browser, live_server, demo):
    context, page = signed_in_page(browser, live_server, "ada-admin")  # the most items
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto("/")
    assert page.evaluate(HEADER_HEIGHT) <= 120
    assert page.evaluate(OVERFLOW) <= 0
    # Every nav item is still reachable: the row scrolls sideways inside itself.
    nav = page.locator(".site-header nav")
    nav.get_by_role("link", name="Admin").scroll_into_view_if_needed()
    expect(nav.get_by_role("link", name="Admin")).to_be_in_viewport()
    assert page.evaluate(OVERFLOW) <= 0
    page.set_viewport_size({"width": 1280, "height": 900})
    assert page.evaluate(HEADER_HEIGHT) <= 60
    context.close()


def test_an_admin_page_loads_its_icon_without_a_console_error(browser, live_server, demo):
    context, page = signed_in_page(browser, live_server, "ada-admin")
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    with page.expect_response(lambda response: "favicon" in response.url) as icon:
        page.goto("/admin/")
    assert icon.value.status == 200, icon.value.url
    page.wait_for_load_state("load")
    assert errors == []
    context.close()
