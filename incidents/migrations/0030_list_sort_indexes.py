"""Indexes in the postmortem list's orderings (docs/rules.md#template-list, issue 23), so a
page of fifty is read from an index in its order instead of sorting every postmortem:
newest first (the default) and event time either way, each ending with the list's tie
break (created_utc DESC, id). The event orderings put undated postmortems last, which
SQLite's CREATE INDEX cannot say: PostgreSQL only; the demo's few rows need no index."""

from django.db import migrations

INDEXES = {
    "postmortem_list_newest": "(created_utc DESC, id)",
    "postmortem_list_event": "(occurred_utc ASC NULLS LAST, created_utc DESC, id)",
    "postmortem_list_event_desc": "(occurred_utc DESC NULLS LAST, created_utc DESC, id)",
}


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, columns in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON incidents_postmortem "
                              f"{columns}")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("incidents", "0029_insights_generation_triggers")]

    operations = [migrations.RunPython(forward, backward)]
