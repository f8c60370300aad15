"""The change feed of a draft: "changed since version N" (docs/rules.md#live-feed).

Every saved change to a draft appends a LiveChange row numbered 1, 2, … per draft, in the
transaction of the save (record_change). An open page polls changes_since(N): when
nothing changed that is one query (the postmortem's primary key, joined laterally to
the (postmortem, version) unique index). Kept apart from incidents.live (presence, the
facilitator's field) so the services that save can import it without a cycle.
"""
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Max

from incidents.models import LiveChange, Postmortem

MAX_CHANGES = 500            # a page further behind than this reloads


def record_change(postmortem_id, field: str, locked: bool = False) -> int:
    """Append change `field` (a template field key, "meeting" or "final") to the draft's
    feed; returns its version. Call inside the transaction of the change: it locks the
    postmortem row (SELECT … FOR UPDATE, re-entrant when the caller holds it), so the
    versions of one draft are written in order; `locked` when the caller already holds
    that lock (one query fewer). Raises RuntimeError outside a transaction.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_change runs inside the transaction of the change.")
    if not locked:
        Postmortem.objects.select_for_update().filter(pk=postmortem_id).values_list(
            "pk", flat=True).get()
    newest = LiveChange.objects.filter(postmortem_id=postmortem_id).aggregate(
        newest=Max("version"))["newest"] or 0
    return LiveChange.objects.create(postmortem_id=postmortem_id, version=newest + 1,
                                     field=field[:40]).version


@dataclass(frozen=True)
class Feed:
    """changes_since's answer: `version` the newest change (0: none yet), `fields` the
    keys changed after the page's version (each once, in order), `final` whether the
    postmortem is final, `too_far` when more than MAX_CHANGES changes came (reload)."""

    version: int
    fields: tuple[str, ...]
    final: bool
    too_far: bool = False


def changes_since(postmortem_id, since: int) -> Feed | None:
    """The changes to `postmortem_id` after version `since` (an integer ≥ 0), or None when
    the postmortem does not exist. On PostgreSQL one query: the postmortem's primary key
    joined to the (postmortem, version) index; nothing changed reads the postmortem row
    alone. On the embedded SQLite demo two ORM queries (no LATERAL join there)."""
    if connection.vendor == "postgresql":
        # One query: the postmortem's primary key joined laterally to the
        # (postmortem, version) unique index.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT p.status, c.version, c.field FROM incidents_postmortem p "
                "LEFT JOIN LATERAL (SELECT version, field FROM incidents_livechange "
                "  WHERE postmortem_id = p.id AND version > %s ORDER BY version LIMIT %s) c "
                "ON TRUE WHERE p.id = %s",
                [since, MAX_CHANGES + 1, postmortem_id])
            rows = cursor.fetchall()
    else:
        # The embedded SQLite demo: two ORM queries (SQLite has no LATERAL join).
        status = Postmortem.objects.filter(pk=postmortem_id).values_list(
            "status", flat=True).first()
        if status is None:
            return None
        changed = LiveChange.objects.filter(
            postmortem_id=postmortem_id, version__gt=since).order_by(
            "version").values_list("version", "field")[:MAX_CHANGES + 1]
        rows = [(status, version, field) for version, field in changed] or [
            (status, None, None)]
    if not rows:
        return None
    final = rows[0][0] == Postmortem.Status.FINAL
    changes = [(version, field) for _, version, field in rows if version is not None]
    if not changes:
        return Feed(since, (), final)
    keys = tuple(dict.fromkeys(field for _, field in changes))
    return Feed(changes[-1][0], keys, final, too_far=len(changes) > MAX_CHANGES)


def current_version(postmortem_id) -> int:
    """The newest change's version of the draft (0 when none): what a page starts from."""
    return LiveChange.objects.filter(postmortem_id=postmortem_id).aggregate(
        newest=Max("version"))["newest"] or 0
