"""Did the lesson work? Learning insights over finalized postmortems, their action items
and the cost log (docs/rules.md#insights).

Every figure is a count or a distribution, never one mean time: the median, the 90th
percentile (nearest rank) and the share within the 72 hours of the meeting rule. The
population is the finalized postmortems whose event falls in the chosen months (UTC) and,
when given, in one domain and one root cause. Months are "YYYY-MM" strings, times UTC.

Recurrence (docs/rules.md#insights-recurrence) and cost before and after the first fix
(docs/rules.md#insights-cost-before-after) read the whole archive, not only the filtered
population: an earlier postmortem outside the period can still be the one that recurred.
"""
import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Min, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce, TruncMonth

from core.record_types import shown as shown_value
from costlog.models import EntryPattern, RootPattern
from costlog.services import current_entries
from incidents import visibility
from incidents.models import (
    ActionItem,
    ActionItemEvent,
    Meeting,
    Postmortem,
    PostmortemDomain,
    TimelineEntry,
)
from incidents.models.choices import RootCause
from incidents.models.vocabulary import Severity
from knowledge import insights_sql
from knowledge.generation_cache import generation_cached

WITHIN_HOURS = 72
CLOSED_STATUSES = (ActionItem.Status.SHIPPED, ActionItem.Status.DROPPED)


class InsightsFilterError(ValueError):
    """A filter the insights page cannot use; `field` names the parameter."""

    def __init__(self, field_name: str, message: str):
        self.field = field_name
        super().__init__(message)


@dataclass(frozen=True)
class Filters:
    """The population: event months `start`..`end` (inclusive, "YYYY-MM" or None), a domain
    slug, a root cause value and a severity code ("" = any)."""

    start: str | None = None
    end: str | None = None
    domain: str = ""
    root_cause: str = ""
    severity: str = ""


def _month_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m")


def parse_month(name: str, text: str) -> str | None:
    """"YYYY-MM" between 1970-01 and 2999-12, or None for ""; InsightsFilterError naming
    `name` otherwise."""
    text = (text or "").strip()
    if not text:
        return None
    year, sep, month = text.partition("-")
    if not (sep and len(year) == 4 and len(month) == 2 and year.isdigit() and month.isdigit()
            and 1970 <= int(year) <= 2999 and 1 <= int(month) <= 12):
        raise InsightsFilterError(name, "a month is written YYYY-MM, between 1970-01 and "
                                        "2999-12.")
    return text


FILTER_PARAMETERS = ("from", "to", "domain", "root_cause", "severity")


def parse_filters(params) -> Filters:
    """Filters from a GET QueryDict (`from`, `to`, `domain`, `root_cause`, `severity`: a
    severity code, retired levels too, docs/rules.md#severity); raises InsightsFilterError
    naming the parameter for anything it cannot use: a value it cannot read, a parameter
    given twice, or one that is not a filter (a typo such as `months=` never shows the
    unfiltered figures as if they were filtered). docs/rules.md#insights"""
    for name in params:
        if name not in FILTER_PARAMETERS:
            raise InsightsFilterError(shown_value(name).strip("'"), (
                "is not a filter of the insights; the filters are "
                + ", ".join(FILTER_PARAMETERS) + "."))
        if len(params.getlist(name)) > 1:
            raise InsightsFilterError(name, "is given more than once; give it once.")
    start = parse_month("from", params.get("from", ""))
    end = parse_month("to", params.get("to", ""))
    if start and end and start > end:
        raise InsightsFilterError("to", "the last month is before the first (from).")
    domain = (params.get("domain") or "").strip()
    if domain and not PostmortemDomain.objects.filter(domain=domain).exists():
        raise InsightsFilterError("domain", "no postmortem is classified in that domain.")
    root_cause = (params.get("root_cause") or "").strip()
    if root_cause and root_cause not in RootCause.values:
        raise InsightsFilterError("root_cause", "not a root cause.")
    severity = (params.get("severity") or "").strip()
    if severity and not Severity.objects.filter(code=severity).exists():
        raise InsightsFilterError("severity", "not a severity level.")
    return Filters(start, end, domain, root_cause, severity)


@dataclass(frozen=True)
class Distribution:
    """Durations in hours: how many, median, 90th percentile (nearest rank), and the share
    (0..1) at most WITHIN_HOURS; None figures when there are none."""

    count: int
    median_hours: float | None
    p90_hours: float | None
    within_share: float | None

    @classmethod
    def of(cls, hours: list[float]) -> "Distribution":
        if not hours:
            return cls(0, None, None, None)
        ordered = sorted(hours)
        middle = len(ordered) // 2
        median = (ordered[middle] if len(ordered) % 2
                  else (ordered[middle - 1] + ordered[middle]) / 2)
        p90 = ordered[max(math.ceil(0.9 * len(ordered)) - 1, 0)]
        within = sum(1 for h in ordered if h <= WITHIN_HOURS) / len(ordered)
        return cls(len(ordered), round(median, 2), round(p90, 2), round(within, 4))


@dataclass
class Recurrence:
    """`later` recurred after the fix of `earlier`: same domain and root pattern, or the
    same knowledge-base pattern, and every item of `earlier` had closed (at least one
    shipped) before `later`'s event. `shared` names what they share."""

    earlier: Postmortem
    later: Postmortem
    shared: list[str]


@dataclass
class CostBeforeAfter:
    """One root pattern's mishap cost per month (USD, low and high) before and after the
    month of its first shipped fix; None when that span holds no whole month."""

    pattern: str
    fixed_month: str | None
    before_months: int
    before_low: Decimal | None
    before_high: Decimal | None
    after_months: int
    after_low: Decimal | None
    after_high: Decimal | None


@dataclass
class Insights:
    """All figures of the insights page for one Filters (see the module docstring)."""

    filters: Filters
    months: list[str]
    postmortems: int
    by_root_cause: dict[str, dict[str, int]]   # month → root cause → count
    by_domain: dict[str, dict[str, int]]       # month → domain → count
    domains: list[str]
    event_to_meeting: Distribution
    finalize_to_closeout: Distribution
    items: dict[str, int]
    verified_share: float | None
    backlog: list[tuple[str, int]]             # (week's Monday, open items at its end)
    recurrences: list[Recurrence]
    recurrences_by_pattern: list[tuple[str, int]]
    backlog_trend: str = ""
    cost_before_after: list[CostBeforeAfter] = field(default_factory=list)


def _item_timelines(item_ids=None) -> dict[int, list[tuple[datetime, bool]]]:
    """{item id: [(when, closed after it)]} from the append-only history, oldest first:
    of the items `item_ids`, or (None) of every final postmortem's items."""
    timelines = defaultdict(list)
    events = ActionItemEvent.objects.filter(change__startswith="status:")
    events = (events.filter(item__postmortem__status="final") if item_ids is None
              else events.filter(item_id__in=item_ids))
    events = events.order_by("at_utc", "id").values_list("item_id", "at_utc", "change")
    for item_id, at, change in events:
        head = change.split(";", 1)[0]
        timelines[item_id].append((at, head.endswith(("→ shipped", "→ dropped"))))
    return timelines


def _closeouts(items_by_pm, timelines) -> dict:
    """{postmortem id: when its last item closed}, for postmortems whose items are all
    closed now and at least one shipped (the fix shipped)."""
    closed_at = {}
    for pm_id, items in items_by_pm.items():
        if not items or any(item.status not in CLOSED_STATUSES for item in items):
            continue
        if not any(item.status == ActionItem.Status.SHIPPED for item in items):
            continue
        last = [next((at for at, closed in reversed(timelines.get(item.pk, [])) if closed),
                     item.updated_utc) for item in items]
        closed_at[pm_id] = max(last)
    return closed_at


def _weeks(first: date, last: date) -> list[date]:
    monday = first - timedelta(days=first.weekday())
    weeks = []
    while monday <= last:
        weeks.append(monday)
        monday += timedelta(days=7)
    return weeks


@dataclass(frozen=True)
class _Item:
    """The columns of an action item the figures read (one tuple per row, not a model)."""

    pk: int
    postmortem_id: object
    status: str
    due_date: date
    verified: bool
    created_utc: datetime
    updated_utc: datetime


def _open_at(item, timeline, moment: datetime) -> bool:
    """Was `item` open at `moment`: created by then, and not closed by its last status
    event at or before then."""
    if item.created_utc > moment:
        return False
    state_closed = False
    for at, closed in timeline:
        if at > moment:
            break
        state_closed = closed
    return not state_closed


def _open_changes(item, timeline) -> list[tuple[datetime, int]]:
    """[(when, +1 or -1)]: where `_open_at(item, timeline, ·)` changes, oldest first."""
    changes, was_open = [], False
    for moment in sorted({item.created_utc, *(at for at, _ in timeline)}):
        now_open = _open_at(item, timeline, moment)
        if now_open != was_open:
            changes.append((moment, 1 if now_open else -1))
            was_open = now_open
    return changes


def open_backlog(items, timelines, ends: list[datetime]) -> list[int]:
    """Open items at each of `ends` (ascending UTC datetimes): one sweep over every item's
    open/close changes, O(items + events + weeks), the same count `_open_at` gives."""
    changes = sorted(change for item in items
                     for change in _open_changes(item, timelines.get(item.pk, [])))
    counts, running, index = [], 0, 0
    for end in ends:
        while index < len(changes) and changes[index][0] <= end:
            running += changes[index][1]
            index += 1
        counts.append(running)
    return counts


def _month_range(first: str, last: str) -> list[str]:
    year, month = map(int, first.split("-"))
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def final_postmortems(ids=None) -> list[Postmortem]:
    """Every final postmortem (or those of `ids`), each with `event_utc`: when its event
    happened (docs/rules.md#insights): occurred_utc, or for a record that does not state it
    (an imported one) its earliest timeline entry, else when it was written. One query."""
    rows = Postmortem.objects.filter(status="final")
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    # COALESCE evaluates the timeline subquery only for records without occurred_utc.
    first_entry = (TimelineEntry.objects.filter(postmortem=OuterRef("pk"), utc__isnull=False)
                   .order_by("utc").values("utc")[:1])
    final = list(rows.only("id", "summary", "occurred_utc", "finalized_utc", "root_cause",
                           "severity", "created_utc")
                 .annotate(event=Coalesce("occurred_utc", Subquery(first_entry),
                                          "created_utc")).order_by("id"))
    for pm in final:
        pm.event_utc = pm.event
    return sorted(final, key=lambda pm: (pm.event_utc, str(pm.pk)))


def _domains(final, ids=None) -> dict:
    """{postmortem id: domain slug or ""} for `final` (one query; only `ids` when given)."""
    rows = PostmortemDomain.objects.filter(postmortem__status="final")
    if ids is not None:
        rows = rows.filter(postmortem_id__in=ids)
    domains = dict(rows.values_list("postmortem_id", "domain"))
    return {pm.pk: domains.get(pm.pk, "") for pm in final}


def _items_python(hidden, ids, today: date, now: datetime):
    """(closeouts, item figures, verified shipped count, backlog) from every item and status
    event loaded into Python: the path SQLite (the demo) takes; knowledge.insights_sql
    computes the same in PostgreSQL."""
    # verification = '{}' (or null) means no verified evidence.
    all_items = [_Item(pk, pm_id, status, due, bool(verification), created, updated)
                 for pk, pm_id, status, due, verification, created, updated in
                 ActionItem.objects.filter(postmortem__status="final")
                  .exclude(postmortem_id__in=hidden).values_list(
                     "id", "postmortem_id", "status", "due_date", "verification",
                     "created_utc", "updated_utc")]
    items_by_pm = defaultdict(list)
    for item in all_items:
        items_by_pm[item.postmortem_id].append(item)
    timelines = _item_timelines()
    closeouts = _closeouts(items_by_pm, timelines)
    items = [item for item in all_items if item.postmortem_id in ids]
    counts = Counter(item.status for item in items)
    verified = sum(1 for item in items
                   if item.status == ActionItem.Status.SHIPPED and item.verified)
    item_figures = {
        "total": len(items),
        "open": counts[ActionItem.Status.OPEN] + counts[ActionItem.Status.IN_PROGRESS],
        "shipped": counts[ActionItem.Status.SHIPPED],
        "shipped_verified": verified,
        "dropped": counts[ActionItem.Status.DROPPED],
        "overdue": sum(1 for item in items
                       if item.status not in CLOSED_STATUSES and item.due_date < today),
    }
    backlog = []
    if items:
        mondays = _weeks(min(item.created_utc for item in items).astimezone(UTC).date(), today)
        ends = [min(datetime.combine(monday + timedelta(days=7), datetime.min.time(), UTC), now)
                for monday in mondays]
        backlog = [(monday.isoformat(), count) for monday, count
                   in zip(mondays, open_backlog(items, timelines, ends), strict=True)]
    return closeouts, item_figures, verified, backlog


def _items_sql(hidden, ids, today: date, now: datetime):
    """_items_python's result, aggregated in PostgreSQL (knowledge.insights_sql)."""
    closeouts = insights_sql.closeouts(hidden)
    item_figures, verified, first = insights_sql.item_figures(ids, today)
    backlog = []
    if first is not None:
        mondays = _weeks(first.astimezone(UTC).date(), today)
        backlog = [(monday.isoformat(), count) for monday, count
                   in zip(mondays, insights_sql.backlog(ids, mondays, now), strict=True)]
    return closeouts, item_figures, verified, backlog


def compute(filters: Filters, now: datetime, user=None, *, from_raw_rows: bool = False
            ) -> Insights:
    """The insights for `filters` as of `now` (UTC), over the postmortems `user` may read
    (restricted ones a non-member may not read are left out of every figure:
    docs/rules.md#private-postmortems). A fixed number of queries.

    On PostgreSQL the population, its counts per month, the distributions and the item
    figures are aggregated in SQL over the rollups triggers keep exact
    (docs/rules.md#insights-precomputed); `from_raw_rows` (and SQLite, the demo) computes
    the same figures in Python from the raw rows instead, the recomputation the tests
    compare the rollups against."""
    if insights_sql.available() and not from_raw_rows:
        with transaction.atomic():
            insights_sql.tune_transaction()
            return _compute_sql(filters, now, user)
    return _compute_python(filters, now, user)


def _from_ranks(count: int, ranks: dict, within: int) -> Distribution:
    """Distribution.of's figures from the values at the ranks it reads (1-based)."""
    if not count:
        return Distribution(0, None, None, None)
    median = (ranks[(count + 1) // 2] if count % 2
              else (ranks[count // 2] + ranks[count // 2 + 1]) / 2)
    p90 = ranks[max(math.ceil(0.9 * count), 1)]
    return Distribution(count, round(median, 2), round(p90, 2), round(within / count, 4))


def _compute_sql(filters: Filters, now: datetime, user=None) -> Insights:
    """compute() on PostgreSQL: aggregates in SQL, close-outs and the open backlog from the
    rollups (knowledge migration 0006); only the postmortems that share a pattern (the
    recurrence candidates) are loaded as rows."""
    hidden = visibility.hidden_ids(user)
    today = now.astimezone(UTC).date()
    cold = insights_sql.cold_figures(hidden, filters, WITHIN_HOURS, today, now)
    by_cause, by_domain = defaultdict(dict), defaultdict(dict)
    for month, cause, count in cold.per_cause:
        by_cause[month][cause or "unclassified"] = count
    for month, domain, count in cold.per_domain:
        by_domain[month][domain or "unclassified"] = count
    months = sorted(by_cause)
    total = sum(count for _, _, count in cold.per_cause)
    item_figures = {key: cold.items[key] for key in
                    ("total", "open", "shipped", "shipped_verified", "dropped", "overdue")}
    verified = item_figures["shipped_verified"]
    backlog = []
    if cold.first_item is not None:
        mondays = _weeks(cold.first_item.astimezone(UTC).date(), today)
        backlog = [(monday.isoformat(), count) for monday, count in zip(
            mondays, insights_sql.week_counts(cold.week_deltas, mondays, now), strict=True)]
    keys = _pattern_keys(None, rollups=True)
    candidates = set(keys) - hidden
    # Close-outs only of the postmortems recurrence and cost before/after read: the
    # candidates, and those a current cost entry links to a root pattern.
    linked = insights_sql.pattern_postmortems()
    closeouts = insights_sql.rollup_closeouts(
        hidden, candidates | {pm_id for _, pm_id in linked})
    final = final_postmortems(candidates)
    domain_of = _domains(final, candidates)

    def included(pm) -> bool:
        return _included(pm, filters, domain_of)

    recurrences = find_recurrences(final, domain_of, closeouts, candidates, keys)
    shown = [r for r in recurrences if included(r.later)]
    per_pattern = Counter(name for r in shown for name in r.shared)
    return Insights(
        filters=filters, months=months, postmortems=total,
        by_root_cause={m: by_cause[m] for m in months},
        by_domain={m: by_domain[m] for m in months},
        domains=sorted({d for m in months for d in by_domain[m]}),
        event_to_meeting=_from_ranks(*cold.meeting),
        finalize_to_closeout=_from_ranks(*cold.closeout),
        items=item_figures,
        verified_share=(round(verified / item_figures["total"], 4)
                        if item_figures["total"] else None),
        backlog=backlog,
        backlog_trend=backlog_trend(backlog),
        recurrences=shown,
        recurrences_by_pattern=sorted(per_pattern.items(), key=lambda kv: (-kv[1], kv[0])),
        cost_before_after=cost_before_after(closeouts, now, linked),
    )


def _included(pm, filters: Filters, domain_of: dict) -> bool:
    """Whether final postmortem `pm` falls inside `filters` (its event month, domain,
    root cause and severity). docs/rules.md#insights"""
    month = _month_of(pm.event_utc)
    return ((not filters.start or month >= filters.start)
            and (not filters.end or month <= filters.end)
            and (not filters.domain or domain_of[pm.pk] == filters.domain)
            and (not filters.root_cause or pm.root_cause == filters.root_cause)
            and (not filters.severity or pm.severity == filters.severity))


def _compute_python(filters: Filters, now: datetime, user=None) -> Insights:
    """compute() from the raw rows, in Python (SQLite's path, and the reference)."""
    hidden = visibility.hidden_ids(user)
    final = [pm for pm in final_postmortems() if pm.pk not in hidden]
    domain_of = _domains(final)

    def included(pm) -> bool:
        return _included(pm, filters, domain_of)

    population = [pm for pm in final if included(pm)]
    ids = {pm.pk for pm in population}

    by_cause, by_domain = defaultdict(Counter), defaultdict(Counter)
    for pm in population:
        month = _month_of(pm.event_utc)
        by_cause[month][pm.root_cause or "unclassified"] += 1
        by_domain[month][domain_of[pm.pk] or "unclassified"] += 1
    months = sorted(by_cause)

    first_meeting = dict(
        Meeting.objects.filter(postmortem__status="final", started_utc__isnull=False)
        .values("postmortem_id").annotate(first=Min("started_utc"))
        .values_list("postmortem_id", "first"))
    to_meeting = [(first_meeting[pm.pk] - pm.event_utc).total_seconds() / 3600
                  for pm in population if pm.pk in first_meeting]

    today = now.astimezone(UTC).date()
    closeouts, item_figures, verified, backlog = _items_python(hidden, ids, today, now)
    closeout_hours = [max((closeouts[pm.pk] - pm.finalized_utc).total_seconds() / 3600, 0.0)
                      for pm in population if pm.pk in closeouts]

    recurrences = find_recurrences(final, domain_of, closeouts)
    shown = [r for r in recurrences if r.later.pk in ids]
    per_pattern = Counter(name for r in shown for name in r.shared)
    return Insights(
        filters=filters, months=months, postmortems=len(population),
        by_root_cause={m: dict(by_cause[m]) for m in months},
        by_domain={m: dict(by_domain[m]) for m in months},
        domains=sorted({d for m in months for d in by_domain[m]}),
        event_to_meeting=Distribution.of(to_meeting),
        finalize_to_closeout=Distribution.of(closeout_hours),
        items=item_figures,
        verified_share=(round(verified / item_figures["total"], 4)
                        if item_figures["total"] else None),
        backlog=backlog,
        backlog_trend=backlog_trend(backlog),
        recurrences=shown,
        recurrences_by_pattern=sorted(per_pattern.items(), key=lambda kv: (-kv[1], kv[0])),
        cost_before_after=cost_before_after(closeouts, now),
    )


CACHE_SECONDS = 3600


def cached_compute(filters: Filters, now: datetime, user=None) -> Insights:
    """compute(filters, now, user), precomputed: served from the cache under the key
    (generation, filters, UTC date, the restricted postmortems `user` may not read),
    computed and stored otherwise (docs/rules.md#insights-precomputed). Readers with the
    same hidden set share an entry; a reader never gets figures of a record they cannot
    read (docs/rules.md#private-postmortems).
    The cache is the `insights` alias: Redis shared by every web process when
    SCARLOG_INSIGHTS_REDIS_URL is set, else each process's own memory.

    Every figure changes only with a row the generation's triggers watch, or with the UTC
    date (overdue, the current week and month). A result is stored only when the
    generation read before computing is still the one after it, so figures computed while
    another transaction committed are never stored under a key they do not match.
    """
    return _cached("figures", filters, now, user, lambda: compute(filters, now, user))


def cached_rendering(kind: str, filters: Filters, now: datetime, user,
                     render: Callable[[Insights], str]) -> str:
    """`render(figures)` of cached_compute(filters, now, user), itself precomputed under
    the same key plus `kind` (a short name: "page", "json", "csv"): a warm request reads
    one string instead of unpickling the figures and rendering thousands of template
    nodes (docs/rules.md#insights-precomputed). `render` must depend on the figures only,
    never on the request. On SQLite it is called every time."""
    return _cached(kind, filters, now, user,
                   lambda: render(cached_compute(filters, now, user)))


def _cached(kind: str, filters: Filters, now: datetime, user, build):
    """build() stored under (kind, generation, filters, UTC date, hidden set), computed
    once per key however many requests miss at once (knowledge.generation_cache); see
    cached_compute for why it is exact."""
    hidden = sorted(str(pm_id) for pm_id in visibility.hidden_ids(user))
    hidden_key = hashlib.sha256(",".join(hidden).encode()).hexdigest()[:32] if hidden else "-"

    def key_for(generation: str) -> str:
        return "insights:" + ":".join([kind, generation, _day_key(now),
                                       filters.start or "", filters.end or "", filters.domain,
                                       filters.root_cause, filters.severity, hidden_key])

    return generation_cached(key_for, build, CACHE_SECONDS)


def _day_key(now: datetime) -> str:
    return now.astimezone(UTC).date().isoformat()


def backlog_trend(backlog: list[tuple[str, int]], weeks: int = 4) -> str:
    """Growing, shrinking or steady: the open backlog now against `weeks` weeks before (or
    the first week shown, when there are fewer)."""
    if not backlog:
        return ""
    now_count = backlog[-1][1]
    then_week, then_count = backlog[max(len(backlog) - 1 - weeks, 0)]
    if now_count > then_count:
        word = "Growing"
    elif now_count < then_count:
        word = "Shrinking"
    else:
        word = "Steady"
    return f"{word}: {now_count} open now, {then_count} at the end of the week of {then_week}."


def _pattern_keys(final, ids=None, rollups: bool = False) -> dict:
    """{postmortem id: {(label, key)}}: its root patterns from the cost log and its
    knowledge-base patterns, for the final postmortems (or only those of `ids`); the root
    patterns read from the rollup (PostgreSQL) when `rollups`."""
    names = dict(RootPattern.objects.values_list("id", "name"))
    keys = defaultdict(set)
    kb = Postmortem.knowledge_entries.through.objects.filter(
        postmortem__status="final", knowledgeentry__kind__in=["pattern", "anti_pattern"])
    if ids is not None:
        kb = kb.filter(postmortem_id__in=ids)
    if rollups:
        pairs = [(pm_id, pattern_id) for pm_id, pattern_id in insights_sql.final_pattern_links()
                 if ids is None or pm_id in ids]
    else:
        links = EntryPattern.objects.filter(postmortem__status="final",
                                            entry__in=current_entries())
        if ids is not None:
            links = links.filter(postmortem_id__in=ids)
        pairs = links.values_list("postmortem_id", "pattern_id").distinct()
    for pm_id, pattern_id in pairs:
        keys[pm_id].add(("root", names[pattern_id]))
    for pm_id, name in kb.values_list("postmortem_id", "knowledgeentry__name"):
        keys[pm_id].add(("kb", name))
    return keys


def find_recurrences(final, domain_of, closeouts, ids=None, keys=None) -> list[Recurrence]:
    """Every (earlier, later) pair of `final` postmortems where `later` recurred after the
    fix of `earlier` (docs/rules.md#insights-recurrence), later events first. `ids`: when
    `final` is a subset of the archive, those postmortems' ids; `keys`: their
    _pattern_keys, when already read."""
    keys = _pattern_keys(final, ids) if keys is None else keys
    # Group by what two postmortems can share: (domain, root pattern) or a KB pattern.
    groups = defaultdict(list)
    for pm in final:
        for label, name in keys[pm.pk]:
            if label == "kb":
                groups[f"knowledge-base pattern {name}"].append(pm)
            elif domain_of[pm.pk]:
                groups[(domain_of[pm.pk], name)].append(pm)
    shared = defaultdict(list)
    for group, members in groups.items():
        fixed = [pm for pm in members if pm.pk in closeouts]
        for later in members:
            for earlier in fixed:
                if earlier.pk != later.pk and closeouts[earlier.pk] <= later.event_utc:
                    shared[(earlier.pk, later.pk)].append(
                        group if isinstance(group, str) else group[1])
    by_pk = {pm.pk: pm for pm in final}
    found = [Recurrence(by_pk[e], by_pk[lt], sorted(names)) for (e, lt), names in shared.items()]
    return sorted(found, key=lambda r: (r.later.event_utc, r.earlier.occurred_utc),
                  reverse=True)


def recurrence_links(pm: Postmortem) -> dict[str, list[Recurrence]]:
    """{"recurred_after": [...], "recurred_in": [...]} for one postmortem's page: the
    earlier fixes it recurred after, and the later postmortems that recurred after its fix.
    Reads only the postmortems that share a root pattern (in its domain) or a
    knowledge-base pattern with `pm`, never the whole archive."""
    if pm.status != Postmortem.Status.FINAL:
        return {"recurred_after": [], "recurred_in": []}
    domain = PostmortemDomain.objects.filter(postmortem=pm).values_list("domain", flat=True)
    patterns = EntryPattern.objects.filter(postmortem=pm, entry__in=current_entries())
    kb_links = Postmortem.knowledge_entries.through.objects
    kb = kb_links.filter(postmortem=pm, knowledgeentry__kind__in=["pattern", "anti_pattern"])
    same_root = EntryPattern.objects.filter(
        pattern_id__in=patterns.values("pattern_id"), entry__in=current_entries(),
        postmortem__classification__domain__in=domain).values("postmortem_id")
    same_kb = kb_links.filter(knowledgeentry_id__in=kb.values("knowledgeentry_id")).values(
        "postmortem_id")
    ids = {pm.pk, *(row["postmortem_id"] for row in same_root),
           *(row["postmortem_id"] for row in same_kb)}
    if len(ids) == 1:
        return {"recurred_after": [], "recurred_in": []}
    final = final_postmortems(ids)
    items = list(ActionItem.objects.filter(postmortem_id__in=ids)
                 .only("id", "postmortem_id", "status", "updated_utc"))
    by_pm = defaultdict(list)
    for item in items:
        by_pm[item.postmortem_id].append(item)
    closeouts = _closeouts(by_pm, _item_timelines([item.pk for item in items]))
    pairs = find_recurrences(final, _domains(final, ids), closeouts, ids)
    return {"recurred_after": [r for r in pairs if r.later.pk == pm.pk],
            "recurred_in": [r for r in pairs if r.earlier.pk == pm.pk]}


def _per_month(monthly, span: list[str], index: int) -> Decimal | None:
    """Mean USD per month over `span` (months without mishaps count as $0)."""
    if not span:
        return None
    total = sum((monthly[m][index] for m in span), Decimal(0))
    return (total / len(span)).quantize(Decimal("0.01"))


def cost_before_after(closeouts, now: datetime, rollup_links=None
                      ) -> list[CostBeforeAfter]:
    """Per root pattern: mishap cost per month (USD) before and after the month its first
    fix shipped (docs/rules.md#insights-cost-before-after). The fix month itself counts in
    neither span; "before" starts at the pattern's first mishap month, "after" ends at the
    current month, and months without mishaps count as $0. `rollup_links` (PostgreSQL):
    insights_sql.pattern_postmortems(), and the sums per pattern and month are read from
    the cost rollup, not from the 1,000,000 entries."""
    linked = defaultdict(set)
    by_pattern = defaultdict(dict)
    if rollup_links is not None:
        for pattern_id, month, low, high in insights_sql.cost_sums():
            by_pattern[pattern_id][month] = [low, high]
        for pattern_id, pm_id in rollup_links:
            linked[pattern_id].add(pm_id)
    else:
        links = EntryPattern.objects.filter(entry__in=current_entries())
        sums = (links.annotate(month=TruncMonth("occurred_utc", tzinfo=UTC))
                .values("pattern_id", "month").annotate(low=Sum("cost_low_usd"),
                                                        high=Sum("cost_high_usd"))
                .values_list("pattern_id", "month", "low", "high"))
        for pattern_id, month, low, high in sums:
            by_pattern[pattern_id][_month_of(month)] = [low, high]
        for pattern_id, pm_id in (links.filter(postmortem__isnull=False)
                                  .values_list("pattern_id", "postmortem_id").distinct()):
            linked[pattern_id].add(pm_id)
    names = dict(RootPattern.objects.values_list("id", "name"))
    current = _month_of(now)
    result = []
    for pattern_id, sums_by_month in by_pattern.items():
        fixes = [closeouts[pm_id] for pm_id in linked[pattern_id] if pm_id in closeouts]
        fixed = _month_of(min(fixes)) if fixes else None
        first = min(sums_by_month)
        monthly = defaultdict(lambda: [Decimal(0), Decimal(0)], sums_by_month)
        if fixed is None:
            before = _month_range(first, current)
            after = []
        else:
            before = [m for m in _month_range(first, fixed) if m < fixed]
            after = [m for m in _month_range(fixed, current) if m > fixed]
        result.append(CostBeforeAfter(
            names[pattern_id], fixed, len(before), _per_month(monthly, before, 0),
            _per_month(monthly, before, 1), len(after), _per_month(monthly, after, 0),
            _per_month(monthly, after, 1)))
    return sorted(result, key=lambda row: row.pattern)


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def as_dict(insights: Insights) -> dict:
    """The JSON shape of the insights (USD as decimal strings, hours as numbers, shares 0..1)."""
    def dist(d: Distribution) -> dict:
        return {"count": d.count, "median_hours": d.median_hours, "p90_hours": d.p90_hours,
                "share_within_72_hours": d.within_share}

    f = insights.filters
    return {
        "filters": {"from": f.start, "to": f.end, "domain": f.domain or None,
                    "root_cause": f.root_cause or None, "severity": f.severity or None},
        "postmortems": insights.postmortems,
        "per_month": [{"month": m, "by_root_cause": insights.by_root_cause[m],
                       "by_domain": insights.by_domain[m]} for m in insights.months],
        "event_to_meeting": dist(insights.event_to_meeting),
        "finalize_to_closeout": dist(insights.finalize_to_closeout),
        "action_items": {**insights.items, "share_shipped_verified": insights.verified_share},
        "open_backlog_by_week": [{"week_of": week, "open": count}
                                 for week, count in insights.backlog],
        "recurrences": [{"postmortem": str(r.later.pk), "recurred_after": str(r.earlier.pk),
                         "shared": r.shared} for r in insights.recurrences],
        "recurrences_by_pattern": [{"pattern": name, "count": count}
                                   for name, count in insights.recurrences_by_pattern],
        "cost_before_after_fix": [
            {"root_pattern": row.pattern, "first_fix_month": row.fixed_month,
             "before": {"months": row.before_months, "low_usd_per_month": _money(row.before_low),
                        "high_usd_per_month": _money(row.before_high)},
             "after": {"months": row.after_months, "low_usd_per_month": _money(row.after_low),
                       "high_usd_per_month": _money(row.after_high)}}
            for row in insights.cost_before_after],
    }


def csv_rows(insights: Insights):
    """(section, key, detail, value) rows for the CSV download, one figure a row."""
    yield ("section", "key", "detail", "value")
    yield ("postmortems", "total", "", insights.postmortems)
    for month in insights.months:
        for cause, count in sorted(insights.by_root_cause[month].items()):
            yield ("per_month_by_root_cause", month, cause, count)
        for domain, count in sorted(insights.by_domain[month].items()):
            yield ("per_month_by_domain", month, domain, count)
    for name, d in (("event_to_meeting", insights.event_to_meeting),
                    ("finalize_to_closeout", insights.finalize_to_closeout)):
        yield (name, "count", "", d.count)
        yield (name, "median_hours", "", "" if d.median_hours is None else d.median_hours)
        yield (name, "p90_hours", "", "" if d.p90_hours is None else d.p90_hours)
        yield (name, "share_within_72_hours", "",
               "" if d.within_share is None else d.within_share)
    for key, value in insights.items.items():
        yield ("action_items", key, "", value)
    yield ("action_items", "share_shipped_verified", "",
           "" if insights.verified_share is None else insights.verified_share)
    for week, count in insights.backlog:
        yield ("open_backlog_by_week", week, "", count)
    for name, count in insights.recurrences_by_pattern:
        yield ("recurrences_by_pattern", name, "", count)
    for row in insights.cost_before_after:
        yield ("cost_before_fix_usd_per_month", row.pattern, "low", _money(row.before_low) or "")
        yield ("cost_before_fix_usd_per_month", row.pattern, "high", _money(row.before_high) or "")
        yield ("cost_after_fix_usd_per_month", row.pattern, "low", _money(row.after_low) or "")
        yield ("cost_after_fix_usd_per_month", row.pattern, "high", _money(row.after_high) or "")
