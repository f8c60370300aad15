"""Tamper evidence: each finalized postmortem and amendment is sealed into a hash chain at
write time, and `manage.py verify_log` finds a row changed behind the application's back
(a PostgreSQL superuser with the immutability triggers switched off)."""
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from incidents import services
from incidents.models import Amendment, Postmortem, Seal, TimelineEntry


def behind_the_apps_back(sql: str, params=()) -> None:
    """Run `sql` as a superuser would to dodge the triggers (replica role skips them)."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(sql, params)
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")


def run_verify_log(capsys, *args) -> tuple[bool, str]:
    try:
        call_command("verify_log", *args)
    except CommandError as error:
        return False, capsys.readouterr().out + str(error)
    return True, capsys.readouterr().out


def test_finalize_and_amend_each_append_a_chained_seal(final_postmortem, alice, capsys):
    services.add_amendment(final_postmortem, alice, "The vendor confirmed the outage window.")
    seals = list(Seal.objects.order_by("id"))
    assert [(s.kind, s.postmortem_id) for s in seals] == [
        ("postmortem", final_postmortem.pk), ("amendment", final_postmortem.pk)]
    assert seals[1].amendment == Amendment.objects.get()
    ok, out = run_verify_log(capsys)
    assert ok, out
    assert f"OK: 2 seals verified; chain head {seals[1].chain_sha256}" in out


def test_verify_log_names_a_postmortem_changed_with_triggers_disabled(final_postmortem, capsys):
    behind_the_apps_back("UPDATE incidents_postmortem SET summary = %s WHERE id = %s",
                         ["Nothing happened, really.", final_postmortem.pk])
    assert Postmortem.objects.get().summary == "Nothing happened, really."
    ok, out = run_verify_log(capsys)
    assert not ok
    assert (
        f"MISMATCH postmortem {final_postmortem.pk}: its content changed after it was sealed" in out
    )
    assert "1 problem(s) in 1 seals" in out


def test_a_changed_timeline_entry_or_amendment_is_found_too(final_postmortem, alice, capsys):
    amendment = services.add_amendment(final_postmortem, alice, "First note.")
    entry = TimelineEntry.objects.filter(postmortem=final_postmortem).first()
    behind_the_apps_back("UPDATE incidents_timelineentry SET event = 'edited' WHERE id = %s",
                         [entry.pk])
    behind_the_apps_back("UPDATE incidents_amendment SET note = 'rewritten' WHERE id = %s",
                         [amendment.pk])
    ok, out = run_verify_log(capsys)
    assert not ok
    assert f"MISMATCH postmortem {final_postmortem.pk}: its content changed" in out
    assert (
        f"MISMATCH amendment {amendment.pk} of postmortem {final_postmortem.pk}: "
        "its content changed"
        in out
    )


def test_a_seal_rewritten_to_match_breaks_the_chain(final_postmortem, alice, capsys):
    services.add_amendment(final_postmortem, alice, "A later note.")
    first = Seal.objects.order_by("id").first()
    behind_the_apps_back("UPDATE incidents_postmortem SET summary = 'x' WHERE id = %s",
                         [final_postmortem.pk])
    from incidents.seals import postmortem_content_sha256
    forged = postmortem_content_sha256(final_postmortem.pk)
    behind_the_apps_back("UPDATE incidents_logseal SET content_sha256 = %s WHERE id = %s",
                         [forged, first.pk])
    ok, out = run_verify_log(capsys)
    assert not ok
    assert (
        f"MISMATCH seal {first.pk} (postmortem {final_postmortem.pk}): the chain is broken" in out
    )


def test_expect_head_catches_a_whole_chain_rewritten(final_postmortem, capsys):
    ok, out = run_verify_log(capsys)
    head = Seal.objects.get().chain_sha256
    assert ok and head in out
    ok, out = run_verify_log(capsys, "--expect-head", "0" * 64)
    assert not ok
    assert f"the chain head is {head}, not the expected {'0' * 64}" in out


def test_a_final_postmortem_without_a_seal_is_reported(final_postmortem, capsys):
    behind_the_apps_back("DELETE FROM incidents_logseal")
    ok, out = run_verify_log(capsys)
    assert not ok
    assert f"MISMATCH postmortem {final_postmortem.pk}: final but never sealed" in out


def test_seals_are_append_only_in_postgresql(final_postmortem):
    seal = Seal.objects.get()
    with pytest.raises(Exception, match=r"seal .* is append-only"), connection.cursor() as cursor:
        cursor.execute("UPDATE incidents_logseal SET content_sha256 = 'x' WHERE id = %s",
                       [seal.pk])


def test_the_imported_real_log_verifies(real_postmortems, capsys):
    finals = Postmortem.objects.filter(status="final").count()
    ok, out = run_verify_log(capsys)
    assert ok, out
    assert f"OK: {finals + Amendment.objects.count()} seals verified" in out
