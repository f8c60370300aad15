"""The insights rollups' triggers on this app's tables (docs/rules.md#insights-precomputed):
every item inserted, updated or deleted and every status event inserted refreshes its
item's open changes and its postmortem's close-out, in the writing transaction. The
functions and tables are knowledge's (0006). The rollups are filled from the raw rows in
this migration's transaction, after the triggers exist (CREATE TRIGGER holds off writers
until commit), so no change slips between. SQLite (the demo) gets none."""

from django.db import migrations

FORWARD = """
CREATE TRIGGER insights_rollup AFTER INSERT OR DELETE ON incidents_actionitem
    FOR EACH ROW EXECUTE FUNCTION scarlog_insights_item_changed();
-- An update refreshes only when a column the rollups read changed (not, say, the gate
-- domain every item of a postmortem gets at finalize).
CREATE TRIGGER insights_rollup_update AFTER UPDATE ON incidents_actionitem
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
                       OR OLD.created_utc IS DISTINCT FROM NEW.created_utc
                       OR OLD.updated_utc IS DISTINCT FROM NEW.updated_utc
                       OR OLD.postmortem_id IS DISTINCT FROM NEW.postmortem_id
                       OR OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION scarlog_insights_item_changed();
CREATE TRIGGER insights_rollup AFTER INSERT ON incidents_actionitemevent
    FOR EACH ROW EXECUTE FUNCTION scarlog_insights_item_event_added();
SELECT scarlog_insights_backfill_items();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS insights_rollup ON incidents_actionitem;
DROP TRIGGER IF EXISTS insights_rollup_update ON incidents_actionitem;
DROP TRIGGER IF EXISTS insights_rollup ON incidents_actionitemevent;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0030_list_sort_indexes"),
        ("knowledge", "0006_insights_rollups"),
    ]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
