"""Figures kept under the insights generation (docs/rules.md#insights-precomputed).

The generation is a counter PostgreSQL's triggers raise in the same transaction as any
change to a row the insights (and the dashboard's counts) read, so a key that contains it
changes together with the data and a stale figure is never served. SQLite (the demo) has
no counter: there every figure is computed on every request.

A cache miss computes the figure once per key, not once per request: the first request
takes a transaction-scoped advisory lock named after the key, the others arriving during
the computation wait on it and then read what it stored (single flight), so a burst of
cold requests at 100,000 postmortems costs one computation, not twenty.
"""
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import caches
from django.db import connection, transaction

T = TypeVar("T")


def generation() -> int | None:
    """The insights generation: a counter PostgreSQL's triggers raise in the same
    transaction as any change to a row the figures read. None on SQLite (the demo)."""
    found = _generation_row()
    return None if found is None else found[1]


def generation_key() -> str | None:
    """"instance:generation" of this database, for a cache key that changes in the same
    transaction as any watched row (a database created again never meets the keys of the
    old one); None on SQLite."""
    found = _generation_row()
    return None if found is None else f"{found[0]}:{found[1]}"


def _generation_row() -> tuple[str, int] | None:
    """(this database's instance uuid, generation), or None on SQLite; RuntimeError when
    the migration's row is missing."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT instance::text, generation FROM knowledge_insightsgeneration "
                       "WHERE id = 1")
        row = cursor.fetchone()
    if row is None:
        raise RuntimeError("knowledge_insightsgeneration has no row: run the migrations.")
    return row[0], row[1]


def lock_name(key: str) -> str:
    """The advisory lock's name for the computation of cache key `key`."""
    return "scarlog-insights-compute:" + key


def generation_cached(key_for: Callable[[str], str], build: Callable[[], T],
                      seconds: int) -> T:
    """build(), kept in the `insights` cache for `seconds` under key_for(generation key).

    On a miss, the computation runs under pg_advisory_xact_lock(lock_name(key)): a request
    that finds the lock held waits, then reads the stored result instead of computing it
    again. A result is stored only when the generation read before computing is still the
    one after it, so figures computed while another transaction committed are never stored
    under a key they do not match (the waiters then compute their own). On SQLite,
    build() every time. Errors of build() propagate; nothing is stored then.
    docs/rules.md#insights-precomputed"""
    before = generation_key()
    if before is None:
        return build()
    key = key_for(before)
    store = caches["insights"]
    found = store.get(key)
    if found is not None:
        return found
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                           [lock_name(key)])
        found = store.get(key)
        if found is not None:
            return found
        found = build()
        if generation_key() == before:
            store.set(key, found, seconds)
    return found
