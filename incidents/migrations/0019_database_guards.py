"""The database guards of the postmortem record as hand-written PostgreSQL triggers.

They replace the pgtrigger triggers removed above: every pgtrigger trigger function
starts by reading the setting pgtrigger.ignore, which any role can SET LOCAL, so any
role that may write could switch those guards off for a transaction. These functions
read no setting (docs/rules.md#database-guards). Functions pin search_path with pg_temp
last, so a temporary table cannot stand in for a table they read. On SQLite (the demo)
this migration changes nothing.
"""

import pgtrigger.migrations
from django.db import migrations

_FUNCTION = ("CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql "
             "SET search_path = pg_catalog, public, pg_temp AS $guard$ BEGIN {body} END; "
             "$guard$")

_FINAL = ("PERFORM 1 FROM incidents_postmortem WHERE id = {row}.postmortem_id "
          "AND status = 'final' FOR SHARE; IF FOUND THEN RAISE EXCEPTION "
          "'% row belongs to final postmortem %; add an amendment instead', TG_TABLE_NAME, "
          "{row}.postmortem_id USING ERRCODE = 'restrict_violation'; END IF;")
_FINAL_MEETING = (
    "PERFORM 1 FROM incidents_postmortem p JOIN incidents_meeting m ON m.postmortem_id = p.id "
    "WHERE m.id = {row}.meeting_id AND p.status = 'final' FOR SHARE OF p; IF FOUND THEN "
    "RAISE EXCEPTION '% row belongs to the meeting of a final postmortem (meeting %)', "
    "TG_TABLE_NAME, {row}.meeting_id USING ERRCODE = 'restrict_violation'; END IF;")
_RETURN_ROW = "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW;"

FUNCTIONS = {
    # incidents_postmortem: a final row never changes nor goes.
    "scarlog_final_postmortem_is_immutable": (
        "IF OLD.status = 'final' THEN RAISE EXCEPTION 'postmortem % is final and cannot be "
        "changed; add an amendment instead', OLD.id USING ERRCODE = 'restrict_violation'; "
        "END IF; " + _RETURN_ROW),
    # Rows of a postmortem (timeline, factors with their substitution verdicts and
    # facilitator reviews, references, scan answers, pending marks, field revisions).
    "scarlog_final_parent_protects_rows": (
        "IF TG_OP IN ('UPDATE', 'DELETE') THEN " + _FINAL.format(row="OLD") + " END IF; "
        "IF TG_OP IN ('INSERT', 'UPDATE') THEN " + _FINAL.format(row="NEW") + " END IF; "
        + _RETURN_ROW),
    # Meetings: frozen with a final postmortem, except that a started meeting may still
    # be ended (the app lets the facilitator end it after finalizing): that UPDATE may
    # set ended_utc and nothing else.
    "scarlog_final_parent_protects_meetings": (
        "IF TG_OP = 'UPDATE' AND OLD.ended_utc IS NULL AND NEW.ended_utc IS NOT NULL "
        "AND OLD.started_utc IS NOT NULL "
        "AND to_jsonb(NEW) - 'ended_utc' = to_jsonb(OLD) - 'ended_utc' THEN RETURN NEW; "
        "END IF; "
        "IF TG_OP IN ('UPDATE', 'DELETE') THEN " + _FINAL.format(row="OLD") + " END IF; "
        "IF TG_OP IN ('INSERT', 'UPDATE') THEN " + _FINAL.format(row="NEW") + " END IF; "
        + _RETURN_ROW),
    "scarlog_final_parent_protects_attendees": (
        "IF TG_OP IN ('UPDATE', 'DELETE') THEN " + _FINAL_MEETING.format(row="OLD")
        + " END IF; IF TG_OP IN ('INSERT', 'UPDATE') THEN "
        + _FINAL_MEETING.format(row="NEW") + " END IF; " + _RETURN_ROW),
    "scarlog_refuse_truncate_while_final": (
        "IF EXISTS (SELECT 1 FROM incidents_postmortem WHERE status = 'final') THEN "
        "RAISE EXCEPTION 'cannot truncate %: it holds final postmortem records', "
        "TG_TABLE_NAME USING ERRCODE = 'restrict_violation'; END IF; RETURN NULL;"),
    # Append-only rows: TG_ARGV[0] is the refusal, {id} standing for the row's id.
    "scarlog_append_only": (
        "RAISE EXCEPTION USING MESSAGE = replace(TG_ARGV[0], '{id}', OLD.id::text), "
        "ERRCODE = 'restrict_violation';"),
    "scarlog_append_only_truncate": (
        "RAISE EXCEPTION '% is append-only; cannot truncate it', TG_TABLE_NAME "
        "USING ERRCODE = 'restrict_violation';"),
    "scarlog_amendments_only_on_final": (
        "PERFORM 1 FROM incidents_postmortem WHERE id = NEW.postmortem_id "
        "AND status = 'final' FOR SHARE; IF NOT FOUND THEN RAISE EXCEPTION 'postmortem % is "
        "not final; edit the draft instead of amending it', NEW.postmortem_id "
        "USING ERRCODE = 'restrict_violation'; END IF; RETURN NEW;"),
    # A field revision goes only together with its draft (discarding it): checked at
    # commit, when a discarded draft's row is gone. A final postmortem cannot be deleted.
    "scarlog_revision_goes_with_its_draft": (
        "IF EXISTS (SELECT 1 FROM incidents_postmortem WHERE id = OLD.postmortem_id) THEN "
        "RAISE EXCEPTION 'field revision % is append-only: it is deleted only with its "
        "discarded draft', OLD.id USING ERRCODE = 'restrict_violation'; END IF; RETURN NULL;"),
    # The planning gate: gate_domain of an item is its postmortem's domain once final.
    "scarlog_action_item_gate_domain": (
        "NEW.gate_domain := (SELECT c.domain FROM incidents_postmortem p "
        "JOIN incidents_classification c ON c.postmortem_id = p.id "
        "WHERE p.id = NEW.postmortem_id AND p.status = 'final'); RETURN NEW;"),
    "scarlog_status_sets_items_gate_domain": (
        "UPDATE incidents_actionitem SET gate_domain = NULL WHERE postmortem_id = NEW.id; "
        "RETURN NULL;"),
    "scarlog_domain_sets_items_gate_domain": (
        "IF TG_OP IN ('UPDATE', 'DELETE') THEN UPDATE incidents_actionitem SET "
        "gate_domain = NULL WHERE postmortem_id = OLD.postmortem_id; END IF; "
        "IF TG_OP IN ('INSERT', 'UPDATE') THEN UPDATE incidents_actionitem SET "
        "gate_domain = NULL WHERE postmortem_id = NEW.postmortem_id; END IF; RETURN NULL;"),
    # The items of a final postmortem (open ones hold its domain's gate closed) never go
    # nor move to another postmortem; shipping or dropping them is an UPDATE.
    "scarlog_final_items_stay": (
        "PERFORM 1 FROM incidents_postmortem WHERE id = OLD.postmortem_id "
        "AND status = 'final' FOR SHARE; IF FOUND AND (TG_OP = 'DELETE' OR "
        "NEW.postmortem_id IS DISTINCT FROM OLD.postmortem_id) THEN RAISE EXCEPTION "
        "'action item % belongs to final postmortem %: it is shipped or dropped, never "
        "removed', OLD.id, OLD.postmortem_id USING ERRCODE = 'restrict_violation'; END IF; "
        + _RETURN_ROW),
    "scarlog_final_domain_stays": (
        "PERFORM 1 FROM incidents_postmortem WHERE id = OLD.postmortem_id "
        "AND status = 'final' FOR SHARE; IF FOUND AND (TG_OP = 'DELETE' OR "
        "NEW.postmortem_id IS DISTINCT FROM OLD.postmortem_id) THEN RAISE EXCEPTION "
        "'the domain of final postmortem % cannot be removed; set another domain instead', "
        "OLD.postmortem_id USING ERRCODE = 'restrict_violation'; END IF; " + _RETURN_ROW),
    "scarlog_refuse_truncate_gate_rows": (
        "IF EXISTS (SELECT 1 FROM incidents_postmortem WHERE status = 'final') THEN "
        "RAISE EXCEPTION 'cannot truncate %: final postmortems hold the planning gate with "
        "these rows', TG_TABLE_NAME USING ERRCODE = 'restrict_violation'; END IF; "
        "RETURN NULL;"),
}

_CHILD_TABLES = ("incidents_timelineentry", "incidents_contributingfactor",
                 "incidents_reference", "incidents_scananswer", "incidents_pendingmark",
                 "incidents_fieldrevision")
_APPEND_ONLY = {
    "incidents_amendment": "amendment {id} is append-only and cannot be changed",
    "incidents_logseal": "seal {id} is append-only and cannot be changed",
    "incidents_actionitemevent": "action item history is append-only (event {id})",
    "incidents_gateoverride": "gate override {id} is append-only: a record cannot be changed",
}
_ROW = "BEFORE INSERT OR UPDATE OR DELETE"


def _row(function: str, argument: str = "") -> str:
    return f"FOR EACH ROW EXECUTE FUNCTION {function}({argument})"


_TRUNCATE_WHILE_FINAL = ("BEFORE TRUNCATE",
                         "FOR EACH STATEMENT EXECUTE FUNCTION scarlog_refuse_truncate_while_final()")
_TRUNCATE_NEVER = ("BEFORE TRUNCATE",
                   "FOR EACH STATEMENT EXECUTE FUNCTION scarlog_append_only_truncate()")
_TRUNCATE_GATE = ("BEFORE TRUNCATE",
                  "FOR EACH STATEMENT EXECUTE FUNCTION scarlog_refuse_truncate_gate_rows()")

# (trigger, table, timing and events, FOR EACH … EXECUTE FUNCTION …)
TRIGGERS = [
    ("scarlog_final_postmortem_is_immutable", "incidents_postmortem",
     "BEFORE UPDATE OR DELETE", _row("scarlog_final_postmortem_is_immutable")),
    ("scarlog_no_truncate", "incidents_postmortem", *_TRUNCATE_WHILE_FINAL),
    ("scarlog_status_sets_items_gate_domain", "incidents_postmortem", "AFTER UPDATE",
     ("FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) "
      "EXECUTE FUNCTION scarlog_status_sets_items_gate_domain()")),
    *[("scarlog_final_parent_protects_rows", table, _ROW,
       _row("scarlog_final_parent_protects_rows")) for table in _CHILD_TABLES],
    *[("scarlog_no_truncate", table, *_TRUNCATE_WHILE_FINAL)
      for table in _CHILD_TABLES if table != "incidents_fieldrevision"],
    ("scarlog_final_parent_protects_rows", "incidents_meeting", _ROW,
     _row("scarlog_final_parent_protects_meetings")),
    ("scarlog_no_truncate", "incidents_meeting", *_TRUNCATE_WHILE_FINAL),
    ("scarlog_final_parent_protects_rows", "incidents_meetingattendee", _ROW,
     _row("scarlog_final_parent_protects_attendees")),
    ("scarlog_no_truncate", "incidents_meetingattendee", *_TRUNCATE_WHILE_FINAL),
    ("scarlog_append_only", "incidents_fieldrevision", "BEFORE UPDATE",
     _row("scarlog_append_only", "'field revision {id} is append-only'")),
    ("scarlog_append_only_truncate", "incidents_fieldrevision", *_TRUNCATE_NEVER),
    *[("scarlog_append_only", table, "BEFORE UPDATE OR DELETE",
       _row("scarlog_append_only", f"'{message}'")) for table, message in _APPEND_ONLY.items()],
    *[("scarlog_append_only_truncate", table, *_TRUNCATE_NEVER) for table in _APPEND_ONLY],
    ("scarlog_amendments_only_on_final", "incidents_amendment", "BEFORE INSERT",
     _row("scarlog_amendments_only_on_final")),
    ("scarlog_action_item_gate_domain", "incidents_actionitem", "BEFORE INSERT OR UPDATE",
     _row("scarlog_action_item_gate_domain")),
    ("scarlog_final_items_stay", "incidents_actionitem", "BEFORE UPDATE OR DELETE",
     _row("scarlog_final_items_stay")),
    ("scarlog_no_truncate", "incidents_actionitem", *_TRUNCATE_GATE),
    ("scarlog_domain_sets_items_gate_domain", "incidents_classification",
     "AFTER INSERT OR UPDATE OR DELETE", _row("scarlog_domain_sets_items_gate_domain")),
    ("scarlog_final_domain_stays", "incidents_classification", "BEFORE UPDATE OR DELETE",
     _row("scarlog_final_domain_stays")),
    ("scarlog_no_truncate", "incidents_classification", *_TRUNCATE_GATE),
]

# Checked at commit: discarding a draft deletes its revisions before the draft's own row.
CONSTRAINT_TRIGGERS = [
    ("scarlog_revision_goes_with_its_draft", "incidents_fieldrevision", "AFTER DELETE",
     "DEFERRABLE INITIALLY DEFERRED " + _row("scarlog_revision_goes_with_its_draft")),
]

INSTALL = (
    [_FUNCTION.format(name=name, body=body) for name, body in FUNCTIONS.items()]
    + [f"CREATE TRIGGER {name} {events} ON {table} {tail}"
       for name, table, events, tail in TRIGGERS]
    + [f"CREATE CONSTRAINT TRIGGER {name} {events} ON {table} {tail}"
       for name, table, events, tail in CONSTRAINT_TRIGGERS]
)
UNINSTALL = (
    [f"DROP TRIGGER IF EXISTS {name} ON {table}"
     for name, table, _, _ in TRIGGERS + CONSTRAINT_TRIGGERS]
    + [f"DROP FUNCTION IF EXISTS {name}()" for name in FUNCTIONS]
)


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
        ('incidents', '0018_action_item_evidence_lapsed'),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(
            model_name='actionitem',
            name='action_item_gate_domain',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='actionitemevent',
            name='action_item_history_append_only',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='amendment',
            name='amendments_append_only',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='amendment',
            name='amendments_only_on_final',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='amendment',
            name='amendments_no_truncate',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='contributingfactor',
            name='final_parent_protects_rows',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='contributingfactor',
            name='final_parent_protects_truncate',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='fieldrevision',
            name='revisions_append_only',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='fieldrevision',
            name='final_parent_protects_rows',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='fieldrevision',
            name='final_parent_protects_truncate',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='gateoverride',
            name='gate_override_append_only',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='pendingmark',
            name='final_parent_protects_rows',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='pendingmark',
            name='final_parent_protects_truncate',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='postmortem',
            name='final_postmortem_is_immutable',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='postmortem',
            name='final_postmortem_no_truncate',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='postmortem',
            name='status_sets_items_gate_domain',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='postmortemdomain',
            name='domain_sets_items_gate_domain',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='reference',
            name='final_parent_protects_rows',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='reference',
            name='final_parent_protects_truncate',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='scananswer',
            name='final_parent_protects_rows',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='scananswer',
            name='final_parent_protects_truncate',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='seal',
            name='seals_append_only',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='seal',
            name='seals_no_truncate',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='timelineentry',
            name='final_parent_protects_rows',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='timelineentry',
            name='final_parent_protects_truncate',
        ),
        migrations.RunPython(_on_postgresql(INSTALL), _on_postgresql(UNINSTALL),
                             elidable=False),
    ]
