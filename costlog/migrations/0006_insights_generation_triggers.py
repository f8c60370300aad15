"""The insights generation's triggers on this app's tables (docs/rules.md#insights-precomputed):
every change to a row the insights read raises the counter in the writing transaction.
The functions are knowledge's (0005). SQLite (the demo) gets none."""

from django.db import migrations

WATCHED = ["costlog_mishapentry", "costlog_entrypattern", "costlog_rootpattern"]

WATCH = """
CREATE TRIGGER insights_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION scarlog_insights_bump();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in WATCHED:
        schema_editor.execute(WATCH.format(table=table))


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in WATCHED:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS insights_generation ON {table};")


class Migration(migrations.Migration):
    dependencies = [
        ("costlog", "0005_text_limits"),
        ("knowledge", "0005_insights_generation"),
    ]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
