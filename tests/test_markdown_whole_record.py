"""The Markdown export is the whole record (docs/rules.md#final-markdown): a fully
populated final postmortem exports its event and trigger, severity, meeting (facilitator,
attendees with roles, start and end), the scan (question as answered, answer, note),
amendments with their author and date, and the seal."""
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command

from incidents import markdown_export, meeting_record, meetings, services
from incidents.meetings import AttendeeInput
from incidents.models import MeetingAttendee, Seal
from tests.conftest import fill_complete_draft, make_user

pytestmark = pytest.mark.django_db

EVENT = datetime(2026, 3, 2, 15, 47, tzinfo=UTC)


def section(text: str, heading: str) -> str:
    """The body of the `## heading` section (up to the next level-2 heading)."""
    start = text.index(f"\n## {heading}\n") + len(heading) + 5
    end = text.find("\n## ", start)
    return text[start:] if end == -1 else text[start:end]


@pytest.fixture
def full_record():
    facilitator = make_user("fran")
    operator, owner, reviewer = make_user("oscar"), make_user("olive"), make_user("rita")
    with time_machine.travel(EVENT + timedelta(hours=1), tick=False) as clock:
        pm = services.create_draft(facilitator, occurred_utc=EVENT, trigger="other",
                                   trigger_reason="A vendor changed its fee schedule",
                                   severity="SEV2")
        fill_complete_draft(pm)
        meeting_record.answer_scan(pm, "token_runaway", "yes", "300k tokens vs 50k planned",
                                   user=facilitator)
        meeting = meetings.schedule_meeting(
            pm, EVENT + timedelta(hours=20), facilitator,
            [AttendeeInput(operator, MeetingAttendee.Role.OPERATOR),
             AttendeeInput(owner, MeetingAttendee.Role.CODE_OWNER),
             AttendeeInput(reviewer, MeetingAttendee.Role.REVIEWER)], user=facilitator)
        meetings.start_meeting(meeting, facilitator, now=EVENT + timedelta(hours=20))
        meetings.end_meeting(meeting, facilitator, now=EVENT + timedelta(hours=20, minutes=29))
        clock.move_to(EVENT + timedelta(hours=21))
        final = services.finalize(pm, facilitator)
        clock.move_to(EVENT + timedelta(days=3))
        services.add_amendment(final, operator, "The fee refund arrived.")
    return final


def test_a_full_final_record_exports_every_part(full_record):
    text = markdown_export.postmortem_markdown(full_record)
    seal = Seal.objects.get(postmortem=full_record, kind=Seal.Kind.POSTMORTEM)
    amendment_seal = Seal.objects.get(postmortem=full_record, kind=Seal.Kind.AMENDMENT)

    front = text.split("---\n")[1]
    for line in ["severity: SEV2", "trigger: other", "question_set: llm-trading",
                 f"seal_sha256: {seal.chain_sha256}"]:
        assert line in front

    event = section(text, "Event")
    assert "- Occurred: 2026-03-02 15:47 UTC" in event
    assert "- Trigger: Other (reason given) — A vendor changed its fee schedule" in event
    assert "- Severity: SEV2 — major" in event

    meeting = section(text, "Meeting")
    assert "- Facilitator: fran" in meeting
    assert "- Started: 2026-03-03 11:47 UTC" in meeting
    assert "- Ended: 2026-03-03 12:16 UTC" in meeting
    assert ("  - oscar (System operator)\n  - olive (Code owner)\n"
            "  - rita (Reviewer (not involved))") in meeting

    scan = section(text, "Failure-mode scan")
    assert ("| 4 | Token runaway | Did the loop hit its token budget, or exceed 2x the "
            "planned spend? | Yes | 300k tokens vs 50k planned |") in scan
    assert scan.count("| Not applicable |") == 19

    amendments = section(text, "Amendments")
    assert "### 2026-03-05 15:47 UTC" in amendments
    assert "- Author: oscar\n- Date: 2026-03-05 15:47 UTC" in amendments
    assert f"- Seal: `{amendment_seal.chain_sha256}`" in amendments
    assert amendments.rstrip().endswith("The fee refund arrived.")

    sealed = section(text, "Seal")
    assert f"- Content SHA-256: `{seal.content_sha256}`" in sealed
    assert f"- Chain SHA-256: `{seal.chain_sha256}`" in sealed


def test_the_export_command_writes_the_same_whole_record(full_record, tmp_path):
    call_command("export_postmortems", out=str(tmp_path), format="markdown")
    [path] = tmp_path.iterdir()
    assert path.read_text(encoding="utf-8") == markdown_export.postmortem_markdown(full_record)
