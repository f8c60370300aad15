"""The insights cost rollups' triggers on this app's tables
(docs/rules.md#insights-precomputed): a pattern link inserted for a current entry adds its
figures to its pattern's month and postmortem; an entry inserted as a correction takes the
corrected entry's links away. The functions and tables are knowledge's (0006). The
rollups are filled from the raw rows in this migration's transaction, after the triggers
exist, so no entry slips between. SQLite (the demo) gets none."""

from django.db import migrations

FORWARD = """
CREATE TRIGGER insights_rollup AFTER INSERT ON costlog_entrypattern
    FOR EACH ROW EXECUTE FUNCTION scarlog_insights_cost_link_added();
CREATE TRIGGER insights_rollup AFTER INSERT ON costlog_mishapentry
    FOR EACH ROW WHEN (NEW.corrects_id IS NOT NULL)
    EXECUTE FUNCTION scarlog_insights_cost_entry_added();
SELECT scarlog_insights_backfill_cost();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS insights_rollup ON costlog_entrypattern;
DROP TRIGGER IF EXISTS insights_rollup ON costlog_mishapentry;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("costlog", "0006_insights_generation_triggers"),
        ("knowledge", "0006_insights_rollups"),
    ]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
