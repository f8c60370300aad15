"""'no change; documented and deferred' has one meaning (issue 19): the seed's JSONL format
writes it in fix_commit_sha; Scarlog stores it as the fix description with no SHA, and the
import, the page, the seven-field rules, the loop and the exports all read it as a deferred
fix (docs/rules.md#template-fix)."""
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from incidents import services, template_rules
from incidents.jsonl import import_log
from incidents.jsonl.records import PostmortemRecord
from incidents.models import DEFERRED_FIX_TEXT, Postmortem, Reference
from knowledge import loop
from tests.conftest import TEST_DATA, fill_complete_draft

pytestmark = pytest.mark.django_db

TICKET = "https://tickets.example.com/RISK-88"


def seed_line(**changes) -> dict:
    """The seed's first postmortem line, as the seed writes it, with `changes`."""
    first = json.loads((TEST_DATA / "postmortems.jsonl").read_text(encoding="utf-8")
                       .splitlines()[0])
    return first | changes


def write_lines(path, *objects):
    path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects),
                    encoding="utf-8")
    return path


def read_lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_seed_deferred_record_reads_as_deferred_everywhere_and_exports_back(
        tmp_path, django_app, alice):
    line = seed_line(fix_commit_sha=DEFERRED_FIX_TEXT, fix_ticket_link=TICKET)
    import_log(write_lines(tmp_path / "in.jsonl", line))
    pm = Postmortem.objects.get(pk=line["id"])
    # Import: one representation, the description, no SHA.
    assert (pm.fix_commit_sha, pm.fix_description, pm.fix_ticket_link) == (
        "", DEFERRED_FIX_TEXT, TICKET)
    # Rules: the fix field is complete; nothing about hexadecimal characters.
    fix = next(s for s in template_rules.check_postmortem(pm) if s.key == "fix")
    assert fix.complete, fix.messages
    # Page: the fix reads as deferred with its ticket; the loop says it was deferred.
    page = django_app.get(reverse("incidents:postmortem_detail", args=[pm.pk]), user="alice")
    section = page.html.select_one("#section-fix").text
    assert f"{DEFERRED_FIX_TEXT} — ticket: {TICKET}" in section
    assert "Commit" not in section
    assert "hexadecimal" not in page.text
    steps = {step.key: step for step in loop.loop_for(pm)}
    assert not steps["code_change"].done and steps["code_change"].links == []
    assert steps["code_change"].missing_reason == (
        f"the fix was deferred ({DEFERRED_FIX_TEXT}; ticket {TICKET})")
    assert f"missing: the fix was deferred ({DEFERRED_FIX_TEXT}" in page.text
    # Loop gaps: the code-change step counts as missing.
    [row] = loop.loop_gaps()
    assert "Code change" in loop.missing_labels(row)
    gaps_page = django_app.get(reverse("knowledge:loop_gaps"), user="alice")
    assert "Code change" in gaps_page.html.select_one("table.loop-gaps tbody td:last-child").text
    # Export: the seed's format, key for key; re-import says it is the same record.
    call_command("export_postmortems", out=str(tmp_path / "out"))
    [exported] = read_lines(tmp_path / "out" / "log.jsonl")
    assert exported == line
    result = import_log(tmp_path / "out" / "log.jsonl")
    assert (result.postmortems_created, result.postmortems_unchanged) == (0, 1)
    assert PostmortemRecord.from_postmortem(Postmortem.objects.get(pk=pm.pk)) == \
        PostmortemRecord.from_postmortem(pm)
    # Markdown: the deferred text and its ticket, no commit.
    call_command("export_postmortems", out=str(tmp_path / "md"), format="markdown")
    [markdown] = list((tmp_path / "md").iterdir())
    text = markdown.read_text(encoding="utf-8")
    assert f"{DEFERRED_FIX_TEXT} ({TICKET})" in text
    assert "Commit `" not in text


def test_a_seed_deferred_record_without_a_ticket_is_told_only_that(tmp_path):
    line = seed_line(fix_commit_sha=DEFERRED_FIX_TEXT)
    import_log(write_lines(tmp_path / "in.jsonl", line))
    pm = Postmortem.objects.get(pk=line["id"])
    fix = next(s for s in template_rules.check_postmortem(pm) if s.key == "fix")
    assert fix.messages == [f'Fix reads "{DEFERRED_FIX_TEXT}" but has no ticket link.']
    call_command("export_postmortems", out=str(tmp_path / "out"))
    assert read_lines(tmp_path / "out" / "log.jsonl") == [line]


def test_a_deferred_sha_beside_a_described_change_is_refused_naming_the_key(tmp_path):
    line = seed_line(fix_commit_sha=DEFERRED_FIX_TEXT,
                     fix_description="Added a readiness endpoint.")
    path = write_lines(tmp_path / "in.jsonl", line)
    with pytest.raises(CommandError) as refused:
        call_command("import_postmortems", str(path))
    assert "line 1" in str(refused.value) and "fix_description" in str(refused.value)
    assert "fix_commit_sha reads" in str(refused.value)
    assert not Postmortem.objects.exists()


def test_a_deferred_fix_chosen_on_the_draft_exports_in_the_seeds_format(alice, tmp_path):
    pm = fill_complete_draft(services.create_draft(alice))
    pm.fix_commit_sha = ""
    pm.fix_description = DEFERRED_FIX_TEXT
    pm.fix_ticket_link = TICKET
    pm.save()
    Reference.objects.filter(postmortem=pm, kind="commit").update(kind="ticket", value="RISK-88")
    services.finalize(pm, alice)
    call_command("export_postmortems", out=str(tmp_path))
    [record] = read_lines(tmp_path / "log.jsonl")
    assert record["fix_commit_sha"] == DEFERRED_FIX_TEXT
    assert "fix_description" not in record
    assert record["fix_ticket_link"] == TICKET
    assert not loop.loop_for(Postmortem.objects.get(pk=pm.pk))[5].done


def test_a_code_fix_still_counts_as_a_code_change(alice):
    pm = fill_complete_draft(services.create_draft(alice))
    services.finalize(pm, alice)
    step = {s.key: s for s in loop.loop_for(pm)}["code_change"]
    assert step.done and step.links == [("commit 3f9c2ab", "")]


def test_the_sha_field_holding_the_deferred_text_beside_a_change_gets_a_clear_message():
    assert template_rules.check_fix(DEFERRED_FIX_TEXT, "Wired the exit.", "") == [
        (f'Fix commit SHA reads "{DEFERRED_FIX_TEXT}" beside a description of a change; a '
         "deferred fix has no SHA and no other description.")]
