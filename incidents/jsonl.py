"""The seed's append-only log: postmortems as JSON lines, amendments as JSON lines.

Source rule: "The append-only log" of ../shared/seeds/001_60b217100959449d.txt.
A postmortem line holds the `Postmortem` dataclass fields, in this order: id,
created_utc, summary, timeline ([{utc, event, trace_id}]), root_cause,
contributing_factors ([str]), fix_commit_sha, prevention, trace_id, pr_link.
Scarlog adds keys only when a record carries more than those fields can say:
fix_description, fix_ticket_link, references ([{kind, value}]), and the long-form
sections of 000_147101d763a5563e.txt: template ("long-form"; absent means seven-field),
impact ({usd: "78947.00" (a string, exact cents), users, duration_minutes, description},
each key only when set), what_went_well, what_went_wrong, lessons_learned; and what the
meeting adds (issue 3): failure_mode_scan ({mode slug: {answer: yes|no|na, note}}),
factor_substitution (structural|personal|"" per contributing factor, in order) and
owner_sentiment ({quote, by}). An amendment
line is {parent_id, amended_utc, note}, plus section and impact ({usd, users,
duration_minutes}) when it adds to a long-form section. Times are ISO 8601 with a UTC
offset. A record in the seed's format, without any of these keys, imports unchanged.

Importing is all or nothing: every line is checked first, errors are reported with
their file and line number, and nothing is written unless all lines pass. A record
whose id exists with the same content is skipped; with other content it is refused
("already exists; use amend instead").
"""
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from django.db import transaction

from core.units import parse_usd
from incidents.failure_modes import FAILURE_MODE_BY_SLUG, FAILURE_MODES
from incidents.models import (
    Amendment,
    ContributingFactor,
    Postmortem,
    Reference,
    RootCause,
    ScanAnswer,
    Section,
    Substitution,
    Template,
    TimelineEntry,
)
from incidents.services import DomainError, clean_domain, set_domain, store_final_without_checks

DATACLASS_KEYS = (
    "id", "created_utc", "summary", "timeline", "root_cause", "contributing_factors",
    "fix_commit_sha", "prevention", "trace_id", "pr_link",
)
EXTENSION_KEYS = (
    "fix_description", "fix_ticket_link", "references", "template", "impact",
    "what_went_well", "what_went_wrong", "lessons_learned", "failure_mode_scan",
    "factor_substitution", "owner_sentiment",
)
AMENDMENT_KEYS = ("parent_id", "amended_utc", "note")
AMENDMENT_EXTENSION_KEYS = ("section", "impact")
IMPACT_KEYS = ("usd", "users", "duration_minutes", "description")
AMENDMENT_IMPACT_KEYS = ("usd", "users", "duration_minutes")
SECTION_TEXT_KEYS = ("what_went_well", "what_went_wrong", "lessons_learned")
TIMELINE_KEYS = ("utc", "event", "trace_id")
REFERENCE_KEYS = ("kind", "value")
SCAN_ANSWER_KEYS = ("answer", "note")
OWNER_SENTIMENT_KEYS = ("quote", "by")


class LogFormatError(ValueError):
    """One record of a log file is malformed; the message names the file, line and key."""


@dataclass(frozen=True)
class TimelineRow:
    utc: datetime
    event: str
    trace_id: str


@dataclass(frozen=True)
class ImpactFigures:
    """Impact figures as a log line holds them: USD (Decimal, cents), users, minutes."""

    usd: Decimal | None = None
    users: int | None = None
    duration_minutes: int | None = None
    description: str = ""

    def to_json_dict(self, with_description: bool = True) -> dict:
        """Only the figures that are set; usd as a string so cents stay exact."""
        obj = {}
        if self.usd is not None:
            obj["usd"] = f"{self.usd:.2f}"
        if self.users is not None:
            obj["users"] = self.users
        if self.duration_minutes is not None:
            obj["duration_minutes"] = self.duration_minutes
        if with_description and self.description:
            obj["description"] = self.description
        return obj

    @classmethod
    def from_json_dict(cls, value, key: str, allowed: tuple) -> "ImpactFigures":
        """Parse `value` (the log's impact object); raises LogFormatError naming key.subkey."""
        if not isinstance(value, dict):
            raise LogFormatError(f"{key} must be an object with keys {', '.join(allowed)}")
        unknown = sorted(set(value) - set(allowed))
        if unknown:
            raise LogFormatError(f"{key} has unknown key(s): {', '.join(unknown)}")
        usd = None
        if "usd" in value:
            if not isinstance(value["usd"], str):
                raise LogFormatError(f'{key}.usd must be a string such as "78947.00"')
            try:
                usd = parse_usd(value["usd"])
            except ValueError as exc:
                raise LogFormatError(f"{key}.usd: {exc}") from exc
            if usd is None:
                raise LogFormatError(f"{key}.usd is empty; leave the key out instead")
        return cls(
            usd=usd,
            users=_count(value, "users", key),
            duration_minutes=_count(value, "duration_minutes", key),
            description=_string(value, "description", default=""),
        )


@dataclass(frozen=True)
class PostmortemRecord:
    """A postmortem as the log holds it; equal records mean equal content."""

    id: str
    created_utc: datetime
    summary: str = ""
    timeline: tuple[TimelineRow, ...] = ()
    root_cause: str = ""
    contributing_factors: tuple[str, ...] = ()
    fix_commit_sha: str = ""
    fix_description: str = ""
    fix_ticket_link: str = ""
    prevention: str = ""
    references: tuple[tuple[str, str], ...] = field(default=())
    template: str = Template.SEVEN_FIELD
    impact: ImpactFigures = ImpactFigures()
    what_went_well: str = ""
    what_went_wrong: str = ""
    lessons_learned: str = ""
    # ((mode slug, answer, note), ...) in the seed's question order.
    failure_mode_scan: tuple[tuple[str, str, str], ...] = ()
    factor_substitution: tuple[str, ...] = ()
    owner_sentiment: str = ""
    owner_sentiment_by: str = ""

    @classmethod
    def from_postmortem(cls, pm: Postmortem) -> "PostmortemRecord":
        """Build the record of a stored postmortem (its rows in display order)."""
        return cls(
            id=str(pm.id),
            created_utc=pm.created_utc,
            summary=pm.summary,
            timeline=tuple(
                TimelineRow(row.utc, row.event, row.trace_id)
                for row in pm.timeline_entries.all()
            ),
            root_cause=pm.root_cause,
            contributing_factors=tuple(f.text for f in pm.contributing_factors.all()),
            factor_substitution=_substitution_or_none(
                tuple(f.substitution for f in pm.contributing_factors.all())),
            failure_mode_scan=_scan_in_order(
                (a.mode, a.answer, a.note) for a in pm.scan_answers.all()),
            owner_sentiment=pm.owner_sentiment,
            owner_sentiment_by=pm.owner_sentiment_by,
            fix_commit_sha=pm.fix_commit_sha,
            fix_description=pm.fix_description,
            fix_ticket_link=pm.fix_ticket_link,
            prevention=pm.prevention,
            references=tuple((r.kind, r.value) for r in pm.references.all()),
            template=pm.template,
            impact=ImpactFigures(pm.impact_usd, pm.impact_users, pm.impact_duration_minutes,
                                 pm.impact_description),
            what_went_well=pm.what_went_well,
            what_went_wrong=pm.what_went_wrong,
            lessons_learned=pm.lessons_learned,
        )

    def to_json_dict(self) -> dict:
        """The log line's object: dataclass keys in seed order, then extension keys if needed."""
        trace_id, pr_link = _legacy_reference_fields(self.references)
        record = {
            "id": self.id,
            "created_utc": _format_utc(self.created_utc),
            "summary": self.summary,
            "timeline": [
                {"utc": _format_utc(row.utc) if row.utc else "", "event": row.event,
                 "trace_id": row.trace_id}
                for row in self.timeline
            ],
            "root_cause": self.root_cause,
            "contributing_factors": list(self.contributing_factors),
            "fix_commit_sha": self.fix_commit_sha,
            "prevention": self.prevention,
            "trace_id": trace_id,
            "pr_link": pr_link,
        }
        if self.fix_description:
            record["fix_description"] = self.fix_description
        if self.fix_ticket_link:
            record["fix_ticket_link"] = self.fix_ticket_link
        if self.references != _references_from_legacy(trace_id, pr_link):
            record["references"] = [{"kind": k, "value": v} for k, v in self.references]
        if self.template != Template.SEVEN_FIELD:
            record["template"] = str(self.template)
        impact = self.impact.to_json_dict()
        if impact:
            record["impact"] = impact
        for key in SECTION_TEXT_KEYS:
            if getattr(self, key):
                record[key] = getattr(self, key)
        if self.failure_mode_scan:
            record["failure_mode_scan"] = {
                mode: {"answer": answer, **({"note": note} if note else {})}
                for mode, answer, note in self.failure_mode_scan
            }
        if any(self.factor_substitution):
            record["factor_substitution"] = list(self.factor_substitution)
        if self.owner_sentiment:
            record["owner_sentiment"] = {"quote": self.owner_sentiment,
                                         **({"by": self.owner_sentiment_by}
                                            if self.owner_sentiment_by else {})}
        return record

    @classmethod
    def from_json_dict(cls, obj) -> "PostmortemRecord":
        """Parse one log object; raises LogFormatError naming the first bad key."""
        _check_keys(obj, "a postmortem", DATACLASS_KEYS, EXTENSION_KEYS)
        text = {key: _string(obj, key) for key in (
            "summary", "root_cause", "fix_commit_sha", "prevention", "trace_id", "pr_link")}
        text["fix_description"] = _string(obj, "fix_description", default="")
        text["fix_ticket_link"] = _string(obj, "fix_ticket_link", default="")
        if text["root_cause"] not in ("", *RootCause.values):
            raise LogFormatError(
                f"root_cause {text['root_cause']!r} is not one of {', '.join(RootCause.values)}"
            )
        _check_length("fix_commit_sha", text["fix_commit_sha"], 64)
        _check_length("fix_ticket_link", text["fix_ticket_link"], 500)
        if "references" in obj:
            references = _parse_references(obj["references"])
            if _legacy_reference_fields(references) != (text["trace_id"], text["pr_link"]):
                raise LogFormatError(
                    "trace_id / pr_link disagree with the first trace_id / pr entry of references"
                )
        else:
            references = _references_from_legacy(text["trace_id"], text["pr_link"])
        template = _string(obj, "template", default=Template.SEVEN_FIELD)
        if template not in Template.values:
            raise LogFormatError(
                f"template {template!r} is not one of {', '.join(Template.values)}")
        impact = ImpactFigures()
        if "impact" in obj:
            impact = ImpactFigures.from_json_dict(obj["impact"], "impact", IMPACT_KEYS)
        factors = _parse_string_list(obj["contributing_factors"], "contributing_factors")
        substitution = ()
        if "factor_substitution" in obj:
            substitution = _parse_substitution(obj["factor_substitution"], len(factors))
        quote, quote_by = "", ""
        if "owner_sentiment" in obj:
            quote, quote_by = _parse_owner_sentiment(obj["owner_sentiment"])
        return cls(
            id=_parse_uuid(obj["id"], "id"),
            created_utc=_parse_utc(obj["created_utc"], "created_utc"),
            summary=text["summary"],
            timeline=_parse_timeline(obj["timeline"]),
            root_cause=text["root_cause"],
            contributing_factors=factors,
            factor_substitution=_substitution_or_none(substitution),
            failure_mode_scan=(_parse_scan(obj["failure_mode_scan"])
                               if "failure_mode_scan" in obj else ()),
            owner_sentiment=quote,
            owner_sentiment_by=quote_by,
            fix_commit_sha=text["fix_commit_sha"],
            fix_description=text["fix_description"],
            fix_ticket_link=text["fix_ticket_link"],
            prevention=text["prevention"],
            references=references,
            template=template,
            impact=impact,
            **{key: _string(obj, key, default="") for key in SECTION_TEXT_KEYS},
        )

    def create_final_postmortem(self) -> Postmortem:
        """Store this record as a final, imported postmortem (gaps kept as they are)."""
        pm = Postmortem.objects.create(
            id=uuid.UUID(self.id),
            created_utc=self.created_utc,
            origin=Postmortem.Origin.IMPORT,
            summary=self.summary,
            root_cause=self.root_cause,
            fix_commit_sha=self.fix_commit_sha,
            fix_description=self.fix_description,
            fix_ticket_link=self.fix_ticket_link,
            prevention=self.prevention,
            template=self.template,
            impact_usd=self.impact.usd,
            impact_users=self.impact.users,
            impact_duration_minutes=self.impact.duration_minutes,
            impact_description=self.impact.description,
            what_went_well=self.what_went_well,
            what_went_wrong=self.what_went_wrong,
            lessons_learned=self.lessons_learned,
            owner_sentiment=self.owner_sentiment,
            owner_sentiment_by=self.owner_sentiment_by,
        )
        TimelineEntry.objects.bulk_create(
            TimelineEntry(postmortem=pm, position=n, utc=row.utc, event=row.event,
                          trace_id=row.trace_id)
            for n, row in enumerate(self.timeline, start=1)
        )
        substitution = self.factor_substitution or ("",) * len(self.contributing_factors)
        ContributingFactor.objects.bulk_create(
            ContributingFactor(postmortem=pm, position=n, text=text, substitution=verdict)
            for n, (text, verdict) in enumerate(zip(self.contributing_factors, substitution,
                                                    strict=True), start=1)
        )
        ScanAnswer.objects.bulk_create(
            ScanAnswer(postmortem=pm, position=FAILURE_MODE_BY_SLUG[mode].number, mode=mode,
                       answer=answer, note=note, answered_utc=self.created_utc)
            for mode, answer, note in self.failure_mode_scan
        )
        Reference.objects.bulk_create(
            Reference(postmortem=pm, position=n, kind=kind, value=value)
            for n, (kind, value) in enumerate(self.references, start=1)
        )
        store_final_without_checks(pm, user=None)
        return pm


@dataclass(frozen=True)
class AmendmentRecord:
    """An amendment as the log holds it: {parent_id, amended_utc, note} (+ section, impact)."""

    parent_id: str
    amended_utc: datetime
    note: str
    section: str = ""
    impact: ImpactFigures = ImpactFigures()

    @classmethod
    def from_amendment(cls, amendment: Amendment) -> "AmendmentRecord":
        return cls(
            str(amendment.postmortem_id), amendment.amended_utc, amendment.note,
            amendment.section,
            ImpactFigures(amendment.impact_usd, amendment.impact_users,
                          amendment.impact_duration_minutes),
        )

    def to_json_dict(self) -> dict:
        obj = {
            "parent_id": self.parent_id,
            "amended_utc": _format_utc(self.amended_utc),
            "note": self.note,
        }
        if self.section:
            obj["section"] = self.section
        impact = self.impact.to_json_dict(with_description=False)
        if impact:
            obj["impact"] = impact
        return obj

    @classmethod
    def from_json_dict(cls, obj) -> "AmendmentRecord":
        """Parse one amendment object; raises LogFormatError naming the bad key."""
        _check_keys(obj, "an amendment", AMENDMENT_KEYS, AMENDMENT_EXTENSION_KEYS)
        note = _string(obj, "note")
        if not note.strip():
            raise LogFormatError("note is empty")
        section = _string(obj, "section", default="")
        if "section" in obj and section not in Section.values:
            raise LogFormatError(
                f"section {section!r} is not one of {', '.join(Section.values)} "
                "(leave the key out for a general note)")
        impact = ImpactFigures()
        if "impact" in obj:
            impact = ImpactFigures.from_json_dict(obj["impact"], "impact", AMENDMENT_IMPACT_KEYS)
            if section != Section.IMPACT:
                raise LogFormatError('impact figures need "section": "impact"')
        return cls(
            parent_id=_parse_uuid(obj["parent_id"], "parent_id"),
            amended_utc=_parse_utc(obj["amended_utc"], "amended_utc"),
            note=note,
            section=section,
            impact=impact,
        )


@dataclass
class ImportResult:
    """Counts of an import: created and unchanged postmortems and amendments."""

    postmortems_created: int = 0
    postmortems_unchanged: int = 0
    amendments_created: int = 0
    amendments_unchanged: int = 0


class ImportRefused(ValueError):
    """The import wrote nothing; `errors` lists every problem as 'file:line: message'."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("\n".join(errors))


def read_json_lines(path: Path, parse) -> tuple[list[tuple[int, object]], list[str]]:
    """Parse each non-blank line of `path` with `parse`; return ([(line_no, record)], errors)."""
    records, errors = [], []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        return [], [f"{path}: cannot be read: {exc}"]
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append((number, parse(json.loads(line))))
        except json.JSONDecodeError as exc:
            errors.append(f"{path}:{number}: not valid JSON ({exc.msg}, column {exc.colno})")
        except LogFormatError as exc:
            errors.append(f"{path}:{number}: {exc}")
    return records, errors


def import_log(postmortem_path: Path, amendment_path: Path | None = None,
               domain: str | None = None) -> ImportResult:
    """Import a log.jsonl (and optionally an amendments.jsonl) in one transaction.

    Records keep their id and created_utc and become final. With `domain` (a slug), every
    record of the file is classified in it (incidents.services.set_domain), those already
    present too. Returns an ImportResult;
    raises ImportRefused, having written nothing, when any line is malformed, a record's
    id exists with other content, or an amendment's parent is unknown or a draft.
    """
    if domain is not None:
        try:
            domain = clean_domain(domain)
        except DomainError as exc:
            raise ImportRefused([f"--domain: {exc}"]) from exc
    records, errors = read_json_lines(postmortem_path, PostmortemRecord.from_json_dict)
    amendments = []
    if amendment_path is not None:
        amendments, amendment_errors = read_json_lines(
            amendment_path, AmendmentRecord.from_json_dict
        )
        errors += amendment_errors
    if errors:
        raise ImportRefused(errors)
    result = ImportResult()
    with transaction.atomic():
        new_records = _plan_postmortems(postmortem_path, records, errors, result)
        if not errors:
            for record in new_records:
                record.create_final_postmortem()
            _import_amendments(amendment_path, amendments, errors, result)
        if not errors and domain is not None:
            for postmortem in Postmortem.objects.filter(pk__in=[r.id for _, r in records]):
                set_domain(postmortem, domain)
        if errors:
            transaction.set_rollback(True)
    if errors:
        raise ImportRefused(errors)
    return result


def _plan_postmortems(path, records, errors, result) -> list[PostmortemRecord]:
    """Sort records into new ones (returned) and unchanged ones; refuse changed ones."""
    seen: dict[str, int] = {}
    existing = {
        str(pm.id): pm
        for pm in Postmortem.objects.filter(id__in=[r.id for _, r in records]).prefetch_related(
            "timeline_entries", "contributing_factors", "references", "scan_answers"
        )
    }
    new_records = []
    for number, record in records:
        if record.id in seen:
            errors.append(f"{path}:{number}: postmortem {record.id} already appears on line "
                          f"{seen[record.id]}")
            continue
        seen[record.id] = number
        stored = existing.get(record.id)
        if stored is None:
            new_records.append(record)
        elif stored.is_final and PostmortemRecord.from_postmortem(stored) == record:
            result.postmortems_unchanged += 1
        else:
            errors.append(f"{path}:{number}: postmortem {record.id} already exists; "
                          "use amend instead")
    result.postmortems_created = len(new_records)
    return new_records


def _import_amendments(path, amendments, errors, result) -> None:
    """Append amendments whose (parent, time, note) is not stored yet; check every parent."""
    parent_ids = {a.parent_id for _, a in amendments}
    parents = {str(pm.id): pm for pm in Postmortem.objects.filter(id__in=parent_ids)}
    stored = {
        AmendmentRecord.from_amendment(a)
        for a in Amendment.objects.filter(postmortem_id__in=parent_ids)
    }
    for number, amendment in amendments:
        parent = parents.get(amendment.parent_id)
        if parent is None:
            errors.append(f"{path}:{number}: parent_id {amendment.parent_id} names no postmortem")
        elif not parent.is_final:
            errors.append(f"{path}:{number}: postmortem {amendment.parent_id} is a draft; "
                          "only final postmortems are amended")
        elif amendment in stored:
            result.amendments_unchanged += 1
        else:
            Amendment.objects.create(
                postmortem=parent, amended_utc=amendment.amended_utc, note=amendment.note,
                section=amendment.section, impact_usd=amendment.impact.usd,
                impact_users=amendment.impact.users,
                impact_duration_minutes=amendment.impact.duration_minutes,
            )
            stored.add(amendment)
            result.amendments_created += 1


def export_log(out_dir: Path) -> tuple[int, int]:
    """Write out_dir/log.jsonl and out_dir/amendments.jsonl, oldest first.

    Only final postmortems are exported (drafts are not part of the log). Returns
    (postmortem count, amendment count).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    postmortems = (
        Postmortem.objects.filter(status=Postmortem.Status.FINAL)
        .order_by("created_utc", "id")
        .prefetch_related("timeline_entries", "contributing_factors", "references", "scan_answers")
    )
    amendments = Amendment.objects.order_by("amended_utc", "id")
    pm_count = _write_json_lines(
        out_dir / "log.jsonl",
        (PostmortemRecord.from_postmortem(pm).to_json_dict() for pm in postmortems),
    )
    amendment_count = _write_json_lines(
        out_dir / "amendments.jsonl",
        (AmendmentRecord.from_amendment(a).to_json_dict() for a in amendments),
    )
    return pm_count, amendment_count


def _write_json_lines(path: Path, objects) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as fh:
        for obj in objects:
            fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
            count += 1
    return count


def _format_utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _legacy_reference_fields(references) -> tuple[str, str]:
    """The dataclass's trace_id and pr_link: the first reference of each kind, or ""."""
    trace_id = next((v for k, v in references if k == Reference.Kind.TRACE_ID), "")
    pr_link = next((v for k, v in references if k == Reference.Kind.PR), "")
    return trace_id, pr_link


def _references_from_legacy(trace_id: str, pr_link: str) -> tuple[tuple[str, str], ...]:
    refs = []
    if trace_id:
        refs.append((str(Reference.Kind.TRACE_ID), trace_id))
    if pr_link:
        refs.append((str(Reference.Kind.PR), pr_link))
    return tuple(refs)


def _check_keys(obj, what: str, required: tuple, optional: tuple = ()) -> None:
    """Raise LogFormatError unless `obj` is a JSON object with every required key and no other."""
    if not isinstance(obj, dict):
        raise LogFormatError(f"{what} line must be a JSON object")
    missing = [key for key in required if key not in obj]
    if missing:
        raise LogFormatError(f"missing key(s): {', '.join(missing)}")
    unknown = sorted(set(obj) - set(required) - set(optional))
    if unknown:
        raise LogFormatError(f"unknown key(s): {', '.join(unknown)}")


def _string(obj: dict, key: str, default: str | None = None) -> str:
    value = obj.get(key, default)
    if not isinstance(value, str):
        raise LogFormatError(f"{key} must be a string, not {type(value).__name__}")
    if "\x00" in value:
        raise LogFormatError(f"{key} contains a NUL character")
    return value


def _count(obj: dict, key: str, parent: str) -> int | None:
    """A whole number of 0 or more under `key` of `obj`, or None when absent."""
    if key not in obj:
        return None
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise LogFormatError(f"{parent}.{key} must be a whole number, not {type(value).__name__}")
    if not 0 <= value <= 2_147_483_647:
        raise LogFormatError(f"{parent}.{key} {value} is out of range (0 or more)")
    return value


def _check_length(key: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise LogFormatError(f"{key} is {len(value)} characters; at most {limit} fit")


def _parse_uuid(value, key: str) -> str:
    if not isinstance(value, str):
        raise LogFormatError(f"{key} must be a string UUID")
    try:
        parsed = uuid.UUID(value)
    except ValueError as exc:
        raise LogFormatError(f"{key} {value!r} is not a UUID") from exc
    if str(parsed) != value:
        raise LogFormatError(f"{key} {value!r} is not a lowercase hyphenated UUID")
    return value


def _parse_utc(value, key: str) -> datetime:
    if not isinstance(value, str):
        raise LogFormatError(f"{key} must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise LogFormatError(f"{key} {value!r} is not an ISO 8601 date and time") from exc
    if parsed.tzinfo is None:
        raise LogFormatError(f"{key} {value!r} has no UTC offset")
    return parsed.astimezone(UTC)


def _parse_timeline(value) -> tuple[TimelineRow, ...]:
    if not isinstance(value, list):
        raise LogFormatError("timeline must be a list")
    rows = []
    for index, row in enumerate(value):
        key = f"timeline[{index}]"
        if not isinstance(row, dict) or set(row) != set(TIMELINE_KEYS):
            raise LogFormatError(f"{key} must be an object with keys utc, event, trace_id")
        trace_id = _string(row, "trace_id")
        _check_length(f"{key}.trace_id", trace_id, 200)
        rows.append(TimelineRow(
            utc=_parse_utc(row["utc"], f"{key}.utc"),
            event=_string(row, "event"),
            trace_id=trace_id,
        ))
    # The display (and export) order is time order; equal times keep their file order.
    return tuple(sorted(rows, key=lambda r: r.utc))


def _parse_string_list(value, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise LogFormatError(f"{key} must be a list of strings")
    return tuple(value)


def _parse_references(value) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list):
        raise LogFormatError("references must be a list")
    refs = []
    for index, ref in enumerate(value):
        key = f"references[{index}]"
        if not isinstance(ref, dict) or set(ref) != set(REFERENCE_KEYS):
            raise LogFormatError(f"{key} must be an object with keys kind, value")
        kind = _string(ref, "kind")
        if kind not in Reference.Kind.values:
            raise LogFormatError(f"{key}.kind {kind!r} is not one of "
                                 f"{', '.join(Reference.Kind.values)}")
        val = _string(ref, "value")
        _check_length(f"{key}.value", val, 500)
        refs.append((kind, val))
    return tuple(refs)


def _substitution_or_none(verdicts: tuple[str, ...]) -> tuple[str, ...]:
    """() when no factor has a verdict (a record without the key means the same)."""
    return verdicts if any(verdicts) else ()


def _scan_in_order(answers) -> tuple[tuple[str, str, str], ...]:
    """Scan answers (mode, answer, note) sorted in the seed's question order."""
    return tuple(sorted(answers, key=lambda row: FAILURE_MODE_BY_SLUG[row[0]].number))


def _parse_scan(value) -> tuple[tuple[str, str, str], ...]:
    """failure_mode_scan: {mode slug: {answer, note?}}; raises LogFormatError naming the key."""
    if not isinstance(value, dict):
        raise LogFormatError("failure_mode_scan must be an object keyed by failure mode")
    answers = []
    for mode, entry in value.items():
        key = f"failure_mode_scan.{mode}"
        if mode not in FAILURE_MODE_BY_SLUG:
            raise LogFormatError(f"{key}: {mode!r} is not one of the twenty failure modes "
                                 f"({FAILURE_MODES[0].slug} … {FAILURE_MODES[-1].slug})")
        if not isinstance(entry, dict) or "answer" not in entry \
                or set(entry) - set(SCAN_ANSWER_KEYS):
            raise LogFormatError(f"{key} must be an object with keys answer and optional note")
        answer = _string(entry, "answer")
        if answer not in ScanAnswer.Answer.values:
            raise LogFormatError(f"{key}.answer {answer!r} is not yes, no or na")
        note = _string(entry, "note", default="")
        _check_length(f"{key}.note", note, 300)
        answers.append((mode, answer, note))
    return _scan_in_order(answers)


def _parse_substitution(value, factor_count: int) -> tuple[str, ...]:
    """factor_substitution: one of structural, personal, "" per contributing factor."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise LogFormatError("factor_substitution must be a list of strings")
    if len(value) != factor_count:
        raise LogFormatError(f"factor_substitution has {len(value)} entries; "
                             f"contributing_factors has {factor_count}")
    for index, verdict in enumerate(value):
        if verdict not in ("", *Substitution.values):
            raise LogFormatError(f"factor_substitution[{index}] {verdict!r} is not "
                                 "structural, personal or \"\"")
    return tuple(value)


def _parse_owner_sentiment(value) -> tuple[str, str]:
    """owner_sentiment: {quote, by?}; returns (quote, by)."""
    if not isinstance(value, dict) or "quote" not in value \
            or set(value) - set(OWNER_SENTIMENT_KEYS):
        raise LogFormatError("owner_sentiment must be an object with keys quote and optional by")
    quote, by = _string(value, "quote"), _string(value, "by", default="")
    if not quote.strip():
        raise LogFormatError("owner_sentiment.quote is empty; leave the key out instead")
    _check_length("owner_sentiment.by", by, 200)
    return quote, by
