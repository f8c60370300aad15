"""One search across postmortems (with their timeline entries and contributing factors),
amendments, knowledge-base entries, policies and runbooks.

On PostgreSQL (django.contrib.postgres.search) each source is matched on its model's
`search_vector` (kept by the database: core.search_vector) with
SearchQuery(query, search_type="websearch"), served by the GIN index its app's migration
creates; the best PER_SOURCE_LIMIT matches of each source are ranked with SearchRank
(ts_rank_cd) and only those get a SearchHeadline, all in one UNION ALL query. Ranking is
bounded: each source ranks only its first CANDIDATE_LIMIT matches (the GIN index's order,
restricted postmortems left out first), so a common phrase costs the same at 100,000
postmortems as at 1,000; the page then says the result count is a lower bound and asks for
more words (SearchResult.capped). A
postmortem's matches in its children add to its rank. On the SQLite demo search is
simplified (is_simplified(), said on the page): every word of the query must occur
(case-insensitive substring) and results are ranked by how often the words occur.
"""
import re
import uuid
from dataclasses import dataclass

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.db import connection
from django.db.models import Count, F, Func, IntegerField, Q, TextField, Value, Window
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from core.search_vector import CONFIG, VECTOR_COLUMN, document
from incidents import visibility
from incidents.models import Amendment, ContributingFactor, Postmortem, TimelineEntry
from knowledge.models import KnowledgeEntry, Policy
from runbooks.models import Runbook

PER_SOURCE_LIMIT = 50
# Matches of one source that are ranked at most; past this the count is "more than".
CANDIDATE_LIMIT = 500
MAX_QUERY = 200
START, STOP = "\x01", "\x02"


@dataclass(frozen=True)
class Source:
    """A searched model: what a hit is (kind), which row it leads to (key: the model's
    field naming it), and the GIN index on its search_vector (its app's migration). The
    document is the model's `search_columns` joined with spaces, as its trigger builds
    the vector from them."""

    name: str
    kind: str
    model: type
    key: str
    index: str

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    @property
    def vector(self) -> str:
        return VECTOR_COLUMN

    def document(self) -> Func:
        """The searched text: the NOT NULL text columns joined with spaces (`a || ' ' || b`,
        the SQL the trigger builds the vector from; valid on SQLite too)."""
        return document(self.model)


SOURCES = (
    Source("postmortem", "postmortem", Postmortem, "id", "postmortem_search"),
    Source("timeline", "postmortem", TimelineEntry, "postmortem_id", "timelineentry_search"),
    Source("factor", "postmortem", ContributingFactor, "postmortem_id",
           "contributingfactor_search"),
    Source("amendment", "amendment", Amendment, "id", "amendment_search"),
    Source("knowledge", "knowledge", KnowledgeEntry, "id", "knowledgeentry_search"),
    Source("policy", "policy", Policy, "id", "policy_search"),
    Source("runbook", "runbook", Runbook, "id", "runbook_search"),
)
# The field of each source naming the postmortem it belongs to (restricted ones are left
# out before the per-source cut: docs/rules.md#private-postmortems).
POSTMORTEM_FIELD = {"postmortem": "id", "timeline": "postmortem_id", "factor": "postmortem_id",
                    "amendment": "postmortem_id"}


def _readable(source: Source, hidden):
    """The rows of `source` outside the postmortems in `hidden` (ids)."""
    rows = source.model.objects.all()
    field = POSTMORTEM_FIELD.get(source.name)
    return rows.exclude(**{f"{field}__in": hidden}) if field and hidden else rows


KIND_LABELS = {"postmortem": "Postmortem", "amendment": "Amendment",
               "knowledge": "Knowledge base", "policy": "Policy", "runbook": "Runbook"}


def is_simplified() -> bool:
    """True on the SQLite demo, where search is substring matching (no full-text search)."""
    return connection.vendor != "postgresql"


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


def _highlighted(text: str) -> SafeString:
    return mark_safe(escape(text).replace(START, "<mark>").replace(STOP, "</mark>"))


def _postgres_rows(query: str, hidden=()) -> list[tuple]:
    """(source name, key, rank, headline, candidates) of each source's best PER_SOURCE_LIMIT
    matches among its first CANDIDATE_LIMIT (candidates: how many of those there were), in
    one query; the headlines (the costly part) are written only after that cut."""
    search_query = SearchQuery(query, search_type="websearch", config=CONFIG)
    parts = []
    for source in SOURCES:
        candidates = (_readable(source, hidden).filter(**{VECTOR_COLUMN: search_query})
                      .order_by().values("pk")[:CANDIDATE_LIMIT])
        part = (
            source.model.objects.filter(pk__in=candidates)
            .annotate(
                candidates=Window(Count("pk"), output_field=IntegerField()),
                source_name=Value(source.name, output_field=TextField()),
                key_text=Cast(source.key, TextField()),
                rank=SearchRank(F(VECTOR_COLUMN), search_query, cover_density=True),
                headline=SearchHeadline(
                    source.document(), search_query, config=CONFIG, start_sel=START,
                    stop_sel=STOP, max_words=35, min_words=12, max_fragments=2),
            )
            .order_by("-rank")
            .values_list("source_name", "key_text", "rank", "headline",
                         "candidates")[:PER_SOURCE_LIMIT]
        )
        parts.append(part)
    return list(parts[0].union(*parts[1:], all=True))


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


def _sqlite_rows(query: str, hidden=()) -> list[tuple]:
    words = _words(query)
    if not words:
        return []
    rows = []
    for source in SOURCES:
        matching = list(_readable(source, hidden).annotate(document=source.document())
                        .filter(*(Q(document__icontains=word) for word in words))
                        .order_by().values_list(source.key, "document")[:CANDIDATE_LIMIT])
        ranked = sorted(
            ((sum(text.lower().count(word) for word in words) / (1 + len(text) / 500), key,
              text) for key, text in matching), key=lambda row: -row[0])
        for rank, key, text in ranked[:PER_SOURCE_LIMIT]:
            rows.append((source.name, str(key), rank, _fallback_snippet(text, words),
                         len(matching)))
    return rows


@dataclass
class SearchResult:
    """The hits shown (best first), how many records matched (`matched`, counted among
    at most CANDIDATE_LIMIT matches of each source) and `capped`: True when some source had
    more matches than that, so `matched` is a lower bound and the ranking covers only the
    first CANDIDATE_LIMIT matches of that source (the page says so)."""

    hits: list[Hit]
    matched: int
    capped: bool


def search(query: str, limit: int = 50, user=None) -> list[Hit]:
    """The hits for `query` (websearch syntax on PostgreSQL: words, "a phrase", -not) that
    `user` may read (None: no restricted postmortem; docs/rules.md#private-postmortems),
    best first, at most `limit`. Raises SearchError for an empty or unusable query."""
    return search_counted(query, limit, user).hits


def search_counted(query: str, limit: int = 50, user=None) -> SearchResult:
    """search() with the count of matches (a lower bound when `capped`); restricted
    postmortems `user` may not read are neither shown nor counted. Raises SearchError as
    search() does."""
    hidden = visibility.hidden_ids(user)
    query = query.strip()
    if not query:
        raise SearchError("Type something to search for.")
    if len(query) > MAX_QUERY or "\x00" in query:
        raise SearchError(f"Search for at most {MAX_QUERY} characters of text.")
    rows = _sqlite_rows(query, hidden) if is_simplified() else _postgres_rows(query, hidden)
    kinds = {source.name: source.kind for source in SOURCES}
    merged: dict[tuple[str, str], dict] = {}
    candidates: dict[str, int] = {}
    for name, key, rank, snippet, count in rows:
        candidates[name] = count
        target = merged.setdefault((kinds[name], key), {"rank": 0.0, "snippet": snippet,
                                                        "matched_in": []})
        target["rank"] += float(rank)
        target["matched_in"].append(name)
        if name == "postmortem":
            target["snippet"] = snippet  # the record's own text beats a child's
    capped = any(count >= CANDIDATE_LIMIT for count in candidates.values())
    # Matches of every source added up (a record matched in its text and in a
    # contributing factor counts twice): shown only as "more than" when capped.
    matched = sum(candidates.values())
    return SearchResult(_hits(merged)[:limit], matched, capped)


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
