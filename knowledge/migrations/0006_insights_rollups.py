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
recomputes from what the first committed. The locks are buckets (512 for postmortems,
512 for items, 512 for cost entries: the two-key form, classes 72101-72103), so one
transaction holds at most 1,536 of them however many rows it writes: a bulk import of
thousands of items never runs out of PostgreSQL's shared lock table ("out of shared
memory"), at the price of two unrelated rows in one bucket taking turns.

- knowledge_insightscost: per root pattern and UTC month, the sums (USD) of the current
  cost entries' figures (an entry no correction replaced), and knowledge_insightspatternpm:
  per root pattern and postmortem, how many current entries link them. The cost log is
  append-only and an entry is corrected at most once (corrects_id is unique), so a link
  inserted for a current entry adds its figures, and a correction subtracts the corrected
  entry's links; both under an advisory lock on the entry, so a link and a correction of
  the same entry in two transactions serialize.

The tables are models (knowledge.models, so a flush truncates them with their sources)
and the functions are here; each app's migration puts the triggers on its own
tables and fills the rollups in the same transaction (incidents 0030, costlog 0007), so no
change slips between the fill and the first trigger. SQLite (the demo) gets none: its
figures come from the raw rows every time."""

from django.db import migrations, models

CLOSING = r"'^status:.*→ (shipped|dropped)$'"

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

COST_ROWS = """
SELECT l.pattern_id, to_char(l.occurred_utc AT TIME ZONE 'UTC', 'YYYY-MM'),
       sum(l.cost_low_usd), sum(l.cost_high_usd), count(*)
FROM costlog_entrypattern l
WHERE NOT EXISTS (SELECT 1 FROM costlog_mishapentry c WHERE c.corrects_id = l.entry_id)
GROUP BY 1, 2
"""

PATTERN_PM_ROWS = """
SELECT l.pattern_id, l.postmortem_id, count(*)
FROM costlog_entrypattern l
WHERE l.postmortem_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM costlog_mishapentry c WHERE c.corrects_id = l.entry_id)
GROUP BY 1, 2
"""

FORWARD = f"""
CREATE FUNCTION scarlog_insights_refresh_closeout(pm uuid) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $fn$
DECLARE
    found timestamptz;
BEGIN
    IF pm IS NULL THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(72101, hashtext(pm::text) & 511);
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
    PERFORM pg_advisory_xact_lock(72102, hashtext(item::text) & 511);
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

-- One link's figures added (sign 1) or taken away (-1) from the cost rollups.
CREATE FUNCTION scarlog_insights_cost_add(link costlog_entrypattern, sign integer) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $fn$
BEGIN
    INSERT INTO knowledge_insightscost AS c (pattern_id, month, low, high, links)
    VALUES (link.pattern_id, to_char(link.occurred_utc AT TIME ZONE 'UTC', 'YYYY-MM'),
            sign * link.cost_low_usd, sign * link.cost_high_usd, sign)
    ON CONFLICT (pattern_id, month) DO UPDATE
        SET low = c.low + EXCLUDED.low, high = c.high + EXCLUDED.high,
            links = c.links + EXCLUDED.links;
    DELETE FROM knowledge_insightscost
    WHERE pattern_id = link.pattern_id
      AND month = to_char(link.occurred_utc AT TIME ZONE 'UTC', 'YYYY-MM') AND links = 0;
    IF link.postmortem_id IS NOT NULL THEN
        INSERT INTO knowledge_insightspatternpm AS p (pattern_id, postmortem_id, links)
        VALUES (link.pattern_id, link.postmortem_id, sign)
        ON CONFLICT (pattern_id, postmortem_id) DO UPDATE SET links = p.links + EXCLUDED.links;
        DELETE FROM knowledge_insightspatternpm
        WHERE pattern_id = link.pattern_id AND postmortem_id = link.postmortem_id
          AND links = 0;
    END IF;
END $fn$;

CREATE FUNCTION scarlog_insights_cost_link_added() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $fn$
BEGIN
    PERFORM pg_advisory_xact_lock(72103, hashtext(NEW.entry_id::text) & 511);
    IF NOT EXISTS (SELECT 1 FROM costlog_mishapentry WHERE corrects_id = NEW.entry_id) THEN
        PERFORM scarlog_insights_cost_add(NEW, 1);
    END IF;
    RETURN NULL;
END $fn$;

CREATE FUNCTION scarlog_insights_cost_entry_added() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $fn$
DECLARE
    link costlog_entrypattern;
BEGIN
    IF NEW.corrects_id IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM pg_advisory_xact_lock(72103, hashtext(NEW.corrects_id::text) & 511);
    FOR link IN SELECT * FROM costlog_entrypattern WHERE entry_id = NEW.corrects_id LOOP
        PERFORM scarlog_insights_cost_add(link, -1);
    END LOOP;
    RETURN NULL;
END $fn$;

CREATE FUNCTION scarlog_insights_backfill_items() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $fn$
BEGIN
    DELETE FROM knowledge_insightscloseout;
    DELETE FROM knowledge_insightsopenchange;
    INSERT INTO knowledge_insightscloseout (postmortem_id, closed_utc) {CLOSEOUT_ROWS};
    INSERT INTO knowledge_insightsopenchange (item_id, at, postmortem_id, d) {OPENCHANGE_ROWS};
END $fn$;

CREATE FUNCTION scarlog_insights_backfill_cost() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $fn$
BEGIN
    DELETE FROM knowledge_insightscost;
    DELETE FROM knowledge_insightspatternpm;
    INSERT INTO knowledge_insightscost (pattern_id, month, low, high, links) {COST_ROWS};
    INSERT INTO knowledge_insightspatternpm (pattern_id, postmortem_id, links) {PATTERN_PM_ROWS};
END $fn$;
"""

BACKWARD = """
DROP FUNCTION IF EXISTS scarlog_insights_backfill_items();
DROP FUNCTION IF EXISTS scarlog_insights_backfill_cost();
DROP FUNCTION IF EXISTS scarlog_insights_cost_link_added();
DROP FUNCTION IF EXISTS scarlog_insights_cost_entry_added();
DROP FUNCTION IF EXISTS scarlog_insights_cost_add(costlog_entrypattern, integer);
DROP FUNCTION IF EXISTS scarlog_insights_item_changed();
DROP FUNCTION IF EXISTS scarlog_insights_item_event_added();
DROP FUNCTION IF EXISTS scarlog_insights_refresh_item(bigint);
DROP FUNCTION IF EXISTS scarlog_insights_refresh_closeout(uuid);
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0029_insights_generation_triggers"),
        ("knowledge", "0005_insights_generation"),
        ("costlog", "0006_insights_generation_triggers"),
    ]

    operations = [
        migrations.CreateModel(
            name='InsightsCloseOut',
            fields=[
                ('postmortem_id', models.UUIDField(primary_key=True, serialize=False)),
                ('closed_utc', models.DateTimeField()),
            ],
            options={
                'db_table': 'knowledge_insightscloseout',
            },
        ),
        migrations.CreateModel(
            name='InsightsCost',
            fields=[
                ('pk', models.CompositePrimaryKey('pattern_id', 'month', blank=True, editable=False, primary_key=True, serialize=False)),
                ('pattern_id', models.BigIntegerField()),
                ('month', models.CharField(max_length=7)),
                ('low', models.DecimalField(decimal_places=2, max_digits=20)),
                ('high', models.DecimalField(decimal_places=2, max_digits=20)),
                ('links', models.IntegerField()),
            ],
            options={
                'db_table': 'knowledge_insightscost',
            },
        ),
        migrations.CreateModel(
            name='InsightsPatternPostmortem',
            fields=[
                ('pk', models.CompositePrimaryKey('pattern_id', 'postmortem_id', blank=True, editable=False, primary_key=True, serialize=False)),
                ('pattern_id', models.BigIntegerField()),
                ('postmortem_id', models.UUIDField()),
                ('links', models.IntegerField()),
            ],
            options={
                'db_table': 'knowledge_insightspatternpm',
            },
        ),
        migrations.CreateModel(
            name='InsightsOpenChange',
            fields=[
                ('pk', models.CompositePrimaryKey('item_id', 'at', blank=True, editable=False, primary_key=True, serialize=False)),
                ('item_id', models.BigIntegerField()),
                ('at', models.DateTimeField()),
                ('postmortem_id', models.UUIDField()),
                ('d', models.SmallIntegerField()),
            ],
            options={
                'db_table': 'knowledge_insightsopenchange',
                'indexes': [models.Index(fields=['postmortem_id'], include=('at', 'd'), name='insights_openchange_by_pm')],
                'constraints': [models.CheckConstraint(condition=models.Q(('d__in', [-1, 1])), name='insights_openchange_d')],
            },
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]
