"""Once: a generated `search_vector` column on every searched table of every app, with
the GIN index moved onto it. Now a no-op that keeps its name, so databases that applied
it stay consistent.

Each table's search vector belongs to the app that owns the table: incidents 0015,
knowledge 0004 and runbooks 0002 add it (kept by a trigger), and on a database where
this migration ran they keep its column's values and replace its index.
"""
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0002_search_indexes")]

    operations = []
