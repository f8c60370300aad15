"""The action-item figures of the insights computed inside PostgreSQL
(docs/rules.md#insights-precomputed): close-outs per postmortem, item counts and the open
backlog by week, each one aggregate query instead of loading every item and status event
into Python. The same rules as knowledge.insights' Python path (which SQLite, the demo,
still uses): a status event closes an item when the head of its change (before the first
";") ends in "→ shipped" or "→ dropped"; tests/test_insights_sql.py checks both paths give
identical figures. Times UTC; ids are postmortem UUIDs.
"""
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
    ends = [min(datetime.combine(monday + timedelta(days=7), datetime.min.time(), UTC), now)
            for monday in mondays]
    sums = [0] * len(ends)
    for week_end, delta in by_end:
        # The first end at or after the change (the last end is `now`).
        index = next((k for k, end in enumerate(ends) if week_end <= end), len(ends) - 1)
        sums[index] += delta
    counts, running = [], 0
    for delta in sums:
        running += delta
        counts.append(running)
    return counts
