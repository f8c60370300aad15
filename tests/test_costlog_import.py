"""import_costlog / export_costlog on the real MISHAP_COST_LOG.md of tests/data.

Rule: docs/rules.md#cost-markdown; an entry that cannot be
parsed is reported with its line and heading, and nothing from the file is imported.
"""
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from costlog.import_export import export_costlog, import_costlog
from costlog.markdown_format import CostLogError
from costlog.models import EntryPattern, MishapEntry, ResourceRate
from costlog.services import entry_input_from, record_entry
from tests.conftest import TEST_DATA

pytestmark = pytest.mark.django_db

REAL_LOG = TEST_DATA / "MISHAP_COST_LOG.md"


def nothing_stored() -> bool:
    return not (MishapEntry.objects.exists() or ResourceRate.objects.exists()
                or EntryPattern.objects.exists())


def test_the_real_log_imports_every_entry_and_rate(real_cost_log):
    assert MishapEntry.objects.count() == 7 and ResourceRate.objects.count() == 6
    kxin = MishapEntry.objects.get(title="KXIN Concentration Loss")
    assert kxin.cost_low_usd == kxin.cost_high_usd == Decimal(78947)
    assert [link.pattern.name for link in kxin.pattern_links.all()] == [
        "Silent fallback", "Missing risk check"]
    assert kxin.occurred_utc.isoformat() == "2026-01-30T18:00:00+00:00"  # 1:00 PM ET
    assert kxin.logged_zone == "ET" and len(kxin.prevention_items) == 4
    fallback = MishapEntry.objects.get(title__startswith="Silent Heuristic Fallback")
    assert fallback.root_cause == "TWO cascading failures:"
    assert fallback.root_cause_items[1].startswith("Code had try/except")
    assert (fallback.cost_low_usd, fallback.cost_high_usd, fallback.cost_approximate,
            fallback.cost_note) == (Decimal(5), Decimal(10), True, "wasted training jobs")
    near_miss = MishapEntry.objects.get(title__startswith="Alphabetical Bias")
    assert near_miss.near_miss and near_miss.cost_high_usd == 0
    serverless = ResourceRate.objects.get(resource="SageMaker Serverless Endpoint")
    assert (serverless.usd, serverless.unit, serverless.effective_date) == (
        Decimal("0.00012"), "second", date(2026, 1, 9))


def test_export_after_import_reproduces_the_real_file(real_cost_log):
    assert export_costlog() == real_cost_log


def test_importing_the_same_file_again_changes_nothing(real_cost_log):
    result = import_costlog(real_cost_log)
    assert (result.entries_created, result.entries_unchanged) == (0, 7)
    assert (result.rates_created, result.rates_unchanged) == (0, 6)
    assert MishapEntry.objects.count() == 7


def test_export_writes_corrections_and_postmortem_links_back(real_cost_log, final_postmortem):
    kxin = MishapEntry.objects.get(title="KXIN Concentration Loss")
    data = entry_input_from(kxin)
    data.postmortem = final_postmortem
    data.cost_low_usd = data.cost_high_usd = Decimal("80000.50")
    record_entry(data, corrects=kxin, correction_reason="Broker statement.")
    text = export_costlog()
    assert "- **Estimated cost**: $80,000.50\n" in text
    assert f"- **Postmortem**: {final_postmortem.pk}\n" in text
    assert "$78,947" not in text
    # The exported file reads back as the same entries (the importer knows "Postmortem").
    with pytest.raises(CostLogError, match="already exists with other content"):
        import_costlog(real_cost_log)


def test_a_changed_entry_is_refused_because_the_log_is_append_only(real_cost_log):
    changed = real_cost_log.replace("$78,947", "$78,000")
    with pytest.raises(CostLogError) as error:
        import_costlog(changed)
    kxin = MishapEntry.objects.get(title="KXIN Concentration Loss")
    assert error.value.errors == [(
        f"line {changed.splitlines().index('#### [1:00 PM ET] - KXIN Concentration Loss') + 1} "
        "(KXIN Concentration Loss): entry "
        f"{kxin.pk} with this time and title "
        "already exists with other content; the cost log is append-only, so correct it in Scarlog"
    )]


@pytest.mark.parametrize("replace, replacement, expected", [
    ("- **Estimated cost**: $78,947", "- **Estimated cost**: about 79k",
     "(KXIN Concentration Loss): Estimated cost 'about 79k' is not like"),
    ("- **Root pattern**: Silent fallback; Missing risk check",
     "- **Root pattern**: Silent fallback; Hubris",
     "(KXIN Concentration Loss): root pattern 'Hubris' is not in the taxonomy"),
    ("#### [1:00 PM ET] - KXIN", "#### [13:00 ET] - KXIN",
     "entry heading '#### [13:00 ET] - KXIN Concentration Loss' is not"),
    ("| ECS Task (Fargate) | ~$0.04/hour |", "| ECS Task (Fargate) | 4 cents an hour |",
     "cost '4 cents an hour' of 'ECS Task (Fargate)' is not like"),
    ("- **Duration**: One trading session\n- **Estimated cost**: $78,947",
     "- **Duration**: One trading session\n  1. open to close\n- **Estimated cost**: $78,947",
     "(KXIN Concentration Loss): numbered items under 'Duration' are not kept"),
])
def test_a_malformed_file_is_refused_whole_naming_line_and_heading(root_patterns, replace,
                                                                   replacement, expected):
    text = REAL_LOG.read_text(encoding="utf-8")
    assert replace in text
    with pytest.raises(CostLogError) as error:
        import_costlog(text.replace(replace, replacement))
    assert any(expected in message and message.startswith("line ")
               for message in error.value.errors), error.value.errors
    assert nothing_stored()


def test_a_log_linking_an_unknown_postmortem_is_refused(root_patterns):
    text = REAL_LOG.read_text(encoding="utf-8").replace(
        "  4. Validate portfolio risk before every buy",
        "  4. Validate portfolio risk before every buy\n"
        "- **Postmortem**: 00000000-0000-0000-0000-000000000000")
    with pytest.raises(CostLogError, match="is not the id of a stored postmortem"):
        import_costlog(text)
    assert nothing_stored()


def test_the_commands_import_and_export(root_patterns, tmp_path, capsys):
    call_command("import_costlog", str(REAL_LOG))
    assert "Imported 7 mishap entries (0 already present, unchanged) and 6 resource rates" in (
        capsys.readouterr().out)
    out = tmp_path / "exported.md"
    call_command("export_costlog", out=str(out))
    assert out.read_text(encoding="utf-8") == REAL_LOG.read_text(encoding="utf-8")


def test_the_import_command_fails_loudly_and_stores_nothing(root_patterns, tmp_path):
    broken = tmp_path / "broken.md"
    broken.write_text(REAL_LOG.read_text(encoding="utf-8").replace("~$150-250", "lots"))
    with pytest.raises(CommandError) as error:
        call_command("import_costlog", str(broken))
    assert "Nothing was imported" in str(error.value)
    assert "(RL Model Never Used (6 days)): Estimated cost 'lots'" in str(error.value)
    assert nothing_stored()
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_costlog", str(tmp_path / "missing.md"))


def test_rates_can_take_effect_from_a_given_date(root_patterns, tmp_path):
    call_command("import_costlog", str(REAL_LOG), rates_effective=date(2025, 12, 1))
    assert set(ResourceRate.objects.values_list("effective_date", flat=True)) == {date(2025, 12, 1)}
