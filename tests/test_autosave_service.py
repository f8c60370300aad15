"""The one autosave service (incidents.autosave), called directly on PostgreSQL: its
outcomes, the revisions it appends, and the postmortem row lock it holds."""
import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents import autosave, revisions, services
from incidents.autosave import Outcome
from incidents.models import FieldRevision, Postmortem
from tests.conftest import fill_complete_draft


def save_summary(pm, text, base, editor="tab-a", user=None):
    return autosave.save_field(pm.pk, "summary", {"summary": text}, str(base), editor, user)


@pytest.mark.django_db
def test_a_first_save_is_version_1_and_the_same_values_again_change_nothing(alice):
    pm = services.create_draft(alice)
    first = save_summary(pm, "Quotes stopped.", 0, user=alice)
    assert first.outcome is Outcome.SAVED
    assert first.saved == revisions.Saved("summary", 1)
    assert first.postmortem.summary == "Quotes stopped."
    assert first.postmortem.field_marked is False
    assert Postmortem.objects.get(pk=pm.pk).summary == "Quotes stopped."

    again = save_summary(pm, "Quotes stopped.", 1, user=alice)
    assert again.outcome is Outcome.UNCHANGED
    assert again.saved == revisions.Saved("summary", 1)
    assert FieldRevision.objects.filter(postmortem=pm, key="summary").count() == 1


@pytest.mark.django_db
def test_a_stale_base_from_another_editor_is_a_conflict_with_theirs(alice, bob):
    pm = services.create_draft(alice)
    save_summary(pm, "Quotes stopped.", 0, editor="tab-bob", user=bob)
    result = save_summary(pm, "Quotes froze.", 0, editor="tab-alice", user=alice)
    assert result.outcome is Outcome.CONFLICT
    assert result.conflict.theirs.values == {"summary": "Quotes stopped."}
    assert result.conflict.theirs.author == bob
    assert result.mine == {"summary": "Quotes froze."}
    assert result.labels == {"summary": "Summary"}
    assert Postmortem.objects.get(pk=pm.pk).summary == "Quotes stopped."
    # Its own queued saves are no conflict: the same editor's base 0 after its version 1.
    own = save_summary(pm, "Quotes stopped for good.", 0, editor="tab-bob", user=bob)
    assert own.outcome is Outcome.SAVED and own.saved.version == 2


@pytest.mark.django_db
def test_a_base_ahead_of_the_stored_version_is_stale_and_a_missing_one_bad(alice):
    pm = services.create_draft(alice)
    save_summary(pm, "Quotes stopped.", 0, user=alice)
    ahead = save_summary(pm, "Quotes froze.", 5, user=alice)
    assert ahead.outcome is Outcome.STALE_BASE
    assert ahead.message == ("base_version: 5 is newer than the stored version 1 of summary; "
                             "reload the page.")
    missing = autosave.save_field(pm.pk, "summary", {"summary": "x"}, None, "tab-a", alice)
    assert missing.outcome is Outcome.BAD_BASE
    assert missing.message.startswith("base_version: the page did not say")
    assert Postmortem.objects.get(pk=pm.pk).summary == "Quotes stopped."


@pytest.mark.django_db
def test_an_invalid_value_names_the_field_and_is_not_stored(alice):
    pm = services.create_draft(alice)
    result = autosave.save_field(pm.pk, "root_cause", {"root_cause": "blame"}, "0", "", alice)
    assert result.outcome is Outcome.INVALID
    assert result.errors and result.errors[0].startswith("Root cause: ")
    assert not FieldRevision.objects.filter(postmortem=pm).exists()


@pytest.mark.django_db
def test_a_final_postmortem_takes_its_own_value_again_and_refuses_another(final_postmortem,
                                                                          alice):
    resent = save_summary(final_postmortem, final_postmortem.summary, 0, user=alice)
    assert resent.outcome is Outcome.RESENT_AFTER_FINAL
    changed = save_summary(final_postmortem, "Something else.", 0, user=alice)
    assert changed.outcome is Outcome.FINAL
    deferred = autosave.set_deferred_fix(final_postmortem.pk, "0", "", alice)
    assert deferred.outcome is Outcome.FINAL
    factor = final_postmortem.contributing_factors.first()
    row_resent = autosave.save_row(final_postmortem.pk, "factors", factor.pk,
                                   {"text": factor.text}, "0", "", alice)
    assert row_resent.outcome is Outcome.RESENT_AFTER_FINAL
    row_changed = autosave.save_row(final_postmortem.pk, "factors", factor.pk,
                                    {"text": "Another factor"}, "0", "", alice)
    assert row_changed.outcome is Outcome.FINAL
    assert not FieldRevision.objects.filter(postmortem=final_postmortem).exists()


@pytest.mark.django_db
def test_rows_are_versioned_and_a_removed_row_keeps_the_typed_text(alice):
    pm = fill_complete_draft(services.create_draft(alice))
    factor = pm.contributing_factors.first()
    saved = autosave.save_row(pm.pk, "factors", factor.pk, {"text": "No monitor"}, "0",
                              "tab-a", alice)
    assert saved.outcome is Outcome.SAVED
    assert saved.saved == revisions.Saved(f"factors:{factor.pk}", 1)
    services.remove_row(pm, factor)
    gone = autosave.save_row(pm.pk, "factors", factor.pk, {"text": "No watchdog"}, "1",
                             "tab-b", alice)
    assert gone.outcome is Outcome.ROW_GONE
    assert gone.mine == {"text": "No watchdog"}
    assert gone.labels == {"text": "Contributing factor"}
    assert gone.row_kind.noun == "contributing factor"
    nothing = autosave.save_row(pm.pk, "factors", factor.pk, {}, "1", "tab-b", alice)
    assert nothing.outcome is Outcome.NOTHING_POSTED


@pytest.mark.django_db
def test_a_timeline_row_moved_by_its_new_time_is_reordered(alice):
    pm = fill_complete_draft(services.create_draft(alice))
    first, *_, last = pm.timeline_entries.all()
    later = last.utc.replace(hour=last.utc.hour + 1).strftime("%Y-%m-%dT%H:%M")
    result = autosave.save_row(pm.pk, "timeline", first.pk, {"utc": later}, "0", "", alice)
    assert result.outcome is Outcome.REORDERED
    assert result.saved.version == 1
    assert list(pm.timeline_entries.all())[-1].pk == first.pk


@pytest.mark.django_db
def test_unknown_inputs_row_kinds_and_postmortems_are_errors(alice):
    pm = services.create_draft(alice)
    with pytest.raises(autosave.UnknownInput):
        autosave.save_field(pm.pk, "status", {"status": "final"}, "0", "", alice)
    with pytest.raises(autosave.UnknownRowKind):
        autosave.save_row(pm.pk, "amendments", 1, {"note": "x"}, "0", "", alice)
    other = services.create_draft(alice)
    other_pk = other.pk
    other.delete()
    with pytest.raises(Postmortem.DoesNotExist):
        autosave.set_deferred_fix(other_pk, "0", "", alice)


@pytest.mark.django_db
def test_the_first_query_is_the_locked_read_and_a_save_takes_five(alice):
    pm = services.create_draft(alice)
    with CaptureQueriesContext(connection) as captured:
        result = save_summary(pm, "Quotes stopped.", 0, user=alice)
    assert result.outcome is Outcome.SAVED
    sql = [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert sql[0].startswith('SELECT "incidents_postmortem"."id"')
    assert sql[0].endswith("FOR UPDATE")
    # The locked read (with field_marked), the newest revision, the UPDATE, the INSERT,
    # and the live feed's change row (docs/rules.md#live-feed).
    assert len(sql) == 5
    assert "incidents_livechange" in sql[4]


def second_connection() -> psycopg.Connection:
    """A connection of its own to the test database (not Django's)."""
    settings = connection.settings_dict
    return psycopg.connect(dbname=settings["NAME"], user=settings["USER"],
                           password=settings["PASSWORD"] or None,
                           host=settings["HOST"] or None, port=settings["PORT"] or None,
                           autocommit=True)


def test_the_service_holds_the_postmortem_row_lock_until_it_commits(transactional_db, alice,
                                                                    monkeypatch):
    pm = services.create_draft(alice)
    probes = []
    check_version = revisions.check_version

    def probe_then_check(*args, **kwargs):
        # Inside the service's transaction: another connection cannot lock the row.
        with second_connection() as other:
            try:
                other.execute("SELECT 1 FROM incidents_postmortem WHERE id = %s "
                              "FOR UPDATE NOWAIT", [pm.pk])
                probes.append("locked by the second connection")
            except psycopg.errors.LockNotAvailable:
                probes.append("refused")
        return check_version(*args, **kwargs)

    monkeypatch.setattr(revisions, "check_version", probe_then_check)
    result = save_summary(pm, "Quotes stopped.", 0, user=alice)
    assert result.outcome is Outcome.SAVED
    assert probes == ["refused"]
    # Committed: the row is free again.
    with second_connection() as other:
        row = other.execute("SELECT summary FROM incidents_postmortem WHERE id = %s "
                            "FOR UPDATE NOWAIT", [pm.pk]).fetchone()
    assert row == ("Quotes stopped.",)
