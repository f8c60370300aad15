"""Import and export a docs directory: runbook files and INDEX.md (docs/rules.md#runbook).

import_runbooks(root) reads every `*.md` under `root` except INDEX.md as a runbook with
frontmatter (runbooks.frontmatter), and INDEX.md as the task index; it validates every
file before writing anything, then creates or updates runbooks by id in one transaction.
A changed runbook gets a new revision (author none, note naming the file). Dangling
depends_on ids, cycles and index rows that name no runbook are reported, never dropped.
export_runbooks(root) writes the files back, frontmatter and body unchanged.
"""
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from core.limits import FileTooLarge, check_import_size
from runbooks import frontmatter, graph
from runbooks.models import Runbook, TaskIndex, TaskIndexEntry
from runbooks.services import save_with_revision
from runbooks.task_index import parse_index, render_index

INDEX_NAME = "INDEX.md"


@dataclass
class RunbookImport:
    """What import_runbooks() did and found.

    created/updated/unchanged: runbook counts. dangling: (runbook id, missing id).
    cycles: lists of ids. missing_targets: (task, document) index rows naming no runbook.
    """

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    index_rows: int = 0
    dangling: list[tuple[str, str]] = field(default_factory=list)
    cycles: list[list[str]] = field(default_factory=list)
    missing_targets: list[tuple[str, str]] = field(default_factory=list)


def _read(path: Path, relative: str) -> str:
    """The UTF-8 text of a runbook file; FrontmatterError naming it when it is over the
    import limit (docs/rules.md#limits-import-file) or not UTF-8."""
    try:
        check_import_size(path)
        return path.read_text(encoding="utf-8")
    except FileTooLarge as exc:
        raise frontmatter.FrontmatterError(relative, "", str(exc)) from None
    except UnicodeDecodeError as exc:
        raise frontmatter.FrontmatterError(relative, "",
                                           f"not valid UTF-8 ({exc.reason}).") from None


def _files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*.md") if path.name != INDEX_NAME)


@transaction.atomic
def import_runbooks(root: Path, owner=None) -> RunbookImport:
    """Import the docs directory `root`; `owner` (a user) owns runbooks created now.

    Raises FrontmatterError or TaskIndexError (nothing written) on a bad file, and
    FileNotFoundError when `root` is not a directory; two files with one id raise
    FrontmatterError naming both.
    """
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a directory of runbooks.")
    parsed, by_key = [], {}
    for path in _files(root):
        relative = path.relative_to(root).as_posix()
        item = frontmatter.parse(_read(path, relative), relative)
        if item.key in by_key:
            raise frontmatter.FrontmatterError(relative, "id", f"{item.key} is also the id "
                                               f"of {by_key[item.key]}.")
        by_key[item.key] = relative
        parsed.append((relative, item))
    index_path = root / INDEX_NAME
    index = parse_index(_read(index_path, INDEX_NAME)) if index_path.exists() else None
    result = RunbookImport()
    for relative, item in parsed:
        values = {"path": relative, "title": item.title, "perspective": item.perspective,
                  "tags": item.tags, "depends_on": item.depends_on,
                  "key_files": item.key_files, "last_updated": item.last_updated,
                  "body": item.body}
        runbook = Runbook.objects.filter(key=item.key).first()
        if runbook is None:
            other = Runbook.objects.filter(path=relative).first()
            if other is not None:
                raise frontmatter.FrontmatterError(relative, "id", f"the file held runbook "
                                                   f"{other.key}; ids never change.")
            runbook = Runbook.objects.create(key=item.key, owner=owner, **values)
            result.created += 1
        elif any(getattr(runbook, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(runbook, name, value)
            result.updated += 1
        else:
            result.unchanged += 1
            continue
        save_with_revision(runbook, author=None, note=f"imported from {relative}")
    if index is not None:
        TaskIndex.objects.update_or_create(pk=1, defaults={"before": index.before,
                                                           "after": index.after})
        TaskIndexEntry.objects.all().delete()
        TaskIndexEntry.objects.bulk_create(
            TaskIndexEntry(task=task, document=document, position=position)
            for position, (task, document) in enumerate(index.rows))
        result.index_rows = len(index.rows)
    depends = dict(Runbook.objects.values_list("key", "depends_on"))
    result.dangling = graph.find_dangling(depends)
    result.cycles = graph.find_cycles(depends)
    result.missing_targets = missing_targets()
    return result


def missing_targets() -> list[tuple[str, str]]:
    """(task, document) rows of the task index whose document is no runbook's path."""
    paths = set(Runbook.objects.values_list("path", flat=True))
    return [(row.task, row.document) for row in TaskIndexEntry.objects.all()
            if row.document not in paths]


def export_runbooks(root: Path) -> int:
    """Write every runbook to `root`/<path> and INDEX.md (when imported); returns the
    number of files written. Existing files of the same names are replaced."""
    written = 0
    for runbook in Runbook.objects.all():
        target = root / runbook.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(frontmatter.render(runbook), encoding="utf-8")
        written += 1
    index = TaskIndex.objects.filter(pk=1).first()
    if index is not None:
        rows = [(row.task, row.document) for row in TaskIndexEntry.objects.all()]
        root.mkdir(parents=True, exist_ok=True)
        (root / INDEX_NAME).write_text(render_index(index.before, rows, index.after),
                                       encoding="utf-8")
        written += 1
    return written
