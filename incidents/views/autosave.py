"""Autosave endpoints of a draft: one field, the deferred fix, timeline/factor/reference rows.

Each parses the request, calls incidents.autosave, and renders the answer: the field's
messages and its new version, 409 with both values on a conflict or a final record.
"""
import json

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from incidents import (
    autosave,
    blameless,
    fields,
    meeting_record,
    revisions,
    services,
    template_rules,
)
from incidents.autosave import Outcome
from incidents.models import ImmutableRecordError, Postmortem
from incidents.views.context import draft_context, get_postmortem_for_user


def final_refusal(request, pm: Postmortem) -> HttpResponse:
    """409 for an edit of a final postmortem, marked `X-Scarlog-Refused: final`.

    This happens when a teammate finalizes while another tab is still typing: the page
    stays as it is, the text in its field, and autosave.js says beside it why it was not
    saved (docs/rules.md#autosave-keeps-text).
    """
    message = f"Postmortem {pm.pk} is final and cannot be edited; add an amendment instead."
    response = HttpResponse(message, status=409, content_type="text/plain; charset=utf-8")
    response["X-Scarlog-Refused"] = "final"
    return response


def render_field_answer(request, pm: Postmortem, field_key: str, errors=None,
                         saved=None) -> HttpResponse:
    """The htmx answer to an autosave: the field's messages, the new version and the
    progress panel out of band."""
    pm = get_postmortem_for_user(request, pm.pk, with_rows=True)
    context = draft_context(pm, field_key=field_key, input_errors=errors or [], saved=saved)
    if field_key == "impact":
        # The stated figure changed: refresh the comparison with the cost log too.
        context["cost_oob"] = True
    return render(request, "incidents/partials/field_answer.html", context)


def _render_scalar_field_answer(request, pm: Postmortem, field_key: str, errors,
                                saved) -> HttpResponse:
    """htmx answer to a postmortem-row field's autosave: messages, new version, progress line.
    Reads no other row: such a save changes no other field's status (autosave.js recounts)."""
    status = template_rules.check_scalar_field(pm, field_key)
    marks = {}
    if pm.field_marked:
        mark = pm.pending_marks.filter(field=field_key).select_related("marked_by").first()
        marks = {field_key: mark} if mark else {}
    blame = {}
    if fields.field(field_key).blameless and not fields.field(field_key).rows:
        text = getattr(pm, field_key)
        names = services.people_names() if blameless.mentions_failure(text) else ()
        blame = {field_key: blameless.check(text, names)}
    context = {
        "pm": pm,
        "field_status": status,
        "input_errors": errors,
        "saved": saved,
        "versions": {saved.key: saved.version} if saved else {},
        "blame": blame,
        "pending_marks": marks,
        "markable_fields": meeting_record.MARKABLE_FIELDS,
        "history_fields": revisions.HISTORY_FIELDS,
        "optional_keys": [*template_rules.OPTIONAL_KEYS,
                          *([] if pm.is_long_form else template_rules.LONG_FORM_KEYS)],
        "progress_item_only": True,
        "progress_status": status if field_key in template_rules.progress_keys(pm) else None,
    }
    if field_key == "impact":
        # The stated figure changed: refresh the comparison with the cost log too.
        context["cost_oob"] = True
    return render(request, "incidents/partials/field_answer.html", context)


def _refusal(request, result: autosave.AutosaveResult, container: str) -> HttpResponse | None:
    """The answer to a refused autosave, or None when saved, unchanged or invalid.
    `container`: the CSS selector holding the inputs (for "keep theirs" of a conflict)."""
    match result.outcome:
        case Outcome.RESENT_AFTER_FINAL:
            # Clicking Finalize blurs the input being typed in, which re-sends its
            # already-saved text; when finalize wins the race, nothing is lost.
            return HttpResponse(status=204)
        case Outcome.FINAL:
            return final_refusal(request, result.postmortem)
        case Outcome.BAD_BASE | Outcome.STALE_BASE | Outcome.NOTHING_POSTED:
            return bad_request(result.message)
        case Outcome.CONFLICT:
            return _render_conflict(request, result.field_key, result.conflict, result.labels,
                                    result.mine, container)
        case Outcome.ROW_GONE:
            return render(request, "incidents/partials/row_removed.html",
                          {"field_key": result.field_key, "noun": result.row_kind.noun,
                           "mine": [(result.labels[n], v) for n, v in result.mine.items() if v]},
                          status=409)
    return None


def _redirect_with_errors(request, result: autosave.AutosaveResult) -> HttpResponse:
    """The answer to a page without htmx: back to the draft, the errors as messages."""
    for error in result.errors:
        messages.error(request, error)
    return redirect("incidents:postmortem_detail", pk=result.postmortem.pk)


def _editor(request) -> str:
    """The page's editor id (X-Scarlog-Editor; "" when absent)."""
    return request.headers.get("X-Scarlog-Editor", "")


def _render_conflict(request, field_key: str, conflict, labels: dict,
                     mine: dict, container: str) -> HttpResponse:
    """409: another page saved this input first; show theirs beside mine, keep either.
    `labels`: posted input name → label; `mine`: the values this page sent."""
    theirs = conflict.theirs.values
    context = {
        "field_key": field_key,
        "conflict": conflict,
        "rows": [(labels[name], theirs.get(name, ""), mine.get(name, "")) for name in labels],
        "theirs_json": json.dumps({name: theirs.get(name, "") for name in labels}),
        "mine_json": json.dumps(revisions.keep_mine(
            conflict, {name: mine.get(name, "") for name in labels})),
        "container": container,
    }
    return render(request, "incidents/partials/edit_conflict.html", context, status=409)


def bad_request(message: str) -> HttpResponse:
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


@require_POST
def postmortem_field(request, pk, name):
    """Autosave one scalar field of a draft (incidents.autosave.save_field).

    POST: the field's value and `base_version`. Answers the field's messages and new
    version; 409 with both values on a conflict, 409 (or 204 for a re-sent value) once
    final, 400 for a bad base_version; 404 for an unknown field or postmortem.
    """
    try:
        result = autosave.save_field(pk, name, request.POST, request.POST.get("base_version"),
                                     _editor(request), request.user)
    except (autosave.UnknownInput, Postmortem.DoesNotExist) as exc:
        raise Http404(str(exc)) from exc
    refusal = _refusal(request, result, f"#section-{result.field_key}")
    if refusal is not None:
        return refusal
    if not request.htmx:
        return _redirect_with_errors(request, result)
    return _render_scalar_field_answer(request, result.postmortem, result.field_key,
                                       list(result.errors), result.saved)


@require_POST
def postmortem_fix_deferred(request, pk):
    """Set the fix to the template's exact text "no change; documented and deferred".

    Versioned like typing into "Change described" (POST base_version of that input).
    """
    try:
        result = autosave.set_deferred_fix(pk, request.POST.get("base_version"),
                                           _editor(request), request.user)
    except Postmortem.DoesNotExist as exc:
        raise Http404(str(exc)) from exc
    refusal = _refusal(request, result, "#section-fix")
    if refusal is not None:
        if result.outcome is Outcome.CONFLICT:
            refusal["HX-Retarget"] = "#feedback-fix"  # the button targets the whole section
        return refusal
    if not request.htmx:
        return redirect("incidents:postmortem_detail", pk=pk)
    pm = get_postmortem_for_user(request, pk, with_rows=True)
    return render(request, "incidents/partials/fix_section.html", draft_context(pm, oob=True))


def _get_row_kind(kind: str) -> services.RowKind:
    """The RowKind for a URL slug (timeline, factors, references); Http404 otherwise."""
    if kind not in services.ROW_KINDS:
        raise Http404(f"No such row kind: {kind}")
    return services.ROW_KINDS[kind]


def render_section(request, pm: Postmortem, kind: str, **extra) -> HttpResponse:
    pm = get_postmortem_for_user(request, pm.pk, with_rows=True)
    context = draft_context(pm, oob=True, **extra)
    return render(request, f"incidents/partials/{kind}_section.html", context)


@require_POST
def row_add(request, pk, kind):
    """Add an empty timeline row, contributing factor or reference to a draft."""
    pm = get_postmortem_for_user(request, pk)
    row_kind = _get_row_kind(kind)
    try:
        row = services.add_row(pm, row_kind)
    except ImmutableRecordError:
        return final_refusal(request, pm)
    except services.RowLimitError as exc:
        if not request.htmx:
            messages.error(request, str(exc))
            return redirect("incidents:postmortem_detail", pk=pm.pk)
        return render_section(request, pm, kind, section_error=str(exc))
    if not request.htmx:
        return redirect(reverse("incidents:postmortem_detail", args=[pm.pk]) + f"#section-{kind}")
    return render_section(request, pm, kind, focus_row_id=row.pk)


@require_POST
def row_update(request, pk, kind, row_id):
    """Autosave one row, version-checked like a field (incidents.autosave.save_row).

    A timeline row whose new time changes the order re-renders the list; a row removed
    meanwhile answers 409 with the text that was typed, so it is not lost.
    """
    try:
        result = autosave.save_row(pk, kind, row_id, request.POST,
                                   request.POST.get("base_version"), _editor(request),
                                   request.user)
    except (autosave.UnknownRowKind, Postmortem.DoesNotExist) as exc:
        raise Http404(str(exc)) from exc
    refusal = _refusal(request, result, f"#{kind}-row-{row_id}")
    if refusal is not None:
        return refusal
    if not request.htmx:
        return _redirect_with_errors(request, result)
    if result.outcome is Outcome.REORDERED:
        response = render_section(request, result.postmortem, kind)
        response["HX-Retarget"] = f"#section-{result.field_key}"
        response["HX-Reswap"] = "outerHTML"
        return response
    return render_field_answer(request, result.postmortem, result.field_key,
                               list(result.errors), result.saved)


@require_POST
def row_remove(request, pk, kind, row_id):
    """Remove one row from a draft."""
    pm = get_postmortem_for_user(request, pk)
    row_kind = _get_row_kind(kind)
    row = get_object_or_404(row_kind.model, pk=row_id, postmortem=pm)
    try:
        services.remove_row(pm, row)
    except ImmutableRecordError:
        return final_refusal(request, pm)
    if not request.htmx:
        return redirect(reverse("incidents:postmortem_detail", args=[pm.pk]) + f"#section-{kind}")
    return render_section(request, pm, kind)
