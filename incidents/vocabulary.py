"""The vocabularies admins keep as data: lookups for forms, pages and imports, and the
seed's defaults.

Rules: docs/rules.md#trigger-conditions (trigger conditions), docs/rules.md#severity
(severity levels), docs/rules.md#scan-sets (question sets). Each lookup reads the
database; an unknown or retired key is refused by the caller (services.clean_event,
clean_severity, meeting_record.answer_scan), never mapped to a default.
"""
from django.db import transaction

from incidents.failure_modes import DEFAULT_SET_NAME, DEFAULT_SET_SLUG, FAILURE_MODES
from incidents.models import (
    Postmortem,
    QuestionSet,
    ScanAnswer,
    ScanQuestion,
    Severity,
    Trigger,
    TriggerCondition,
)

# The seed's severity levels: (code, label, description), SEV1 the most severe.
SEED_SEVERITIES = [
    ("SEV1", "SEV1 — critical", "Money lost or trading halted; every user affected."),
    ("SEV2", "SEV2 — major", "A core flow failed or a loss limit was breached."),
    ("SEV3", "SEV3 — moderate", "Degraded service or a contained loss; a workaround exists."),
    ("SEV4", "SEV4 — minor", "A small, contained fault with little or no cost."),
    ("SEV5", "SEV5 — near-miss", "Nothing was lost; a control caught it, or luck did."),
]


def seed_defaults() -> None:
    """Create each seed trigger condition, severity and the default question set with its
    twenty questions where missing (by key); existing rows, edited or retired, are kept.
    Tests call it after a transactional test's flush; migration 0019 did it first."""
    with transaction.atomic():
        for position, (slug, label) in enumerate(Trigger.choices, start=1):
            TriggerCondition.objects.get_or_create(slug=slug, defaults={
                "label": label, "position": position,
                "requires_reason": slug == Trigger.OTHER})
        for rank, (code, label, description) in enumerate(SEED_SEVERITIES, start=1):
            Severity.objects.get_or_create(code=code, defaults={
                "label": label, "description": description, "rank": rank})
        default, _ = QuestionSet.objects.get_or_create(slug=DEFAULT_SET_SLUG, defaults={
            "name": DEFAULT_SET_NAME, "is_default": not QuestionSet.objects.filter(
                is_default=True).exists(),
            "description": "Recurring failure modes of an LLM-driven research and trading "
                           "loop."})
        for mode in FAILURE_MODES:
            ScanQuestion.objects.get_or_create(question_set=default, slug=mode.slug, defaults={
                "number": mode.number, "name": mode.name, "question": mode.question,
                "factor": mode.factor, "failure_answer": mode.failure_answer})


# --- trigger conditions -------------------------------------------------------------------

def trigger_choices() -> list[tuple[str, str]]:
    """(slug, label) of the active trigger conditions, in their order."""
    return list(TriggerCondition.objects.active().values_list("slug", "label"))


def active_trigger(slug: str) -> TriggerCondition | None:
    """The active TriggerCondition with `slug`, or None (unknown or retired)."""
    return TriggerCondition.objects.active().filter(slug=slug).first()


def trigger_labels() -> dict[str, str]:
    """{slug: label} of every trigger condition, retired ones too (old records show them)."""
    return dict(TriggerCondition.objects.values_list("slug", "label"))


# --- severities ---------------------------------------------------------------------------

def severity_choices() -> list[tuple[str, str]]:
    """(code, label) of the active severity levels, most severe first."""
    return list(Severity.objects.active().values_list("code", "label"))


def severity_labels() -> dict[str, str]:
    """{code: label} of every severity level, retired ones too."""
    return dict(Severity.objects.values_list("code", "label"))


def severity_ranks() -> dict[str, int]:
    """{code: rank} of every severity level, retired ones too (1 the most severe)."""
    return dict(Severity.objects.values_list("code", "rank"))


def is_active_severity(code: str) -> bool:
    return Severity.objects.active().filter(code=code).exists()


# --- question sets ------------------------------------------------------------------------

def default_question_set() -> QuestionSet:
    """The default QuestionSet; raises QuestionSet.DoesNotExist when none is marked default
    (an admin must mark one: nothing guesses)."""
    return QuestionSet.objects.get(is_default=True)


def question_set_choices() -> list[tuple[str, str]]:
    """(slug, name) of the active question sets, the default first."""
    return list(QuestionSet.objects.active().values_list("slug", "name"))


def question_set_of(pm: Postmortem) -> QuestionSet:
    """The set `pm` answers: its own, or the default set for a record that names none."""
    if pm.question_set_id is not None:
        return pm.question_set
    return default_question_set()


def scan_questions(pm: Postmortem) -> list[ScanQuestion]:
    """The questions `pm`'s scan shows, in order.

    A draft asks the active questions of its set, plus any retired question it has
    already answered (shown marked retired, never demanded again). A final record shows
    what it was asked: the questions it answered, retired since or not. Each answered
    question keeps the wording it was answered against (wording()).
    Rule: docs/rules.md#scan-questions.
    """
    questions = question_set_of(pm).questions.all()
    answers = list(pm.scan_answers.all())
    ids = [answer.question_id for answer in answers if answer.question_id is not None]
    slugs = [answer.mode for answer in answers if answer.question_id is None]
    answered = questions.filter(pk__in=ids) | questions.filter(slug__in=slugs)
    if not pm.is_final:
        answered = answered | questions.filter(retired_utc__isnull=True)
    return list(answered.order_by("number", "id"))


def active_question(pm: Postmortem, slug: str) -> ScanQuestion | None:
    """The active question `slug` of `pm`'s set, or None (unknown, retired, other set)."""
    return question_set_of(pm).questions.active().filter(slug=slug).first()


def answered_question(answer: ScanAnswer) -> ScanQuestion | None:
    """The question an answer was given to (rows older than question sets: by slug in the
    default set), or None when no such question exists."""
    if answer.question_id is not None:
        return answer.question
    return ScanQuestion.objects.filter(question_set__is_default=True, slug=answer.mode).first()


def wording(answer: ScanAnswer, question: ScanQuestion | None) -> tuple[str, str]:
    """(name, question text) as `answer` was given: its snapshot, else the question's."""
    name = answer.question_name or (question.name if question else answer.mode)
    text = answer.question_text or (question.question if question else "")
    return name, text
