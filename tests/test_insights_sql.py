"""The action-item figures aggregated in PostgreSQL (knowledge/insights_sql.py) are the
figures of the Python path SQLite takes (docs/rules.md#insights-precomputed): close-outs,
counts and the open backlog by week, on the hand-built history plus an item that started,
shipped and re-opened, two status events at one moment, and an item created at a week's
first instant; at week boundaries and mid-week, for every subset of the postmortems."""
import itertools
from datetime import date, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model

from incidents import action_items
from incidents.models import ActionItem, ActionItemEvent
from knowledge import insights, insights_sql
from tests.conftest import NOW
from tests.test_insights import (
    at,
    history,  # noqa: F401 (the pytest fixture)
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def busier(history):  # noqa: F811
    a, b = history["a"], history["b"]
    alice = get_user_model().objects.get(username="alice")
    with time_machine.travel(at(2026, 2, 16, 0), tick=False):  # a Monday, 00:00 UTC
        monday = action_items.add_item(b, "test", "Created on a Monday", alice,
                                       date(2026, 4, 1))
    with time_machine.travel(at(2026, 2, 17, 9), tick=False):
        action_items.start_item(monday)
    with time_machine.travel(at(2026, 2, 23, 0), tick=False):  # shipped at the week's end
        action_items.ship_item(monday, {"test_name": "test_monday", "commit_sha": "3f9c2ab"})
    # Two status events at one moment: the later id (here, the re-opening) decides.
    with time_machine.travel(at(2026, 3, 2, 15), tick=False):
        ActionItemEvent.objects.create(item=monday, change="status: shipped → dropped; x")
        ActionItemEvent.objects.create(item=monday, change="status: dropped → open; evidence "
                                       "no longer holds: test gone")
    with time_machine.travel(at(2026, 1, 12, 8), tick=False):
        extra = action_items.add_item(a, "rule", "A second rule", alice, date(2026, 1, 13))
    with time_machine.travel(at(2026, 1, 14, 8), tick=False):
        action_items.drop_item(extra, "Covered by the hook")
    return history


def both(hidden, ids, now):
    today = now.date()
    return (insights._items_python(hidden, ids, today, now),
            insights._items_sql(hidden, ids, today, now))


@pytest.mark.parametrize("now", [NOW, at(2026, 2, 23, 0), at(2026, 3, 2, 15),
                                 at(2026, 3, 2, 14, 59), NOW + timedelta(days=40)])
def test_sql_and_python_give_the_same_item_figures(busier, now):
    assert insights_sql.available()
    pms = [busier["a"].pk, busier["b"].pk, busier["c"].pk]
    for size in range(len(pms) + 1):
        for ids in itertools.combinations(pms, size):
            python, sql = both(set(), set(ids), now)
            assert python == sql, ids
    # A hidden postmortem leaves its close-out out of both.
    python, sql = both({busier["a"].pk}, set(pms[1:]), now)
    assert python == sql and busier["a"].pk not in sql[0]


def test_the_sql_backlog_counts_the_re_opened_item_open_again(busier):
    _, (_, figures, _, backlog) = both(set(), {busier["b"].pk}, NOW)
    weeks = dict(backlog)
    # The Monday item shipped at 2026-02-23 00:00, the very end of the week of 02-16.
    assert weeks["2026-02-16"] == 1
    assert weeks["2026-02-23"] == 1
    assert weeks["2026-03-02"] == 2  # re-opened
    assert figures["open"] == 1 + (ActionItem.objects.get(description="Created on a Monday")
                                   .status in ActionItem.OPEN_STATUSES)
