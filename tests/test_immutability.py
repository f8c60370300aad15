"""A final postmortem never changes: PostgreSQL refuses it, and the ORM says so first.

Source rule: "Prior postmortems are never silently rewritten ... Amendments append; they
never overwrite." (docs/rules.md#final-immutable)
"""
import pytest
from django.db import IntegrityError, connection, transaction

from incidents import services
from incidents.models import (
    Amendment,
    ContributingFactor,
    ImmutableRecordError,
    Postmortem,
    Reference,
    TimelineEntry,
)

pytestmark = pytest.mark.django_db


def run_sql(sql: str, params=()):
    """Execute raw SQL in a savepoint, so a refused statement leaves the test usable."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def refused(sql: str, params=()):
    with pytest.raises(IntegrityError) as error:
        run_sql(sql, params)
    return str(error.value)


# --- PostgreSQL, by raw SQL -------------------------------------------------------------

def test_raw_update_of_a_final_postmortem_is_refused(final_postmortem):
    message = refused("UPDATE incidents_postmortem SET summary = 'rewritten' WHERE id = %s",
                      [final_postmortem.pk])
    assert "is final and cannot be changed; add an amendment instead" in message
    assert Postmortem.objects.get(pk=final_postmortem.pk).summary != "rewritten"


def test_raw_update_cannot_turn_a_final_postmortem_back_into_a_draft(final_postmortem):
    refused("UPDATE incidents_postmortem SET status = 'draft' WHERE id = %s",
            [final_postmortem.pk])
    assert Postmortem.objects.get(pk=final_postmortem.pk).status == "final"


def test_raw_delete_of_a_final_postmortem_is_refused(final_postmortem):
    message = refused("DELETE FROM incidents_postmortem WHERE id = %s", [final_postmortem.pk])
    assert "is final" in message
    assert Postmortem.objects.filter(pk=final_postmortem.pk).exists()


@pytest.mark.parametrize("table", [
    "incidents_postmortem", "incidents_timelineentry", "incidents_contributingfactor",
    "incidents_reference",
])
def test_raw_truncate_is_refused_while_final_postmortems_exist(final_postmortem, table):
    # Flush the test transaction's deferred FK checks, as a fresh psql session would have none.
    run_sql("SET CONSTRAINTS ALL IMMEDIATE")
    message = refused(f"TRUNCATE {table} CASCADE")
    assert "holds final postmortem records" in message
    assert TimelineEntry.objects.filter(postmortem=final_postmortem).count() == 5


@pytest.mark.parametrize("table, column, value", [
    ("incidents_timelineentry", "event", "rewritten"),
    ("incidents_contributingfactor", "text", "rewritten"),
    ("incidents_reference", "value", "rewritten"),
])
def test_raw_update_and_delete_of_a_final_postmortems_rows_are_refused(
    final_postmortem, table, column, value
):
    update = refused(f"UPDATE {table} SET {column} = %s WHERE postmortem_id = %s",
                     [value, final_postmortem.pk])
    assert "belongs to final postmortem" in update
    delete = refused(f"DELETE FROM {table} WHERE postmortem_id = %s", [final_postmortem.pk])
    assert "belongs to final postmortem" in delete


def test_raw_insert_of_a_timeline_row_into_a_final_postmortem_is_refused(final_postmortem):
    message = refused(
        "INSERT INTO incidents_timelineentry (postmortem_id, position, utc, event, trace_id) "
        "VALUES (%s, 99, now(), 'late addition', 't')", [final_postmortem.pk]
    )
    assert "belongs to final postmortem" in message


def test_raw_update_cannot_move_a_row_into_a_final_postmortem(final_postmortem, alice):
    draft = services.create_draft(alice)
    row = TimelineEntry.objects.create(postmortem=draft, event="draft row")
    refused("UPDATE incidents_timelineentry SET postmortem_id = %s WHERE id = %s",
            [final_postmortem.pk, row.pk])


def test_raw_writes_to_a_draft_still_work(complete_draft):
    assert run_sql("UPDATE incidents_postmortem SET summary = 'edited' WHERE id = %s",
                   [complete_draft.pk]) == 1
    assert run_sql("UPDATE incidents_timelineentry SET event = 'edited' WHERE postmortem_id = %s",
                   [complete_draft.pk]) == 5
    assert run_sql("DELETE FROM incidents_reference WHERE postmortem_id = %s",
                   [complete_draft.pk]) == 3


def test_raw_update_delete_and_truncate_of_amendments_are_refused(final_postmortem, alice):
    amendment = services.add_amendment(final_postmortem, alice, "Trace replay found a factor.")
    assert "append-only" in refused("UPDATE incidents_amendment SET note = 'x' WHERE id = %s",
                                    [amendment.pk])
    assert "append-only" in refused("DELETE FROM incidents_amendment WHERE id = %s",
                                    [amendment.pk])
    run_sql("SET CONSTRAINTS ALL IMMEDIATE")
    # CASCADE: the log's seals reference amendments (and refuse TRUNCATE themselves).
    assert "append-only" in refused("TRUNCATE incidents_amendment CASCADE")
    assert Amendment.objects.get(pk=amendment.pk).note == "Trace replay found a factor."


def test_raw_insert_of_an_amendment_on_a_draft_is_refused(complete_draft):
    message = refused(
        "INSERT INTO incidents_amendment (postmortem_id, amended_utc, note) "
        "VALUES (%s, now(), 'too early')", [complete_draft.pk]
    )
    assert "is not final" in message


# --- The ORM raises a domain error before the database has to ---------------------------

def test_orm_save_of_a_final_postmortem_raises_a_domain_error(final_postmortem):
    final_postmortem.summary = "rewritten"
    with pytest.raises(ImmutableRecordError, match="final"):
        final_postmortem.save()


def test_orm_delete_of_a_final_postmortem_raises_a_domain_error(final_postmortem):
    with pytest.raises(ImmutableRecordError):
        final_postmortem.delete()
    with pytest.raises(ImmutableRecordError):
        Postmortem.objects.filter(pk=final_postmortem.pk).delete()


def test_orm_queryset_update_touching_a_final_postmortem_raises(final_postmortem, alice):
    services.create_draft(alice)
    with pytest.raises(ImmutableRecordError):
        Postmortem.objects.all().update(summary="bulk rewrite")
    assert Postmortem.objects.filter(summary="bulk rewrite").count() == 0


@pytest.mark.parametrize("model", [TimelineEntry, ContributingFactor, Reference])
def test_orm_writes_to_rows_of_a_final_postmortem_raise(final_postmortem, model):
    rows = model.objects.filter(postmortem=final_postmortem)
    with pytest.raises(ImmutableRecordError):
        rows.update(position=42)
    with pytest.raises(ImmutableRecordError):
        rows.delete()
    row = rows.first()
    with pytest.raises(ImmutableRecordError):
        row.save()
    with pytest.raises(ImmutableRecordError):
        row.delete()
    with pytest.raises(ImmutableRecordError):
        model.objects.bulk_create([model(postmortem=final_postmortem)])


def test_orm_amendments_are_append_only(final_postmortem, alice):
    amendment = services.add_amendment(final_postmortem, alice, "note")
    amendment.note = "changed"
    with pytest.raises(ImmutableRecordError):
        amendment.save()
    with pytest.raises(ImmutableRecordError):
        amendment.delete()
    with pytest.raises(ImmutableRecordError):
        Amendment.objects.filter(pk=amendment.pk).update(note="changed")
    with pytest.raises(ImmutableRecordError):
        Amendment.objects.all().delete()


def test_a_draft_cannot_be_amended(complete_draft, alice):
    with pytest.raises(services.AmendmentError, match="draft"):
        services.add_amendment(complete_draft, alice, "note")


def test_finalizing_twice_is_refused(final_postmortem, alice):
    with pytest.raises(ImmutableRecordError):
        services.finalize(final_postmortem, alice)


def test_a_draft_can_be_discarded_but_a_final_postmortem_cannot(final_postmortem, alice):
    draft = services.create_draft(alice)
    TimelineEntry.objects.create(postmortem=draft, event="typed, then discarded")
    services.discard_draft(draft)
    assert not Postmortem.objects.filter(pk=draft.pk).exists()
    with pytest.raises(ImmutableRecordError):
        services.discard_draft(final_postmortem)
