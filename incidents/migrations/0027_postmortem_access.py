"""Private postmortems: PostmortemAccess, the append-only access history of a postmortem.

Hand-written guards in 0019's and 0024's style (no setting read, search_path pinned with
pg_temp last; nothing on SQLite), docs/rules.md#database-guards and
docs/rules.md#private-postmortems:
- UPDATE and TRUNCATE are refused for every role; a row may be DELETEd only when its
  postmortem's row is gone too at commit (discarding a draft), a deferred constraint trigger
  like the field revisions';
- an INSERT names a JSON array of group ids; for a final postmortem it may only restrict
  or tighten: a non-empty list, contained in the latest list when one restricts it already.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

_FUNCTION = ("CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql "
             "SET search_path = pg_catalog, public, pg_temp AS $guard$ "
             "DECLARE previous jsonb; BEGIN {body} END; $guard$")

FUNCTIONS = {
    "scarlog_access_only_tightens_final": (
        "IF jsonb_typeof(NEW.group_ids) IS DISTINCT FROM 'array' THEN RAISE EXCEPTION "
        "'access change of postmortem %: group_ids must be a JSON array', NEW.postmortem_id "
        "USING ERRCODE = 'check_violation'; END IF; "
        "PERFORM 1 FROM incidents_postmortem WHERE id = NEW.postmortem_id "
        "AND status = 'final' FOR SHARE; IF NOT FOUND THEN RETURN NEW; END IF; "
        "IF jsonb_array_length(NEW.group_ids) = 0 THEN RAISE EXCEPTION 'final postmortem %: "
        "access can only be restricted or tightened, never lifted', NEW.postmortem_id "
        "USING ERRCODE = 'restrict_violation'; END IF; "
        "SELECT a.group_ids INTO previous FROM incidents_postmortemaccess a "
        "WHERE a.postmortem_id = NEW.postmortem_id ORDER BY a.id DESC LIMIT 1; "
        "IF previous IS NOT NULL AND jsonb_array_length(previous) > 0 "
        "AND NOT NEW.group_ids <@ previous THEN RAISE EXCEPTION 'final postmortem %: "
        "access can only be tightened to some of the groups it names already', "
        "NEW.postmortem_id USING ERRCODE = 'restrict_violation'; END IF; RETURN NEW;"),
    "scarlog_access_goes_with_its_draft": (
        "IF EXISTS (SELECT 1 FROM incidents_postmortem WHERE id = OLD.postmortem_id) THEN "
        "RAISE EXCEPTION 'access change % is append-only: it is deleted only with its "
        "discarded draft', OLD.id USING ERRCODE = 'restrict_violation'; END IF; "
        "RETURN NULL;"),
}
# (trigger, table, timing and events, FOR EACH … EXECUTE FUNCTION …); the append-only
# functions are 0019's.
TRIGGERS = [
    ("scarlog_access_only_tightens_final", "incidents_postmortemaccess", "BEFORE INSERT",
     "FOR EACH ROW EXECUTE FUNCTION scarlog_access_only_tightens_final()"),
    ("scarlog_append_only", "incidents_postmortemaccess", "BEFORE UPDATE",
     ("FOR EACH ROW EXECUTE FUNCTION scarlog_append_only('access history is append-only "
      "(change {id})')")),
    ("scarlog_append_only_truncate", "incidents_postmortemaccess", "BEFORE TRUNCATE",
     "FOR EACH STATEMENT EXECUTE FUNCTION scarlog_append_only_truncate()"),
]
CONSTRAINT_TRIGGERS = [
    ("scarlog_access_goes_with_its_draft", "incidents_postmortemaccess", "AFTER DELETE",
     ("DEFERRABLE INITIALLY DEFERRED "
      "FOR EACH ROW EXECUTE FUNCTION scarlog_access_goes_with_its_draft()")),
]
INSTALL = ([_FUNCTION.format(name=name, body=body) for name, body in FUNCTIONS.items()]
           + [f"CREATE TRIGGER {name} {events} ON {table} {tail}"
              for name, table, events, tail in TRIGGERS]
           + [f"CREATE CONSTRAINT TRIGGER {name} {events} ON {table} {tail}"
              for name, table, events, tail in CONSTRAINT_TRIGGERS])
UNINSTALL = ([f"DROP TRIGGER IF EXISTS {name} ON {table}"
              for name, table, _, _ in TRIGGERS + CONSTRAINT_TRIGGERS]
             + [f"DROP FUNCTION IF EXISTS {name}()" for name in FUNCTIONS])


def _on_postgresql(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        with schema_editor.connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ('incidents', '0026_live_feed'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='PostmortemAccess',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('group_ids', models.JSONField(default=list)),
                ('at_utc', models.DateTimeField(default=django.utils.timezone.now)),
                ('by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('postmortem', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='access_changes', to='incidents.postmortem')),
            ],
            options={
                'ordering': ['at_utc', 'id'],
            },
        ),
        migrations.RunPython(_on_postgresql(INSTALL), _on_postgresql(UNINSTALL)),
    ]
