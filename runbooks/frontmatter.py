"""Runbook files: YAML frontmatter between `---` lines, then the Markdown body.

Rule: docs/rules.md#runbook-frontmatter: every document carries
id, title, perspective, tags, depends_on, key_files and last_updated. parse() validates a
file's frontmatter as the Record FrontmatterRecord and names the file, line and key of a
problem (FrontmatterError, a RecordError); render() writes the frontmatter in the layout
of the real runbook set (flow lists for tags and depends_on, a block list for
key_files), so an imported file exports byte for byte.
"""
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

import yaml
from pydantic import BeforeValidator

from core import yaml_lines
from core.limits import OutOfRange, day_in_range, text_problem
from core.record_types import (
    ListOf,
    Matching,
    OneOf,
    Text,
    id_pattern,
    max_length_of,
    refusal,
    shown,
)
from core.validation import Record, RecordError, parse_record
from runbooks.models import Perspective, Runbook

KEYS = ("id", "title", "perspective", "tags", "depends_on", "key_files", "last_updated")
ID_RE = id_pattern(max_length_of(Runbook, "key"))
FIRST_LINE = 2  # the frontmatter's first line follows the opening '---'


class FrontmatterError(RecordError):
    """A runbook file's frontmatter is missing or wrong: names the file, line, key and why."""

    def __init__(self, source: str, key: str, message: str, *, line: int | None = None):
        super().__init__(message, source=source, line=line, key=key)


def _date(value: Any) -> date:
    # YAML reads an unquoted 2026-02-17 as a date; a quoted one arrives as text.
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            raise refusal(f"{shown(value)} is not a date (YYYY-MM-DD).") from None
    if not isinstance(value, date):
        raise refusal("must be a date (YYYY-MM-DD).")
    try:
        return day_in_range(value)
    except OutOfRange as exc:
        raise refusal(f"{value.isoformat()} {exc}") from None


LIST_MESSAGE = "must be a list of text items, e.g. [a, b]."


class FrontmatterRecord(Record):
    """The frontmatter's keys, all required; lengths are the Runbook columns'."""

    id: Matching(ID_RE, lambda value: f"must be an id such as ops-05, not {value!r}.")
    title: Text(max_length=max_length_of(Runbook, "title"))
    perspective: OneOf(Perspective.values)
    tags: ListOf(Text(), LIST_MESSAGE)
    depends_on: ListOf(Matching(ID_RE, lambda value: f"{value!r} is not a runbook id."),
                       LIST_MESSAGE)
    key_files: ListOf(Text(), LIST_MESSAGE)
    last_updated: Annotated[date, BeforeValidator(_date)]


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


def parse(text: str, source: str) -> RunbookFile:
    """Parse a runbook file's `text`; `source` names it in errors (its path)."""
    if "\x00" in text:
        raise FrontmatterError(source, "", "contains a NUL character.")
    if not text.startswith("---\n"):
        raise FrontmatterError(source, "", "must start with a '---' frontmatter block.",
                               line=1)
    end = text.find("\n---\n", 3)
    if end == -1:
        raise FrontmatterError(source, "", "the frontmatter block is not closed with '---'.")
    try:
        meta, node = yaml_lines.load(text[4:end + 1])
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise FrontmatterError(source, "", f"the frontmatter is not valid YAML: {exc}",
                               line=mark.line + FIRST_LINE if mark else None) from None
    if not isinstance(meta, dict):
        raise FrontmatterError(source, "", "the frontmatter must be a mapping of keys.",
                               line=FIRST_LINE)
    try:
        record = parse_record(FrontmatterRecord, meta, source=source)
    except RecordError as exc:
        message = exc.message
        if message == "is not a known key":
            message = f"is not a frontmatter key ({', '.join(KEYS)})."
        elif message == "is required":
            message = "is missing."
        raise FrontmatterError(source, exc.key, message,
                               line=yaml_lines.line_of(node, exc.key, FIRST_LINE)) from None
    body = text[end + 5:]
    if problem := text_problem(body, max_length_of(Runbook, "body")):
        raise FrontmatterError(source, "body", f"{problem}.")
    return RunbookFile(key=record.id, title=record.title, perspective=record.perspective,
                       tags=list(record.tags), depends_on=list(record.depends_on),
                       key_files=list(record.key_files), last_updated=record.last_updated,
                       body=body)


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
