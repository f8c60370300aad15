"""The action items section of a final postmortem page, as a signed-in user uses it."""
import html

import pytest
from django.urls import reverse

from incidents.models import ActionItem, PostmortemDomain

pytestmark = pytest.mark.django_db


def page_of(client, pm) -> str:
    page = client.get(reverse("incidents:postmortem_detail", args=[pm.pk]))
    return html.unescape(page.content.decode())


def add(client, pm, owner, **changes):
    data = {"kind": "hook", "description": "Watchdog for runs over 4 hours", "owner": owner.pk,
            "due_date": "2026-05-01"}
    data.update(changes)
    return client.post(reverse("incidents:action_item_add", args=[pm.pk]), data)


def test_classify_and_add_items_to_a_final_postmortem(alice_client, alice, final_postmortem):
    response = alice_client.post(reverse("incidents:domain_set", args=[final_postmortem.pk]),
                                 {"domain": "cloud-training"})
    assert response.status_code == 302 and response["Location"].endswith("#action-items")
    assert PostmortemDomain.objects.get(postmortem=final_postmortem).set_by == alice
    add(alice_client, final_postmortem, alice)
    page = page_of(alice_client, final_postmortem)
    assert "<strong>INCOMPLETE</strong>: 1 item without shipping evidence." in page
    assert ("Hook “Watchdog for runs over 4 hours” (alice, due 2026-05-01): "
            "needs hook file + commit SHA") in page
    assert 'value="cloud-training"' in page


def test_bad_input_is_refused_naming_the_field(alice_client, alice, final_postmortem):
    add(alice_client, final_postmortem, alice, kind="other")
    add(alice_client, final_postmortem, alice, due_date="soon")
    alice_client.post(reverse("incidents:domain_set", args=[final_postmortem.pk]),
                      {"domain": "A B"})
    page = page_of(alice_client, final_postmortem)
    assert "Type 'other' is not one of rule, hook, test, criterion, memory" in page
    assert "Due date: give a date (YYYY-MM-DD)." in page
    assert "Domain: Domain 'A B' is not a slug" in page
    assert not ActionItem.objects.exists()


def test_ship_with_evidence_then_the_postmortem_is_closed_out(alice_client, alice,
                                                              final_postmortem):
    add(alice_client, final_postmortem, alice)
    item = ActionItem.objects.get()
    ship = reverse("incidents:action_item_change", args=[item.pk, "ship"])
    alice_client.post(ship, {"hook_file": "/home/alice/watchdog.py", "commit_sha": "9f1c2ab"})
    assert "Evidence: hook file '/home/alice/watchdog.py' is an absolute path" in page_of(
        alice_client, final_postmortem)
    assert ActionItem.objects.get().status == "open"
    alice_client.post(ship, {"hook_file": "hooks/watchdog.py", "commit_sha": "9f1c2ab"})
    page = page_of(alice_client, final_postmortem)
    assert "Closed out" in page and "INCOMPLETE" not in page
    assert "hooks/watchdog.py" in page


def test_drop_needs_a_reason(alice_client, alice, final_postmortem):
    add(alice_client, final_postmortem, alice)
    item = ActionItem.objects.get()
    drop = reverse("incidents:action_item_change", args=[item.pk, "drop"])
    alice_client.post(drop, {"drop_reason": ""})
    assert "Reason for dropping: required." in page_of(alice_client, final_postmortem)
    alice_client.post(drop, {"drop_reason": "Superseded by the watchdog"})
    assert "Dropped: Superseded by the watchdog" in page_of(alice_client, final_postmortem)


def test_changes_need_login_and_post(anonymous_client, alice_client, alice, final_postmortem):
    add(alice_client, final_postmortem, alice)
    item = ActionItem.objects.get()
    url = reverse("incidents:action_item_change", args=[item.pk, "start"])
    assert anonymous_client.post(url)["Location"].startswith("/accounts/login/")
    assert alice_client.get(url).status_code == 405
    assert ActionItem.objects.get().status == "open"
