"""A runbook cannot drift from its history, and a checklist run is a record
(docs/rules.md#database-guards).

runbooks_runbook gains current_revision (backfilled with each runbook's newest revision).
On PostgreSQL a hand-written trigger refuses an UPDATE of runbooks_runbook that changes a
field a revision holds (title, perspective, tags, depends_on, key_files, last_updated,
body) or current_revision, unless current_revision then names the newest revision of that
runbook, newer than the one before, holding exactly the new values; the app writes the
revision first. runbooks_checklistrun refuses UPDATE, DELETE and TRUNCATE (the app never
changes a run once it is created). No trigger reads a setting; search_path is pinned with
pg_temp last. Nothing on SQLite (the demo) but the backfill.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

_DOCUMENT = ("title", "perspective", "tags", "depends_on", "key_files", "last_updated", "body")


def _row(alias: str) -> str:
    return "(" + ", ".join(f"{alias}.{name}" for name in _DOCUMENT) + ")"


REFUSAL = ("runbook % changes only with a new revision: title, perspective, tags, depends_on, "
           "key_files, last_updated and body must equal its newest revision, which "
           "current_revision must name")
RUNBOOK_GUARD = f"""
CREATE OR REPLACE FUNCTION scarlog_runbook_follows_revision() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $guard$
DECLARE
    rev runbooks_runbookrevision%ROWTYPE;
BEGIN
    IF NEW.id <> OLD.id THEN
        RAISE EXCEPTION 'runbook % cannot change its id', OLD.key
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.current_revision_id IS NOT DISTINCT FROM OLD.current_revision_id
            AND {_row("NEW")} IS NOT DISTINCT FROM {_row("OLD")} THEN
        RETURN NEW;
    END IF;
    SELECT * INTO rev FROM runbooks_runbookrevision WHERE id = NEW.current_revision_id;
    IF NOT FOUND OR rev.runbook_id <> NEW.id
            OR EXISTS (SELECT 1 FROM runbooks_runbookrevision newer
                       WHERE newer.runbook_id = NEW.id AND newer.number > rev.number)
            OR rev.number <= COALESCE((SELECT previous.number
                                       FROM runbooks_runbookrevision previous
                                       WHERE previous.id = OLD.current_revision_id), 0)
            OR {_row("rev")} IS DISTINCT FROM {_row("NEW")} THEN
        RAISE EXCEPTION '{REFUSAL}', OLD.key
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END; $guard$
"""
INSTALL = [
    RUNBOOK_GUARD,
    ("CREATE TRIGGER scarlog_follows_revision BEFORE UPDATE ON runbooks_runbook "
     "FOR EACH ROW EXECUTE FUNCTION scarlog_runbook_follows_revision()"),
    # The functions of 0003_database_guards.
    ("CREATE TRIGGER scarlog_append_only BEFORE UPDATE OR DELETE ON runbooks_checklistrun "
     "FOR EACH ROW EXECUTE FUNCTION "
     "scarlog_runbooks_append_only('checklist run {id} is append-only')"),
    ("CREATE TRIGGER scarlog_append_only_truncate BEFORE TRUNCATE ON runbooks_checklistrun "
     "FOR EACH STATEMENT EXECUTE FUNCTION scarlog_runbooks_append_only_truncate()"),
]
UNINSTALL = [
    "DROP TRIGGER IF EXISTS scarlog_append_only_truncate ON runbooks_checklistrun",
    "DROP TRIGGER IF EXISTS scarlog_append_only ON runbooks_checklistrun",
    "DROP TRIGGER IF EXISTS scarlog_follows_revision ON runbooks_runbook",
    "DROP FUNCTION IF EXISTS scarlog_runbook_follows_revision()",
]


def _on_postgresql(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        with schema_editor.connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    return run


def point_at_newest_revision(apps, schema_editor):
    runbook = apps.get_model("runbooks", "Runbook")
    revision = apps.get_model("runbooks", "RunbookRevision")
    newest = revision.objects.filter(runbook=OuterRef("pk")).order_by("-number")
    runbook.objects.update(current_revision=Subquery(newest.values("pk")[:1]))


class Migration(migrations.Migration):

    dependencies = [
        ('runbooks', '0004_text_limits'),
    ]

    operations = [
        migrations.AddField(
            model_name='runbook',
            name='current_revision',
            field=models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='runbooks.runbookrevision'),
        ),
        migrations.RunPython(point_at_newest_revision, migrations.RunPython.noop,
                             elidable=False),
        migrations.RunPython(_on_postgresql(INSTALL), _on_postgresql(UNINSTALL),
                             elidable=False),
    ]
