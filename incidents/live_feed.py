"""The change feed of a draft: "changed since version N" (docs/rules.md#live-feed).

Every saved change to a draft appends a LiveChange row numbered 1, 2, … per draft, in the
transaction of the save (record_change). An open page polls changes_since(N): when
nothing changed that is one query (the postmortem's primary key, joined laterally to
the (postmortem, version) unique index). Kept apart from incidents.live (presence, the
facilitator's field) so the services that save can import it without a cycle.
"""
from contextvars import ContextVar
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Max

from incidents.models import LiveChange, Postmortem

MAX_CHANGES = 500            # a page further behind than this reloads

# The page making the current request (its X-Scarlog-Editor id, "" when none); set by
# PageEditorMiddleware, read by record_change so every change names the page that made it.
page_editor: ContextVar[str] = ContextVar("page_editor", default="")


def clean_editor(value: str) -> str:
    """A page's editor id as sent (letters and digits, at most 40), or "" otherwise."""
    return value if value and len(value) <= 40 and value.isalnum() else ""


class PageEditorMiddleware:
    """Names the page behind each request (the X-Scarlog-Editor header its htmx requests
    carry) for record_change, so a page can tell its own row adds, removes, scan answers
    and pending marks from others' when they come back on the feed
    (docs/rules.md#live-feed). A missing or malformed header is "" (nobody's page)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = page_editor.set(clean_editor(request.headers.get("X-Scarlog-Editor", "")))
        try:
            return self.get_response(request)
        finally:
            page_editor.reset(token)


def record_change(postmortem_id, field: str, locked: bool = False,
                  editor: str | None = None) -> int:
    """Append change `field` (a template field key, "meeting" or "final") to the draft's
    feed, made by page `editor` (default: the request's page, page_editor); returns its
    version. Call inside the transaction of the change: it locks the
    postmortem row (SELECT … FOR UPDATE, re-entrant when the caller holds it), so the
    versions of one draft are written in order; `locked` when the caller already holds
    that lock (one query fewer). Raises RuntimeError outside a transaction.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_change runs inside the transaction of the change.")
    if not locked:
        Postmortem.objects.select_for_update().filter(pk=postmortem_id).values_list(
            "pk", flat=True).get()
    by = clean_editor(page_editor.get() if editor is None else editor)
    if connection.vendor == "postgresql":
        # One statement on the hot path (every autosave): number and insert together.
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO incidents_livechange (postmortem_id, version, field, editor) "
                "SELECT %s, COALESCE(MAX(version), 0) + 1, %s, %s FROM incidents_livechange "
                "WHERE postmortem_id = %s RETURNING version",
                [postmortem_id, field[:40], by, postmortem_id])
            return cursor.fetchone()[0]
    # The embedded SQLite demo: the same numbering in two ORM statements.
    newest = LiveChange.objects.filter(postmortem_id=postmortem_id).aggregate(
        newest=Max("version"))["newest"] or 0
    return LiveChange.objects.create(postmortem_id=postmortem_id, version=newest + 1,
                                     field=field[:40], editor=by).version


@dataclass(frozen=True)
class Feed:
    """changes_since's answer: `version` the newest change (0: none yet), `fields` the
    keys changed after the page's version (each once, in order), `final` whether the
    postmortem is final, `too_far` when more than MAX_CHANGES changes came (reload),
    `own` the keys of `fields` whose every change was made by the asking page."""

    version: int
    fields: tuple[str, ...]
    final: bool
    too_far: bool = False
    own: frozenset[str] = frozenset()


def changes_since(postmortem_id, since: int, editor: str = "") -> Feed | None:
    """The changes to `postmortem_id` after version `since` (an integer ≥ 0), or None when
    the postmortem does not exist; `editor` is the asking page's id (its own changes are
    named in Feed.own). On PostgreSQL one query: the postmortem's primary key joined to the
    (postmortem, version) index; nothing changed reads the postmortem row alone. On the
    embedded SQLite demo two ORM queries (no LATERAL join there)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT p.status, c.version, c.field, c.editor FROM incidents_postmortem p "
                "LEFT JOIN LATERAL (SELECT version, field, editor FROM incidents_livechange "
                "  WHERE postmortem_id = p.id AND version > %s ORDER BY version LIMIT %s) c "
                "ON TRUE WHERE p.id = %s",
                [since, MAX_CHANGES + 1, postmortem_id])
            rows = cursor.fetchall()
    else:
        status = Postmortem.objects.filter(pk=postmortem_id).values_list(
            "status", flat=True).first()
        if status is None:
            return None
        changed = LiveChange.objects.filter(
            postmortem_id=postmortem_id, version__gt=since).order_by(
            "version").values_list("version", "field", "editor")[:MAX_CHANGES + 1]
        rows = [(status, *change) for change in changed] or [(status, None, None, None)]
    if not rows:
        return None
    final = rows[0][0] == Postmortem.Status.FINAL
    changes = [(version, field, by) for _, version, field, by in rows if version is not None]
    if not changes:
        return Feed(since, (), final)
    keys = tuple(dict.fromkeys(field for _, field, _ in changes))
    others = {field for _, field, by in changes if not editor or by != editor}
    return Feed(changes[-1][0], keys, final, too_far=len(changes) > MAX_CHANGES,
                own=frozenset(keys) - others)


def current_version(postmortem_id) -> int:
    """The newest change's version of the draft (0 when none): what a page starts from."""
    return LiveChange.objects.filter(postmortem_id=postmortem_id).aggregate(
        newest=Max("version"))["newest"] or 0
