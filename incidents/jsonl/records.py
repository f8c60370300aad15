"""The shapes of the log's lines, as core.validation Records, and the content they carry.

PostmortemLine and AmendmentLine are what a line of log.jsonl / amendments.jsonl may
hold: unknown keys are refused, types are not coerced, and every column's length and
vocabulary is read from the model (Input.max_length, the field's choices), so a changed
column changes what the reader accepts. PostmortemLine's plain text keys (summary,
root_cause, fix_commit_sha, …, lessons_learned) are generated from the field registry
(incidents.fields): a new text field is read and written without a change here.

A parsed line becomes a PostmortemRecord / AmendmentRecord: the content in one normal
form (timeline in time order, references derived from trace_id / pr_link when absent,
scan answers in question order), so a stored postmortem and a line compare equal
exactly when they say the same thing.
"""
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from django.db import models
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ValidationInfo,
    create_model,
    model_validator,
)
from pydantic_core import PydanticCustomError

from core.limits import OutOfRange, utc_in_range
from core.record_types import shown
from core.units import parse_usd
from core.validation import Record, RecordError
from core.web_links import link_problem
from incidents import fields
from incidents.failure_modes import FAILURE_MODE_BY_SLUG
from incidents.models import (
    Amendment,
    ContributingFactor,
    Postmortem,
    Reference,
    ScanAnswer,
    Section,
    Template,
    TimelineEntry,
)
from incidents.models.choices import (
    DEFERRED_FIX_TEXT,
    DeferredFixConflict,
    fix_from_log,
    fix_is_deferred,
)

# The source format's `Postmortem` fields (docs/rules.md#final-log), in order: every line
# has these keys. Everything else Scarlog writes is an extension key, present only when set.
SEED_KEYS = (
    "id", "created_utc", "summary", "timeline", "root_cause", "contributing_factors",
    "fix_commit_sha", "prevention", "trace_id", "pr_link",
)
# Keys of a line that are about the record, not one template field.
RECORD_KEYS = ("id", "created_utc", "template", "occurred_utc", "trigger", "trigger_reason",
               "severity", "question_set", "failure_mode_scan")
MAX_COUNT = 2_147_483_647  # PositiveIntegerField's upper bound on PostgreSQL
MODE_MAX_LENGTH = ScanAnswer._meta.get_field("mode").max_length


def _refuse(kind: str, message: str):
    raise PydanticCustomError(kind, message)


def text(max_length: int | None = None, choices: tuple[str, ...] = (), allow_blank=True,
         nonblank_message: str = ""):
    """A string value: no NUL, at most `max_length` characters, one of `choices` (or ""
    when allow_blank), not blank when `nonblank_message` says why."""

    def check(value):
        if not isinstance(value, str):
            _refuse("string_type", f"must be a string, not {type(value).__name__}")
        if "\x00" in value:
            _refuse("string_nul", "contains a NUL character")
        if choices and value not in choices and not (allow_blank and value == ""):
            _refuse("choice", f"{shown(value)} is not one of {', '.join(choices)}")
        if max_length is not None and len(value) > max_length:
            _refuse("string_too_long", f"is {len(value)} characters; at most {max_length} fit")
        if nonblank_message and not value.strip():
            _refuse("string_blank", nonblank_message)
        return value

    return Annotated[str, BeforeValidator(check)]


def _web_link(value: str) -> str:
    """An http(s) link or "" (core.web_links; docs/rules.md#input-links)."""
    if value and (problem := link_problem(value)) is not None:
        _refuse("web_link", f"{shown(value)} {problem}")
    return value


def column(model: type[models.Model], name: str, **options):
    """text() with the max_length and vocabulary of column `name` of `model`."""
    field = model._meta.get_field(name)
    choices = tuple(str(value) for value, _ in field.choices or ())
    options.setdefault("allow_blank", field.blank)
    return text(field.max_length, choices, **options)


def _utc(value) -> datetime:
    if not isinstance(value, str):
        _refuse("utc_type", "must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        _refuse("utc_format", f"{shown(value)} is not an ISO 8601 date and time")
    if parsed.tzinfo is None:
        _refuse("utc_offset", f"{shown(value)} has no UTC offset")
    try:
        return utc_in_range(parsed)
    except OutOfRange as exc:
        _refuse("utc_range", f"{shown(value)} {exc}")


def _uuid(value) -> str:
    if not isinstance(value, str):
        _refuse("uuid_type", "must be a string UUID")
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        _refuse("uuid_format", f"{shown(value)} is not a UUID")
    if str(parsed) != value:
        _refuse("uuid_format", f"{shown(value)} is not a lowercase hyphenated UUID")
    return value


def _count(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        _refuse("count_type", f"must be a whole number, not {type(value).__name__}")
    if not 0 <= value <= MAX_COUNT:
        _refuse("count_range", f"{value} is out of range (0 or more)")
    return value


def _usd(value) -> Decimal:
    if not isinstance(value, str):
        _refuse("usd_type", 'must be a string such as "78947.00"')
    try:
        parsed = parse_usd(value)
    except ValueError as exc:
        _refuse("usd_format", str(exc))
    if parsed is None:
        _refuse("usd_empty", "is empty; leave the key out instead")
    return parsed


def _list(message: str, of_strings: bool = False):
    def check(value):
        if not isinstance(value, list) or (of_strings and not all(isinstance(v, str)
                                                                   for v in value)):
            _refuse("list_type", message)
        return value
    return BeforeValidator(check)


def _object(message: str):
    def check(value):
        if not isinstance(value, dict):
            _refuse("object_type", message)
        return value
    return BeforeValidator(check)


Utc = Annotated[datetime, BeforeValidator(_utc)]
Uuid = Annotated[str, BeforeValidator(_uuid)]
Count = Annotated[int, BeforeValidator(_count)]
Usd = Annotated[Decimal, BeforeValidator(_usd)]


class Line(Record):
    """A JSON object of the log; anything else is refused as "must be an object …"."""

    object_message: ClassVar[str] = ""

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            _refuse("object_type", cls.object_message
                    or f"must be an object with keys {', '.join(cls.model_fields)}")
        return data


class TimelineRowLine(Line):
    utc: Utc
    event: column(TimelineEntry, "event")
    trace_id: column(TimelineEntry, "trace_id")


def _link_value(value: str, info: ValidationInfo) -> str:
    """A PR or other link's value: empty or http(s) only (docs/rules.md#input-links)."""
    if info.data.get("kind") in Reference.LINK_KINDS and value \
            and (problem := link_problem(value)) is not None:
        _refuse("web_link", f"{shown(value)} {problem}")
    return value


class ReferenceLine(Line):
    kind: column(Reference, "kind", allow_blank=False)
    value: Annotated[column(Reference, "value"), AfterValidator(_link_value)]


class ScanAnswerLine(Line):
    object_message = "must be an object with keys answer and optional note"
    answer: column(ScanAnswer, "answer", allow_blank=False)
    note: column(ScanAnswer, "note") = ""


class ImpactLine(Line):
    """The long-form Impact of a postmortem: usd as a string so cents stay exact."""

    usd: Usd = None
    users: Count = None
    duration_minutes: Count = None
    description: column(Postmortem, "impact_description") = ""


class AmendmentImpactLine(Line):
    """Restated Impact figures of an amendment (no description: the note says it)."""

    usd: Usd = None
    users: Count = None
    duration_minutes: Count = None


class OwnerSentimentLine(Line):
    object_message = "must be an object with keys quote and optional by"
    quote: text(nonblank_message="is empty; leave the key out instead")
    by: column(Postmortem, "owner_sentiment_by") = ""


# The objects a line holds for a field with several inputs ("impact.usd", …).
OBJECT_LINES = {"impact": ImpactLine, "owner_sentiment": OwnerSentimentLine}


@dataclass(frozen=True)
class TimelineRow:
    utc: datetime
    event: str
    trace_id: str


@dataclass(frozen=True)
class PostmortemRecord:
    """A postmortem's content as the log holds it; equal records mean equal content.

    `values`: (input name, value) of every Postmortem input of the field registry, in
    its order; the row fields and the scan in their normal form.
    """

    id: str
    created_utc: datetime
    values: tuple[tuple[str, Any], ...]
    template: str = Template.SEVEN_FIELD
    timeline: tuple[TimelineRow, ...] = ()
    contributing_factors: tuple[str, ...] = ()
    factor_substitution: tuple[str, ...] = ()
    references: tuple[tuple[str, str], ...] = ()
    # ((mode slug, answer, note), ...) in question order (scan_in_order).
    failure_mode_scan: tuple[tuple[str, str, str], ...] = ()
    # A Severity code ("" = not rated) and a QuestionSet slug ("" = the default set).
    severity: str = ""
    question_set: str = ""
    # The event (docs/rules.md#trigger-conditions): when it happened (UTC, None = not
    # recorded), the TriggerCondition slug ("" = none) and the reason given for it.
    occurred_utc: datetime | None = None
    trigger: str = ""
    trigger_reason: str = ""

    def value(self, name: str):
        return dict(self.values)[name]

    @classmethod
    def from_postmortem(cls, pm: Postmortem) -> "PostmortemRecord":
        """The record of a stored postmortem (its rows in display order)."""
        factors = list(pm.contributing_factors.all())
        values = {item.name: getattr(pm, item.name) for item in fields.inputs()}
        references = tuple((r.kind, r.value) for r in pm.references.all())
        if fix_is_deferred(pm.fix_commit_sha, pm.fix_description):
            # Stored before the ticket was read from pr_link: the line means the same.
            values["fix_commit_sha"], values["fix_description"], values["fix_ticket_link"] = (
                "", DEFERRED_FIX_TEXT,
                pm.fix_ticket_link or legacy_reference_fields(references)[1])
        return cls(
            id=str(pm.id),
            created_utc=pm.created_utc,
            values=tuple(values.items()),
            template=pm.template,
            timeline=tuple(TimelineRow(row.utc, row.event, row.trace_id)
                           for row in pm.timeline_entries.all()),
            contributing_factors=tuple(f.text for f in factors),
            factor_substitution=substitution_or_none(tuple(f.substitution for f in factors)),
            references=references,
            failure_mode_scan=scan_in_order((a.mode, a.answer, a.note)
                                            for a in pm.scan_answers.all()),
            severity=pm.severity,
            question_set=pm.question_set.slug if pm.question_set_id is not None else "",
            occurred_utc=pm.occurred_utc,
            trigger=pm.trigger,
            trigger_reason=pm.trigger_reason,
        )


def _text_keys() -> dict:
    """PostmortemLine's plain text keys, one per registry input held at the line's top
    level: required when the seed's dataclass has it, else "" when absent."""
    keys = {}
    for item in fields.inputs():
        if "." in item.jsonl:
            continue
        kind = column(item.model, item.name)
        if item.web_link:
            kind = Annotated[kind, AfterValidator(_web_link)]
        keys[item.jsonl] = (kind, ... if item.jsonl in SEED_KEYS else "")
    return keys


class _PostmortemLineBase(Line):
    object_message = "a postmortem line must be a JSON object"

    id: Uuid
    created_utc: Utc
    timeline: Annotated[list[TimelineRowLine], _list("must be a list")]
    contributing_factors: Annotated[list[text()], _list("must be a list of strings", True)]
    trace_id: column(Reference, "value")
    pr_link: Annotated[column(Reference, "value"), AfterValidator(_web_link)]
    references: Annotated[list[ReferenceLine], _list("must be a list")] = None
    template: column(Postmortem, "template") = str(Template.SEVEN_FIELD)
    impact: ImpactLine = None
    owner_sentiment: OwnerSentimentLine = None
    factor_substitution: Annotated[list[column(ContributingFactor, "substitution")],
                                   _list("must be a list of strings", True)] = None
    failure_mode_scan: Annotated[dict[str, ScanAnswerLine],
                                 _object("must be an object keyed by failure mode")] = None
    # Checked against the database by incidents.jsonl.reader (docs/rules.md#severity).
    severity: column(Postmortem, "severity", allow_blank=False) = ""
    question_set: text(60, allow_blank=False) = ""
    # The event, each key optional (docs/rules.md#trigger-conditions); the trigger slug is
    # checked against the TriggerCondition rows by incidents.jsonl.reader.
    occurred_utc: Utc = None
    trigger: column(Postmortem, "trigger", allow_blank=False) = ""
    trigger_reason: column(Postmortem, "trigger_reason", allow_blank=False) = ""

    def to_record(self) -> PostmortemRecord:
        """The line's content in normal form; RecordError (naming the key) when two keys
        disagree or a scan key names no failure mode."""
        if self.references is not None:
            references = tuple((ref.kind, ref.value) for ref in self.references)
            if legacy_reference_fields(references) != (self.trace_id, self.pr_link):
                raise RecordError("trace_id / pr_link disagree with the first trace_id / pr "
                                  "entry of references", key="references")
        else:
            references = references_from_legacy(self.trace_id, self.pr_link)
        substitution = tuple(self.factor_substitution or ())
        if self.factor_substitution is not None \
                and len(substitution) != len(self.contributing_factors):
            raise RecordError(f"has {len(substitution)} entries; contributing_factors has "
                              f"{len(self.contributing_factors)}", key="factor_substitution")
        if self.trigger_reason and not self.trigger:
            raise RecordError("is given without a trigger", key="trigger_reason")
        values = {item.name: self._input_value(item) for item in fields.inputs()}
        try:
            (values["fix_commit_sha"], values["fix_description"],
             values["fix_ticket_link"]) = fix_from_log(
                values["fix_commit_sha"], values["fix_description"],
                values["fix_ticket_link"], self.pr_link)
        except DeferredFixConflict as exc:
            raise RecordError(str(exc), key="fix_description") from exc
        return PostmortemRecord(
            id=self.id,
            created_utc=self.created_utc,
            values=tuple(values.items()),
            template=self.template,
            # The display (and export) order is time order; equal times keep file order.
            timeline=tuple(sorted((TimelineRow(row.utc, row.event, row.trace_id)
                                   for row in self.timeline), key=lambda row: row.utc)),
            contributing_factors=tuple(self.contributing_factors),
            factor_substitution=substitution_or_none(substitution),
            references=references,
            failure_mode_scan=self._scan(),
            severity=self.severity,
            question_set=self.question_set,
            occurred_utc=self.occurred_utc,
            trigger=self.trigger,
            trigger_reason=self.trigger_reason,
        )

    def _input_value(self, item: fields.Input):
        if "." not in item.jsonl:
            return getattr(self, item.jsonl)
        parent, key = item.jsonl.split(".", 1)
        obj = getattr(self, parent)
        if obj is None:
            return None if item.model_field.null else ""
        return getattr(obj, key)

    def _scan(self) -> tuple[tuple[str, str, str], ...]:
        answers = []
        for mode, entry in (self.failure_mode_scan or {}).items():
            # Whether the slug is a question of the record's set is the reader's check
            # (it needs the database); here only its shape.
            if not mode or len(mode) > MODE_MAX_LENGTH or "\x00" in mode:
                raise RecordError(f"{shown(mode)} is not a failure-mode key (1–"
                                  f"{MODE_MAX_LENGTH} characters)",
                                  key=f"failure_mode_scan.{shown(mode)}")
            answers.append((mode, entry.answer, entry.note))
        return scan_in_order(answers)


PostmortemLine = create_model("PostmortemLine", __base__=_PostmortemLineBase,
                              __module__=__name__, **_text_keys())
PostmortemLine.__doc__ = "One line of log.jsonl: a postmortem (seed keys + extension keys)."


@dataclass(frozen=True)
class AmendmentRecord:
    """An amendment as the log holds it; equal records mean the same amendment."""

    parent_id: str
    amended_utc: datetime
    note: str
    section: str = ""
    impact_usd: Decimal | None = None
    impact_users: int | None = None
    impact_duration_minutes: int | None = None

    @classmethod
    def from_amendment(cls, amendment: Amendment) -> "AmendmentRecord":
        return cls(str(amendment.postmortem_id), amendment.amended_utc, amendment.note,
                   amendment.section, amendment.impact_usd, amendment.impact_users,
                   amendment.impact_duration_minutes)


class AmendmentLine(Line):
    """One line of amendments.jsonl: {parent_id, amended_utc, note} (+ section, impact)."""

    object_message = "an amendment line must be a JSON object"

    parent_id: Uuid
    amended_utc: Utc
    note: text(nonblank_message="is empty")
    section: column(Amendment, "section", allow_blank=False) = ""
    impact: AmendmentImpactLine = None

    def to_record(self) -> AmendmentRecord:
        impact = self.impact or AmendmentImpactLine()
        if self.impact is not None and self.section != Section.IMPACT:
            raise RecordError('impact figures need "section": "impact"', key="impact")
        return AmendmentRecord(self.parent_id, self.amended_utc, self.note, self.section,
                               impact.usd, impact.users, impact.duration_minutes)


def legacy_reference_fields(references) -> tuple[str, str]:
    """The dataclass's trace_id and pr_link: the first reference of each kind, or ""."""
    trace_id = next((v for k, v in references if k == Reference.Kind.TRACE_ID), "")
    pr_link = next((v for k, v in references if k == Reference.Kind.PR), "")
    return trace_id, pr_link


def references_from_legacy(trace_id: str, pr_link: str) -> tuple[tuple[str, str], ...]:
    refs = []
    if trace_id:
        refs.append((str(Reference.Kind.TRACE_ID), trace_id))
    if pr_link:
        refs.append((str(Reference.Kind.PR), pr_link))
    return tuple(refs)


def substitution_or_none(verdicts: tuple[str, ...]) -> tuple[str, ...]:
    """() when no factor has a verdict (a record without the key means the same)."""
    return verdicts if any(verdicts) else ()


def scan_in_order(answers) -> tuple[tuple[str, str, str], ...]:
    """Scan answers (mode, answer, note) in one order for a line and a stored record: the
    seed's questions in their order, then other sets' questions by slug."""
    def key(row):
        seed = FAILURE_MODE_BY_SLUG.get(row[0])
        return (seed.number if seed else len(FAILURE_MODE_BY_SLUG) + 1, row[0])
    return tuple(sorted(answers, key=key))
