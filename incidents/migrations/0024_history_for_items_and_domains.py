"""History for every change of an action item and of a final postmortem's domain.

ActionItem.last_event names the ActionItemEvent written first for the item's current
state; PostmortemDomain.last_change names the DomainChange (new, append-only) written
for a domain. Hand-written guards, like 0019's (no setting read, search_path pinned with
pg_temp last; nothing on SQLite): an UPDATE of an action item that changes anything but
gate_domain and updated_utc must name a newer event of that item; an INSERT or UPDATE of
a final postmortem's domain must name a newer DomainChange of that postmortem to that
domain; DomainChange refuses UPDATE, DELETE and TRUNCATE (docs/rules.md#database-guards).
Existing items get their newest event as last_event, so an old event cannot be reused.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


_FUNCTION = ("CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql "
             "SET search_path = pg_catalog, public, pg_temp AS $guard$ BEGIN {body} END; "
             "$guard$")
_UNCHANGED = "'gate_domain' - 'updated_utc' - 'last_event_id'"

FUNCTIONS = {
    "scarlog_item_change_is_recorded": (
        "IF NEW.last_event_id IS NOT DISTINCT FROM OLD.last_event_id THEN "
        f"IF to_jsonb(NEW) - {_UNCHANGED} IS DISTINCT FROM to_jsonb(OLD) - {_UNCHANGED} "
        "THEN RAISE EXCEPTION 'action item % changed without a record: write its "
        "ActionItemEvent first and name it as last_event', OLD.id "
        "USING ERRCODE = 'restrict_violation'; END IF; RETURN NEW; END IF; "
        "IF NEW.last_event_id IS NULL OR NEW.last_event_id <= OLD.last_event_id THEN "
        "RAISE EXCEPTION 'action item %: last_event must be a newer event of the item', "
        "OLD.id USING ERRCODE = 'restrict_violation'; END IF; "
        "PERFORM 1 FROM incidents_actionitemevent WHERE id = NEW.last_event_id "
        "AND item_id = OLD.id; IF NOT FOUND THEN RAISE EXCEPTION 'action item %: event % "
        "is not an event of this item', OLD.id, NEW.last_event_id "
        "USING ERRCODE = 'restrict_violation'; END IF; RETURN NEW;"),
    "scarlog_final_domain_change_is_recorded": (
        "PERFORM 1 FROM incidents_postmortem WHERE id = NEW.postmortem_id "
        "AND status = 'final' FOR SHARE; IF NOT FOUND THEN RETURN NEW; END IF; "
        "IF TG_OP = 'UPDATE' AND to_jsonb(NEW) = to_jsonb(OLD) THEN RETURN NEW; END IF; "
        "IF NEW.last_change_id IS NULL OR (TG_OP = 'UPDATE' "
        "AND NEW.last_change_id <= OLD.last_change_id) THEN RAISE EXCEPTION 'the domain of "
        "final postmortem % changes only with a new DomainChange named as last_change', "
        "NEW.postmortem_id USING ERRCODE = 'restrict_violation'; END IF; "
        "PERFORM 1 FROM incidents_domainchange WHERE id = NEW.last_change_id "
        "AND postmortem_id = NEW.postmortem_id AND new_domain = NEW.domain; "
        "IF NOT FOUND THEN RAISE EXCEPTION 'domain change % does not record postmortem % "
        "moving to %', NEW.last_change_id, NEW.postmortem_id, NEW.domain "
        "USING ERRCODE = 'restrict_violation'; END IF; RETURN NEW;"),
}
# (trigger, table, timing and events, FOR EACH … EXECUTE FUNCTION …); the append-only
# functions are 0019's.
TRIGGERS = [
    ("scarlog_item_change_is_recorded", "incidents_actionitem", "BEFORE UPDATE",
     "FOR EACH ROW EXECUTE FUNCTION scarlog_item_change_is_recorded()"),
    ("scarlog_final_domain_change_is_recorded", "incidents_classification",
     "BEFORE INSERT OR UPDATE",
     "FOR EACH ROW EXECUTE FUNCTION scarlog_final_domain_change_is_recorded()"),
    ("scarlog_append_only", "incidents_domainchange", "BEFORE UPDATE OR DELETE",
     ("FOR EACH ROW EXECUTE FUNCTION scarlog_append_only('domain history is append-only "
      "(change {id})')")),
    ("scarlog_append_only_truncate", "incidents_domainchange", "BEFORE TRUNCATE",
     "FOR EACH STATEMENT EXECUTE FUNCTION scarlog_append_only_truncate()"),
]
INSTALL = ([_FUNCTION.format(name=name, body=body) for name, body in FUNCTIONS.items()]
           + [f"CREATE TRIGGER {name} {events} ON {table} {tail}"
              for name, table, events, tail in TRIGGERS])
UNINSTALL = ([f"DROP TRIGGER IF EXISTS {name} ON {table}" for name, table, _, _ in TRIGGERS]
             + [f"DROP FUNCTION IF EXISTS {name}()" for name in FUNCTIONS])
BACKFILL = ("UPDATE incidents_actionitem SET last_event_id = (SELECT MAX(e.id) FROM "
            "incidents_actionitemevent e WHERE e.item_id = incidents_actionitem.id)")


def _on_postgresql(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        with schema_editor.connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    return run


def _backfill(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(BACKFILL)


class Migration(migrations.Migration):

    dependencies = [
        ("incidents", "0023_seal_content_version"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='actionitem',
            name='last_event',
            field=models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='incidents.actionitemevent'),
        ),
        migrations.CreateModel(
            name='DomainChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('old_domain', models.SlugField(blank=True, max_length=60)),
                ('new_domain', models.SlugField(max_length=60)),
                ('at_utc', models.DateTimeField(default=django.utils.timezone.now)),
                ('by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('postmortem', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='domain_changes', to='incidents.postmortem')),
            ],
            options={
                'ordering': ['at_utc', 'id'],
            },
        ),
        migrations.AddField(
            model_name='postmortemdomain',
            name='last_change',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='incidents.domainchange'),
        ),
        migrations.RunPython(_on_postgresql(INSTALL), _on_postgresql(UNINSTALL),
                             elidable=False),
        migrations.RunPython(_backfill, migrations.RunPython.noop, elidable=False),
    ]
