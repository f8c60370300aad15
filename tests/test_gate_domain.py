"""ActionItem.gate_domain: PostgreSQL keeps each item's planning-gate domain through every
change that moves it, so the gate reads a domain's blocking items from one index.

The rule it must equal: the domain of the item's postmortem once that postmortem is final
(docs/rules.md#gate-blocks); gate_domain_by_join() states it as a plain join.
"""
from datetime import date, timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from incidents import action_items, gate, services
from incidents.models import ActionItem, Postmortem, PostmortemDomain
from tests.conftest import fill_complete_draft

pytestmark = pytest.mark.django_db


def gate_domain_by_join() -> dict[int, str | None]:
    """{item id: domain of its postmortem if final, else None}, by the rule itself."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.id, CASE WHEN p.status = 'final' THEN c.domain END "
            "FROM incidents_actionitem a JOIN incidents_postmortem p ON p.id = a.postmortem_id "
            "LEFT JOIN incidents_classification c ON c.postmortem_id = p.id")
        return dict(cursor.fetchall())


def stored_gate_domain() -> dict[int, str | None]:
    return dict(ActionItem.objects.values_list("id", "gate_domain"))


def assert_kept(expected: dict[int, str | None]) -> None:
    assert stored_gate_domain() == gate_domain_by_join() == expected


def blocking_ids(domain: str) -> list[int]:
    return [blocking.item.pk for blocking in gate.check_gate(domain).blocking]


def test_gate_domain_follows_finalize_classification_and_new_items(alice):
    draft = fill_complete_draft(Postmortem.objects.create(created_by=alice))
    first = action_items.add_item(draft, "test", "Regression test", alice, date(2026, 5, 1))
    assert_kept({first.pk: None})  # a draft's item blocks nothing

    services.set_domain(draft, "trading", user=alice)
    assert_kept({first.pk: None})  # classified, but still a draft
    assert blocking_ids("trading") == []

    final = services.finalize(draft, alice)
    assert_kept({first.pk: "trading"})
    assert blocking_ids("trading") == [first.pk]

    second = action_items.add_item(final, "hook", "Watchdog", alice, date(2026, 4, 1))
    assert_kept({first.pk: "trading", second.pk: "trading"})
    assert blocking_ids("trading") == [second.pk, first.pk]  # earliest due first

    services.set_domain(final, "cloud-training", user=alice)  # reclassified after finalize
    assert_kept({first.pk: "cloud-training", second.pk: "cloud-training"})
    assert blocking_ids("trading") == [] and gate.check_gate("trading").open
    assert blocking_ids("cloud-training") == [second.pk, first.pk]

    action_items.ship_item(second, {"hook_file": "hooks/watchdog.py", "commit_sha": "9f1c2ab"},
                           alice)
    assert_kept({first.pk: "cloud-training", second.pk: "cloud-training"})
    assert blocking_ids("cloud-training") == [first.pk]  # shipped items no longer block

    # A final postmortem's domain is changed, never removed: removing it would open the gate.
    with pytest.raises(IntegrityError, match="cannot be removed"), transaction.atomic():
        PostmortemDomain.objects.filter(postmortem=final).delete()
    assert_kept({first.pk: "cloud-training", second.pk: "cloud-training"})
    assert not gate.check_gate("cloud-training").open


def test_an_item_written_with_a_wrong_gate_domain_gets_the_rule_s_value(final_postmortem, alice):
    """The application never sets gate_domain; a write that tries is overruled."""
    services.set_domain(final_postmortem, "trading", user=alice)
    item = ActionItem.objects.create(postmortem=final_postmortem, kind="test", description="T",
                                     owner=alice, due_date=date(2026, 5, 1), gate_domain="other")
    ActionItem.objects.filter(pk=item.pk).update(gate_domain="elsewhere")
    assert_kept({item.pk: "trading"})


def test_the_gate_lists_the_same_items_as_the_rule_across_many_postmortems(alice):
    """Postmortems in three domains, some final, some drafts, items open and shipped: the
    gate of each domain lists exactly the open items the rule names, earliest due first."""
    expected: dict[str, list[int]] = {"trading": [], "ml-pipeline": [], "data": []}
    domains = list(expected)
    for number in range(12):
        pm = fill_complete_draft(Postmortem.objects.create(created_by=alice))
        domain = domains[number % 3]
        services.set_domain(pm, domain, user=alice)
        final = number % 4 != 3
        if final:
            pm = services.finalize(pm, alice)
        for offset in range(3):
            item = action_items.add_item(pm, "test", f"Test {number}.{offset}", alice,
                                         date(2026, 1, 1) + timedelta(days=number * 3 + offset))
            if offset == 2:
                action_items.drop_item(item, "Superseded by the next test", alice)
            elif final:
                expected[domain].append(item.pk)
    assert stored_gate_domain() == gate_domain_by_join()
    for domain, ids in expected.items():
        result = gate.check_gate(domain)
        assert [blocking.item.pk for blocking in result.blocking] == ids
        assert result.blocking_count == len(ids) and not result.open
