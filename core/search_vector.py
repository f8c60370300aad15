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
import re

import pgtrigger
from django.contrib.postgres.search import SearchQuery, SearchVectorField
from django.db import connection
from django.db.models import F, Func, Q, QuerySet, TextField

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


def document(model) -> Func:
    """A searched model's text: its `search_columns` (NOT NULL text) joined with spaces, the
    SQL the trigger builds the vector from (`a || ' ' || b`; valid on SQLite too)."""
    return Func(*(F(column) for column in model.search_columns),
                template="(%(expressions)s)", arg_joiner=" || ' ' || ", output_field=TextField())


def query_words(query: str) -> list[str]:
    """The words of `query`, lower-cased, as the SQLite fallback matches them."""
    return [word.lower() for word in re.findall(r"\w+", query)]


def text_matches(model, query: str) -> QuerySet:
    """The rows of `model` (a searched model) whose text matches `query`.

    On PostgreSQL: its search_vector matches websearch_to_tsquery('english', query) (words,
    "a phrase", -not; served by the model's GIN index). On SQLite (no full-text search):
    every word of the query occurs in the document, case-insensitive. An empty `query`
    matches nothing on SQLite; callers refuse empty queries first.
    """
    if connection.vendor == "postgresql":
        return model.objects.filter(
            **{VECTOR_COLUMN: SearchQuery(query, search_type="websearch", config=CONFIG)})
    rows = model.objects.annotate(search_document=document(model))
    words = query_words(query)
    if not words:
        return rows.none()
    return rows.filter(*(Q(search_document__icontains=word) for word in words))
