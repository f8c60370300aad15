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
WATCHED = [
    "incidents_actionitem", "incidents_actionitemevent", "incidents_meeting",
    "incidents_classification", "costlog_mishapentry", "costlog_entrypattern",
    "costlog_rootpattern", "knowledge_knowledgeentry", "knowledge_knowledgeentry_postmortems",
]

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

CREATE FUNCTION knowledge_insights_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE knowledge_insightsgeneration SET generation = nextval('knowledge_insights_generation_seq') WHERE id = 1;
    RETURN NULL;
END $$;

CREATE FUNCTION knowledge_insights_bump_final_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows WHERE status = 'final') THEN
        UPDATE knowledge_insightsgeneration SET generation = nextval('knowledge_insights_generation_seq') WHERE id = 1;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION knowledge_insights_bump_final_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows WHERE status = 'final')
       OR EXISTS (SELECT 1 FROM old_rows WHERE status = 'final') THEN
        UPDATE knowledge_insightsgeneration SET generation = nextval('knowledge_insights_generation_seq') WHERE id = 1;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER insights_generation_insert AFTER INSERT ON incidents_postmortem
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION knowledge_insights_bump_final_insert();
CREATE TRIGGER insights_generation_update AFTER UPDATE ON incidents_postmortem
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION knowledge_insights_bump_final_change();
CREATE TRIGGER insights_generation_delete AFTER DELETE ON incidents_postmortem
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION knowledge_insights_bump_final_delete();
"""

FINAL_DELETE = """
CREATE FUNCTION knowledge_insights_bump_final_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM old_rows WHERE status = 'final') THEN
        UPDATE knowledge_insightsgeneration SET generation = nextval('knowledge_insights_generation_seq') WHERE id = 1;
    END IF;
    RETURN NULL;
END $$;
"""

WATCH = """
CREATE TRIGGER insights_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION knowledge_insights_bump();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS insights_generation_insert ON incidents_postmortem;
DROP TRIGGER IF EXISTS insights_generation_update ON incidents_postmortem;
DROP TRIGGER IF EXISTS insights_generation_delete ON incidents_postmortem;
{drops}
DROP FUNCTION IF EXISTS knowledge_insights_bump();
DROP FUNCTION IF EXISTS knowledge_insights_bump_final_insert();
DROP FUNCTION IF EXISTS knowledge_insights_bump_final_change();
DROP FUNCTION IF EXISTS knowledge_insights_bump_final_delete();
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
    dependencies = [
        ("knowledge", "0004_search_vectors"),
        ("incidents", "0024_history_for_items_and_domains"),
        ("costlog", "0005_text_limits"),
    ]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
