"""The insights' rollups (knowledge migration 0006, docs/rules.md#insights-precomputed) stay
exact: after Hypothesis-generated sequences of changes (items added, started, shipped,
dropped and re-opened, reclassification, amendments that restate the impact, cost entries
and their corrections, new final postmortems) the rollup tables hold exactly the rows a
recomputation from the raw rows gives, and every figure computed from them (the SQL path)
equals the figures computed in Python from the raw rows, for several filters and readers."""
import importlib
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costlog import services as costlog
from costlog.services import current_entries
from incidents import action_items, services, visibility
from incidents.models import ActionItem
from knowledge import insights
from tests.conftest import NOW, make_user, past_the_guards
from tests.test_insights import (
    at,
    entry,
    history,  # noqa: F401 (the pytest fixture)
    postmortem,
)

pytestmark = pytest.mark.django_db

ROLLUPS = importlib.import_module("knowledge.migrations.0006_insights_rollups")

FILTERS = [insights.Filters(), insights.Filters(domain="trading"),
           insights.Filters(severity="SEV2"), insights.Filters(start="2026-02", end="2026-03"),
           insights.Filters(root_cause="cost"), insights.Filters(domain="infra", end="2026-02")]


def rows(sql: str) -> set[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return set(cursor.fetchall())


def assert_rollups_are_the_raw_rows():
    assert (rows("SELECT postmortem_id, closed_utc FROM knowledge_insightscloseout")
            == rows(ROLLUPS.CLOSEOUT_ROWS))
    assert (rows("SELECT item_id, at, postmortem_id, d FROM knowledge_insightsopenchange")
            == rows(ROLLUPS.OPENCHANGE_ROWS))
    assert (rows("SELECT pattern_id, month, low, high, links FROM knowledge_insightscost")
            == rows(ROLLUPS.COST_ROWS))
    assert (rows("SELECT pattern_id, postmortem_id, links FROM knowledge_insightspatternpm")
            == rows(ROLLUPS.PATTERN_PM_ROWS))


def assert_figures_are_the_raw_rows(users, moments=(NOW,)):
    for now in moments:
        for user in users:
            for filters in FILTERS:
                from_rollups = insights.as_dict(insights.compute(filters, now, user))
                from_raw = insights.as_dict(insights.compute(filters, now, user,
                                                             from_raw_rows=True))
                assert from_rollups == from_raw, (filters, now, user)


def test_the_backfill_and_the_triggers_agree_on_the_hand_built_history(history):  # noqa: F811
    # The history was written through the triggers; the backfill's queries give the same.
    assert_rollups_are_the_raw_rows()
    assert rows("SELECT count(*) FROM knowledge_insightscloseout") == {(2,)}  # A and C
    # Silent fallback: $200 in 2025-11, $100 in 2026-01, $300 in 2026-02.
    assert {(month, low) for _, month, low, _, _ in rows(
        "SELECT c.* FROM knowledge_insightscost c JOIN costlog_rootpattern r "
        "ON r.id = c.pattern_id WHERE r.name = 'Silent fallback'")} == {
        ("2025-11", Decimal(200)), ("2026-01", Decimal(100)), ("2026-02", Decimal(300))}
    assert_figures_are_the_raw_rows([None], [NOW, at(2026, 2, 23, 0), at(2026, 2, 16, 0)])


EVIDENCE = {"test_name": "test_rollup", "commit_sha": "3f9c2ab"}
DOMAINS = ["trading", "ml", "infra"]
steps = st.one_of(
    st.tuples(st.just("add"), st.sampled_from("abc"), st.integers(-3, 20)),
    st.tuples(st.sampled_from(["start", "ship", "drop", "reopen"]), st.integers(0, 30)),
    st.tuples(st.just("domain"), st.sampled_from("abc"), st.sampled_from(DOMAINS)),
    st.tuples(st.just("amend"), st.sampled_from("abc"), st.integers(0, 90_000)),
    st.tuples(st.just("cost"), st.sampled_from(["Silent fallback", "Unverified deployment"]),
              st.integers(0, 4), st.integers(1, 900), st.sampled_from("abc-")),
    st.tuples(st.just("correct"), st.integers(0, 30), st.integers(1, 900)),
    st.tuples(st.just("final"), st.sampled_from(["cost", "correctness"]),
              st.sampled_from(DOMAINS), st.sampled_from(["SEV2", "SEV3"])),
)


def apply(step, when, pms, alice, bob, root_patterns):
    """One change at `when` (UTC), through the services a user's request calls."""
    kind = step[0]
    items = list(ActionItem.objects.filter(postmortem_id__in=[pm.pk for pm in pms.values()])
                 .order_by("id"))
    with time_machine.travel(when, tick=False):
        if kind == "add":
            action_items.add_item(pms[step[1]], "test", "A rollup test", alice,
                                  when.date() + timedelta(days=step[2]))
        elif kind in ("start", "ship", "drop", "reopen"):
            item = items[step[1] % len(items)]
            if kind == "start" and item.status == ActionItem.Status.OPEN:
                action_items.start_item(item)
            elif kind == "ship" and item.is_open:
                action_items.ship_item(item, EVIDENCE)
            elif kind == "drop" and item.is_open:
                action_items.drop_item(item, "Covered elsewhere")
            elif kind == "reopen":
                action_items._reopen(item, "test gone", when)
        elif kind == "domain":
            services.set_domain(pms[step[1]], step[2], user=alice)
        elif kind == "amend":
            services.add_amendment(pms[step[1]], alice, "The impact was restated.",
                                   section="impact", impact_usd=Decimal(step[2]))
        elif kind == "cost":
            _, name, months_back, usd, pm = step
            entry(root_patterns[name], when - timedelta(days=31 * months_back), str(usd),
                  pms.get(pm))
        elif kind == "correct":
            chosen = list(current_entries().order_by("id"))[step[1] % current_entries().count()]
            data = costlog.entry_input_from(chosen)
            data.cost_low_usd = data.cost_high_usd = Decimal(step[2])
            costlog.record_entry(data, corrects=chosen, correction_reason="Re-priced.")
    if kind == "final":
        _, cause, domain, severity = step
        pms[f"new{len(pms)}"] = postmortem(
            alice, bob, event=when, meeting=when + timedelta(hours=30),
            final=when + timedelta(hours=31), root_cause=cause, domain=domain,
            severity=severity)


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(sequence=st.lists(st.tuples(steps, st.integers(1, 40)), min_size=1, max_size=7))
def test_rollups_and_figures_stay_exact_after_any_sequence_of_changes(
        history, root_patterns, sequence):  # noqa: F811
    alice = get_user_model().objects.get(username="alice")
    bob = get_user_model().objects.get(username="bob")
    outsider = make_user("outsider-rollups") if not get_user_model().objects.filter(
        username="outsider-rollups").exists() else get_user_model().objects.get(
        username="outsider-rollups")
    savepoint = transaction.savepoint()
    try:
        # B is restricted: the outsider's figures leave it out (docs/rules.md#private-postmortems).
        security = Group.objects.get_or_create(name="sec")[0]
        alice.groups.add(security)
        visibility.set_access(history["b"], [security], alice)
        pms = dict(history)
        when = at(2026, 2, 24, 9)
        for step, hours in sequence:
            when += timedelta(hours=hours)
            apply(step, when, pms, alice, bob, root_patterns)
            assert_rollups_are_the_raw_rows()
        assert_figures_are_the_raw_rows([None, outsider], [NOW, when])
    finally:
        transaction.savepoint_rollback(savepoint)


@pytest.mark.django_db(transaction=True)
def test_the_runtime_role_keeps_the_rollups(runtime_conn, history):  # noqa: F811
    # The triggers run as the role the app runs as: its item events refresh the rollups.
    item = ActionItem.objects.get(postmortem=history["b"])
    runtime_conn.execute(
        "INSERT INTO incidents_actionitemevent (at_utc, change, item_id) "
        "VALUES (%s, 'status: open → dropped; reason: by the runtime role', %s)",
        [at(2026, 3, 3, 9), item.pk])
    runtime_conn.execute("UPDATE incidents_actionitem SET status = 'dropped', "
                         "drop_reason = 'by the runtime role', last_event_id = "
                         "(SELECT max(id) FROM incidents_actionitemevent) WHERE id = %s",
                         [item.pk])
    assert_rollups_are_the_raw_rows()
    assert (item.pk, at(2026, 3, 3, 9), history["b"].pk, -1) in rows(
        "SELECT item_id, at, postmortem_id, d FROM knowledge_insightsopenchange")
    assert_figures_are_the_raw_rows([None])


def test_an_item_due_today_is_not_yet_overdue(history):  # noqa: F811
    alice = get_user_model().objects.get(username="alice")
    with time_machine.travel(NOW, tick=False):
        action_items.add_item(history["c"], "test", "Due today", alice, date(2026, 3, 9))
    assert_rollups_are_the_raw_rows()
    assert_figures_are_the_raw_rows([None])


ROLLUP_TABLES = ["knowledge_insightscloseout", "knowledge_insightsopenchange",
                 "knowledge_insightscost", "knowledge_insightspatternpm"]


@pytest.mark.django_db(transaction=True)
def test_a_flush_leaves_no_rollup_behind(history, client):  # noqa: F811
    # The rollups are models, so the flush a transactional test (or `manage.py flush`)
    # runs truncates them together with the rows they were made from: the next history
    # never meets a close-out or a cost row of a postmortem or pattern that is gone.
    assert set(ROLLUP_TABLES) <= set(connection.introspection.django_table_names())
    assert all(rows(f"SELECT count(*) FROM {table}") != {(0,)} for table in ROLLUP_TABLES)
    with past_the_guards():  # as a transactional test's teardown flushes
        call_command("flush", interactive=False, verbosity=0)
    assert all(rows(f"SELECT count(*) FROM {table}") == {(0,)} for table in ROLLUP_TABLES)
    client.force_login(make_user("carol", role="admin"))
    page = client.get("/insights/")
    assert page.status_code == 200
    assert b"<strong>0</strong> finalized postmortems in view" in page.content
    assert b"No mishap in the cost log has a root pattern yet." in page.content


@pytest.mark.django_db(transaction=True)
def test_one_transaction_writing_thousands_of_items_keeps_the_rollups(runtime_conn, history):  # noqa: F811
    # A bulk import writes thousands of items in one transaction. One advisory lock per
    # item would fill PostgreSQL's shared lock table (64 x 100 connections here: "out of
    # shared memory", the whole import refused); the rollups' locks are buckets, so the
    # transaction commits and the rollups are the raw rows.
    owner = get_user_model().objects.get(username="alice").pk
    with runtime_conn.transaction():
        runtime_conn.execute(
            "INSERT INTO incidents_actionitem (postmortem_id, kind, description, owner_id, "
            "due_date, status, drop_reason, evidence, created_utc, updated_utc, "
            "evidence_lapsed) SELECT %s, 'test', 'Bulk item ' || k, %s, DATE '2026-04-01', "
            "'open', '', '{}'::jsonb, %s, %s, false FROM generate_series(1, 7000) k",
            [history["c"].pk, owner, at(2026, 3, 1, 9), at(2026, 3, 1, 9)])
        held = runtime_conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
            "AND pid = pg_backend_pid()").fetchone()[0]
    assert held <= 1024
    assert ActionItem.objects.filter(description__startswith="Bulk item ").count() == 7000
    assert_rollups_are_the_raw_rows()
    assert_figures_are_the_raw_rows([None])
