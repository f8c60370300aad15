"""The cost log's append-only tables and the copy of an entry's figures into its pattern
links, as hand-written PostgreSQL triggers with no switch a role can set (the pgtrigger
triggers they replace read pgtrigger.ignore, which any role may SET LOCAL;
docs/rules.md#database-guards). Nothing on SQLite (the demo).
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
    # TG_ARGV[0]: the noun of the refusal.
    "scarlog_costlog_append_only": (
        "RAISE EXCEPTION '% % is append-only; add a correction instead', TG_ARGV[0], OLD.id "
        "USING ERRCODE = 'restrict_violation';"),
    "scarlog_costlog_append_only_truncate": (
        "RAISE EXCEPTION '% is append-only; cannot truncate it', TG_TABLE_NAME "
        "USING ERRCODE = 'restrict_violation';"),
    # An entry pattern's figures are the entry's, whatever the INSERT says.
    "scarlog_copy_entry_figures": (
        "SELECT occurred_utc, cost_low_usd, cost_high_usd, near_miss, postmortem_id "
        "INTO NEW.occurred_utc, NEW.cost_low_usd, NEW.cost_high_usd, NEW.near_miss, "
        "NEW.postmortem_id FROM costlog_mishapentry WHERE id = NEW.entry_id; "
        "IF NOT FOUND THEN RAISE EXCEPTION 'mishap entry % does not exist', NEW.entry_id "
        "USING ERRCODE = 'foreign_key_violation'; END IF; RETURN NEW;"),
}
_APPEND_ONLY = {
    "costlog_resourcerate": "resource rate",
    "costlog_mishapentry": "mishap entry",
    "costlog_entrypattern": "entry pattern",
    "costlog_mishapresource": "mishap resource",
}
TRIGGERS = [
    *[("scarlog_append_only", table, "BEFORE UPDATE OR DELETE",
       f"FOR EACH ROW EXECUTE FUNCTION scarlog_costlog_append_only('{noun}')")
      for table, noun in _APPEND_ONLY.items()],
    *[("scarlog_append_only_truncate", table, "BEFORE TRUNCATE",
       "FOR EACH STATEMENT EXECUTE FUNCTION scarlog_costlog_append_only_truncate()")
      for table in _APPEND_ONLY],
    ("scarlog_copy_entry_figures", "costlog_entrypattern", "BEFORE INSERT",
     "FOR EACH ROW EXECUTE FUNCTION scarlog_copy_entry_figures()"),
]
INSTALL = ([_FUNCTION.format(name=name, body=body) for name, body in FUNCTIONS.items()]
           + [f"CREATE TRIGGER {name} {events} ON {table} {tail}"
              for name, table, events, tail in TRIGGERS])
UNINSTALL = ([f"DROP TRIGGER IF EXISTS {name} ON {table}" for name, table, _, _ in TRIGGERS]
             + [f"DROP FUNCTION IF EXISTS {name}()" for name in FUNCTIONS])


class Migration(migrations.Migration):

    dependencies = [
        ('costlog', '0003_totals_covering_indexes'),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(
            model_name='entrypattern',
            name='append_only_rows',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='entrypattern',
            name='append_only_truncate',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='entrypattern',
            name='copy_entry_figures',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='mishapentry',
            name='append_only_rows',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='mishapentry',
            name='append_only_truncate',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='mishapresource',
            name='append_only_rows',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='mishapresource',
            name='append_only_truncate',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='resourcerate',
            name='append_only_rows',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='resourcerate',
            name='append_only_truncate',
        ),
        migrations.RunPython(_on_postgresql(INSTALL), _on_postgresql(UNINSTALL),
                             elidable=False),
    ]
