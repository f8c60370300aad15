"""Meeting invitations (issue 20): a meeting's SEQUENCE, DTSTAMP and cancellation; the
invitation kind of Reminder, one row per (meeting, sequence).

A hand-written guard like 0019's (no setting read, search_path pinned with pg_temp last;
nothing on SQLite): an UPDATE of a meeting may not lower its sequence nor un-cancel it
(docs/rules.md#meeting-invitation, docs/rules.md#database-guards).
"""
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


_GUARD = (
    "CREATE OR REPLACE FUNCTION scarlog_meeting_sequence_rises() RETURNS trigger "
    "LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $guard$ BEGIN "
    "IF NEW.sequence < OLD.sequence THEN RAISE EXCEPTION 'meeting %: the invitation "
    "sequence only rises (% to %)', OLD.id, OLD.sequence, NEW.sequence "
    "USING ERRCODE = 'restrict_violation'; END IF; "
    "IF OLD.cancelled_utc IS NOT NULL AND NEW.cancelled_utc IS DISTINCT FROM "
    "OLD.cancelled_utc THEN RAISE EXCEPTION 'meeting % was cancelled; schedule a new one', "
    "OLD.id USING ERRCODE = 'restrict_violation'; END IF; RETURN NEW; END; $guard$")
INSTALL = [_GUARD, ("CREATE TRIGGER scarlog_meeting_sequence_rises BEFORE UPDATE ON "
                    "incidents_meeting FOR EACH ROW EXECUTE FUNCTION "
                    "scarlog_meeting_sequence_rises()")]
UNINSTALL = ["DROP TRIGGER IF EXISTS scarlog_meeting_sequence_rises ON incidents_meeting",
             "DROP FUNCTION IF EXISTS scarlog_meeting_sequence_rises()"]


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
        ('incidents', '0024_history_for_items_and_domains'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='reminder',
            name='one_reminder_per_kind',
        ),
        migrations.RemoveConstraint(
            model_name='reminder',
            name='reminder_kind_valid',
        ),
        migrations.AddField(
            model_name='meeting',
            name='cancelled_utc',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='meeting',
            name='changed_utc',
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AddField(
            model_name='meeting',
            name='sequence',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='reminder',
            name='meeting',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='invitations', to='incidents.meeting'),
        ),
        migrations.AddField(
            model_name='reminder',
            name='sequence',
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='reminder',
            name='kind',
            field=models.CharField(choices=[('schedule_meeting', 'Schedule the meeting'), ('meeting_starts', 'Meeting starts in one hour'), ('deadline_missed', 'Meeting deadline missed'), ('reconvene', 'Reconvene within a week'), ('meeting_invitation', 'Meeting invitation')], max_length=20),
        ),
        migrations.AddConstraint(
            model_name='meeting',
            constraint=models.CheckConstraint(condition=models.Q(('cancelled_utc__isnull', True), ('started_utc__isnull', True), _connector='OR'), name='cancelled_meeting_never_started'),
        ),
        migrations.AddConstraint(
            model_name='reminder',
            constraint=models.UniqueConstraint(condition=models.Q(('kind', 'meeting_invitation'), _negated=True), fields=('postmortem', 'kind'), name='one_reminder_per_kind'),
        ),
        migrations.AddConstraint(
            model_name='reminder',
            constraint=models.UniqueConstraint(condition=models.Q(('kind', 'meeting_invitation')), fields=('meeting', 'sequence'), name='one_invitation_per_sequence'),
        ),
        migrations.AddConstraint(
            model_name='reminder',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['schedule_meeting', 'meeting_starts', 'deadline_missed', 'reconvene', 'meeting_invitation'])), name='reminder_kind_valid'),
        ),
        migrations.AddConstraint(
            model_name='reminder',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(models.Q(('kind', 'meeting_invitation'), _negated=True), ('meeting__isnull', True), ('sequence__isnull', True)), models.Q(('kind', 'meeting_invitation'), ('meeting__isnull', False), ('sequence__isnull', False)), _connector='OR'), name='invitation_names_its_meeting'),
        ),
        migrations.RunPython(_on_postgresql(INSTALL), _on_postgresql(UNINSTALL)),
    ]
