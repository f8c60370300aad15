"""The append-only JSONL log: import, export, round trip, refusals; and the Markdown export."""
import json

import pytest
from django.core.management import CommandError, call_command

from incidents import services, template_rules
from incidents.models import (
    DEFERRED_FIX_TEXT,
    Amendment,
    Postmortem,
    Reference,
)
from tests.conftest import DEMO_DATA, TEST_DATA, fill_complete_draft, past_the_guards

pytestmark = pytest.mark.django_db

SEED_LOG = TEST_DATA / "postmortems.jsonl"
SEED_AMENDMENTS = TEST_DATA / "amendments.jsonl"


def read_lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def import_seed():
    call_command("import_postmortems", str(SEED_LOG), amendments=str(SEED_AMENDMENTS))


def test_the_demo_data_is_the_real_seed_data():
    assert (DEMO_DATA / "postmortems.jsonl").read_bytes() == SEED_LOG.read_bytes()
    assert (DEMO_DATA / "amendments.jsonl").read_bytes() == SEED_AMENDMENTS.read_bytes()


def test_import_keeps_ids_and_created_utc_and_makes_records_final(capsys):
    import_seed()
    assert "Imported 8 postmortems" in capsys.readouterr().out
    for record in read_lines(SEED_LOG):
        pm = Postmortem.objects.get(pk=record["id"])
        assert pm.created_utc.isoformat() == record["created_utc"]
        assert pm.status == "final" and pm.origin == "import"
    assert Amendment.objects.count() == 2


def test_export_after_import_reproduces_every_record_field_for_field(tmp_path):
    import_seed()
    call_command("export_postmortems", out=str(tmp_path))
    exported = {record["id"]: record for record in read_lines(tmp_path / "log.jsonl")}
    seed = read_lines(SEED_LOG)
    assert len(exported) == len(seed) == 8
    for record in seed:
        assert exported[record["id"]] == record
    assert read_lines(tmp_path / "amendments.jsonl") == sorted(
        read_lines(SEED_AMENDMENTS), key=lambda a: a["amended_utc"]
    )


def test_export_writes_oldest_first_one_object_per_line(tmp_path):
    import_seed()
    call_command("export_postmortems", out=str(tmp_path))
    created = [r["created_utc"] for r in read_lines(tmp_path / "log.jsonl")]
    assert created == sorted(created)
    assert list(read_lines(tmp_path / "log.jsonl")[0]) == [
        "id", "created_utc", "summary", "timeline", "root_cause", "contributing_factors",
        "fix_commit_sha", "prevention", "trace_id", "pr_link",
    ]


def test_importing_the_same_files_twice_changes_nothing(capsys):
    import_seed()
    capsys.readouterr()
    import_seed()
    assert ("Imported 0 postmortems (8 already present, unchanged) and 0 amendments "
            "(2 already present, unchanged).") in capsys.readouterr().out
    assert Postmortem.objects.count() == 8
    assert Amendment.objects.count() == 2


def test_a_record_whose_id_exists_with_other_content_is_refused_and_nothing_is_imported(tmp_path):
    import_seed()
    records = read_lines(SEED_LOG)
    records[2]["summary"] = "Quietly rewritten history."
    new_record = dict(records[0], id="11111111-2222-4333-8444-555555555555")
    path = tmp_path / "log.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [*records, new_record]) + "\n")
    with pytest.raises(CommandError) as error:
        call_command("import_postmortems", str(path))
    assert f"{path}, line 3: id: postmortem {records[2]['id']} already exists; use amend instead" \
        in str(error.value)
    assert not Postmortem.objects.filter(pk=new_record["id"]).exists()
    assert Postmortem.objects.get(pk=records[2]["id"]).summary != "Quietly rewritten history."


@pytest.mark.parametrize("mutate, expected", [
    (lambda r: "{not json", "not valid JSON"),
    (lambda r: json.dumps({k: v for k, v in r.items() if k != "prevention"}),
     "prevention: is required"),
    (lambda r: json.dumps(dict(r, root_cause="blame")), "root_cause: 'blame' is not one of"),
    (lambda r: json.dumps(dict(r, created_utc="2026-01-10 16:00")),
     "created_utc: '2026-01-10 16:00' has no UTC offset"),
    (lambda r: json.dumps(dict(r, timeline=[{"utc": "yesterday", "event": "x", "trace_id": ""}])),
     "timeline[0].utc: 'yesterday' is not an ISO 8601 date and time"),
    (lambda r: json.dumps(dict(r, contributing_factors="one factor")),
     "contributing_factors: must be a list of strings"),
    (lambda r: json.dumps(dict(r, priority="high")), "priority: is not a known key"),
    (lambda r: json.dumps(dict(r, severity="high")),
     "severity: 'high' is not a severity level (SEV1, SEV2, SEV3, SEV4, SEV5)"),
    (lambda r: json.dumps(dict(r, id="not-a-uuid")), "id: 'not-a-uuid' is not a UUID"),
])
def test_a_bad_line_is_reported_with_its_number_and_nothing_is_imported(tmp_path, mutate, expected):
    lines = SEED_LOG.read_text(encoding="utf-8").splitlines()
    lines[4] = mutate(json.loads(lines[4]))
    path = tmp_path / "log.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(CommandError) as error:
        call_command("import_postmortems", str(path))
    assert f"{path}, line 5: " in str(error.value)
    assert expected in str(error.value)
    assert Postmortem.objects.count() == 0


def test_an_amendment_for_an_unknown_postmortem_refuses_the_whole_import(tmp_path):
    path = tmp_path / "amendments.jsonl"
    path.write_text(SEED_AMENDMENTS.read_text() + json.dumps({
        "parent_id": "99999999-2222-4333-8444-555555555555",
        "amended_utc": "2026-05-01T00:00:00+00:00", "note": "orphan"}) + "\n")
    with pytest.raises(
        CommandError, match=r"amendments.jsonl, line 3: parent_id: 9999.* names no "
    ):
        call_command("import_postmortems", str(SEED_LOG), amendments=str(path))
    assert Postmortem.objects.count() == 0 and Amendment.objects.count() == 0


def test_legacy_records_keep_their_gaps_and_the_page_can_list_them():
    import_seed()
    eventbridge = Postmortem.objects.get(pk="0d1f6a3e-2b8c-4c1e-9a51-7f3b2e9c0a01")
    gaps = template_rules.gaps(eventbridge)
    assert "Timeline has 2 rows; the template asks for 5 to 20." in gaps
    assert "Timeline row 1 has no trace_id." in gaps
    assert "Contributing factors has 2 bullets; the template asks for 3 to 5." in gaps
    assert "References has 0 links; the template asks for 3 to 6." in gaps
    assert eventbridge.timeline_entries.count() == 2


def test_a_record_written_in_scarlog_round_trips_with_its_extra_keys(final_postmortem, tmp_path):
    call_command("export_postmortems", out=str(tmp_path))
    [record] = read_lines(tmp_path / "log.jsonl")
    assert record["trace_id"] == "tr-5f2a9c"
    assert record["pr_link"] == "https://git.example.com/pr/12"
    assert record["references"][1] == {"kind": "commit", "value": "3f9c2ab"}
    assert record["fix_description"] == final_postmortem.fix_description
    expected = dict(record)
    # Importing into an empty database gives back the same record.
    # CASCADE reaches the cost log's tables too (mishap entries may link a postmortem).
    with past_the_guards() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE incidents_postmortem CASCADE")
    call_command("import_postmortems", str(tmp_path / "log.jsonl"))
    call_command("export_postmortems", out=str(tmp_path / "again"))
    assert read_lines(tmp_path / "again" / "log.jsonl") == [expected]


def test_a_deferred_fix_round_trips(alice, tmp_path):
    pm = fill_complete_draft(services.create_draft(alice))
    pm.fix_commit_sha = ""
    pm.fix_description = DEFERRED_FIX_TEXT
    pm.fix_ticket_link = "https://tickets.example.com/OPS-41"
    pm.save()
    Reference.objects.filter(postmortem=pm, kind="commit").update(kind="ticket", value="OPS-41")
    services.finalize(pm, alice)
    call_command("export_postmortems", out=str(tmp_path))
    [record] = read_lines(tmp_path / "log.jsonl")
    assert record["fix_commit_sha"] == DEFERRED_FIX_TEXT  # the seed's format
    assert "fix_description" not in record
    assert record["fix_ticket_link"] == "https://tickets.example.com/OPS-41"
    with past_the_guards() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE incidents_postmortem CASCADE")
    call_command("import_postmortems", str(tmp_path / "log.jsonl"))
    again = Postmortem.objects.get()
    assert (again.fix_commit_sha, again.fix_description) == ("", DEFERRED_FIX_TEXT)


def test_drafts_are_not_part_of_the_exported_log(complete_draft, tmp_path):
    call_command("export_postmortems", out=str(tmp_path))
    assert read_lines(tmp_path / "log.jsonl") == []


def test_markdown_export_writes_one_dated_file_per_postmortem_with_amendments(tmp_path):
    import_seed()
    call_command("export_postmortems", out=str(tmp_path), format="markdown")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 8
    assert "2026-02-02-a-single-stock-crashed-74-on.md" in names
    text = (tmp_path / "2026-02-02-a-single-stock-crashed-74-on.md").read_text()
    assert text.startswith("---\nid: c3e8b7a2-6d45-4f10-a2b9-8e7c6d5b0d04\n")
    assert "## Contributing factors\n\n- RL endpoint silently fell back to heuristics" in text
    assert ("## Amendments\n\n### 2026-02-03 10:00 UTC\n\n- Author: imported\n"
            "- Date: 2026-02-03 10:00 UTC\n- Seal: `") in text
    assert "`\n\nWhat went well:" in text
