"""Once: GIN indexes for full-text search on the searched tables of every app. Now a
no-op that keeps its name, so databases that applied it stay consistent.

Each table's search vector and its index belong to the app that owns the table:
incidents 0015, knowledge 0004 and runbooks 0002 add them, and drop what this migration
used to create (indexes search_<model> on to_tsvector of the document) where it exists.
"""
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0001_initial"),
        ("runbooks", "0001_initial"),
        ("incidents", "0007_meeting_mode_scan_blameless_revisions"),
    ]

    operations = []
