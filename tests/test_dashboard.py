"""The dashboard (home page): open action items, overdue first, filters, constant queries."""
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents import action_items, dashboard, services
from incidents.models import ActionItem, Postmortem
from tests.conftest import NOW, fill_complete_draft

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_time")]

TODAY = NOW.date()


def final_in(domain: str, user) -> Postmortem:
    pm = fill_complete_draft(Postmortem.objects.create(created_by=user))
    pm = services.finalize(pm, user)
    services.set_domain(pm, domain, user=user)
    return pm


def add_items(count: int, alice, bob):
    pms = {domain: final_in(domain, alice) for domain in ("cloud-training", "trading")}
    for n in range(count):
        action_items.add_item(
            pms["cloud-training" if n % 2 else "trading"],
            "rule" if n % 3 else "test",
            f"Item {n}",
            alice if n % 2 else bob,
            TODAY + timedelta(days=n - count // 2),
        )


def dashboard_queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/").status_code == 200
    return len(captured.captured_queries)


def test_the_dashboard_takes_the_same_number_of_queries_whatever_the_rows(alice_client, alice, bob):
    add_items(4, alice, bob)
    few = dashboard_queries(alice_client)
    add_items(40, alice, bob)
    for n in range(5):
        get_user_model().objects.create_user(f"user{n}")
    assert dashboard_queries(alice_client) == few


def test_open_items_are_grouped_with_overdue_first_and_highlighted(alice_client, alice, bob):
    add_items(6, alice, bob)
    page = alice_client.get("/").content.decode()
    assert (
        "<strong>6</strong> open action items" in page
        and '<strong class="overdue-flag">3</strong> overdue' in page
    )
    alice_rows = page[page.index('<h3 class="group">alice'):page.index('<h3 class="group">bob')]
    due_dates = [line.split(">")[1][:10] for line in alice_rows.split('<td class="nowrap"')[1:]]
    assert due_dates == sorted(due_dates)
    # alice's items are due in -2, 0 and +2 days: one overdue, listed first.
    assert alice_rows.count('<tr class="overdue"') == 1
    assert alice_rows.index('<tr class="overdue"') < alice_rows.index('<tr class=""')


def test_filters_narrow_the_items_and_a_bad_one_is_named(alice_client, alice, bob):
    add_items(6, alice, bob)
    page = alice_client.get(
        "/", {"owner": "bob", "domain": "trading", "overdue": "1"}
    ).content.decode()
    assert (
        "<strong>2</strong> open action items" in page
        and "Item 0" in page
        and "Item 1<" not in page
    )
    by_domain = alice_client.get("/", {"group": "domain", "type": "test"}).content.decode()
    assert (
        '<h3 class="group">trading' in by_domain and '<h3 class="group">cloud-training' in by_domain
    )
    response = alice_client.get("/", {"type": "wish"})
    assert response.status_code == 400
    assert "<strong>type</strong>: Type &#x27;wish&#x27; is not one of" in response.content.decode()


def test_the_dashboard_needs_login(anonymous_client):
    assert anonymous_client.get("/")["Location"].startswith("/accounts/login/")


def test_an_active_gate_override_shows_on_the_dashboard(alice_client, alice, bob):
    from incidents.gate import override_gate

    add_items(2, alice, bob)
    override_gate("trading", "Hotfix for a live order bug", NOW + timedelta(hours=2), alice)
    page = alice_client.get("/").content.decode()
    assert "<strong>trading</strong> open until" in page and "Hotfix for a live order bug" in page
    assert "<strong>2</strong> open action items" in page


def test_past_the_limit_the_earliest_due_items_are_listed_under_their_owner(alice_client, alice,
                                                                            bob):
    from incidents.dashboard import ITEM_LIMIT
    pm = final_in("trading", alice)
    # alice's items are all due late; bob's are due early: the listed ones are bob's.
    for n in range(ITEM_LIMIT):
        action_items.add_item(pm, "rule", f"Late {n}", alice, TODAY + timedelta(days=100 + n))
        action_items.add_item(pm, "rule", f"Early {n}", bob, TODAY + timedelta(days=n))
    page = alice_client.get("/").content.decode()
    assert f'<h3 class="group">bob <span class="hint">{ITEM_LIMIT}</span></h3>' in page
    assert '<h3 class="group">alice' not in page and "Late 0" not in page
    assert f"{ITEM_LIMIT} more" in page


def test_the_domain_filter_offers_every_classified_domain_once_in_order(alice_client, alice):
    for domain in ("trading", "cloud-training", "trading", "ml-pipeline", "cloud-training"):
        final_in(domain, alice)
    assert services.known_domains() == ["cloud-training", "ml-pipeline", "trading"]
    page = alice_client.get("/").content.decode()
    select = page[page.index('<select id="f-domain"'):]
    select = select[:select.index("</select>")]
    assert select.count("<option") == 4  # "Any domain" and the three
    assert (select.index('"cloud-training"') < select.index('"ml-pipeline"')
            < select.index('"trading"'))


def test_the_counts_follow_every_item_change_though_they_are_kept_between_views(
        alice_client, alice, bob):
    add_items(4, alice, bob)
    first = alice_client.get("/").content.decode()
    assert "4 open" in first or ">4<" in first
    with CaptureQueriesContext(connection) as captured:
        alice_client.get("/")
    assert not any("COUNT(\"incidents_actionitem\"" in q["sql"] for q in captured.captured_queries)
    item = ActionItem.objects.filter(status=ActionItem.Status.OPEN).first()
    action_items.drop_item(item, "Superseded by the runbook.", alice)
    assert dashboard.dashboard(dashboard.Filters(), TODAY)["open_count"] == 3
    action_items.add_item(item.postmortem, "rule", "One more", alice, TODAY, alice)
    assert dashboard.dashboard(dashboard.Filters(), TODAY)["open_count"] == 4
    assert dashboard.dashboard(dashboard.Filters(kind="rule"), TODAY)["open_count"] == (
        ActionItem.objects.filter(status__in=ActionItem.OPEN_STATUSES, kind="rule").count())
