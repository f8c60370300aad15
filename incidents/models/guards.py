"""Database guards of the postmortem record: the error the ORM raises before PostgreSQL
would refuse a change to a final record (docs/rules.md#final-immutable).

The PostgreSQL guards themselves are hand-written triggers named scarlog_*, installed by
incidents/migrations/0019_database_guards.py; they have no switch that a role can set
(docs/rules.md#database-guards).
"""

__all__ = [
    "ImmutableRecordError",
]


class ImmutableRecordError(Exception):
    """Raised when code tries to change or delete a finalized postmortem, its rows, or an amendment.

    Source rule: "Prior postmortems are never silently rewritten ... Amendments append;
    they never overwrite." (docs/rules.md#final-immutable)
    """
