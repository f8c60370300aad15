"""INDEX.md's "I need to..." table: parse and render.

Rule: docs/rules.md#runbook-index: a master index with an "I need to..."
lookup table of | Task | Document | rows; documents are paths under the docs root.
The text before and after the table is kept as written so INDEX.md round-trips.
"""
import re
from dataclasses import dataclass

HEADING = "## I need to..."
HEADER_ROW = "| Task | Document |"
RULE_RE = re.compile(r"^\|\s*-{3,}\s*\|\s*-{3,}\s*\|$")
ROW_RE = re.compile(r"^\|(?P<task>[^|]+)\|(?P<document>[^|]+)\|$")


class TaskIndexError(ValueError):
    """INDEX.md does not hold the "I need to..." table as expected; names the line."""


@dataclass
class ParsedIndex:
    """INDEX.md split: text before the table, (task, document) rows, text after."""

    before: str
    rows: list[tuple[str, str]]
    after: str


def parse_index(text: str) -> ParsedIndex:
    """Split INDEX.md `text`; TaskIndexError names a missing heading or a bad row."""
    lines = text.split("\n")
    try:
        start = lines.index(HEADER_ROW, lines.index(HEADING))
    except ValueError:
        raise TaskIndexError(f"INDEX.md needs '{HEADING}' followed by a "
                             f"'{HEADER_ROW}' table.") from None
    if start + 1 >= len(lines) or not RULE_RE.match(lines[start + 1]):
        raise TaskIndexError(f"INDEX.md line {start + 2}: expected the table rule '|---|---|'.")
    rows, end = [], start + 2
    while end < len(lines) and lines[end].startswith("|"):
        match = ROW_RE.match(lines[end])
        if not match or not match["task"].strip() or not match["document"].strip():
            raise TaskIndexError(f"INDEX.md line {end + 1}: expected '| task | document |'.")
        rows.append((match["task"].strip(), match["document"].strip()))
        end += 1
    return ParsedIndex(before="\n".join(lines[:start]) + "\n", rows=rows,
                       after="\n".join(lines[end:]))


def render_index(before: str, rows: list[tuple[str, str]], after: str) -> str:
    """INDEX.md text from its parts (the inverse of parse_index)."""
    table = [HEADER_ROW, "|---|---|", *(f"| {task} | {document} |" for task, document in rows)]
    return before + "\n".join(table) + "\n" + after
