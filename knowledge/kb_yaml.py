"""The knowledge base as `.ai-knowledge-base.yaml`: parse, import and export.

Rule: docs/rules.md#kb-schema (Layer 2, the machine-readable knowledge base):
`version: 1`, then the lists `patterns`, `anti_patterns` and `decision_trees`. A pattern or
anti-pattern has exactly the keys id, name, severity, category, description, do, dont,
checklist, reference_files; a decision tree has id, name, severity, steps (category and
description optional). Scarlog adds one optional key, `incidents` (postmortem ids), written
only when an entry is linked to postmortems.

The shapes are Records (core.validation): KnowledgeFile, EntryRecord, TreeRecord and
StepRecord; lengths are the KnowledgeEntry columns'. Errors (KnowledgeSchemaError, a
RecordError) name the file, the line, the entry id and the key within the entry.

export_yaml() writes the file in the layout of the real one (double-quoted strings,
description as a `|` block), so importing the real file and exporting it gives the same
bytes.
"""
import json
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any

import yaml
from django.db import transaction
from pydantic import BeforeValidator, Field, model_validator

from core import yaml_lines
from core.record_types import (
    ListOf,
    Matching,
    OneOf,
    Text,
    id_pattern,
    kind_of,
    max_length_of,
    refusal,
)
from core.validation import Record, RecordError, key_path, parse_record
from incidents.models import Postmortem
from knowledge.models import KnowledgeEntry, Severity

HEADER = ("# Machine-readable patterns (do this), anti-patterns (don't do this) and "
          "decision-tree scenarios.\n")
VERSION = 1
SECTIONS = {
    "patterns": KnowledgeEntry.Kind.PATTERN,
    "anti_patterns": KnowledgeEntry.Kind.ANTI_PATTERN,
    "decision_trees": KnowledgeEntry.Kind.DECISION_TREE,
}
SECTION_OF_KIND = {kind: section for section, kind in SECTIONS.items()}
LIST_KEYS = ("do", "dont", "checklist", "reference_files")
KEY_RE = id_pattern(max_length_of(KnowledgeEntry, "key"))


class KnowledgeSchemaError(RecordError):
    """The YAML does not follow the knowledge-base schema.

    entry: the entry's id (or its position, "patterns[2]", when it has none); key: the
    offending key within the entry ("severity", "steps[0].yes"), or "" for the whole entry
    or file; path: the key from the file's top ("patterns[2].severity"). str() gives
    "FILE, line N: entry ID, key KEY: message" with the parts known.
    """

    def __init__(self, entry: str, key: str, message: str, *, source: str = "",
                 line: int | None = None, path: str = ""):
        self.entry = entry
        self.path = path or key
        super().__init__(message, source=source, line=line, key=key)

    def located(self) -> str:
        where = (f"entry {self.entry}" + (f", key {self.key}" if self.key else "")
                 if self.entry else (self.key or "file"))
        prefix = ", ".join(part for part in (self.source,
                                             f"line {self.line}" if self.line else "") if part)
        return f"{prefix}: {where}: {self.message}" if prefix else f"{where}: {self.message}"


@dataclass
class ParsedEntry:
    """One validated entry: its kind, position in its list, fields, linked ids, the line
    it starts on and the line of each linked id."""

    kind: str
    position: int
    fields: dict
    incidents: list[str] = field(default_factory=list)
    line: int | None = None
    incident_lines: list[int | None] = field(default_factory=list)


@dataclass
class ImportResult:
    """What an import did: counts of entries (or policies) created, updated and unchanged."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


# --- Record shapes ------------------------------------------------------------------

EntryId = Matching(KEY_RE, lambda value: "must be an id of letters, digits, _ . - "
                                         f"(got {value!r}).")
# YAML 1.1 reads an unquoted target such as `no` as a boolean; a target is an id.
StepId = Matching(KEY_RE, lambda value: f"must name a step id, not {value!r}.")


def _postmortem_id(value: Any) -> str:
    if not isinstance(value, str):
        raise refusal(f"must be text, not {kind_of(value)}.")
    try:
        uuid.UUID(value)
    except ValueError:
        raise refusal(f"{value!r} is not a postmortem id.") from None
    return value


Incidents = ListOf(Annotated[str, BeforeValidator(_postmortem_id)])


class StepRecord(Record):
    """A decision-tree step: a question with yes/no targets, or an action that ends it."""

    id: StepId = ""
    question: Text() = ""
    action: Text() = ""
    yes: StepId = ""
    no: StepId = ""

    @model_validator(mode="before")
    @classmethod
    def _yes_no_keys(cls, data: Any) -> Any:
        """YAML 1.1 turns the keys `yes`/`no` into booleans; read them back as names."""
        if not isinstance(data, dict):
            raise refusal("must be a mapping.")
        return {({True: "yes", False: "no"}[key] if isinstance(key, bool) else str(key)): value
                for key, value in data.items()}

    @model_validator(mode="after")
    def _question_or_action(self) -> "StepRecord":
        if self.question:
            if not (self.yes and self.no) or self.action:
                raise refusal("a question step needs yes and no, and no action.")
        elif self.action:
            if self.yes or self.no:
                raise refusal("an action step ends the walk; it has no yes/no.")
        else:
            raise refusal("needs a question or an action.")
        return self


def _steps(value: Any) -> Any:
    if not isinstance(value, list) or not value:
        raise refusal("must be a non-empty list of steps.")
    return value


class EntryRecord(Record):
    """A pattern or anti-pattern: every key required except `incidents`."""

    id: EntryId
    name: Text(max_length=max_length_of(KnowledgeEntry, "name"))
    severity: OneOf(Severity.values)
    category: Text(max_length=max_length_of(KnowledgeEntry, "category"))
    description: Text()
    do: ListOf(Text())
    dont: ListOf(Text())
    checklist: ListOf(Text())
    reference_files: ListOf(Text())
    incidents: Incidents = Field(default_factory=list)


class TreeRecord(Record):
    """A decision tree: id, name, severity and steps; category and description optional."""

    id: EntryId
    name: Text(max_length=max_length_of(KnowledgeEntry, "name"))
    severity: OneOf(Severity.values)
    steps: Annotated[list[StepRecord], BeforeValidator(_steps)]
    category: Text(required=False, max_length=max_length_of(KnowledgeEntry, "category")) = ""
    description: Text(required=False) = ""
    incidents: Incidents = Field(default_factory=list)


def _version(value: Any) -> int:
    if value != VERSION or isinstance(value, bool):
        raise refusal(f"must be {VERSION}, not {value!r}.")
    return value


def _section(value: Any) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise refusal("must be a list of entries.")
    return value


Section = Annotated[list[Any], BeforeValidator(_section)]


class KnowledgeFile(Record):
    """The file: its version and three lists of entries (each checked as its own record)."""

    version: Annotated[int, BeforeValidator(_version)]
    patterns: Section = Field(default_factory=list)
    anti_patterns: Section = Field(default_factory=list)
    decision_trees: Section = Field(default_factory=list)


# --- Parsing ------------------------------------------------------------------------

class _Reader:
    """Checks one file's data; places each error at its file, line, entry and key."""

    def __init__(self, node, source: str):
        self.node, self.source = node, source

    def error(self, entry: str, path: list, key: str, message: str) -> KnowledgeSchemaError:
        full = [*path, *yaml_lines.key_parts(key)]
        return KnowledgeSchemaError(entry, key, message, source=self.source,
                                    line=yaml_lines.line_of(self.node, full),
                                    path=key_path(tuple(full)))

    def file(self, data: Any) -> KnowledgeFile:
        if not isinstance(data, dict):
            raise KnowledgeSchemaError("", "", "the file must be a mapping with version and "
                                       "lists.", source=self.source, line=1)
        try:
            return parse_record(KnowledgeFile, data, source=self.source)
        except RecordError as exc:
            message = {"is not a known key": "is not a top-level key (version, patterns, "
                                             "anti_patterns, decision_trees).",
                       "is required": f"must be {VERSION}, not None."}.get(exc.message,
                                                                          exc.message)
            raise self.error("", [], exc.key, message) from None

    def entry(self, kind: str, section: str, index: int, raw: Any) -> ParsedEntry:
        tree = kind == KnowledgeEntry.Kind.DECISION_TREE
        model = TreeRecord if tree else EntryRecord
        path = [section, index]
        label = f"{section}[{index}]"
        if not isinstance(raw, dict):
            raise self.error(label, path, "", "must be a mapping.")
        raw_id = raw.get("id")
        name = raw_id if isinstance(raw_id, str) and KEY_RE.match(raw_id) else label
        try:
            record = parse_record(model, raw, source=self.source)
        except RecordError as exc:
            message = exc.message
            if message == "is required":
                message = "is missing."
            elif message == "is not a known key":
                message = (f"is not a key of {section} entries "
                           f"({', '.join(sorted(model.model_fields))})."
                           if "." not in exc.key else
                           "is not a step key (id, question, yes, no, action).")
            raise self.error(name, path, exc.key, message) from None
        steps = self.steps(record, path) if tree else []
        fields = {"key": record.id, "kind": kind, "name": record.name,
                  "severity": record.severity, "category": record.category,
                  "description": record.description, "steps": steps}
        for list_key in LIST_KEYS:
            fields[list_key] = [] if tree else list(getattr(record, list_key))
        return ParsedEntry(
            kind=kind, position=index, fields=fields, incidents=list(record.incidents),
            line=yaml_lines.line_of(self.node, path),
            incident_lines=[yaml_lines.line_of(self.node, [*path, "incidents", number])
                            for number in range(len(record.incidents))])

    def steps(self, record: TreeRecord, path: list) -> list[dict]:
        """The rules between steps: ids to reach them, unique, targets in the tree."""
        steps = [step.model_dump(exclude_defaults=True) for step in record.steps]
        for index, step in enumerate(steps):
            if index > 0 and "id" not in step:
                raise self.error(record.id, path, f"steps[{index}].id",
                                 "every step after the first needs an id to be reached.")
        ids = [step["id"] for step in steps if "id" in step]
        if len(ids) != len(set(ids)):
            raise self.error(record.id, path, "steps", "step ids must be unique.")
        for index, step in enumerate(steps):
            for answer in ("yes", "no"):
                if answer in step and step[answer] not in ids:
                    raise self.error(record.id, path, f"steps[{index}].{answer}",
                                     f"names step {step[answer]!r}, which is not in the tree.")
        return steps


def parse_yaml(text: str, source: str = "") -> list[ParsedEntry]:
    """Validate the knowledge-base YAML `text` (`source`: its file name, for errors);
    returns its entries in file order.

    Raises KnowledgeSchemaError naming the line, entry id and key of the first problem.
    """
    try:
        data, node = yaml_lines.load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise KnowledgeSchemaError("", "", f"not valid YAML: {exc}", source=source,
                                   line=mark.line + 1 if mark else None) from None
    reader = _Reader(node, source)
    checked = reader.file(data)
    entries, seen = [], set()
    for section, kind in SECTIONS.items():
        for index, raw in enumerate(getattr(checked, section)):
            entry = reader.entry(kind, section, index, raw)
            if entry.fields["key"] in seen:
                raise reader.error(entry.fields["key"], [section, index], "id", "appears twice.")
            seen.add(entry.fields["key"])
            entries.append(entry)
    return entries


@transaction.atomic
def import_yaml(text: str, source: str = "") -> ImportResult:
    """Create or update the entries of `text` by id (all or nothing).

    Entries not in the file are kept. An entry's `incidents` replace its postmortem links;
    an id that names no postmortem raises KnowledgeSchemaError.
    """
    entries = parse_yaml(text, source)
    result = ImportResult()
    for parsed in entries:
        wanted = []
        if parsed.incidents:
            found = {str(pk) for pk in Postmortem.objects.filter(
                pk__in=parsed.incidents).values_list("pk", flat=True)}
            for index, pm_id in enumerate(parsed.incidents):
                if pm_id not in found:
                    raise KnowledgeSchemaError(parsed.fields["key"], f"incidents[{index}]",
                                               f"no postmortem has id {pm_id}.", source=source,
                                               line=parsed.incident_lines[index])
            wanted = parsed.incidents
        values = {**parsed.fields, "position": parsed.position}
        existing = KnowledgeEntry.objects.filter(key=values["key"]).first()
        if existing is None:
            entry = KnowledgeEntry.objects.create(**values)
            result.created += 1
        else:
            entry = existing
            changed = any(getattr(entry, name) != value for name, value in values.items())
            linked = sorted(str(pk) for pk in entry.postmortems.values_list("pk", flat=True))
            if changed:
                for name, value in values.items():
                    setattr(entry, name, value)
                entry.save()
            if changed or (parsed.incidents and linked != sorted(wanted)):
                result.updated += 1
            else:
                result.unchanged += 1
        if parsed.incidents:
            entry.postmortems.set(wanted)
    return result


def _quoted(value: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is valid YAML)."""
    return json.dumps(value, ensure_ascii=False)


def _plain_or_quoted(value: str) -> str:
    """The id as written when YAML reads it back unchanged as text, else quoted."""
    if KEY_RE.match(value) and yaml.safe_load(value) == value:
        return value
    return _quoted(value)


def _block(value: str, indent: str) -> str:
    """`value` as a literal block scalar under `indent`, or quoted when a block can't hold it."""
    if not value or value[0] in " \n" or "\r" in value or "\t" in value \
            or any(line != line.rstrip(" ") for line in value.split("\n")):
        return _quoted(value)
    body = value.rstrip("\n")
    trailing = len(value) - len(body)
    chomp = {0: "-", 1: ""}.get(trailing, "+")
    lines = [(indent + line) if line else "" for line in body.split("\n")]
    lines += [""] * (trailing - 1 if trailing > 1 else 0)
    return f"|{chomp}\n" + "\n".join(lines)


def _list(name: str, items: list[str], indent: str) -> list[str]:
    if not items:
        return [f"{indent}{name}: []"]
    return [f"{indent}{name}:"] + [f"{indent}  - {_quoted(item)}" for item in items]


def _entry_lines(entry: KnowledgeEntry, incidents: list[str]) -> list[str]:
    pad = "    "
    lines = [f"  - id: {_plain_or_quoted(entry.key)}",
             f"{pad}name: {_quoted(entry.name)}",
             f"{pad}severity: {_quoted(entry.severity)}"]
    tree = entry.kind == KnowledgeEntry.Kind.DECISION_TREE
    if not tree or entry.category:
        lines.append(f"{pad}category: {_quoted(entry.category)}")
    if not tree or entry.description:
        lines.append(f"{pad}description: {_block(entry.description, pad + '  ')}")
    if tree:
        lines.append(f"{pad}steps:")
        for step in entry.steps:
            first = True
            for name in ("id", "question", "action", "yes", "no"):
                if name not in step:
                    continue
                # ids are written plain like the real file; question and action quoted
                value = (_quoted(step[name]) if name in ("question", "action")
                         else _plain_or_quoted(step[name]))
                lines.append(f"{pad}  {'- ' if first else '  '}{name}: {value}")
                first = False
    else:
        for name in LIST_KEYS:
            lines += _list(name, getattr(entry, name), pad)
    if incidents:
        lines += _list("incidents", incidents, pad)
    return lines


def export_yaml(entries=None, hidden=frozenset()) -> str:
    """The knowledge base (or the given entries) as `.ai-knowledge-base.yaml` text.

    `entries`: a KnowledgeEntry queryset, default all; each list keeps its order
    (position). Sections with no entries are written as empty lists. Postmortems whose
    ids are in `hidden` (incidents.visibility.hidden_ids of the reader) are not named
    (docs/rules.md#private-postmortems).
    """
    if entries is None:
        entries = KnowledgeEntry.objects.all()
    entries = list(entries.prefetch_related("postmortems"))
    lines = [HEADER.rstrip("\n"), f"version: {VERSION}"]
    for section, kind in SECTIONS.items():
        members = sorted((entry for entry in entries if entry.kind == kind),
                         key=lambda entry: (entry.position, entry.key))
        if not members:
            lines.append(f"{section}: []")
            continue
        lines.append(f"{section}:")
        for entry in members:
            incidents = sorted(str(pm.pk) for pm in entry.postmortems.all()
                               if pm.pk not in hidden)
            lines += _entry_lines(entry, incidents)
    return "\n".join(lines) + "\n"
