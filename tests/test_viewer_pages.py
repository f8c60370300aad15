"""A viewer reads every page as text: no input, text area, select or submit button that
writes (only the GET search and filter forms), and the pages that are only a form answer
403 with a page that says why (docs/rules.md#role-viewer). Rendered by django-webtest as
the browser gets them."""
import pytest

from core.roles import VIEWER_REFUSAL
from tests.site_data import site

WRITE_CONTROLS = "input, textarea, select, button"


@pytest.fixture
def demo(db):
    return site()


def read_pages(demo) -> dict[str, str]:
    run = demo.run
    return {
        "draft": f"/postmortems/{demo.draft.pk}/",
        "final": f"/postmortems/{demo.final.pk}/",
        "runbook": f"/runbooks/{demo.runbook.key}/",
        "checklist run": f"/runbooks/{demo.runbook.key}/runs/{run.pk}/",
        "runbook list": "/runbooks/",
        "rates": "/costs/rates/",
        "cost entry": f"/costs/entries/{demo.entry.pk}/",
        "cost entries": "/costs/entries/",
        "knowledge entry": f"/knowledge/{demo.knowledge.key}/",
        "policy": f"/policies/{demo.policy.number}/",
        "postmortems": "/postmortems/",
        "dashboard": "/",
    }


def writing_controls(response) -> list[str]:
    """The controls in <main> outside GET forms (search and filters only read)."""
    main = response.html.find("main")
    found = []
    for control in main.select(WRITE_CONTROLS):
        form = control.find_parent("form")
        if form is not None and form.get("method", "get").lower() == "get":
            continue
        found.append(str(control)[:120])
    return found


def test_a_viewer_gets_every_page_with_forms_as_text(django_app, demo):
    for name, url in read_pages(demo).items():
        response = django_app.get(url, user=demo.viewer)
        assert writing_controls(response) == [], name
        assert not response.html.select("main form[method=post]"), name
    # The same pages still offer the forms to an editor (the check can fail).
    draft = django_app.get(read_pages(demo)["draft"], user=demo.editor)
    assert draft.html.select("main textarea#id_summary")
    final = django_app.get(read_pages(demo)["final"], user=demo.editor)
    actions = [form.action for form in final.forms.values()]
    assert any(action.endswith("/amendments/") for action in actions)


def test_a_viewer_reads_a_draft_as_text(django_app, demo):
    page = django_app.get(f"/postmortems/{demo.draft.pk}/", user=demo.viewer)
    assert page.html.select_one("h1 .badge").text == "Draft"
    assert demo.draft.summary in page.html.select_one("#section-summary").text
    assert "Your role is viewer" in page.text
    assert "hx-post" not in page.text


def test_a_viewer_sees_no_link_to_a_write_page(django_app, demo):
    page = django_app.get("/", user=demo.viewer)
    links = [a.get("href") for a in page.html.select("a")]
    for write_url in ("/postmortems/new/", "/costs/entries/new/", "/runbooks/new/"):
        assert write_url not in links
    for url in ("/costs/entries/", "/runbooks/", f"/runbooks/{demo.runbook.key}/",
                f"/costs/entries/{demo.entry.pk}/"):
        hrefs = [a.get("href") for a in django_app.get(url, user=demo.viewer).html.select("a")]
        assert not [h for h in hrefs if h and (h.endswith(("/new/", "/edit/", "/correct/")))], url
    editor_links = [a.get("href") for a in django_app.get("/", user=demo.editor).html.select("a")]
    assert "/postmortems/new/" in editor_links


def test_the_write_pages_answer_a_viewer_403_with_the_reason(django_app, demo):
    for url in ("/postmortems/new/", "/costs/entries/new/",
                f"/costs/entries/{demo.entry.pk}/correct/", "/runbooks/new/",
                f"/runbooks/{demo.runbook.key}/edit/"):
        response = django_app.get(url, user=demo.viewer, status=403)
        assert response.html.select_one("h1").text == "Not allowed", url
        assert VIEWER_REFUSAL in response.html.select_one("main").text, url
        assert not response.html.select("main form"), url
        django_app.get(url, user=demo.editor, status=200)
