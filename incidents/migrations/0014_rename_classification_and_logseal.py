"""Names that say what a thing is: Classification is the postmortem's planning-gate domain
(PostmortemDomain), LogSeal a seal of the hash chain (Seal). Tables keep their names, so
only Django's model state changes, and pgtrigger's triggers, whose names derive from the
model's, are dropped under the old names and installed under the new ones."""
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("incidents", "0013_apitoken_moves_to_core"),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(
            model_name='classification',
            name='domain_sets_items_gate_domain',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='logseal',
            name='seals_append_only',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='logseal',
            name='seals_no_truncate',
        ),
        migrations.AlterModelTable(name="classification", table="incidents_classification"),
        migrations.RenameModel(old_name="Classification", new_name="PostmortemDomain"),
        migrations.AlterModelTable(name="logseal", table="incidents_logseal"),
        migrations.RenameModel(old_name="LogSeal", new_name="Seal"),
        pgtrigger.migrations.AddTrigger(
            model_name='postmortemdomain',
            trigger=pgtrigger.compiler.Trigger(name='domain_sets_items_gate_domain', sql=pgtrigger.compiler.UpsertTriggerSql(func="IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND (OLD.domain IS DISTINCT FROM NEW.domain OR OLD.postmortem_id IS DISTINCT FROM NEW.postmortem_id)) THEN UPDATE incidents_actionitem SET gate_domain = NULL WHERE postmortem_id = OLD.postmortem_id; END IF; IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND (OLD.domain IS DISTINCT FROM NEW.domain OR OLD.postmortem_id IS DISTINCT FROM NEW.postmortem_id)) THEN UPDATE incidents_actionitem SET gate_domain = NULL WHERE postmortem_id = NEW.postmortem_id; END IF; RETURN NULL;", hash='558304515e5972429d5ca9a735b8323851499b98', operation='INSERT OR UPDATE OR DELETE', pgid='pgtrigger_domain_sets_items_gate_domain_fdbaf', table='incidents_classification', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='seal',
            trigger=pgtrigger.compiler.Trigger(name='seals_append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'seal % is append-only and cannot be changed', OLD.id USING ERRCODE = 'restrict_violation';", hash='24efc9ef86782247861213ec13da485e9a91a6c4', operation='UPDATE OR DELETE', pgid='pgtrigger_seals_append_only_4b0dc', table='incidents_logseal', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='seal',
            trigger=pgtrigger.compiler.Trigger(name='seals_no_truncate', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'seals are append-only; cannot truncate incidents_logseal' USING ERRCODE = 'restrict_violation';", hash='2a4a455917b476dfbd72ba16ae37eacdaa65c0ab', level='STATEMENT', operation='TRUNCATE', pgid='pgtrigger_seals_no_truncate_12ba6', table='incidents_logseal', when='BEFORE')),
        ),
    ]
