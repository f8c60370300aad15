"""The action items section of a final postmortem page, as a signed-in user uses it: each
form (domain, add, start/ship/drop) is submitted as the page renders it (django-webtest)."""
import html

import pytest
from django.urls import reverse

from incidents.models import ActionItem, PostmortemDomain

pytestmark = pytest.mark.django_db


def page_of(app, pm, user) -> str:
    page = app.get(reverse("incidents:postmortem_detail", args=[pm.pk]), user=user)
    return html.unescape(page.text)


def form_to(app, pm, user, action: str):
    """The postmortem page's form whose action ends with `action` (e.g. '/domain/')."""
    page = app.get(reverse("incidents:postmortem_detail", args=[pm.pk]), user=user)
    return next(form for form in page.forms.values()
                if form.method.lower() == "post" and form.action.endswith(action))


def add(app, pm, user, **changes):
    """Fill and submit the page's "Add an action item" form."""
    form = form_to(app, pm, user, "/action-items/")
    typed = {"kind": "hook", "description": "Watchdog for runs over 4 hours",
             "owner": str(user.pk), "due_date": "2026-05-01", **changes}
    for name, value in typed.items():
        if name == "kind" and value not in [v for v, _, _ in form[name].options]:
            form[name].force_value(value)  # a tampered value no option offers
        else:
            form[name] = value
    return form.submit()


def set_domain(app, pm, user, domain):
    form = form_to(app, pm, user, "/domain/")
    form["domain"] = domain
    return form.submit()


def change(app, pm, user, item, change_name, **typed):
    form = form_to(app, pm, user, f"/action-items/{item.pk}/{change_name}/")
    for name, value in typed.items():
        form[name] = value
    return form.submit()


def test_classify_and_add_items_to_a_final_postmortem(django_app, alice, final_postmortem):
    response = set_domain(django_app, final_postmortem, alice, "cloud-training")
    assert response.status_code == 302 and response["Location"].endswith("#action-items")
    assert PostmortemDomain.objects.get(postmortem=final_postmortem).set_by == alice
    add(django_app, final_postmortem, alice)
    page = page_of(django_app, final_postmortem, alice)
    assert "<strong>INCOMPLETE</strong>: 1 item without shipping evidence." in page
    assert ("Hook “Watchdog for runs over 4 hours” (alice, due 2026-05-01): "
            "needs hook file + commit SHA") in page
    assert 'value="cloud-training"' in page


def test_bad_input_is_refused_naming_the_field(django_app, alice, final_postmortem):
    shown = add(django_app, final_postmortem, alice, kind="other").follow()
    assert "Type 'other' is not one of rule, hook, test, criterion, memory" in \
        html.unescape(shown.text)
    shown = add(django_app, final_postmortem, alice, due_date="soon").follow()
    assert "Due date: give a date (YYYY-MM-DD)." in html.unescape(shown.text)
    shown = set_domain(django_app, final_postmortem, alice, "A B").follow()
    assert "Domain: Domain 'A B' is not a slug" in html.unescape(shown.text)
    assert not ActionItem.objects.exists()


def test_ship_with_evidence_then_the_postmortem_is_closed_out(django_app, alice,
                                                              final_postmortem):
    add(django_app, final_postmortem, alice)
    item = ActionItem.objects.get()
    change(django_app, final_postmortem, alice, item, "ship",
           hook_file="/home/alice/watchdog.py", commit_sha="9f1c2ab")
    assert "Evidence: hook file '/home/alice/watchdog.py' is an absolute path" in page_of(
        django_app, final_postmortem, alice)
    assert ActionItem.objects.get().status == "open"
    change(django_app, final_postmortem, alice, item, "ship",
           hook_file="hooks/watchdog.py", commit_sha="9f1c2ab")
    page = page_of(django_app, final_postmortem, alice)
    assert "Closed out" in page and "INCOMPLETE" not in page
    assert "hooks/watchdog.py" in page


def test_drop_needs_a_reason(django_app, alice, final_postmortem):
    add(django_app, final_postmortem, alice)
    item = ActionItem.objects.get()
    change(django_app, final_postmortem, alice, item, "drop", drop_reason="")
    assert "Reason for dropping: required." in page_of(django_app, final_postmortem, alice)
    change(django_app, final_postmortem, alice, item, "drop",
           drop_reason="Superseded by the watchdog")
    assert "Dropped: Superseded by the watchdog" in page_of(django_app, final_postmortem, alice)


def test_changes_need_login_and_post(django_app, anonymous_client, alice_client, alice,
                                     final_postmortem):
    add(django_app, final_postmortem, alice)
    item = ActionItem.objects.get()
    url = reverse("incidents:action_item_change", args=[item.pk, "start"])
    assert anonymous_client.post(url)["Location"].startswith("/accounts/login/")
    assert alice_client.get(url).status_code == 405
    assert ActionItem.objects.get().status == "open"
