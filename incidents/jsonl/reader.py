"""Import: log.jsonl (and amendments.jsonl) into final postmortems, all or nothing.

Every line is checked first (core.validation.parse_record against PostmortemLine /
AmendmentLine); each refusal is a RecordError naming the file, the line and the key
("log.jsonl, line 3: timeline[2].utc: …"), and nothing is written unless all lines
pass. A record whose id exists with the same content is skipped; with other content it
is refused ("already exists; use amend instead").
"""
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from core.limits import FileTooLarge, check_import_size
from core.record_types import shown
from core.validation import RecordError, load_json, parse_record
from incidents import vocabulary
from incidents.jsonl.records import (
    AmendmentLine,
    AmendmentRecord,
    PostmortemLine,
    PostmortemRecord,
)
from incidents.models import (
    Amendment,
    ContributingFactor,
    Postmortem,
    QuestionSet,
    Reference,
    ScanAnswer,
    Severity,
    TimelineEntry,
    TriggerCondition,
)
from incidents.services import DomainError, clean_domain, set_domain, store_final_without_checks


@dataclass
class ImportResult:
    """Counts of an import: created and unchanged postmortems and amendments."""

    postmortems_created: int = 0
    postmortems_unchanged: int = 0
    amendments_created: int = 0
    amendments_unchanged: int = 0


class ImportRefused(ValueError):
    """The import wrote nothing; `errors` lists every problem as
    'file, line N: key: message' (RecordError.located())."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("\n".join(errors))


def read_json_lines(path: Path, line_model) -> tuple[list[tuple[int, object]], list[str]]:
    """Parse each non-blank line of `path` as `line_model` and into its record; return
    ([(line number, record)], errors)."""
    records, errors = [], []
    try:
        check_import_size(path)
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileTooLarge as exc:
        return [], [str(exc)]
    except (OSError, UnicodeDecodeError) as exc:
        return [], [RecordError(f"cannot be read: {exc}", source=str(path)).located()]
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = load_json(line, source=str(path), line=number)
        except RecordError as exc:
            errors.append(exc.located())
            continue
        try:
            parsed = parse_record(line_model, data, source=str(path), line=number)
            records.append((number, parsed.to_record()))
        except RecordError as exc:
            errors.append(exc.at(source=str(path), line=number).located())
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
            raise ImportRefused([RecordError(str(exc), key="--domain").located()]) from exc
    records, errors = read_json_lines(postmortem_path, PostmortemLine)
    amendments = []
    if amendment_path is not None:
        amendments, amendment_errors = read_json_lines(amendment_path, AmendmentLine)
        errors += amendment_errors
    if errors:
        raise ImportRefused(errors)
    result = ImportResult()
    with transaction.atomic():
        new_records = _plan_postmortems(postmortem_path, records, errors, result)
        if not errors:
            for record in new_records:
                create_final_postmortem(record)
            _import_amendments(amendment_path, amendments, errors, result)
        if not errors and domain is not None:
            for postmortem in Postmortem.objects.filter(pk__in=[r.id for _, r in records]):
                set_domain(postmortem, domain)
        if errors:
            transaction.set_rollback(True)
    if errors:
        raise ImportRefused(errors)
    return result


def create_final_postmortem(record: PostmortemRecord) -> Postmortem:
    """Store `record` as a final, imported postmortem (gaps kept as they are)."""
    question_set = (QuestionSet.objects.get(slug=record.question_set)
                    if record.question_set else None)
    pm = Postmortem.objects.create(
        id=uuid.UUID(record.id),
        created_utc=record.created_utc,
        origin=Postmortem.Origin.IMPORT,
        template=record.template,
        severity=record.severity,
        question_set=question_set,
        occurred_utc=record.occurred_utc,
        trigger=record.trigger,
        trigger_reason=record.trigger_reason,
        **dict(record.values),
    )
    questions = {question.slug: question for question in
                 (question_set or vocabulary.default_question_set()).questions.all()}
    TimelineEntry.objects.bulk_create(
        TimelineEntry(postmortem=pm, position=n, utc=row.utc, event=row.event,
                      trace_id=row.trace_id)
        for n, row in enumerate(record.timeline, start=1)
    )
    substitution = record.factor_substitution or ("",) * len(record.contributing_factors)
    ContributingFactor.objects.bulk_create(
        ContributingFactor(postmortem=pm, position=n, text=text, substitution=verdict)
        for n, (text, verdict) in enumerate(zip(record.contributing_factors, substitution,
                                                strict=True), start=1)
    )
    ScanAnswer.objects.bulk_create(
        ScanAnswer(postmortem=pm, position=questions[mode].number, mode=mode,
                   question=questions[mode], question_name=questions[mode].name,
                   question_text=questions[mode].question,
                   answer=answer, note=note, answered_utc=record.created_utc)
        for mode, answer, note in record.failure_mode_scan
    )
    Reference.objects.bulk_create(
        Reference(postmortem=pm, position=n, kind=kind, value=value)
        for n, (kind, value) in enumerate(record.references, start=1)
    )
    store_final_without_checks(pm, user=None)
    return pm


def vocabulary_refusals(record: PostmortemRecord) -> list[tuple[str, str]]:
    """(key, message) for each vocabulary value of `record` the database does not hold: a
    trigger that is no TriggerCondition slug (or one needing a reason given none), a
    severity code that is no Severity
    (retired ones are fine: old records keep them), a question set that does not exist, a
    scan key that is no question of that set.
    Rules: docs/rules.md#trigger-conditions, docs/rules.md#severity,
    docs/rules.md#scan-sets."""
    refusals = []
    condition = (TriggerCondition.objects.filter(slug=record.trigger).first()
                 if record.trigger else None)
    if record.trigger and condition is None:
        known = ", ".join(vocabulary.trigger_labels())
        refusals.append(("trigger",
                         f"{shown(record.trigger)} is not a trigger condition ({known})"))
    elif condition is not None and condition.requires_reason and not record.trigger_reason:
        message = f"is required when the trigger is {shown(record.trigger)}"
        refusals.append(("trigger_reason", message))
    if record.severity and not Severity.objects.filter(code=record.severity).exists():
        known = ", ".join(vocabulary.severity_labels())
        refusals.append(("severity",
                         f"{shown(record.severity)} is not a severity level ({known})"))
    if record.question_set:
        question_set = QuestionSet.objects.filter(slug=record.question_set).first()
        if question_set is None:
            return [*refusals, ("question_set",
                                f"{shown(record.question_set)} is not a scan question set")]
    else:
        question_set = vocabulary.default_question_set()
    known = set(question_set.questions.values_list("slug", flat=True))
    refusals += [(f"failure_mode_scan.{mode}",
                  f"{shown(mode)} is not a question of the set {question_set.slug}")
                 for mode, _, _ in record.failure_mode_scan if mode not in known]
    return refusals


def _refusal(path, number: int, key: str, message: str) -> str:
    return RecordError(message, source=str(path), line=number, key=key).located()


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
            errors.append(_refusal(path, number, "id", f"postmortem {record.id} already "
                                                       f"appears on line {seen[record.id]}"))
            continue
        seen[record.id] = number
        stored = existing.get(record.id)
        if stored is None:
            refusals = vocabulary_refusals(record)
            errors += [_refusal(path, number, key, message) for key, message in refusals]
            if not refusals:
                new_records.append(record)
        elif stored.is_final and PostmortemRecord.from_postmortem(stored) == record:
            result.postmortems_unchanged += 1
        else:
            errors.append(_refusal(path, number, "id", f"postmortem {record.id} already "
                                                       "exists; use amend instead"))
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
            errors.append(_refusal(path, number, "parent_id",
                                   f"{amendment.parent_id} names no postmortem"))
        elif not parent.is_final:
            errors.append(_refusal(path, number, "parent_id",
                                   f"postmortem {amendment.parent_id} is a draft; only final "
                                   "postmortems are amended"))
        elif amendment in stored:
            result.amendments_unchanged += 1
        else:
            Amendment.objects.create(
                postmortem=parent, amended_utc=amendment.amended_utc, note=amendment.note,
                section=amendment.section, impact_usd=amendment.impact_usd,
                impact_users=amendment.impact_users,
                impact_duration_minutes=amendment.impact_duration_minutes,
            )
            stored.add(amendment)
            result.amendments_created += 1
