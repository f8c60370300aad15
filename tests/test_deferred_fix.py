"""'no change; documented and deferred' has one meaning (issue 19): the seed's JSONL format
writes it in fix_commit_sha; Scarlog stores it as the fix description with no SHA, and the
import, the page, the seven-field rules, the loop and the exports all read it as a deferred
fix (docs/rules.md#template-fix)."""
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from incidents import services, template_rules
from incidents.jsonl import import_log, records
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
    assert "Code change (deferred)" in loop.missing_labels(row)
    gaps_page = django_app.get(reverse("knowledge:loop_gaps"), user="alice")
    assert "Code change (deferred)" in gaps_page.html.select_one(
        "table.loop-gaps tbody td:last-child").text
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


def seed_lines() -> list[dict]:
    return [json.loads(line) for line in (TEST_DATA / "postmortems.jsonl")
            .read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("line", [
    # The seed's first record, its fix deferred the way the seed's format can say it: the
    # text in fix_commit_sha, the ticket in pr_link (the seed has no fix_ticket_link key).
    seed_lines()[0] | {"fix_commit_sha": DEFERRED_FIX_TEXT, "pr_link": TICKET},
    # The outside tester's line (issue 19): another seed record, ticket T-42 in pr_link.
    seed_lines()[-1] | {"fix_commit_sha": DEFERRED_FIX_TEXT,
                        "pr_link": "https://tickets.example.com/T-42"},
], ids=["seed-record", "tester-line"])
def test_a_seed_format_deferred_fix_takes_its_ticket_from_pr_link_through_the_whole_chain(
        line, tmp_path, django_app, alice):
    ticket = line["pr_link"]
    import_log(write_lines(tmp_path / "in.jsonl", line))
    pm = Postmortem.objects.get(pk=line["id"])
    assert (pm.fix_commit_sha, pm.fix_description, pm.fix_ticket_link) == (
        "", DEFERRED_FIX_TEXT, ticket)
    # Page: no "no ticket link" gap; the ticket is a link.
    page = django_app.get(reverse("incidents:postmortem_detail", args=[pm.pk]), user="alice")
    assert "has no ticket link" not in page.text
    assert "ticket: (none)" not in page.text
    section = page.html.select_one("#section-fix")
    assert [a["href"] for a in section.select("a")] == [ticket]
    assert f"{DEFERRED_FIX_TEXT} — ticket: {ticket}" in section.text
    fix = next(s for s in template_rules.check_postmortem(pm) if s.key == "fix")
    assert fix.complete, fix.messages
    # Loop: no code change (docs/rules.md#loop-steps), and it says the fix was deferred.
    step = {s.key: s for s in loop.loop_for(pm)}["code_change"]
    assert not step.done
    assert step.missing_reason == f"the fix was deferred ({DEFERRED_FIX_TEXT}; ticket {ticket})"
    gaps_page = django_app.get(reverse("knowledge:loop_gaps"), user="alice")
    cell = gaps_page.html.select_one("table.loop-gaps tbody td:last-child").text
    assert "Code change (deferred)" in cell
    # JSONL export: the input line, key for key; re-import finds the same record.
    call_command("export_postmortems", out=str(tmp_path / "out"))
    assert read_lines(tmp_path / "out" / "log.jsonl") == [line]
    result = import_log(tmp_path / "out" / "log.jsonl")
    assert (result.postmortems_created, result.postmortems_unchanged) == (0, 1)
    # Markdown: the deferred text with its ticket.
    call_command("export_postmortems", out=str(tmp_path / "md"), format="markdown")
    [markdown] = list((tmp_path / "md").iterdir())
    assert f"{DEFERRED_FIX_TEXT} ({ticket})" in markdown.read_text(encoding="utf-8")


def test_a_deferred_fix_stored_before_the_ticket_rule_still_matches_its_line(
        tmp_path, monkeypatch):
    line = seed_line(fix_commit_sha=DEFERRED_FIX_TEXT, pr_link=TICKET)
    path = write_lines(tmp_path / "in.jsonl", line)
    # Import as the earlier version did (final records cannot be edited afterwards): the
    # ticket only as the PR-link reference, fix_ticket_link empty.
    current = records.fix_from_log
    monkeypatch.setattr(records, "fix_from_log",
                        lambda sha, desc, ticket, pr: current(sha, desc, ticket, ""))
    import_log(path)
    assert Postmortem.objects.get(pk=line["id"]).fix_ticket_link == ""
    monkeypatch.undo()
    result = import_log(path)
    assert (result.postmortems_created, result.postmortems_unchanged) == (0, 1)
    call_command("export_postmortems", out=str(tmp_path / "out"))
    assert read_lines(tmp_path / "out" / "log.jsonl") == [line]


def test_a_line_with_its_own_ticket_beside_a_different_pr_link_keeps_both(tmp_path):
    other = "https://github.com/example/repo/pull/7"
    line = seed_line(fix_commit_sha=DEFERRED_FIX_TEXT, pr_link=other, fix_ticket_link=TICKET)
    import_log(write_lines(tmp_path / "in.jsonl", line))
    pm = Postmortem.objects.get(pk=line["id"])
    assert pm.fix_ticket_link == TICKET
    assert list(pm.references.values_list("kind", "value")) == [("pr", other)]
    call_command("export_postmortems", out=str(tmp_path / "out"))
    assert read_lines(tmp_path / "out" / "log.jsonl") == [line]


def test_a_seed_deferred_record_without_a_ticket_is_told_only_that(tmp_path):
    line = seed_line(fix_commit_sha=DEFERRED_FIX_TEXT)
    import_log(write_lines(tmp_path / "in.jsonl", line))
    pm = Postmortem.objects.get(pk=line["id"])
    fix = next(s for s in template_rules.check_postmortem(pm) if s.key == "fix")
    assert fix.messages == [f'Fix reads "{DEFERRED_FIX_TEXT}" but has no ticket link.']
    call_command("export_postmortems", out=str(tmp_path / "out"))
    assert read_lines(tmp_path / "out" / "log.jsonl") == [line]
    call_command("export_postmortems", out=str(tmp_path / "md"), format="markdown")
    [markdown] = list((tmp_path / "md").iterdir())
    text = markdown.read_text(encoding="utf-8")
    assert f"{DEFERRED_FIX_TEXT} (no ticket link)" in text and "()" not in text


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
