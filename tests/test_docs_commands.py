"""The import/export commands round-trip the three real files and refuse bad ones loudly."""
import io
import shutil

import pytest
from django.core.management import CommandError, call_command

from knowledge.models import KnowledgeEntry
from runbooks.models import Runbook
from tests.conftest import TEST_DATA


def _run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_knowledge_and_policies_commands_round_trip(db, tmp_path):
    assert "4 entries created" in _run(
        "import_knowledge", str(TEST_DATA / "ai-knowledge-base.yaml")
    )
    out = _run("import_policies", str(TEST_DATA / "policies.md"))
    assert "12 policies created" in out
    assert "Policies tracing to no incident: 1, 2, 5, 8, 9, 11, 12." in out
    _run("export_knowledge", str(tmp_path / "kb.yaml"))
    _run("export_policies", str(tmp_path / "policies.md"))
    assert (tmp_path / "kb.yaml").read_bytes() == (
        TEST_DATA / "ai-knowledge-base.yaml"
    ).read_bytes()
    assert (tmp_path / "policies.md").read_bytes() == (TEST_DATA / "policies.md").read_bytes()
    assert "id: silent_fallback" in _run("export_knowledge", "--severity", "CRITICAL")
    with pytest.raises(CommandError, match="no-such"):
        _run("export_knowledge", "--id", "no-such")


def test_bad_knowledge_file_is_refused_naming_entry_and_key(db, tmp_path):
    bad = tmp_path / "kb.yaml"
    bad.write_text(
        (TEST_DATA / "ai-knowledge-base.yaml")
        .read_text()
        .replace(
            'severity: "HIGH"\n    category: "deployment"',
            'severity: "high"\n    category: "deployment"',
        )
    )
    with pytest.raises(CommandError, match=r"entry deployment_process, key severity"):
        _run("import_knowledge", str(bad))
    assert KnowledgeEntry.objects.count() == 0
    with pytest.raises(CommandError, match="Cannot read"):
        _run("import_knowledge", str(tmp_path / "missing.yaml"))


def test_runbook_commands_report_dangling_and_round_trip(db, tmp_path):
    out = _run("import_runbooks", str(TEST_DATA / "docs" / "v2"))
    assert "6 runbooks created" in out and "8 task index rows" in out
    assert "Dangling: ops-05 depends on ops-14, which is not in Scarlog." in out
    assert "points at risk/07-feature-engineering.md, which is not in Scarlog" in out
    _run("export_runbooks", str(tmp_path / "out"))
    for path in (TEST_DATA / "docs" / "v2").rglob("*.md"):
        relative = path.relative_to(TEST_DATA / "docs" / "v2")
        assert (tmp_path / "out" / relative).read_bytes() == path.read_bytes(), relative
    with pytest.raises(CommandError, match="--owner"):
        _run("import_runbooks", str(TEST_DATA / "docs" / "v2"), "--owner", "nobody")


def test_bad_runbook_is_refused_naming_file_and_key(db, tmp_path):
    copy = tmp_path / "docs"
    shutil.copytree(TEST_DATA / "docs" / "v2", copy)
    path = copy / "risk" / "15-risk-incidents-and-lessons.md"
    path.write_text(path.read_text().replace("perspective: risk", "perspective: danger"))
    with pytest.raises(
        CommandError, match=r"risk/15-risk-incidents-and-lessons.md, line 4: perspective"
    ):
        _run("import_runbooks", str(copy))
    assert Runbook.objects.count() == 0
