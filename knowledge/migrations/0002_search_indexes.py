"""GIN indexes for full-text search (knowledge.search), on PostgreSQL only.

Each index is on exactly the expression knowledge.search queries, so the planner uses it.
The SQLite demo searches without an index (substring match).
"""
from django.db import migrations

from knowledge.search import SOURCES, index_sql


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for source in SOURCES:
        schema_editor.execute(index_sql(source)[0])


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for source in SOURCES:
        schema_editor.execute(index_sql(source)[1])


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0001_initial"),
        ("runbooks", "0001_initial"),
        ("incidents", "0007_meeting_mode_scan_blameless_revisions"),
    ]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
