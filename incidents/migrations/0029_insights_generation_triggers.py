"""The insights generation's triggers on this app's tables (docs/rules.md#insights-precomputed):
every change to a row the insights read raises the counter in the writing transaction. The
postmortem table is watched for final rows only (drafts autosave all day and count in no
figure); a final record's timeline, factors and references cannot change, and the
finalizing UPDATE itself raises the counter. The functions are knowledge's (0005). SQLite
(the demo) gets none."""

from django.db import migrations

WATCHED = ["incidents_actionitem", "incidents_actionitemevent", "incidents_meeting",
           "incidents_classification"]

FORWARD = """
CREATE TRIGGER insights_generation_insert AFTER INSERT ON incidents_postmortem
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION scarlog_insights_bump_final_insert();
CREATE TRIGGER insights_generation_update AFTER UPDATE ON incidents_postmortem
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION scarlog_insights_bump_final_change();
CREATE TRIGGER insights_generation_delete AFTER DELETE ON incidents_postmortem
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION scarlog_insights_bump_final_delete();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS insights_generation_insert ON incidents_postmortem;
DROP TRIGGER IF EXISTS insights_generation_update ON incidents_postmortem;
DROP TRIGGER IF EXISTS insights_generation_delete ON incidents_postmortem;
"""
WATCH = """
CREATE TRIGGER insights_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION scarlog_insights_bump();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FORWARD)
    for table in WATCHED:
        schema_editor.execute(WATCH.format(table=table))


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(BACKWARD)
    for table in WATCHED:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS insights_generation ON {table};")


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0028_live_change_editor"),
        ("knowledge", "0005_insights_generation"),
    ]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
