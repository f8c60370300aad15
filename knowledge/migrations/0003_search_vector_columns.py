"""Full-text search reads stored tsvectors (PostgreSQL only): each searched table gets a
generated `search_vector` column and the GIN index moves onto it (knowledge.search).

Ranking a common word over 100,000 postmortems parsed every matching row's text again;
the stored vector is parsed once, when the row is written. The SQLite demo is unchanged.
"""
from django.db import migrations

from knowledge.search import SOURCES, vector_column_sql


def add_columns(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for source in SOURCES:
        for statement in vector_column_sql(source)[0]:
            schema_editor.execute(statement)


def drop_columns(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for source in SOURCES:
        for statement in vector_column_sql(source)[1]:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0002_search_indexes")]

    operations = [migrations.RunPython(add_columns, drop_columns)]
