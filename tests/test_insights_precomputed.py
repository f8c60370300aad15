"""The precomputed insights (docs/rules.md#insights-precomputed) equal the figures
recomputed from the raw rows after every kind of change: a new final postmortem, an
amendment, a reclassification, item events, a cost entry. A draft's
autosave does not invalidate them, and a rolled-back change never reuses a generation."""
import threading
from datetime import date, timedelta

import psycopg
import pytest
import time_machine
from django.core.cache import caches
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from incidents import action_items, autosave, revisions, services
from incidents.models import ActionItem
from knowledge import generation_cache, insights
from tests.conftest import NOW, fill_complete_draft, make_user
from tests.test_insights import (
    at,
    entry,
    history,  # noqa: F401 (the pytest fixture)
    postmortem,
)

pytestmark = pytest.mark.django_db

FILTERS = [insights.Filters(), insights.Filters(domain="trading"),
           insights.Filters(severity="SEV2"), insights.Filters(start="2026-02", end="2026-03"),
           insights.Filters(root_cause="cost")]


def assert_precomputed_is_exact():
    """Every filter's precomputed figures (the cache, computed from the rollups) are the
    recomputation from the raw rows."""
    for filters in FILTERS:
        assert (insights.as_dict(insights.cached_compute(filters, NOW))
                == insights.as_dict(insights.compute(filters, NOW, from_raw_rows=True))
                ), filters


def changed(before: int) -> int:
    now = generation_cache.generation()
    assert now != before
    return now


def test_precomputed_figures_equal_the_recomputation_after_every_kind_of_change(
        history, root_patterns):  # noqa: F811
    alice, bob = make_user("alice2"), make_user("bob2")
    generation = generation_cache.generation()
    assert_precomputed_is_exact()
    # Served, not recomputed: two queries, the generation and the restrictions (which
    # restricted postmortems the reader may not read are part of the key).
    with CaptureQueriesContext(connection) as served:
        insights.cached_compute(insights.Filters(), NOW)
    assert len(served.captured_queries) == 2

    # An item event: B's open test ships. Close-out, backlog and verified share move.
    b_item = ActionItem.objects.get(postmortem=history["b"])
    with time_machine.travel(at(2026, 3, 2, 9), tick=False):
        action_items.ship_item(b_item, {"test_name": "test_fallback_raises",
                                        "commit_sha": "3f9c2ab"})
    generation = changed(generation)
    assert_precomputed_is_exact()
    assert insights.cached_compute(insights.Filters(), NOW).items["open"] == 0

    # A new item and its drop: two more events.
    with time_machine.travel(at(2026, 3, 3, 9), tick=False):
        extra = action_items.add_item(history["c"], "test", "Budget test", alice,
                                      date(2026, 3, 5))
    generation = changed(generation)
    assert_precomputed_is_exact()
    with time_machine.travel(at(2026, 3, 4, 9), tick=False):
        action_items.drop_item(extra, "Covered by the budget hook")
    generation = changed(generation)
    assert_precomputed_is_exact()

    # An amendment moves no figure; the precomputed ones stay exact either way.
    with time_machine.travel(at(2026, 3, 5, 9), tick=False):
        services.add_amendment(history["a"], alice, "The watchdog also pages the on-call.")
    assert_precomputed_is_exact()

    # A reclassification: C moves to trading.
    with time_machine.travel(at(2026, 3, 6, 9), tick=False):
        services.set_domain(history["c"], "trading", user=alice)
    generation = changed(generation)
    assert_precomputed_is_exact()
    assert insights.cached_compute(insights.Filters(domain="trading"), NOW).postmortems == 3

    # A new final postmortem (an insert) and a cost entry linked to it.
    d = postmortem(alice, bob, event=at(2026, 3, 7, 9), meeting=at(2026, 3, 8, 9),
                   final=at(2026, 3, 8, 10), root_cause="cost", domain="ml", severity="SEV2")
    generation = changed(generation)
    assert_precomputed_is_exact()
    entry(root_patterns["Silent fallback"], at(2026, 3, 7, 9), "75", d)
    generation = changed(generation)
    assert_precomputed_is_exact()
    assert insights.cached_compute(insights.Filters(), NOW).postmortems == 4

    # A draft's autosave counts in no figure and leaves the generation alone.
    with time_machine.travel(NOW - timedelta(hours=1), tick=False):
        draft = fill_complete_draft(services.create_draft(alice, occurred_utc=NOW - timedelta(
            hours=3), trigger="drawdown"))
    generation = generation_cache.generation()
    with time_machine.travel(NOW, tick=False):
        saved = autosave.save_field(
            draft.pk, "summary", {"summary": "Edited while a draft."},
            str(revisions.current_versions(draft).get("summary", 0)), "tab", alice)
    assert saved.saved
    assert generation_cache.generation() == generation
    assert_precomputed_is_exact()


def test_a_rolled_back_change_never_reuses_its_generation(history, root_patterns):  # noqa: F811
    before = generation_cache.generation()
    item = ActionItem.objects.get(postmortem=history["b"])
    seen = []

    def drop_then_fail():
        with transaction.atomic():
            action_items.drop_item(item, "Rolled back")
            seen.append(generation_cache.generation())
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        drop_then_fail()
    inside = seen[0]
    assert inside != before
    assert generation_cache.generation() == before
    entry(root_patterns["Silent fallback"], at(2026, 3, 1, 9), "1")
    assert generation_cache.generation() not in (before, inside)


@pytest.mark.django_db(transaction=True)
def test_the_runtime_role_raises_the_generation(runtime_conn):
    before = generation_cache.generation()
    runtime_conn.execute("UPDATE incidents_actionitem SET description = description "
                         "WHERE false")
    after = runtime_conn.execute(
        "SELECT generation FROM knowledge_insightsgeneration").fetchone()[0]
    assert after != before


@pytest.mark.django_db
def test_a_cached_figure_never_shows_a_reader_a_restricted_postmortem(
        history, root_patterns):  # noqa: F811
    # A member's figures are cached; an outsider asking the same filters gets their own.
    from django.contrib.auth.models import Group

    from incidents import visibility
    security = Group.objects.create(name="security")
    member, outsider = make_user("member"), make_user("outsider")
    member.groups.add(security)
    with transaction.atomic():
        visibility.set_access(history["b"], [security], member)
    everyone = insights.cached_compute(insights.Filters(), NOW, member).postmortems
    assert insights.cached_compute(insights.Filters(), NOW, outsider).postmortems == everyone - 1
    assert insights.cached_compute(insights.Filters(), NOW, member).postmortems == everyone


def test_a_cached_rendering_never_shows_a_reader_a_restricted_postmortem(
        history, root_patterns):  # noqa: F811
    # The page, JSON and CSV are served as stored strings; an outsider asking after a
    # member never gets the member's rendering, and a warm page hit renders nothing.
    from django.contrib.auth.models import Group
    from django.test import Client

    from incidents import visibility
    security = Group.objects.create(name="security")
    member, outsider = make_user("member"), make_user("outsider")
    member.groups.add(security)
    with transaction.atomic():
        visibility.set_access(history["b"], [security], member)
    member_client, outsider_client = Client(), Client()
    member_client.force_login(member)
    outsider_client.force_login(outsider)
    with time_machine.travel(NOW, tick=False):
        member_json = member_client.get("/insights.json").json()
        outsider_json = outsider_client.get("/insights.json").json()
        assert outsider_json["postmortems"] == member_json["postmortems"] - 1
        b_link = str(history["b"].pk)
        assert b_link in member_client.get("/insights/").content.decode()
        assert b_link not in outsider_client.get("/insights/").content.decode()
        assert str(history["b"].pk) not in outsider_client.get("/insights.csv").content.decode()
        # Warm: the page is the same bytes as a fresh rendering of the recomputed figures.
        from knowledge.views import _figures_html
        fresh = _figures_html(insights.compute(insights.Filters(), NOW, outsider))
        assert fresh in outsider_client.get("/insights/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_request_arriving_during_a_computation_waits_and_reads_its_result():
    # Twenty cold requests at 100,000 postmortems must cost one computation, not twenty:
    # a request that misses while another computes the same key waits for it, then reads
    # the stored result (knowledge.generation_cache).
    def key_for(generation: str) -> str:
        return f"single-flight-test:{generation}"

    key = key_for(generation_cache.generation_key())
    s = connection.settings_dict
    first = psycopg.connect(host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432,
                            dbname=s["NAME"], user=s["USER"])
    waiter_built, result = [], {}

    def second_request():
        try:
            result["figures"] = generation_cache.generation_cached(
                key_for, lambda: waiter_built.append(1) or "computed by the second", 60)
        finally:
            connections.close_all()

    try:  # The first request is computing: it holds the key's lock.
        first.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                      [generation_cache.lock_name(key)])
        waiter = threading.Thread(target=second_request)
        waiter.start()
        waiting = 0
        for _ in range(100_000):  # until the second request waits on that lock
            waiting = first.execute("SELECT count(*) FROM pg_locks WHERE locktype = "
                                    "'advisory' AND NOT granted").fetchone()[0]
            if waiting or not waiter.is_alive():
                break
        assert waiting == 1
        caches["insights"].set(key, "computed by the first", 60)
        first.commit()  # the first request stores its result and lets go of the lock
        waiter.join()
    finally:
        first.close()
    assert result == {"figures": "computed by the first"}
    assert waiter_built == []
