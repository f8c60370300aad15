"""The knowledge base as `.ai-knowledge-base.yaml`: parse, import and export.

Source rule: Layer 2 of 000_147101d763a5563e.txt and ../shared/data/ai-knowledge-base.yaml:
`version: 1`, then the lists `patterns`, `anti_patterns` and `decision_trees`. A pattern or
anti-pattern has exactly the keys id, name, severity, category, description, do, dont,
checklist, reference_files; a decision tree has id, name, severity, steps (category and
description optional). Scarlog adds one optional key, `incidents` (postmortem ids), written
only when an entry is linked to postmortems.

export_yaml() writes the file in the layout of the real one (double-quoted strings,
description as a `|` block), so importing the real file and exporting it gives the same
bytes. Errors name the entry id and the key (KnowledgeSchemaError).
"""
import json
import re
import uuid
from dataclasses import dataclass, field

import yaml
from django.db import transaction

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
ENTRY_KEYS = ("id", "name", "severity", "category", "description", *LIST_KEYS)
TREE_REQUIRED = ("id", "name", "severity", "steps")
TREE_OPTIONAL = ("category", "description")
KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class KnowledgeSchemaError(ValueError):
    """The YAML does not follow the knowledge-base schema.

    entry: the entry's id (or its position, "patterns[2]", when it has none); key: the
    offending key ("severity", "steps[0].yes"), or "" for the whole entry or file.
    """

    def __init__(self, entry: str, key: str, message: str):
        self.entry, self.key = entry, key
        where = f"entry {entry}" + (f", key {key}" if key else "") if entry else (key or "file")
        super().__init__(f"{where}: {message}")


@dataclass
class ParsedEntry:
    """One validated entry: its kind, position in its list, fields and linked ids."""

    kind: str
    position: int
    fields: dict
    incidents: list[str] = field(default_factory=list)


@dataclass
class ImportResult:
    """What an import did: counts of entries (or policies) created, updated and unchanged."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


def _string(entry: str, key: str, value, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise KnowledgeSchemaError(entry, key, f"must be text, not {type(value).__name__}.")
    if not allow_empty and not value.strip():
        raise KnowledgeSchemaError(entry, key, "must not be empty.")
    if "\x00" in value:
        raise KnowledgeSchemaError(entry, key, "contains a NUL character.")
    return value


def _string_list(entry: str, key: str, value) -> list[str]:
    if not isinstance(value, list):
        raise KnowledgeSchemaError(entry, key, "must be a list of text items.")
    return [_string(entry, f"{key}[{index}]", item) for index, item in enumerate(value)]


def _step_target(entry: str, key: str, value) -> str:
    # YAML 1.1 reads an unquoted target such as `no` as a boolean; a target is an id.
    if not isinstance(value, str) or not KEY_RE.match(value):
        raise KnowledgeSchemaError(entry, key, f"must name a step id, not {value!r}.")
    return value


def _parse_steps(entry: str, value) -> list[dict]:
    """Decision-tree steps; YAML 1.1 turns the keys `yes`/`no` into booleans, read back."""
    if not isinstance(value, list) or not value:
        raise KnowledgeSchemaError(entry, "steps", "must be a non-empty list of steps.")
    steps = []
    for index, raw in enumerate(value):
        where = f"steps[{index}]"
        if not isinstance(raw, dict):
            raise KnowledgeSchemaError(entry, where, "must be a mapping.")
        step = {}
        for raw_key, item in raw.items():
            name = {True: "yes", False: "no"}.get(raw_key, raw_key) \
                if isinstance(raw_key, bool) else raw_key
            if name not in ("id", "question", "action", "yes", "no"):
                raise KnowledgeSchemaError(entry, f"{where}.{name}", "is not a step key "
                                           "(id, question, yes, no, action).")
            if name in ("id", "yes", "no"):
                step[name] = _step_target(entry, f"{where}.{name}", item)
            else:
                step[name] = _string(entry, f"{where}.{name}", item)
        if "question" in step:
            missing = [name for name in ("yes", "no") if name not in step]
            if missing or "action" in step:
                raise KnowledgeSchemaError(entry, where, "a question step needs yes and no, "
                                           "and no action.")
        elif "action" in step:
            if "yes" in step or "no" in step:
                raise KnowledgeSchemaError(entry, where, "an action step ends the walk; it "
                                           "has no yes/no.")
        else:
            raise KnowledgeSchemaError(entry, where, "needs a question or an action.")
        if index > 0 and "id" not in step:
            raise KnowledgeSchemaError(entry, f"{where}.id", "every step after the first "
                                       "needs an id to be reached.")
        steps.append(step)
    ids = [step["id"] for step in steps if "id" in step]
    if len(ids) != len(set(ids)):
        raise KnowledgeSchemaError(entry, "steps", "step ids must be unique.")
    for index, step in enumerate(steps):
        for answer in ("yes", "no"):
            if answer in step and step[answer] not in ids:
                raise KnowledgeSchemaError(entry, f"steps[{index}].{answer}",
                                           f"names step {step[answer]!r}, which is not in the tree.")
    return steps


def _parse_incidents(entry: str, value) -> list[str]:
    ids = _string_list(entry, "incidents", value)
    for index, text in enumerate(ids):
        try:
            uuid.UUID(text)
        except ValueError:
            raise KnowledgeSchemaError(entry, f"incidents[{index}]",
                                       f"{text!r} is not a postmortem id.") from None
    return ids


def _parse_entry(kind: str, section: str, index: int, raw) -> ParsedEntry:
    label = f"{section}[{index}]"
    if not isinstance(raw, dict):
        raise KnowledgeSchemaError(label, "", "must be a mapping.")
    key = raw.get("id")
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise KnowledgeSchemaError(label, "id", f"must be an id of letters, digits, _ . - "
                                   f"(got {key!r}).")
    tree = kind == KnowledgeEntry.Kind.DECISION_TREE
    required = TREE_REQUIRED if tree else ENTRY_KEYS
    allowed = {*required, *(TREE_OPTIONAL if tree else ()), "incidents"}
    for name in raw:
        if name not in allowed:
            raise KnowledgeSchemaError(key, str(name), f"is not a key of {section} entries "
                                       f"({', '.join(sorted(allowed))}).")
    for name in required:
        if name not in raw:
            raise KnowledgeSchemaError(key, name, "is missing.")
    severity = _string(key, "severity", raw["severity"])
    if severity not in Severity.values:
        raise KnowledgeSchemaError(key, "severity", f"{severity!r} is not one of "
                                   f"{', '.join(Severity.values)}.")
    fields = {
        "key": key, "kind": kind, "name": _string(key, "name", raw["name"]),
        "severity": severity,
        "category": _string(key, "category", raw.get("category", ""), allow_empty=tree),
        "description": _string(key, "description", raw.get("description", ""),
                               allow_empty=tree),
        "steps": _parse_steps(key, raw["steps"]) if tree else [],
    }
    for name in LIST_KEYS:
        fields[name] = [] if tree else _string_list(key, name, raw[name])
    incidents = _parse_incidents(key, raw["incidents"]) if "incidents" in raw else []
    return ParsedEntry(kind=kind, position=index, fields=fields, incidents=incidents)


def parse_yaml(text: str) -> list[ParsedEntry]:
    """Validate the knowledge-base YAML `text`; returns its entries in file order.

    Raises KnowledgeSchemaError naming the entry id and key of the first problem.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise KnowledgeSchemaError("", "", f"not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise KnowledgeSchemaError("", "", "the file must be a mapping with version and lists.")
    for name in data:
        if name != "version" and name not in SECTIONS:
            raise KnowledgeSchemaError("", str(name), "is not a top-level key (version, "
                                       "patterns, anti_patterns, decision_trees).")
    if data.get("version") != VERSION:
        raise KnowledgeSchemaError("", "version", f"must be {VERSION}, not "
                                   f"{data.get('version')!r}.")
    entries, seen = [], set()
    for section, kind in SECTIONS.items():
        items = data.get(section) or []
        if not isinstance(items, list):
            raise KnowledgeSchemaError("", section, "must be a list of entries.")
        for index, raw in enumerate(items):
            entry = _parse_entry(kind, section, index, raw)
            if entry.fields["key"] in seen:
                raise KnowledgeSchemaError(entry.fields["key"], "id", "appears twice.")
            seen.add(entry.fields["key"])
            entries.append(entry)
    return entries


@transaction.atomic
def import_yaml(text: str) -> ImportResult:
    """Create or update the entries of `text` by id (all or nothing).

    Entries not in the file are kept. An entry's `incidents` replace its postmortem links;
    an id that names no postmortem raises KnowledgeSchemaError.
    """
    entries = parse_yaml(text)
    result = ImportResult()
    for parsed in entries:
        wanted = []
        if parsed.incidents:
            found = {str(pk) for pk in Postmortem.objects.filter(
                pk__in=parsed.incidents).values_list("pk", flat=True)}
            for index, pm_id in enumerate(parsed.incidents):
                if pm_id not in found:
                    raise KnowledgeSchemaError(parsed.fields["key"], f"incidents[{index}]",
                                               f"no postmortem has id {pm_id}.")
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


def export_yaml(entries=None) -> str:
    """The knowledge base (or the given entries) as `.ai-knowledge-base.yaml` text.

    `entries`: a KnowledgeEntry queryset, default all; each list keeps its order
    (position). Sections with no entries are written as empty lists.
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
            incidents = sorted(str(pm.pk) for pm in entry.postmortems.all())
            lines += _entry_lines(entry, incidents)
    return "\n".join(lines) + "\n"
