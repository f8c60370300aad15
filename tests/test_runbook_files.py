"""docs/v2 round-trips through import_runbooks/export_runbooks; dangling ids, cycles and
missing index targets are reported; bad frontmatter names the file and key."""
import shutil

import pytest

from runbooks import frontmatter
from runbooks.docs_io import export_runbooks, import_runbooks
from runbooks.graph import build_graph
from runbooks.models import Runbook, RunbookRevision, TaskIndexEntry
from tests.conftest import TEST_DATA

DOCS = TEST_DATA / "docs" / "v2"


def _files(root):
    return {path.relative_to(root).as_posix(): path.read_bytes()
            for path in root.rglob("*.md")}


def test_real_docs_round_trip_unchanged(real_runbooks, tmp_path):
    assert Runbook.objects.count() == 6
    assert export_runbooks(tmp_path) == 7
    assert _files(tmp_path) == _files(DOCS)


def test_import_reports_dangling_ids_and_missing_index_targets(real_runbooks):
    assert real_runbooks.created == 6
    assert real_runbooks.dangling == [("ops-05", "ops-14"), ("risk-15", "risk-10"),
                                      ("risk-15", "risk-11"), ("risk-15", "risk-13")]
    assert real_runbooks.cycles == []
    assert real_runbooks.missing_targets == [
        ("Debug a pipeline failure", "ops/08-troubleshooting-pipeline.md"),
        ("Understand risk controls", "risk/02-trading-risk-controls.md"),
        ("Understand feature engineering", "risk/07-feature-engineering.md")]
    assert TaskIndexEntry.objects.count() == 8
    ops05 = Runbook.objects.get(key="ops-05")
    assert ops05.depends_on == ["ops-01", "ops-14"]
    assert ops05.path == "ops/05-trading-morning-go-no-go.md"


def test_reimport_unchanged_then_changed_file_adds_revision(real_runbooks, tmp_path):
    copy = tmp_path / "docs"
    shutil.copytree(DOCS, copy)
    again = import_runbooks(copy)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 6)
    path = copy / "ops" / "04-hotfix-and-rollback.md"
    path.write_text(path.read_text().replace("act first", "act first, always"))
    assert import_runbooks(copy).updated == 1
    revisions = RunbookRevision.objects.filter(runbook__key="ops-04").order_by("number")
    assert [rev.number for rev in revisions] == [1, 2]
    assert "act first, always" in revisions[1].body
    assert revisions[1].note == "imported from ops/04-hotfix-and-rollback.md"


def test_cycle_is_reported(real_runbooks, tmp_path):
    copy = tmp_path / "docs"
    shutil.copytree(DOCS, copy)
    path = copy / "arch" / "01-system-overview.md"
    path.write_text(path.read_text().replace("depends_on: []", "depends_on: [ops-04]"))
    result = import_runbooks(copy)
    assert result.cycles == [["arch-01", "ops-04", "ops-03", "ops-01", "arch-01"]]
    graph = build_graph(Runbook.objects.all())
    assert graph.cycles == result.cycles


@pytest.mark.parametrize("old, new, key", [
    ("perspective: operations", "perspective: finance", "perspective"),
    ("last_updated: 2026-02-17", "last_updated: someday", "last_updated"),
    ("tags: [hotfix, rollback, urgent]", "tags: hotfix", "tags"),
    ("title: Hotfix and Rollback", "title: Hotfix and Rollback\nowner: bob", "owner"),
    ("id: ops-04\n", "", "id"),
])
def test_bad_frontmatter_names_file_and_key_and_writes_nothing(db, tmp_path, old, new, key):
    copy = tmp_path / "docs"
    shutil.copytree(DOCS, copy)
    path = copy / "ops" / "04-hotfix-and-rollback.md"
    path.write_text(path.read_text().replace(old, new))
    with pytest.raises(frontmatter.FrontmatterError) as caught:
        import_runbooks(copy)
    assert caught.value.source == "ops/04-hotfix-and-rollback.md"
    assert caught.value.key == key
    assert Runbook.objects.count() == 0


def test_graph_places_dangling_ops14_as_a_node(real_runbooks):
    graph = build_graph(Runbook.objects.all())
    assert graph.nodes["ops-14"].dangling
    assert not graph.nodes["ops-05"].dangling
    assert ("ops-05", "ops-14") in graph.edges
    # a dependency sits left of what depends on it
    assert graph.nodes["ops-01"].x < graph.nodes["ops-05"].x
    assert graph.nodes["arch-01"].x < graph.nodes["ops-01"].x
