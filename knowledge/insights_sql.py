"""The action-item figures of the insights computed inside PostgreSQL
(docs/rules.md#insights-precomputed): close-outs per postmortem, item counts and the open
backlog by week, each one aggregate query instead of loading every item and status event
into Python. The same rules as knowledge.insights' Python path (which SQLite, the demo,
still uses): a status event closes an item when the head of its change (before the first
";") ends in "→ shipped" or "→ dropped"; tests/test_insights_sql.py checks both paths give
identical figures. Times UTC; ids are postmortem UUIDs.
"""
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db import connection

CLOSING = r"'^status:.*→ (shipped|dropped)$'"
_CLOSED_EVENT = f"split_part(e.change, ';', 1) ~ {CLOSING}"


def available() -> bool:
    """True where these queries run (PostgreSQL)."""
    return connection.vendor == "postgresql"


def closeouts(hidden) -> dict:
    """{postmortem id: when its last item closed (UTC)} for the final postmortems not in
    `hidden` whose items are all shipped or dropped, at least one shipped. An item's
    closing moment is its latest closing status event, else its updated_utc."""
    sql = f"""
        WITH last_close AS (
            SELECT e.item_id, MAX(e.at_utc) AS at
            FROM incidents_actionitemevent e
            WHERE e.change LIKE 'status:%%' AND {_CLOSED_EVENT}
            GROUP BY e.item_id)
        SELECT i.postmortem_id, MAX(COALESCE(lc.at, i.updated_utc))
        FROM incidents_actionitem i
        JOIN incidents_postmortem p ON p.id = i.postmortem_id AND p.status = 'final'
        LEFT JOIN last_close lc ON lc.item_id = i.id
        WHERE NOT (i.postmortem_id = ANY(%s))
        GROUP BY i.postmortem_id
        HAVING bool_and(i.status IN ('shipped', 'dropped')) AND bool_or(i.status = 'shipped')
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(hidden)])
        return dict(cursor.fetchall())


def item_figures(ids, today: date) -> tuple[dict, int, datetime | None]:
    """({total, open, shipped, shipped_verified, dropped, overdue}, verified shipped count,
    the earliest created_utc or None) of the items of the postmortems `ids` (joined as a
    set, not tested against an array per row)."""
    sql = """
        SELECT count(*),
               count(*) FILTER (WHERE status IN ('open', 'in_progress')),
               count(*) FILTER (WHERE status = 'shipped'),
               count(*) FILTER (WHERE status = 'shipped' AND verification IS NOT NULL
                                AND verification::text NOT IN ('{}', 'null')),
               count(*) FILTER (WHERE status = 'dropped'),
               count(*) FILTER (WHERE status NOT IN ('shipped', 'dropped') AND due_date < %s),
               min(created_utc)
        FROM incidents_actionitem
        JOIN unnest(%s::uuid[]) AS population(id) ON population.id = postmortem_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [today, list(ids)])
        total, open_, shipped, verified, dropped, overdue, first = cursor.fetchone()
    figures = {"total": total, "open": open_, "shipped": shipped,
               "shipped_verified": verified, "dropped": dropped, "overdue": overdue}
    return figures, verified, first


def backlog(ids, mondays: list[date], now: datetime) -> list[int]:
    """Open items of the postmortems `ids` at the end of each week of `mondays` (the next
    Monday 00:00 UTC, the last one capped at `now`): knowledge.insights.open_backlog's
    count, summed in PostgreSQL. An item is open at a moment when it was created by then
    and its latest status event at or before then (by time, then id) did not close it."""
    if not mondays:
        return []
    sql = f"""
        WITH items AS (
            SELECT a.id, a.created_utc FROM incidents_actionitem a
            JOIN unnest(%s::uuid[]) AS population(id) ON population.id = a.postmortem_id),
        ev AS (
            SELECT DISTINCT ON (e.item_id, e.at_utc) e.item_id, e.at_utc AS at,
                   {_CLOSED_EVENT} AS closed
            FROM incidents_actionitemevent e JOIN items i ON i.id = e.item_id
            WHERE e.change LIKE 'status:%%'
            ORDER BY e.item_id, e.at_utc, e.id DESC),
        moments AS (
            SELECT item_id, at, bool_or(closed) FILTER (WHERE closed IS NOT NULL) AS closed
            FROM (SELECT item_id, at, closed FROM ev
                  UNION ALL SELECT id, created_utc, NULL FROM items) both_kinds
            GROUP BY item_id, at),
        carried AS (
            SELECT item_id, at, count(closed) OVER w AS grp, closed
            FROM moments WINDOW w AS (PARTITION BY item_id ORDER BY at)),
        state AS (
            SELECT c.item_id, c.at,
                   c.at >= i.created_utc AND NOT COALESCE(
                       first_value(c.closed) OVER (PARTITION BY c.item_id, c.grp
                                                   ORDER BY c.at), false) AS open
            FROM carried c JOIN items i ON i.id = c.item_id),
        changes AS (
            SELECT at, CASE WHEN open THEN 1 ELSE -1 END AS d
            FROM (SELECT at, open, lag(open, 1, false) OVER (PARTITION BY item_id ORDER BY at)
                  AS before FROM state) s
            WHERE open <> before AND at <= %s)
        SELECT CASE WHEN at = date_trunc('week', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                    THEN at
                    ELSE (date_trunc('week', at AT TIME ZONE 'UTC') + interval '7 days')
                         AT TIME ZONE 'UTC' END AS week_end,
               sum(d)
        FROM changes GROUP BY 1
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(ids), now])
        by_end = cursor.fetchall()
    return _running(by_end, mondays, now)


# --- Cold recompute from the rollups (knowledge migration 0006) ------------------------
#
# The population (docs/rules.md#insights) as a CTE: the final postmortems not hidden, with
# their event moment, UTC event month and domain, filtered. Parameters: hidden ids, then
# start, end, domain, root cause, severity ("" or None = any).
_POPULATION = """
    pop AS (
        SELECT p.id, p.finalized_utc, p.root_cause, p.severity,
               COALESCE(p.occurred_utc,
                        (SELECT min(t.utc) FROM incidents_timelineentry t
                         WHERE t.postmortem_id = p.id AND t.utc IS NOT NULL),
                        p.created_utc) AS event_utc
        FROM incidents_postmortem p
        WHERE p.status = 'final' AND NOT (p.id = ANY(%s))),
    population AS (
        SELECT pop.*, to_char(pop.event_utc AT TIME ZONE 'UTC', 'YYYY-MM') AS month,
               COALESCE(c.domain, '') AS domain
        FROM pop LEFT JOIN incidents_classification c ON c.postmortem_id = pop.id
        WHERE (%s::text IS NULL OR to_char(pop.event_utc AT TIME ZONE 'UTC', 'YYYY-MM') >= %s)
          AND (%s::text IS NULL OR to_char(pop.event_utc AT TIME ZONE 'UTC', 'YYYY-MM') <= %s)
          AND (%s = '' OR COALESCE(c.domain, '') = %s)
          AND (%s = '' OR pop.root_cause = %s)
          AND (%s = '' OR pop.severity = %s))
"""


def _population_params(hidden, filters) -> list:
    return [list(hidden), filters.start, filters.start, filters.end, filters.end,
            filters.domain, filters.domain, filters.root_cause, filters.root_cause,
            filters.severity, filters.severity]


def _fetch(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _hours(expr: str) -> str:
    # Hours as the Python path computes them: exact seconds over 3600, in float8.
    return f"(extract(epoch FROM {expr})::float8 / 3600)"


# The values at the ranks Distribution.of reads: the middle one or two (the median) and
# the nearest rank of the 90th percentile (0.9 * n in float8, as in Python).
_RANKS = "((n + 1) / 2, n / 2 + 1, GREATEST(ceil(0.9::float8 * n)::bigint, 1))"

_COLD = f"""
    WITH {_POPULATION},
    meet AS (
        SELECT {_hours("m.first - population.event_utc")} AS h FROM population
        JOIN (SELECT postmortem_id, min(started_utc) AS first FROM incidents_meeting
              WHERE started_utc IS NOT NULL GROUP BY postmortem_id) m
          ON m.postmortem_id = population.id),
    close AS (
        SELECT GREATEST({_hours("c.closed_utc - population.finalized_utc")}, 0.0) AS h
        FROM population JOIN knowledge_insightscloseout c ON c.postmortem_id = population.id),
    meet_ranked AS (SELECT h, row_number() OVER (ORDER BY h) AS rank, count(*) OVER () AS n
                    FROM meet),
    close_ranked AS (SELECT h, row_number() OVER (ORDER BY h) AS rank, count(*) OVER () AS n
                     FROM close),
    items AS (
        SELECT count(*) AS total,
               count(*) FILTER (WHERE status IN ('open', 'in_progress')) AS open,
               count(*) FILTER (WHERE status = 'shipped') AS shipped,
               count(*) FILTER (WHERE status = 'shipped' AND verification IS NOT NULL
                                AND verification::text NOT IN ('{{}}', 'null'))
                   AS shipped_verified,
               count(*) FILTER (WHERE status = 'dropped') AS dropped,
               count(*) FILTER (WHERE status NOT IN ('shipped', 'dropped') AND due_date < %s)
                   AS overdue,
               min(created_utc) AS first
        FROM incidents_actionitem a JOIN population ON population.id = a.postmortem_id),
    weeks AS (
        SELECT CASE WHEN at = date_trunc('week', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                    THEN at
                    ELSE (date_trunc('week', at AT TIME ZONE 'UTC') + interval '7 days')
                         AT TIME ZONE 'UTC' END AS week_end,
               sum(d) AS d
        FROM knowledge_insightsopenchange o JOIN population ON population.id = o.postmortem_id
        WHERE o.at <= %s
        GROUP BY 1)
    SELECT 'cause', month, COALESCE(root_cause, ''), count(*), NULL::float8, NULL::timestamptz
    FROM population GROUP BY month, root_cause
    UNION ALL SELECT 'domain', month, domain, count(*), NULL, NULL
    FROM population GROUP BY month, domain
    UNION ALL SELECT 'meet', NULL, NULL, rank, h, NULL FROM meet_ranked WHERE rank IN {_RANKS}
    UNION ALL SELECT 'close', NULL, NULL, rank, h, NULL FROM close_ranked
    WHERE rank IN {_RANKS}
    UNION ALL SELECT 'meet_n', NULL, NULL, (SELECT count(*) FROM meet),
                     (SELECT count(*) FROM meet WHERE h <= %s)::float8, NULL
    UNION ALL SELECT 'close_n', NULL, NULL, (SELECT count(*) FROM close),
                     (SELECT count(*) FROM close WHERE h <= %s)::float8, NULL
    UNION ALL SELECT 'item', kv.k, NULL, kv.v, NULL, NULL FROM items, LATERAL (VALUES
        ('total', total), ('open', open), ('shipped', shipped),
        ('shipped_verified', shipped_verified), ('dropped', dropped), ('overdue', overdue))
        AS kv(k, v)
    UNION ALL SELECT 'first', NULL, NULL, NULL, NULL, first FROM items
    UNION ALL SELECT 'week', NULL, NULL, d, NULL, week_end FROM weeks
"""


@dataclass
class ColdFigures:
    """The population's figures from one statement (cold_figures): counts per (month, root
    cause or "") and per (month, domain or ""); each distribution as (count, {rank: hours},
    count within the hours); the item counts; the earliest item's created_utc (UTC or
    None); (week end UTC, open delta) rows of the open backlog."""

    per_cause: list[tuple[str, str, int]] = field(default_factory=list)
    per_domain: list[tuple[str, str, int]] = field(default_factory=list)
    meeting: tuple = (0, {}, 0)
    closeout: tuple = (0, {}, 0)
    items: dict = field(default_factory=dict)
    first_item: datetime | None = None
    week_deltas: list[tuple[datetime, int]] = field(default_factory=list)


def cold_figures(hidden, filters, within_hours: int, today: date, now: datetime
                 ) -> ColdFigures:
    """Every population figure of one cold recompute in one statement: the population
    (docs/rules.md#insights) is computed once and read by each part; close-outs and the
    open backlog read the rollups (knowledge migration 0006)."""
    params = [*_population_params(hidden, filters), today, now, within_hours, within_hours]
    found = ColdFigures()
    ranks = {"meet": {}, "close": {}}
    counts = {}
    for kind, key, detail, number, hours, moment in _fetch(_COLD, params):
        if kind == "cause":
            found.per_cause.append((key, detail, number))
        elif kind == "domain":
            found.per_domain.append((key, detail, number))
        elif kind in ranks:
            ranks[kind][number] = hours
        elif kind in ("meet_n", "close_n"):
            counts[kind[:-2]] = (number, int(hours))
        elif kind == "item":
            found.items[key] = number
        elif kind == "first":
            found.first_item = moment
        else:
            found.week_deltas.append((moment, number))
    found.meeting = (counts["meet"][0], ranks["meet"], counts["meet"][1])
    found.closeout = (counts["close"][0], ranks["close"], counts["close"][1])
    return found


def rollup_closeouts(hidden, ids) -> dict:
    """closeouts(hidden) of the postmortems `ids` only, read from the close-out rollup."""
    return dict(_fetch("""
        SELECT c.postmortem_id, c.closed_utc FROM knowledge_insightscloseout c
        JOIN incidents_postmortem p ON p.id = c.postmortem_id AND p.status = 'final'
        WHERE c.postmortem_id = ANY(%s) AND NOT (c.postmortem_id = ANY(%s))
    """, [list(ids), list(hidden)]))


def tune_transaction() -> None:
    """Settings for the aggregates of one cold recompute, for the current transaction only:
    no JIT (the planner's estimate for the event-moment subquery makes PostgreSQL spend
    most of a second compiling a query that runs in a fraction of it) and room to sort the
    population in memory."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL work_mem = '32MB'")


def week_counts(by_end, mondays: list[date], now: datetime) -> list[int]:
    """Open items at the end of each week of `mondays` (the next Monday 00:00 UTC, the
    last capped at `now`) from (week end, delta) rows: each delta counts from the first end
    at or after it."""
    return _running(by_end, mondays, now)


def _running(by_end, mondays, now) -> list[int]:
    """The open count at each week's end (UTC; the last end is `now`) from (moment,
    +1/-1 delta) pairs: each delta counts from the first week end at or after it."""
    ends = [min(datetime.combine(monday + timedelta(days=7), datetime.min.time(), UTC), now)
            for monday in mondays]
    sums = [0] * len(ends)
    for week_end, delta in by_end:
        index = next((k for k, end in enumerate(ends) if week_end <= end), len(ends) - 1)
        sums[index] += delta
    counts, running = [], 0
    for delta in sums:
        running += delta
        counts.append(running)
    return counts


def cost_sums() -> list[tuple]:
    """[(pattern id, "YYYY-MM", low USD, high USD)]: the current cost entries' figures per
    root pattern and UTC month, read from the cost rollup."""
    return _fetch("SELECT pattern_id, month, low, high FROM knowledge_insightscost", [])


def pattern_postmortems() -> list[tuple]:
    """[(pattern id, postmortem id)]: the postmortems a current cost entry links to each
    root pattern, from the rollup."""
    return _fetch("SELECT pattern_id, postmortem_id FROM knowledge_insightspatternpm", [])


def final_pattern_links() -> list[tuple]:
    """[(postmortem id, pattern id)]: pattern_postmortems() of final postmortems."""
    return _fetch("""
        SELECT r.postmortem_id, r.pattern_id FROM knowledge_insightspatternpm r
        JOIN incidents_postmortem p ON p.id = r.postmortem_id AND p.status = 'final'
    """, [])
