"""Rollups of the insights' action-item figures (docs/rules.md#insights-precomputed), kept
exact by PostgreSQL triggers in the writing transaction, so a cold recompute reads a row per
item change instead of scanning 500,000 items' history:

- knowledge_insightscloseout: per postmortem, when its last item closed, for postmortems
  whose items are all shipped or dropped and at least one shipped (knowledge.insights'
  close-out). Refreshed for the postmortem of every item inserted, updated or deleted and
  of every item whose status event is inserted.
- knowledge_insightsopenchange: per item, the moments its open state changes (+1 opened,
  -1 closed), from its created_utc and its status events (the open backlog by week).
  Refreshed for every item inserted, updated or deleted and every status event inserted.

Each refresh recomputes its one row set from the raw rows (the same rules as
knowledge.insights' Python path), under a transaction-scoped advisory lock on the
postmortem or item, so two transactions changing the same one serialize and the second
recomputes from what the first committed. The migration fills both for existing data.
SQLite (the demo) gets neither: its figures come from the raw rows every time."""

from django.db import migrations

CLOSING = r"'^status:.*→ (shipped|dropped)$'"

FORWARD = f"""
CREATE TABLE knowledge_insightscloseout (
    postmortem_id uuid PRIMARY KEY,
    closed_utc timestamptz NOT NULL
);
CREATE TABLE knowledge_insightsopenchange (
    item_id bigint NOT NULL,
    at timestamptz NOT NULL,
    postmortem_id uuid NOT NULL,
    d smallint NOT NULL CHECK (d IN (-1, 1)),
    PRIMARY KEY (item_id, at)
);
CREATE INDEX insights_openchange_by_postmortem ON knowledge_insightsopenchange
    (postmortem_id) INCLUDE (at, d);

CREATE FUNCTION scarlog_insights_refresh_closeout(pm uuid) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $fn$
DECLARE
    found timestamptz;
BEGIN
    IF pm IS NULL THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('scarlog-insights-pm:' || pm::text, 0));
    SELECT MAX(COALESCE(
               (SELECT MAX(e.at_utc) FROM incidents_actionitemevent e
                WHERE e.item_id = i.id AND e.change LIKE 'status:%'
                  AND split_part(e.change, ';', 1) ~ {CLOSING}),
               i.updated_utc))
    INTO found
    FROM incidents_actionitem i
    WHERE i.postmortem_id = pm
    HAVING bool_and(i.status IN ('shipped', 'dropped')) AND bool_or(i.status = 'shipped');
    IF found IS NULL THEN
        DELETE FROM knowledge_insightscloseout WHERE postmortem_id = pm;
    ELSE
        INSERT INTO knowledge_insightscloseout (postmortem_id, closed_utc) VALUES (pm, found)
        ON CONFLICT (postmortem_id) DO UPDATE SET closed_utc = EXCLUDED.closed_utc;
    END IF;
END $fn$;

-- An item is open at a moment when it was created by then and its latest status event at
-- or before then (by time, then id) did not close it; a change is where that flips.
CREATE FUNCTION scarlog_insights_refresh_item(item bigint) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $fn$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('scarlog-insights-item:' || item::text, 0));
    DELETE FROM knowledge_insightsopenchange WHERE item_id = item;
    INSERT INTO knowledge_insightsopenchange (item_id, at, postmortem_id, d)
    WITH it AS (
        SELECT a.id, a.created_utc, a.postmortem_id FROM incidents_actionitem a
        WHERE a.id = item),
    ev AS (
        SELECT DISTINCT ON (e.at_utc) e.at_utc AS at,
               split_part(e.change, ';', 1) ~ {CLOSING} AS closed
        FROM incidents_actionitemevent e
        WHERE e.item_id = item AND e.change LIKE 'status:%'
        ORDER BY e.at_utc, e.id DESC),
    moments AS (
        SELECT at, bool_or(closed) FILTER (WHERE closed IS NOT NULL) AS closed
        FROM (SELECT at, closed FROM ev
              UNION ALL SELECT created_utc, NULL FROM it) both_kinds
        GROUP BY at),
    carried AS (
        SELECT at, count(closed) OVER (ORDER BY at) AS grp, closed FROM moments),
    state AS (
        SELECT c.at, c.at >= it.created_utc AND NOT COALESCE(
                   first_value(c.closed) OVER (PARTITION BY c.grp ORDER BY c.at), false)
               AS open
        FROM carried c CROSS JOIN it)
    SELECT item, s.at, it.postmortem_id, CASE WHEN s.open THEN 1 ELSE -1 END
    FROM (SELECT at, open, lag(open, 1, false) OVER (ORDER BY at) AS before FROM state) s
    CROSS JOIN it
    WHERE s.open <> s.before;
END $fn$;

CREATE FUNCTION scarlog_insights_item_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $fn$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM scarlog_insights_refresh_item(OLD.id);
        PERFORM scarlog_insights_refresh_closeout(OLD.postmortem_id);
        RETURN NULL;
    END IF;
    PERFORM scarlog_insights_refresh_item(NEW.id);
    PERFORM scarlog_insights_refresh_closeout(NEW.postmortem_id);
    IF TG_OP = 'UPDATE' AND OLD.postmortem_id IS DISTINCT FROM NEW.postmortem_id THEN
        PERFORM scarlog_insights_refresh_closeout(OLD.postmortem_id);
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.id <> NEW.id THEN
        PERFORM scarlog_insights_refresh_item(OLD.id);
    END IF;
    RETURN NULL;
END $fn$;

CREATE FUNCTION scarlog_insights_item_event_added() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $fn$
BEGIN
    IF NEW.change LIKE 'status:%' THEN
        PERFORM scarlog_insights_refresh_item(NEW.item_id);
        PERFORM scarlog_insights_refresh_closeout(
            (SELECT postmortem_id FROM incidents_actionitem WHERE id = NEW.item_id));
    END IF;
    RETURN NULL;
END $fn$;

CREATE TRIGGER insights_rollup AFTER INSERT OR UPDATE OR DELETE ON incidents_actionitem
    FOR EACH ROW EXECUTE FUNCTION scarlog_insights_item_changed();
CREATE TRIGGER insights_rollup AFTER INSERT ON incidents_actionitemevent
    FOR EACH ROW EXECUTE FUNCTION scarlog_insights_item_event_added();
"""

# Every rollup row recomputed set-wise from the raw rows, by the same rules as the refresh
# functions: the backfill inserts them, and tests/test_insights_rollups.py compares the
# tables with them after every change.
CLOSEOUT_ROWS = f"""
WITH last_close AS (
    SELECT e.item_id, MAX(e.at_utc) AS at FROM incidents_actionitemevent e
    WHERE e.change LIKE 'status:%' AND split_part(e.change, ';', 1) ~ {CLOSING}
    GROUP BY e.item_id)
SELECT i.postmortem_id, MAX(COALESCE(lc.at, i.updated_utc))
FROM incidents_actionitem i LEFT JOIN last_close lc ON lc.item_id = i.id
GROUP BY i.postmortem_id
HAVING bool_and(i.status IN ('shipped', 'dropped')) AND bool_or(i.status = 'shipped')
"""

OPENCHANGE_ROWS = f"""
WITH ev AS (
    SELECT DISTINCT ON (e.item_id, e.at_utc) e.item_id, e.at_utc AS at,
           split_part(e.change, ';', 1) ~ {CLOSING} AS closed
    FROM incidents_actionitemevent e
    WHERE e.change LIKE 'status:%'
    ORDER BY e.item_id, e.at_utc, e.id DESC),
moments AS (
    SELECT item_id, at, bool_or(closed) FILTER (WHERE closed IS NOT NULL) AS closed
    FROM (SELECT item_id, at, closed FROM ev
          UNION ALL SELECT id, created_utc, NULL FROM incidents_actionitem) both_kinds
    GROUP BY item_id, at),
carried AS (
    SELECT item_id, at, count(closed) OVER (PARTITION BY item_id ORDER BY at) AS grp, closed
    FROM moments),
state AS (
    SELECT c.item_id, c.at, i.postmortem_id,
           c.at >= i.created_utc AND NOT COALESCE(
               first_value(c.closed) OVER (PARTITION BY c.item_id, c.grp ORDER BY c.at),
               false) AS open
    FROM carried c JOIN incidents_actionitem i ON i.id = c.item_id)
SELECT item_id, at, postmortem_id, CASE WHEN open THEN 1 ELSE -1 END
FROM (SELECT item_id, at, postmortem_id, open,
             lag(open, 1, false) OVER (PARTITION BY item_id ORDER BY at) AS before
      FROM state) s
WHERE open <> before
"""

BACKFILL = f"""
INSERT INTO knowledge_insightscloseout (postmortem_id, closed_utc) {CLOSEOUT_ROWS};
INSERT INTO knowledge_insightsopenchange (item_id, at, postmortem_id, d) {OPENCHANGE_ROWS};
ANALYZE knowledge_insightscloseout;
ANALYZE knowledge_insightsopenchange;
"""

BACKWARD = """
DROP TRIGGER IF EXISTS insights_rollup ON incidents_actionitem;
DROP TRIGGER IF EXISTS insights_rollup ON incidents_actionitemevent;
DROP FUNCTION IF EXISTS scarlog_insights_item_changed();
DROP FUNCTION IF EXISTS scarlog_insights_item_event_added();
DROP FUNCTION IF EXISTS scarlog_insights_refresh_item(bigint);
DROP FUNCTION IF EXISTS scarlog_insights_refresh_closeout(uuid);
DROP TABLE IF EXISTS knowledge_insightsopenchange;
DROP TABLE IF EXISTS knowledge_insightscloseout;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FORWARD, params=None)
    schema_editor.execute(BACKFILL, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0029_insights_generation_triggers"),
        ("knowledge", "0005_insights_generation"),
    ]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
