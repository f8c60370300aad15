"""htmx endpoints of the meeting: scan answers, factors from the scan, pending marks,
the facilitator's blameless review and the per-field revision history.

Views are thin: parse the POST, call incidents.meeting_record, answer with the partial
the page swaps (and the progress panel out of band).
"""
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_POST

from incidents import meeting_record, revisions, template_rules, vocabulary
from incidents.models import ContributingFactor, ImmutableRecordError
from incidents.services import FieldError, RowLimitError
from incidents.views.autosave import final_refusal, render_field_answer, render_section
from incidents.views.context import draft_context, get_postmortem_for_user


def _render_scan_row(request, pm, mode: str, error: str = "", status: int = 200):
    pm = get_postmortem_for_user(request, pm.pk, with_rows=True)
    context = draft_context(pm, field_key="scan", oob=True)
    context["row"] = next(row for row in context["scan_rows"] if row["mode"].slug == mode)
    context["scan_error"] = error
    return render(request, "incidents/partials/scan_answer.html", context, status=status)


@require_POST
def scan_answer(request, pk, mode):
    """Answer scan question `mode`: POST answer (yes / no / na) and an optional note."""
    pm = get_postmortem_for_user(request, pk)
    if vocabulary.active_question(pm, mode) is None:
        raise Http404(f"No such failure mode: {mode}")
    try:
        meeting_record.answer_scan(pm, mode, request.POST.get("answer", ""),
                                   request.POST.get("note", ""), user=request.user)
    except ImmutableRecordError:
        return final_refusal(request, pm)
    except FieldError as exc:
        return _render_scan_row(request, pm, mode, error=str(exc), status=422)
    return _render_scan_row(request, pm, mode)


@require_POST
def scan_factor(request, pk, mode):
    """Add the contributing factor a revealing answer to `mode` suggests (one click)."""
    pm = get_postmortem_for_user(request, pk)
    if vocabulary.active_question(pm, mode) is None:
        raise Http404(f"No such failure mode: {mode}")
    try:
        factor = meeting_record.add_factor_from_scan(pm, mode)
    except ImmutableRecordError:
        return final_refusal(request, pm)
    except (FieldError, RowLimitError) as exc:
        return render_section(request, pm, "factors", section_error=str(exc), scan_oob=mode)
    return render_section(request, pm, "factors", focus_row_id=factor.pk, scan_oob=mode)


@require_POST
def pending_mark(request, pk, field):
    """Mark a field "incomplete, pending trace review" (POST pending=1) or clear it (0)."""
    pm = get_postmortem_for_user(request, pk)
    if field not in meeting_record.MARKABLE_FIELDS:
        raise Http404(f"No such field: {field}")
    flag = request.POST.get("pending", "")
    if flag not in ("0", "1"):
        return HttpResponse(f"pending: {flag!r} is not 1 (mark) or 0 (clear).", status=400,
                            content_type="text/plain; charset=utf-8")
    try:
        meeting_record.set_pending(pm, field, flag == "1", user=request.user)
    except ImmutableRecordError:
        return final_refusal(request, pm)
    return render_field_answer(request, pm, field)


@require_POST
def factor_review(request, pk, factor_id):
    """The facilitator marks a flagged contributing factor reviewed (blameless check)."""
    pm = get_postmortem_for_user(request, pk)
    factor = get_object_or_404(ContributingFactor, pk=factor_id, postmortem=pm)
    errors = []
    try:
        meeting_record.review_factor(pm, factor, request.user)
    except ImmutableRecordError:
        return final_refusal(request, pm)
    except FieldError as exc:
        errors = [str(exc)]
    return render_field_answer(request, pm, "contributing_factors", errors)


@require_GET
def field_history(request, pk, field):
    """Every autosave of a field's inputs, newest first: version, who, when (UTC), values."""
    pm = get_postmortem_for_user(request, pk)
    if field not in revisions.HISTORY_FIELDS:
        raise Http404(f"No such field: {field}")
    return render(request, "incidents/partials/field_history.html", {
        "pm": pm, "field": field, "label": template_rules.FIELD_LABELS[field],
        "history": revisions.history(pm, field)})
