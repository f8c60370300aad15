"""Webhook subscriptions, their deliveries (the outbox) and once-only event keys.

The delivery log is an audit record, guarded by hand-written PostgreSQL triggers in the
style of incidents 0019 (no setting read; search_path pinned with pg_temp last; nothing on
SQLite): no delivery is deleted or truncated; its id, subscription, event, body, link,
creation time and the delivery it repeats never change; attempts never decrease; a
delivered row never changes again (docs/rules.md#webhook-guards).
"""

import django.db.models.deletion
import django.utils.timezone
import uuid
from django.conf import settings
from django.db import migrations, models

_FUNCTION = ("CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql "
             "SET search_path = pg_catalog, public, pg_temp AS $guard$ BEGIN {body} END; "
             "$guard$")
_FIXED = "id, subscription_id, event_type, body, link, created_utc, redelivery_of_id"
_ROW_OF = "({})"
FUNCTIONS = {
    "scarlog_webhook_delivery_is_audited": (
        "IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'webhook delivery % is an audit record "
        "and cannot be deleted', OLD.id USING ERRCODE = 'restrict_violation'; END IF; "
        "IF OLD.status = 'delivered' THEN RAISE EXCEPTION 'webhook delivery % was delivered; "
        "its record never changes (redeliver makes a new delivery)', OLD.id "
        "USING ERRCODE = 'restrict_violation'; END IF; "
        "IF " + _ROW_OF.format(", ".join(f"NEW.{c}" for c in _FIXED.split(", ")))
        + " IS DISTINCT FROM " + _ROW_OF.format(", ".join(f"OLD.{c}" for c in _FIXED.split(", ")))
        + " THEN RAISE EXCEPTION 'webhook delivery %: what it sends never changes', OLD.id "
        "USING ERRCODE = 'restrict_violation'; END IF; "
        "IF NEW.attempts < OLD.attempts THEN RAISE EXCEPTION 'webhook delivery %: attempts "
        "never decrease', OLD.id USING ERRCODE = 'restrict_violation'; END IF; RETURN NEW;"),
    "scarlog_webhook_delivery_no_truncate": (
        "RAISE EXCEPTION '% is an audit record; cannot truncate it', TG_TABLE_NAME "
        "USING ERRCODE = 'restrict_violation';"),
}
TRIGGERS = [
    ("scarlog_webhook_delivery_is_audited", "core_webhookdelivery", "BEFORE UPDATE OR DELETE",
     "FOR EACH ROW EXECUTE FUNCTION scarlog_webhook_delivery_is_audited()"),
    ("scarlog_webhook_delivery_no_truncate", "core_webhookdelivery", "BEFORE TRUNCATE",
     "FOR EACH STATEMENT EXECUTE FUNCTION scarlog_webhook_delivery_no_truncate()"),
]
INSTALL = ([_FUNCTION.format(name=name, body=body) for name, body in FUNCTIONS.items()]
           + [f"CREATE TRIGGER {name} {events} ON {table} {tail}"
              for name, table, events, tail in TRIGGERS])
UNINSTALL = ([f"DROP TRIGGER IF EXISTS {name} ON {table}" for name, table, _, _ in TRIGGERS]
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
        ('core', '0002_oidc_identity'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='WebhookEventOnce',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.CharField(max_length=200, unique=True)),
                ('created_utc', models.DateTimeField(default=django.utils.timezone.now)),
            ],
        ),
        migrations.CreateModel(
            name='WebhookSubscription',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=100)),
                ('url', models.CharField(max_length=2000)),
                ('format', models.CharField(choices=[('json', 'Plain JSON'), ('slack', 'Slack incoming webhook'), ('teams', 'Microsoft Teams incoming webhook')], default='json', max_length=10)),
                ('event_types', models.JSONField(default=list)),
                ('secret', models.CharField(editable=False, max_length=100)),
                ('active', models.BooleanField(default=True)),
                ('created_utc', models.DateTimeField(default=django.utils.timezone.now)),
                ('disabled_utc', models.DateTimeField(blank=True, null=True)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['name', 'id'],
            },
        ),
        migrations.CreateModel(
            name='WebhookDelivery',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('event_type', models.CharField(max_length=40)),
                ('body', models.TextField()),
                ('link', models.CharField(blank=True, max_length=2000)),
                ('created_utc', models.DateTimeField(default=django.utils.timezone.now)),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('delivered', 'Delivered'), ('failed', 'Failed')], default='pending', max_length=10)),
                ('attempts', models.PositiveIntegerField(default=0)),
                ('next_attempt_utc', models.DateTimeField(default=django.utils.timezone.now)),
                ('last_attempt_utc', models.DateTimeField(blank=True, null=True)),
                ('response_code', models.PositiveIntegerField(blank=True, null=True)),
                ('last_error', models.TextField(blank=True)),
                ('delivered_utc', models.DateTimeField(blank=True, null=True)),
                ('redelivery_of', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='core.webhookdelivery')),
                ('subscription', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='deliveries', to='core.webhooksubscription')),
            ],
            options={
                'ordering': ['-created_utc', 'id'],
                'indexes': [models.Index(fields=['status', 'next_attempt_utc'], name='core_webhook_due')],
            },
        ),
        migrations.RunPython(_on_postgresql(INSTALL), _on_postgresql(UNINSTALL)),
    ]
