"""The insights generation (docs/rules.md#insights-precomputed): one counter that
PostgreSQL's triggers raise, in the writing transaction, on every change to a row the
insights read. knowledge.insights.cached_compute keys its precomputed figures by it, so a
change commits together with a new key and stale figures are never served. SQLite (the
demo) gets no table and no trigger: the figures are then computed on every request."""

from django.db import migrations

# Tables whose every change may move a figure. The postmortem table is watched for final
# rows only (drafts autosave all day; a draft counts in no figure). A final record's
# timeline, factors and references cannot change (docs/rules.md#final-immutable), and the
# finalizing UPDATE itself raises the counter, so those tables need no trigger.
# This app's own tables are watched here; incidents (0029) and costlog (0006) put the same
# triggers on theirs, calling the functions made here (an app touches only its own tables).
WATCHED = ["knowledge_knowledgeentry", "knowledge_knowledgeentry_postmortems"]

FORWARD = """
CREATE TABLE knowledge_insightsgeneration (
    id smallint PRIMARY KEY CHECK (id = 1),
    generation bigint NOT NULL,
    -- Names this database in cache keys: a database dropped and created again (its
    -- sequence restarting) never meets figures cached for the old one in a shared cache.
    instance uuid NOT NULL DEFAULT gen_random_uuid()
);
INSERT INTO knowledge_insightsgeneration (id, generation) VALUES (1, 0);
-- Values come from a sequence, which a rollback never rewinds: a generation seen by a
-- transaction that rolled back is never reused for other data.
CREATE SEQUENCE knowledge_insights_generation_seq;

CREATE FUNCTION scarlog_insights_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE knowledge_insightsgeneration SET generation = nextval('knowledge_insights_generation_seq') WHERE id = 1;
    RETURN NULL;
END $$;

CREATE FUNCTION scarlog_insights_bump_final_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows WHERE status = 'final') THEN
        UPDATE knowledge_insightsgeneration SET generation = nextval('knowledge_insights_generation_seq') WHERE id = 1;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION scarlog_insights_bump_final_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows WHERE status = 'final')
       OR EXISTS (SELECT 1 FROM old_rows WHERE status = 'final') THEN
        UPDATE knowledge_insightsgeneration SET generation = nextval('knowledge_insights_generation_seq') WHERE id = 1;
    END IF;
    RETURN NULL;
END $$;

"""

FINAL_DELETE = """
CREATE FUNCTION scarlog_insights_bump_final_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM old_rows WHERE status = 'final') THEN
        UPDATE knowledge_insightsgeneration SET generation = nextval('knowledge_insights_generation_seq') WHERE id = 1;
    END IF;
    RETURN NULL;
END $$;
"""

WATCH = """
CREATE TRIGGER insights_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION scarlog_insights_bump();
"""

BACKWARD = """
{drops}
DROP FUNCTION IF EXISTS scarlog_insights_bump();
DROP FUNCTION IF EXISTS scarlog_insights_bump_final_insert();
DROP FUNCTION IF EXISTS scarlog_insights_bump_final_change();
DROP FUNCTION IF EXISTS scarlog_insights_bump_final_delete();
DROP TABLE IF EXISTS knowledge_insightsgeneration;
DROP SEQUENCE IF EXISTS knowledge_insights_generation_seq;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FINAL_DELETE)
    schema_editor.execute(FORWARD)
    for table in WATCHED:
        schema_editor.execute(WATCH.format(table=table))


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    drops = "\n".join(f"DROP TRIGGER IF EXISTS insights_generation ON {t};" for t in WATCHED)
    schema_editor.execute(BACKWARD.format(drops=drops))


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0004_search_vectors")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
