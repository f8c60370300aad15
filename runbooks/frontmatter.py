"""Runbook files: YAML frontmatter between `---` lines, then the Markdown body.

Source rule: "Documentation as Code" in 000_147101d763a5563e.txt: every document carries
id, title, perspective, tags, depends_on, key_files and last_updated. parse() validates a
file's text and names the file and key of a problem (FrontmatterError); render() writes
the frontmatter in the layout of ../shared/data/docs/v2 (flow lists for tags and
depends_on, a block list for key_files), so an imported file exports byte for byte.
"""
import re
from dataclasses import dataclass
from datetime import date

import yaml

from runbooks.models import Perspective

KEYS = ("id", "title", "perspective", "tags", "depends_on", "key_files", "last_updated")
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$")


class FrontmatterError(ValueError):
    """A runbook file's frontmatter is missing or wrong: names the file, key and why."""

    def __init__(self, source: str, key: str, message: str):
        self.source, self.key = source, key
        super().__init__(f"{source}" + (f", {key}" if key else "") + f": {message}")


@dataclass
class RunbookFile:
    """A parsed runbook file: frontmatter values (tags, depends_on, key_files as lists of
    strings; last_updated a date) and the Markdown body exactly as written."""

    key: str
    title: str
    perspective: str
    tags: list[str]
    depends_on: list[str]
    key_files: list[str]
    last_updated: date
    body: str


def _text_list(source: str, key: str, value) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip()
                                              for item in value):
        raise FrontmatterError(source, key, "must be a list of text items, e.g. [a, b].")
    return list(value)


def parse(text: str, source: str) -> RunbookFile:
    """Parse a runbook file's `text`; `source` names it in errors (its path)."""
    if "\x00" in text:
        raise FrontmatterError(source, "", "contains a NUL character.")
    if not text.startswith("---\n"):
        raise FrontmatterError(source, "", "must start with a '---' frontmatter block.")
    end = text.find("\n---\n", 3)
    if end == -1:
        raise FrontmatterError(source, "", "the frontmatter block is not closed with '---'.")
    try:
        meta = yaml.safe_load(text[4:end + 1])
    except yaml.YAMLError as exc:
        raise FrontmatterError(source, "", f"the frontmatter is not valid YAML: {exc}") from None
    if not isinstance(meta, dict):
        raise FrontmatterError(source, "", "the frontmatter must be a mapping of keys.")
    for key in meta:
        if key not in KEYS:
            raise FrontmatterError(source, str(key), f"is not a frontmatter key "
                                   f"({', '.join(KEYS)}).")
    for key in KEYS:
        if key not in meta:
            raise FrontmatterError(source, key, "is missing.")
    key = meta["id"]
    if not isinstance(key, str) or not ID_RE.match(key):
        raise FrontmatterError(source, "id", f"must be an id such as ops-05, not {key!r}.")
    title = meta["title"]
    if not isinstance(title, str) or not title.strip():
        raise FrontmatterError(source, "title", "must be non-empty text.")
    if meta["perspective"] not in Perspective.values:
        raise FrontmatterError(source, "perspective", f"{meta['perspective']!r} is not one of "
                               f"{', '.join(Perspective.values)}.")
    depends_on = _text_list(source, "depends_on", meta["depends_on"])
    for item in depends_on:
        if not ID_RE.match(item):
            raise FrontmatterError(source, "depends_on", f"{item!r} is not a runbook id.")
    updated = meta["last_updated"]
    if isinstance(updated, str):
        try:
            updated = date.fromisoformat(updated)
        except ValueError:
            raise FrontmatterError(source, "last_updated",
                                   f"{updated!r} is not a date (YYYY-MM-DD).") from None
    if not isinstance(updated, date):
        raise FrontmatterError(source, "last_updated", "must be a date (YYYY-MM-DD).")
    return RunbookFile(key=key, title=title, perspective=meta["perspective"],
                       tags=_text_list(source, "tags", meta["tags"]), depends_on=depends_on,
                       key_files=_text_list(source, "key_files", meta["key_files"]),
                       last_updated=updated, body=text[end + 5:])


def _scalar(value: str) -> str:
    dumped = yaml.safe_dump(value, width=10**6, allow_unicode=True)
    return dumped.removesuffix("\n").removesuffix("\n...")


def _flow(values: list[str]) -> str:
    return yaml.safe_dump(values, default_flow_style=True, width=10**6,
                          allow_unicode=True).strip()


def render(runbook) -> str:
    """The file text of `runbook` (a Runbook or RunbookFile-like object with key/title/…)."""
    lines = ["---", f"id: {_scalar(runbook.key)}", f"title: {_scalar(runbook.title)}",
             f"perspective: {runbook.perspective}", f"tags: {_flow(runbook.tags)}",
             f"depends_on: {_flow(runbook.depends_on)}"]
    if runbook.key_files:
        lines.append("key_files:")
        lines += [f"  - {_scalar(item)}" for item in runbook.key_files]
    else:
        lines.append("key_files: []")
    lines += [f"last_updated: {runbook.last_updated.isoformat()}", "---"]
    return "\n".join(lines) + "\n" + runbook.body
