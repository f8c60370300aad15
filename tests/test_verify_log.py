"""Tamper evidence: each finalized postmortem and amendment is sealed into a hash chain at
write time, and `manage.py verify_log` finds a row changed behind the application's back
(a PostgreSQL superuser with the immutability triggers switched off)."""
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from incidents import meetings, seals, services
from incidents.meetings import AttendeeInput
from incidents.models import (
    Amendment,
    ContributingFactor,
    MeetingAttendee,
    Postmortem,
    ScanAnswer,
    Seal,
    TimelineEntry,
)
from tests.conftest import fill_complete_draft, past_the_guards


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


# Seal content version 2 (issue 18): a final record's meetings, attendees, scan answers,
# pending marks and factor verdicts are sealed with it; the owner, who can get past every
# trigger (past_the_guards), changing any of them is named by verify_log.

@pytest.fixture
def final_with_meeting(alice, bob):
    """A record finalized after a held meeting (bob facilitating, alice operating)."""
    pm = fill_complete_draft(Postmortem.objects.create(created_by=alice))
    meeting = meetings.schedule_meeting(
        pm, pm.created_utc, bob,
        [AttendeeInput(alice, "operator"), AttendeeInput(bob, "code_owner")])
    meetings.start_meeting(meeting, bob)
    meetings.end_meeting(meeting, bob)
    return services.finalize(pm, alice)


def test_a_record_is_sealed_with_its_meeting_in_content_version_2(final_with_meeting, capsys):
    seal = Seal.objects.get(postmortem=final_with_meeting)
    assert seal.content_version == 2
    assert set(seal.part_sha256s) == {
        "postmortem", "timeline", "contributing factors", "references", "scan answers",
        "meetings", "attendees", "pending marks"}
    assert seal.content_sha256 == seals.postmortem_content_sha256(final_with_meeting.pk)
    ok, out = run_verify_log(capsys, "--no-repo", "--expect-head", seal.chain_sha256)
    assert ok, out


def test_the_owner_inserting_a_meeting_for_a_final_record_is_named(final_with_meeting, bob,
                                                                   capsys):
    head = Seal.objects.get().chain_sha256
    with past_the_guards() as cursor:
        cursor.execute(
            "INSERT INTO incidents_meeting (postmortem_id, scheduled_utc, facilitator_id, "
            "started_utc, ended_utc, created_utc, changed_utc, sequence, current_field) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, 0, '')",
            [final_with_meeting.pk, datetime(2020, 1, 6, 9, 0, tzinfo=UTC), bob.pk,
             datetime(2020, 1, 6, 9, 0, tzinfo=UTC), datetime(2020, 1, 6, 9, 30, tzinfo=UTC),
             datetime(2020, 1, 6, 9, 0, tzinfo=UTC), datetime(2020, 1, 6, 9, 0, tzinfo=UTC)])
    ok, out = run_verify_log(capsys, "--no-repo", "--expect-head", head)
    assert not ok
    assert f"MISMATCH postmortem {final_with_meeting.pk}: its content changed" in out
    assert "in its meetings (seal" in out


def test_the_owner_changing_an_attendee_role_is_named(final_with_meeting, capsys):
    attendee = MeetingAttendee.objects.get(role="code_owner")
    with past_the_guards() as cursor:
        cursor.execute("UPDATE incidents_meetingattendee SET role = 'reviewer' WHERE id = %s",
                       [attendee.pk])
    ok, out = run_verify_log(capsys, "--no-repo")
    assert not ok
    assert f"MISMATCH postmortem {final_with_meeting.pk}: its content changed" in out
    assert "in its attendees (seal" in out


def test_the_owner_changing_a_scan_answer_is_named(final_with_meeting, capsys):
    answer = ScanAnswer.objects.filter(postmortem=final_with_meeting).first()
    with past_the_guards() as cursor:
        cursor.execute("UPDATE incidents_scananswer SET note = 'rewritten later' WHERE id = %s",
                       [answer.pk])
    ok, out = run_verify_log(capsys, "--no-repo")
    assert not ok
    assert f"MISMATCH postmortem {final_with_meeting.pk}: its content changed" in out
    assert "in its scan answers (seal" in out


def test_the_owner_adding_a_pending_mark_or_a_verdict_is_named(final_with_meeting, alice,
                                                              capsys):
    factor = ContributingFactor.objects.filter(postmortem=final_with_meeting).first()
    with past_the_guards() as cursor:
        cursor.execute("INSERT INTO incidents_pendingmark (postmortem_id, field, marked_utc) "
                       "VALUES (%s, 'summary', %s)",
                       [final_with_meeting.pk, datetime(2020, 1, 6, tzinfo=UTC)])
        cursor.execute("UPDATE incidents_contributingfactor SET substitution = 'personal' "
                       "WHERE id = %s", [factor.pk])
    ok, out = run_verify_log(capsys, "--no-repo")
    assert not ok
    assert "in its contributing factors, pending marks (seal" in out


def test_an_untouched_archive_of_version_1_and_2_seals_verifies(final_postmortem, alice,
                                                                 final_with_meeting, capsys):
    # Recreate an archive sealed before version 2: the second record's seal is the chain's
    # last link, so it is removed past the guards and written again as version 1.
    older = final_with_meeting
    with past_the_guards() as cursor:
        cursor.execute("DELETE FROM incidents_logseal WHERE postmortem_id = %s", [older.pk])
    with transaction.atomic():
        seals.seal_postmortem(older.pk, version=1)
    services.add_amendment(older, alice, "The vendor confirmed the window.")
    versions = dict(Seal.objects.filter(kind="postmortem").values_list("postmortem_id",
                                                                        "content_version"))
    assert versions == {final_postmortem.pk: 2, older.pk: 1}
    head = Seal.objects.order_by("id").last().chain_sha256
    ok, out = run_verify_log(capsys, "--no-repo", "--expect-head", head)
    assert ok, out
    assert f"OK: 3 seals verified; chain head {head}" in out
    # A version-1 seal still catches what version 1 covers.
    behind_the_apps_back("UPDATE incidents_postmortem SET summary = 'x' WHERE id = %s",
                         [older.pk])
    ok, out = run_verify_log(capsys, "--no-repo")
    assert not ok
    assert f"MISMATCH postmortem {older.pk}: its content changed" in out


def test_an_unknown_content_version_is_refused(final_postmortem):
    with pytest.raises(ValueError, match="unknown seal content version 3"):
        seals.postmortem_content_sha256(final_postmortem.pk, version=3)
