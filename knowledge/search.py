"""One search across postmortems (with their timeline entries and contributing factors),
amendments, knowledge-base entries, policies and runbooks.

On PostgreSQL each source is matched with full-text search: `to_tsvector('english', doc)
@@ websearch_to_tsquery('english', query)`, where `doc` is the source's text expression
below and a GIN index on exactly that expression (migration knowledge 0002) serves it;
results are ranked with ts_rank_cd, a postmortem's matches in its children adding to its
rank. On the SQLite demo every word of the query must occur (case-insensitive substring)
and results are ranked by how often the words occur.
"""
import re
import uuid
from dataclasses import dataclass

from django.db import connection
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from incidents import fields
from incidents.models import Amendment, Postmortem
from knowledge.models import KnowledgeEntry, Policy
from runbooks.models import Runbook

CONFIG = "english"
PER_SOURCE_LIMIT = 50
MAX_QUERY = 200
START, STOP = "\x01", "\x02"


VECTOR_COLUMN = "search_vector"


@dataclass(frozen=True)
class Source:
    """A searchable table: what a hit is (kind), which row it leads to (key_column),
    the text expression searched (NOT NULL columns joined with spaces), its GIN index.

    On PostgreSQL each table carries the document's tsvector as a stored generated column
    (VECTOR_COLUMN, migration knowledge 0003) with the GIN index on it: ranking reads
    the stored vector instead of parsing every matching row's text again.
    """

    name: str
    kind: str
    table: str
    key_column: str
    document: str
    index: str

    @property
    def expression(self) -> str:
        return f"to_tsvector('{CONFIG}'::regconfig, {self.document})"

    @property
    def vector(self) -> str:
        return VECTOR_COLUMN


def _joined(*columns: str) -> str:
    return " || ' ' || ".join(columns)


SOURCES = (
    Source("postmortem", "postmortem", "incidents_postmortem", "id",
           _joined(*fields.searched_columns()),
           "search_postmortem"),
    Source("timeline", "postmortem", "incidents_timelineentry", "postmortem_id", "event",
           "search_timelineentry"),
    Source("factor", "postmortem", "incidents_contributingfactor", "postmortem_id", "text",
           "search_contributingfactor"),
    Source("amendment", "amendment", "incidents_amendment", "id", "note", "search_amendment"),
    Source("knowledge", "knowledge", "knowledge_knowledgeentry", "id", "search_text",
           "search_knowledgeentry"),
    Source("policy", "policy", "knowledge_policy", "id", _joined("title", "body"),
           "search_policy"),
    Source("runbook", "runbook", "runbooks_runbook", "id", "search_text", "search_runbook"),
)
KIND_LABELS = {"postmortem": "Postmortem", "amendment": "Amendment",
               "knowledge": "Knowledge base", "policy": "Policy", "runbook": "Runbook"}


class SearchError(ValueError):
    """The query cannot be searched (empty, too long, or holding a NUL byte); field "q"."""

    field = "q"


@dataclass
class Hit:
    """One result: kind (a KIND_LABELS key), title, url, snippet (safe HTML with <mark>),
    rank (higher is better), and which parts matched ("timeline", "factor", …)."""

    kind: str
    title: str
    url: str
    snippet: SafeString
    rank: float
    matched_in: list[str]

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]


def index_sql(source: Source) -> tuple[str, str]:
    """(CREATE INDEX, DROP INDEX) statements of `source`'s GIN index on its expression
    (PostgreSQL; migration 0002, replaced by vector_column_sql in 0003)."""
    create = (f"CREATE INDEX IF NOT EXISTS {source.index} ON {source.table} "
              f"USING gin ({source.expression})")
    return create, f"DROP INDEX IF EXISTS {source.index}"


def vector_column_sql(source: Source) -> tuple[list[str], list[str]]:
    """(forward, backward) statements: the stored tsvector column and its GIN index in
    place of 0002's expression index (PostgreSQL)."""
    forward = [
        f"DROP INDEX IF EXISTS {source.index}",
        f"ALTER TABLE {source.table} ADD COLUMN {VECTOR_COLUMN} tsvector "
        f"GENERATED ALWAYS AS ({source.expression}) STORED",
        f"CREATE INDEX {source.index} ON {source.table} USING gin ({VECTOR_COLUMN})",
    ]
    backward = [f"ALTER TABLE {source.table} DROP COLUMN {VECTOR_COLUMN}", index_sql(source)[0]]
    return forward, backward


def _highlighted(text: str) -> SafeString:
    return mark_safe(escape(text).replace(START, "<mark>").replace(STOP, "</mark>"))


def _postgres_rows(query: str) -> list[tuple]:
    parts, params = [], []
    options = f"StartSel={START}, StopSel={STOP}, MaxWords=35, MinWords=12, MaxFragments=2"
    for source in SOURCES:
        # Rank every match, then write headlines (the costly part) for the best only.
        parts.append(
            f"(SELECT %s, key, rank, ts_headline('{CONFIG}'::regconfig, document, q, %s) "
            f"FROM (SELECT {source.key_column}::text AS key, ts_rank_cd({source.vector}, q) "
            f"AS rank, {source.document} AS document, q "
            f"FROM {source.table}, websearch_to_tsquery('{CONFIG}'::regconfig, %s) AS q "
            f"WHERE {source.vector} @@ q ORDER BY 2 DESC LIMIT {PER_SOURCE_LIMIT}) AS best)")
        params += [source.name, options, query]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        return cursor.fetchall()


def _words(query: str) -> list[str]:
    return [word.lower() for word in re.findall(r"\w+", query)]


def _fallback_snippet(text: str, words: list[str]) -> str:
    lowered = text.lower()
    first = min((lowered.find(word) for word in words if word in lowered), default=0)
    start = max(0, first - 80)
    piece = text[start:start + 240]
    for word in sorted(set(words), key=len, reverse=True):
        piece = re.sub(re.escape(word), lambda m: START + m.group(0) + STOP, piece,
                       flags=re.IGNORECASE)
    return ("…" if start else "") + piece + ("…" if start + 240 < len(text) else "")


def _sqlite_rows(query: str) -> list[tuple]:
    words = _words(query)
    if not words:
        return []
    rows = []
    with connection.cursor() as cursor:
        for source in SOURCES:
            where = " AND ".join(f"lower({source.document}) LIKE %s" for _ in words)
            cursor.execute(f"SELECT {source.key_column}, {source.document} FROM {source.table} "
                           f"WHERE {where} LIMIT {PER_SOURCE_LIMIT}",
                           [f"%{word}%" for word in words])
            for key, text in cursor.fetchall():
                rank = sum(text.lower().count(word) for word in words) / (1 + len(text) / 500)
                rows.append((source.name, str(key), rank, _fallback_snippet(text, words)))
    return rows


def search(query: str, limit: int = 50) -> list[Hit]:
    """The hits for `query` (websearch syntax on PostgreSQL: words, "a phrase", -not),
    best first, at most `limit`. Raises SearchError for an empty or unusable query."""
    query = query.strip()
    if not query:
        raise SearchError("Type something to search for.")
    if len(query) > MAX_QUERY or "\x00" in query:
        raise SearchError(f"Search for at most {MAX_QUERY} characters of text.")
    rows = _postgres_rows(query) if connection.vendor == "postgresql" else _sqlite_rows(query)
    kinds = {source.name: source.kind for source in SOURCES}
    merged: dict[tuple[str, str], dict] = {}
    for name, key, rank, snippet in rows:
        target = merged.setdefault((kinds[name], key), {"rank": 0.0, "snippet": snippet,
                                                        "matched_in": []})
        target["rank"] += float(rank)
        target["matched_in"].append(name)
        if name == "postmortem":
            target["snippet"] = snippet  # the record's own text beats a child's
    return _hits(merged)[:limit]


def _hits(merged: dict) -> list[Hit]:
    ids = {}
    for kind, key in merged:
        ids.setdefault(kind, []).append(key)
    objects = {
        "postmortem": Postmortem.objects.in_bulk(ids.get("postmortem", [])),
        "amendment": Amendment.objects.select_related("postmortem").in_bulk(
            [int(key) for key in ids.get("amendment", [])]),
        "knowledge": KnowledgeEntry.objects.in_bulk([int(key) for key in ids.get("knowledge", [])]),
        "policy": Policy.objects.in_bulk([int(key) for key in ids.get("policy", [])]),
        "runbook": Runbook.objects.in_bulk([int(key) for key in ids.get("runbook", [])]),
    }
    hits = []
    for (kind, key), found in merged.items():
        lookup = uuid.UUID(key) if kind == "postmortem" else int(key)
        obj = objects[kind].get(lookup)
        if obj is None:
            continue
        if kind == "postmortem":
            title = obj.summary or f"Draft postmortem {obj.pk}"
            url = reverse("incidents:postmortem_detail", args=[obj.pk])
        elif kind == "amendment":
            title = f"Amendment of {obj.amended_utc:%Y-%m-%d} to: {obj.postmortem.summary}"
            url = reverse("incidents:postmortem_detail", args=[obj.postmortem_id]) + "#amendments"
        elif kind == "knowledge":
            title = f"{obj.get_kind_display()} {obj.key}: {obj.name}"
            url = obj.get_absolute_url()
        elif kind == "policy":
            title = f"Policy {obj.number}: {obj.title}"
            url = obj.get_absolute_url()
        else:
            title = f"{obj.key}: {obj.title}"
            url = obj.get_absolute_url()
        hits.append(Hit(kind, title, url, _highlighted(found["snippet"]), found["rank"],
                        found["matched_in"]))
    hits.sort(key=lambda hit: (-hit.rank, hit.title))
    return hits
