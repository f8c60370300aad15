"""Runbook revisions and checklist results are append-only: hand-written PostgreSQL
triggers refuse UPDATE, DELETE and TRUNCATE, for every role, with no setting that switches
them off (the pgtrigger Protect triggers they replace read pgtrigger.ignore, which any
role may SET LOCAL; docs/rules.md#database-guards). Nothing on SQLite (the demo).
"""

import pgtrigger.migrations
from django.db import migrations

_FUNCTION = ("CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql "
             "SET search_path = pg_catalog, public, pg_temp AS $guard$ BEGIN {body} END; "
             "$guard$")


def _on_postgresql(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        with schema_editor.connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    return run

FUNCTIONS = {
    # TG_ARGV[0]: the refusal, {id} standing for the row's id.
    "scarlog_runbooks_append_only": (
        "RAISE EXCEPTION USING MESSAGE = replace(TG_ARGV[0], '{id}', OLD.id::text), "
        "ERRCODE = 'restrict_violation';"),
    "scarlog_runbooks_append_only_truncate": (
        "RAISE EXCEPTION '% is append-only; cannot truncate it', TG_TABLE_NAME "
        "USING ERRCODE = 'restrict_violation';"),
}
_APPEND_ONLY = {
    "runbooks_runbookrevision": "runbook revision {id} is append-only",
    "runbooks_checklistresult": "checklist result {id} is append-only",
}
TRIGGERS = [
    *[("scarlog_append_only", table, "BEFORE UPDATE OR DELETE",
       f"FOR EACH ROW EXECUTE FUNCTION scarlog_runbooks_append_only('{message}')")
      for table, message in _APPEND_ONLY.items()],
    *[("scarlog_append_only_truncate", table, "BEFORE TRUNCATE",
       "FOR EACH STATEMENT EXECUTE FUNCTION scarlog_runbooks_append_only_truncate()")
      for table in _APPEND_ONLY],
]
INSTALL = ([_FUNCTION.format(name=name, body=body) for name, body in FUNCTIONS.items()]
           + [f"CREATE TRIGGER {name} {events} ON {table} {tail}"
              for name, table, events, tail in TRIGGERS])
UNINSTALL = ([f"DROP TRIGGER IF EXISTS {name} ON {table}" for name, table, _, _ in TRIGGERS]
             + [f"DROP FUNCTION IF EXISTS {name}()" for name in FUNCTIONS])


class Migration(migrations.Migration):

    dependencies = [
        ('runbooks', '0002_search_vector'),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(
            model_name='checklistresult',
            name='checklist_result_append_only',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='runbookrevision',
            name='runbook_revision_append_only',
        ),
        migrations.RunPython(_on_postgresql(INSTALL), _on_postgresql(UNINSTALL),
                             elidable=False),
    ]
