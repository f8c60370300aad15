"""The full-text search vector every searched model carries (knowledge.search).

A searched model declares the NOT NULL text columns of its document, in order, and gets
`search_vector = search_vector_field()` plus `search_vector_trigger(columns)` in its
Meta.triggers. PostgreSQL keeps the vector: the BEFORE INSERT OR UPDATE trigger sets
NEW.search_vector to to_tsvector('english', the columns joined with spaces), so a row is
searchable as it is written, final postmortems included (their immutability triggers
refuse later UPDATEs, never the INSERT or the finalizing UPDATE). The GIN index on the
column is created by the migration that adds it, on PostgreSQL only: the SQLite demo
cannot build a GIN index (nor would it rebuild one when it remakes a table), and there the
column stays NULL and search falls back to substring matching.

A trigger rather than a GeneratedField: a generated column's expression would have to
compile on SQLite too, whose demo database runs the same migrations, and to_tsvector
does not exist there.
"""
import pgtrigger
from django.contrib.postgres.search import SearchVectorField

CONFIG = "english"
VECTOR_COLUMN = "search_vector"
TRIGGER_NAME = "search_vector"


def document_sql(columns, row: str = "") -> str:
    """The document: `columns` (NOT NULL text) joined with spaces, each prefixed `row.`."""
    prefix = f"{row}." if row else ""
    return " || ' ' || ".join(f"{prefix}{column}" for column in columns)


def search_vector_field() -> SearchVectorField:
    return SearchVectorField(null=True, editable=False)


def search_vector_trigger(columns) -> pgtrigger.Trigger:
    """The BEFORE INSERT OR UPDATE trigger keeping `search_vector` from `columns`."""
    return pgtrigger.Trigger(
        name=TRIGGER_NAME,
        when=pgtrigger.Before,
        operation=pgtrigger.Insert | pgtrigger.Update,
        func=(f"NEW.{VECTOR_COLUMN} := to_tsvector('{CONFIG}'::regconfig, "
              f"{document_sql(columns, 'NEW')}); RETURN NEW;"),
    )
