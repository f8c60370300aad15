"""Database guards of the postmortem record: the PL/pgSQL that refuses changes to final
records, and the error the ORM raises first (docs/rules.md#final-immutable)."""

import pgtrigger

__all__ = [
    "FINAL_STATUS_SQL",
    "ImmutableRecordError",
    "append_only_trigger",
    "child_row_triggers",
]



class ImmutableRecordError(Exception):
    """Raised when code tries to change or delete a finalized postmortem, its rows, or an amendment.

    Source rule: "Prior postmortems are never silently rewritten ... Amendments append;
    they never overwrite." (docs/rules.md#final-immutable)
    """


FINAL_STATUS_SQL = "'final'"

# Recompute ActionItem.gate_domain of the items of one postmortem: their BEFORE trigger
# (action_item_gate_domain) sets the value on every UPDATE, so "touching" them is enough.
TOUCH_ITEMS_SQL = ("UPDATE incidents_actionitem SET gate_domain = NULL "
                    "WHERE postmortem_id = {row}.postmortem_id;")


def refuse_if_parent_final_func(child_table: str) -> str:
    """PL/pgSQL body for child rows: refuse any write while the parent postmortem is final.

    FOR SHARE on the parent row makes a concurrent finalize wait for this write (and
    vice versa), so no row slips into a postmortem as it becomes final.
    """
    check = (
        "PERFORM 1 FROM incidents_postmortem WHERE id = {row}.postmortem_id "
        f"AND status = {FINAL_STATUS_SQL} FOR SHARE; "
        "IF FOUND THEN RAISE EXCEPTION "
        f"'{child_table} row belongs to final postmortem %; add an amendment instead', "
        "{row}.postmortem_id USING ERRCODE = 'restrict_violation'; END IF;"
    )
    return (
        "IF TG_OP IN ('UPDATE', 'DELETE') THEN " + check.format(row="OLD") + " END IF; "
        "IF TG_OP IN ('INSERT', 'UPDATE') THEN " + check.format(row="NEW") + " END IF; "
        "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW;"
    )


def refuse_truncate_if_any_final_func(table: str) -> str:
    """PL/pgSQL body for a statement-level TRUNCATE trigger: refuse while any postmortem is
    final."""
    return (
        f"IF EXISTS (SELECT 1 FROM incidents_postmortem WHERE status = {FINAL_STATUS_SQL}) "
        f"THEN RAISE EXCEPTION 'cannot truncate {table}: it holds final postmortem records' "
        "USING ERRCODE = 'restrict_violation'; END IF; RETURN NULL;"
    )


def child_row_triggers(table: str) -> list[pgtrigger.Trigger]:
    """The two triggers every child table of a postmortem carries (row writes, TRUNCATE)."""
    return [
        pgtrigger.Trigger(
            name="final_parent_protects_rows",
            when=pgtrigger.Before,
            operation=pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete,
            func=refuse_if_parent_final_func(table),
        ),
        pgtrigger.Trigger(
            name="final_parent_protects_truncate",
            level=pgtrigger.Statement,
            when=pgtrigger.Before,
            operation=pgtrigger.Truncate,
            func=refuse_truncate_if_any_final_func(table),
        ),
    ]


def append_only_trigger(name: str, message: str) -> pgtrigger.Trigger:
    """A trigger refusing UPDATE and DELETE on every row: `message` is the exception text,
    with % standing for the row's id (raised as restrict_violation)."""
    return pgtrigger.Trigger(
        name=name,
        when=pgtrigger.Before,
        operation=pgtrigger.Update | pgtrigger.Delete,
        func=f"RAISE EXCEPTION '{message}', OLD.id USING ERRCODE = 'restrict_violation';",
    )
