"""What the meeting adds to a draft besides its fields: the scan, reviews, pending marks.

- The twenty-failure-mode scan (docs/rules.md#scan-answers): each question answered yes,
  no or not applicable; the answer that reveals the failure offers a contributing factor.
- The blameless review: only the meeting's facilitator marks a flagged factor reviewed.
- "Incomplete, pending trace review" marks on fields; the meeting reconvenes within a
  week (incidents.meetings.end_meeting plans the reminder).

Every function runs in one transaction on a locked draft and raises a FieldError
subclass naming the input, or ImmutableRecordError when the postmortem is final.
"""
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from incidents import blameless, fields, live_feed, template_rules, vocabulary
from incidents.models import (
    ContributingFactor,
    PendingMark,
    Postmortem,
    ScanAnswer,
    Substitution,
)
from incidents.services import FieldError, RowLimitError, people_names, require_draft

# Fields that can be marked "incomplete, pending trace review": the template's, the
# long-form sections (the registry's markable fields) and the scan.
MARKABLE_FIELDS = {field.key: field.label for field in fields.REGISTRY if field.markable} | {
    "scan": template_rules.FIELD_LABELS["scan"]}


class ScanError(FieldError):
    """A scan answer or a factor from the scan was refused; `field` names the input."""


class ReviewError(FieldError):
    """A blameless review was refused (not the facilitator, nothing flagged)."""


def _locked_draft(postmortem: Postmortem) -> Postmortem:
    locked = Postmortem.objects.select_for_update().get(pk=postmortem.pk)
    require_draft(locked)
    return locked


@transaction.atomic
def answer_scan(postmortem: Postmortem, mode: str, answer: str, note: str = "",
                user=None) -> ScanAnswer:
    """Record (or change) the draft's answer to scan question `mode` (a ScanQuestion slug
    of the draft's question set, not retired).

    `answer` is yes, no or na; `note` an optional line (≤ 300 characters) saying what was
    found. The answer keeps the question row and its wording as answered
    (docs/rules.md#scan-questions). Raises ScanError naming mode, answer or note.
    """
    locked = _locked_draft(postmortem)
    failure_mode = vocabulary.active_question(locked, mode)
    if failure_mode is None:
        raise ScanError("mode", f"Failure mode: {mode!r} is not one of this postmortem's "
                                "scan questions.")
    if answer not in ScanAnswer.Answer.values:
        raise ScanError("answer", f"Answer to {failure_mode.number} {failure_mode.name}: "
                                  f"{answer!r} is not yes, no or not applicable.")
    note = (note or "").strip()
    if len(note) > 300:
        raise ScanError("note", f"Note on {failure_mode.number} {failure_mode.name}: "
                                f"{len(note)} characters; keep it to one line of at most 300.")
    row, _ = ScanAnswer.objects.update_or_create(
        postmortem=locked, mode=mode,
        defaults={"answer": answer, "note": note, "answered_by": user,
                  "answered_utc": timezone.now(), "position": failure_mode.number,
                  "question": failure_mode, "question_name": failure_mode.name,
                  "question_text": failure_mode.question},
    )
    live_feed.record_change(locked.pk, "scan", locked=True)
    return row


def factor_text(answer: ScanAnswer) -> str:
    """The contributing factor a scan answer suggests: the mode's system condition (+ note);
    "" when the answer's question no longer exists."""
    failure_mode = vocabulary.answered_question(answer)
    if failure_mode is None:
        return ""
    if answer.note:
        return f"{failure_mode.factor} ({answer.note})"
    return failure_mode.factor


@transaction.atomic
def add_factor_from_scan(postmortem: Postmortem, mode: str) -> ContributingFactor:
    """Add the contributing factor a revealing scan answer suggests, marked structural.

    The scan's failure modes are system conditions by construction (they trip whoever is
    at the keyboard), so the factor starts structural; the team can change that. Raises
    ScanError when the question is unanswered, its answer does not reveal the failure,
    or the factor is already listed; RowLimitError at five factors.
    """
    locked = _locked_draft(postmortem)
    answer = ScanAnswer.objects.filter(postmortem=locked, mode=mode).first()
    failure_mode = answer and vocabulary.answered_question(answer)
    if answer is None or failure_mode is None:
        raise ScanError("mode", f"Failure mode: {mode!r} has no answer yet.")
    if answer.answer != failure_mode.failure_answer:
        raise ScanError("answer", f"{failure_mode.number} {failure_mode.name} is answered "
                                  f"{answer.get_answer_display().lower()}; only "
                                  f"\u201c{failure_mode.failure_answer}\u201d reveals the "
                                  "failure mode.")
    text = factor_text(answer)
    factors = ContributingFactor.objects.filter(postmortem=locked)
    if factors.filter(text=text).exists():
        raise ScanError("mode", f"{failure_mode.name} is already a contributing factor.")
    maximum = template_rules.FACTOR_COUNT[1]
    if factors.count() >= maximum:
        raise RowLimitError(f"The template allows at most {maximum} contributing factors; "
                            "remove one first.")
    last = factors.aggregate(last=Max("position"))["last"]
    factor = ContributingFactor.objects.create(postmortem=locked, position=(last or 0) + 1,
                                               text=text, substitution=Substitution.STRUCTURAL)
    live_feed.record_change(locked.pk, "contributing_factors", locked=True)
    return factor


@transaction.atomic
def set_pending(postmortem: Postmortem, field: str, pending: bool, user=None) -> bool:
    """Mark `field` "incomplete, pending trace review" (pending=True) or clear the mark.

    Returns whether the field is now marked. Raises FieldError naming `field` when it is
    not one of MARKABLE_FIELDS.
    """
    locked = _locked_draft(postmortem)
    if field not in MARKABLE_FIELDS:
        raise FieldError("field", f"Field: {field!r} cannot be marked pending trace review.")
    if pending:
        PendingMark.objects.get_or_create(postmortem=locked, field=field,
                                          defaults={"marked_by": user})
    else:
        PendingMark.objects.filter(postmortem=locked, field=field).delete()
    live_feed.record_change(locked.pk, field, locked=True)
    return pending


def latest_meeting(postmortem: Postmortem):
    """The postmortem's latest meeting (by scheduled start) with its facilitator, or None."""
    return postmortem.meetings.select_related("facilitator").order_by("-scheduled_utc").first()


def facilitator_of(postmortem: Postmortem):
    """The facilitator of the postmortem's latest meeting, or None when none is scheduled."""
    meeting = latest_meeting(postmortem)
    return meeting.facilitator if meeting else None


@transaction.atomic
def review_factor(postmortem: Postmortem, factor: ContributingFactor, user) -> ContributingFactor:
    """The facilitator marks a factor the blameless check flags as reviewed (its exact text).

    Raises ReviewError naming "facilitator" when `user` is not the latest meeting's
    facilitator (or no meeting is scheduled), and naming "text" when the factor's text
    is not flagged. Editing the text afterwards clears the review.
    """
    locked = _locked_draft(postmortem)
    factor = ContributingFactor.objects.select_for_update().get(pk=factor.pk, postmortem=locked)
    facilitator = facilitator_of(locked)
    if facilitator is None:
        raise ReviewError("facilitator", "Facilitator: schedule the meeting first; its "
                                         "facilitator marks flagged factors reviewed.")
    if facilitator.pk != user.pk:
        raise ReviewError("facilitator", f"Facilitator: only {facilitator.get_username()}, "
                                         "who facilitates the meeting, can mark a flagged "
                                         "factor reviewed.")
    if not blameless.check(factor.text, people_names()):
        raise ReviewError("text", "This contributing factor is not flagged; nothing to review.")
    factor.blameless_reviewed_text = factor.text
    factor.blameless_reviewed_by = user
    factor.blameless_reviewed_utc = timezone.now()
    factor.save(update_fields=["blameless_reviewed_text", "blameless_reviewed_by",
                               "blameless_reviewed_utc"])
    live_feed.record_change(locked.pk, "contributing_factors", locked=True)
    return factor
