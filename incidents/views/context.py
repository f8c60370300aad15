"""The draft and final pages' context: the access helper, the fields with their checks,
the scan rows and the cost panel. Shared by the page views and the autosave answers.
"""
import uuid

from django.shortcuts import get_object_or_404

from incidents import (
    blameless,
    fields,
    meeting_record,
    revisions,
    services,
    template_rules,
    visibility,
    vocabulary,
)
from incidents.models import (
    DEFERRED_FIX_TEXT,
    ROOT_CAUSE_DEFINITIONS,
    Postmortem,
    Reference,
    RootCause,
    ScanAnswer,
    Substitution,
)
from incidents.views.meeting import meeting_context


def get_postmortem_for_user(request, pk, with_rows: bool = False) -> Postmortem:
    """The postmortem `pk` (its rows prefetched when `with_rows`); 404 when it does not exist.

    Every signed-in user may read every postmortem (blameless records are public within
    the operating team, docs/rules.md#role-read) but a restricted one, which answers 404
    to a non-member as a missing one does (docs/rules.md#private-postmortems).
    """
    queryset = visibility.visible_postmortems(request.user)
    if with_rows:
        queryset = queryset.prefetch_related(
            "timeline_entries", "contributing_factors__blameless_reviewed_by", "references",
            "scan_answers__answered_by", "pending_marks__marked_by",
        )
    return get_object_or_404(queryset, pk=pk)


def draft_context(pm: Postmortem, **extra) -> dict:
    statuses = template_rules.check_postmortem(pm)
    names = services.people_names()
    factors = list(pm.contributing_factors.all())
    flagged = template_rules.flagged_factors(factors, names)
    record_statuses = template_rules.check_record(pm, flagged)
    status_by_key = {status.key: status for status in statuses + record_statuses}
    optional_keys = list(template_rules.OPTIONAL_KEYS)
    for key in optional_keys:
        status_by_key[key] = template_rules.check_optional_field(pm, key)
    if not pm.is_long_form:
        # The long-form sections are optional here: shown, checked for shape, never required.
        for status in template_rules.check_long_form(pm):
            status_by_key[status.key] = status
            optional_keys.append(status.key)
    # The long-form sections held in one text column (all but Impact), from the registry.
    text_sections = [
        {"key": field.key, "number": field.number, "label": field.label, "hint": field.hint,
         "value": getattr(pm, field.key), "status": status_by_key[field.key]}
        for field in fields.LONG_FORM if field.input_names == (field.key,)
    ]
    versions = revisions.current_versions(pm)
    for kind, rows in (("timeline", pm.timeline_entries.all()),
                       ("factors", pm.contributing_factors.all()),
                       ("references", pm.references.all())):
        for row in rows:
            row.version = versions.get(f"{kind}:{row.pk}", 0)
    latest_meeting = meeting_record.latest_meeting(pm)
    return {
        "pm": pm,
        "statuses": statuses,
        "record_statuses": record_statuses,
        "status_by_key": status_by_key,
        "optional_keys": optional_keys,
        "generic_fields": fields.GENERIC_SECTIONS,
        "versions": versions,
        "pending_marks": {mark.field: mark for mark in pm.pending_marks.all()},
        "markable_fields": meeting_record.MARKABLE_FIELDS,
        "history_fields": revisions.HISTORY_FIELDS,
        "blame": {"summary": blameless.check(pm.summary, names),
                  "prevention": blameless.check(pm.prevention, names)},
        "flagged_factors": flagged,
        "scan_rows": scan_rows(pm, factors),
        "scan_set_name": vocabulary.question_set_of(pm).name,
        "facilitator": latest_meeting.facilitator if latest_meeting else None,
        "meeting_in_progress": latest_meeting if latest_meeting and latest_meeting.in_progress
        else None,
        "long_form_text_sections": text_sections,
        "field_status": status_by_key.get(extra.get("field_key")),
        "complete_count": sum(status.complete for status in statuses),
        "root_causes": [
            (choice.value, choice.label, ROOT_CAUSE_DEFINITIONS[choice]) for choice in RootCause
        ],
        "reference_kinds": Reference.Kind.choices,
        "substitution_choices": Substitution.choices,
        "scan_answer_choices": ScanAnswer.Answer.choices,
        "deferred_fix_text": DEFERRED_FIX_TEXT,
        **extra,
    }


def scan_rows(pm: Postmortem, factors) -> list[dict]:
    """The scan questions of `pm` in order (incidents.vocabulary.scan_questions), each
    with its answer row (or None), the wording it was answered against (name, question),
    whether it is a retired question the draft answered before (shown read-only), and
    whether the contributing factor it suggests is already listed."""
    answers = {answer.mode: answer for answer in pm.scan_answers.all()}
    factor_texts = {factor.text for factor in factors}
    rows = []
    for mode in vocabulary.scan_questions(pm):
        answer = answers.get(mode.slug)
        name, question = (vocabulary.wording(answer, mode) if answer is not None
                          else (mode.name, mode.question))
        rows.append({
            "mode": mode, "answer": answer, "name": name, "question": question,
            "retired": not pm.is_final and mode.retired_utc is not None,
            "reveals": answer is not None and answer.answer == mode.failure_answer,
            "factor_listed": answer is not None
            and meeting_record.factor_text(answer) in factor_texts,
        })
    return rows


def draft_page_context(pm: Postmortem, **extra) -> dict:
    """The whole draft page: the fields, the cost comparison, the event and meeting panels.

    `editor_id` names this page load: its autosaves carry it (X-Scarlog-Editor) so its
    own queued saves are never taken for someone else's (incidents.revisions).
    """
    return draft_context(pm, **meeting_context(pm),
                          editor_id=uuid.uuid4().hex, **extra)


def final_scan_context(pm: Postmortem) -> dict:
    """The final page's scan table: none for a record without answers (legacy imports)."""
    rows = scan_rows(pm, list(pm.contributing_factors.all()))
    if not any(row["answer"] for row in rows):
        return {"scan_rows": [], "scan_revealed": []}
    return {"scan_rows": rows, "scan_revealed": [row for row in rows if row["reveals"]]}
