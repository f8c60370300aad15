"""Autosave endpoints of a draft: one field, the deferred fix, timeline/factor/reference rows.

Each parses the request, calls incidents.autosave, and renders the answer: the field's
messages and its new version, 409 with both values on a conflict or a final record.
"""
import json

from django import forms
from django.contrib import messages
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from incidents import (
    blameless,
    fields,
    meeting_record,
    revisions,
    services,
    template_rules,
)
from incidents.forms import ROW_FORMS, field_form
from incidents.models import (
    DEFERRED_FIX_TEXT,
    ImmutableRecordError,
    PendingMark,
    Postmortem,
)
from incidents.views.context import draft_context, get_postmortem_for_user

# Which template field each autosaved input belongs to (the field registry).
FIELD_OF_INPUT = fields.FIELD_OF_INPUT


def final_refusal(request, pm: Postmortem) -> HttpResponse:
    """409 for an edit of a final postmortem; an htmx page is sent to the read-only record.

    This happens when a teammate finalizes while another tab is still typing.
    """
    message = f"Postmortem {pm.pk} is final and cannot be edited; add an amendment instead."
    response = HttpResponse(message, status=409, content_type="text/plain; charset=utf-8")
    if request.htmx:
        messages.warning(request, "This postmortem was finalized; it can no longer be edited. "
                                  "Add an amendment instead.")
        response["HX-Redirect"] = reverse("incidents:postmortem_detail", args=[pm.pk])
    return response


def _resend_or_final_refusal(request, pm: Postmortem, form, stored: dict) -> HttpResponse:
    """The answer to an autosave of a final postmortem: 204 when the posted values equal
    the `stored` ones, else final_refusal.

    Clicking Finalize blurs the input being typed in, which re-sends its already-saved
    text; when finalize wins the race, that save changes nothing and nothing is lost.
    `stored` must be read before `form` is validated (validating a ModelForm sets its
    instance's attributes).
    """
    if form.is_valid() and all(form.cleaned_data[name] == value for name, value in stored.items()):
        return HttpResponse(status=204)
    return final_refusal(request, pm)


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
    """The htmx answer to an autosave of a field held in the postmortem row (summary, root
    cause, fix, prevention, a long-form section, owner sentiment): the field's messages,
    its new version and its line of the progress panel, out of band.

    `pm` is the row as saved (read under the save's lock), or as stored when the input
    was refused, annotated with `field_marked` (the field is marked pending trace review).
    Such a save changes no other field's status, so no other row of the postmortem is
    read (static/js/autosave.js recounts "N of M fields complete").
    """
    status = template_rules.check_scalar_field(pm, field_key)
    marks = {}
    if pm.field_marked:
        mark = pm.pending_marks.filter(field=field_key).select_related("marked_by").first()
        marks = {field_key: mark} if mark else {}
    blame = {}
    if field_key in ("summary", "prevention"):
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
        "optional_keys": ["owner_sentiment",
                          *([] if pm.is_long_form else template_rules.LONG_FORM_KEYS)],
        "progress_item_only": True,
        "progress_status": status if field_key in template_rules.progress_keys(pm) else None,
    }
    if field_key == "impact":
        # The stated figure changed: refresh the comparison with the cost log too.
        context["cost_oob"] = True
    return render(request, "incidents/partials/field_answer.html", context)


def _versioned_save(request, pm: Postmortem, field_key: str, key: str, mine: dict,
                    base_version: int, write, labels: dict, container: str,
                    locked: bool = False):
    """Save through incidents.revisions.save_with_revision with this page's editor id
    (`locked` as there).

    Returns (Saved, None), or (None, the refusal to send): 409 with both values on a
    conflict (`labels`, `container` as for _render_conflict), 409 for a final
    postmortem, 400 for a base_version ahead of the stored one.
    """
    try:
        saved = revisions.save_with_revision(
            pm, field_key, key, mine, base_version,
            request.headers.get("X-Scarlog-Editor", ""), request.user, write, locked=locked)
    except revisions.EditConflict as conflict:
        return None, _render_conflict(request, field_key, conflict, labels, mine, container)
    except ImmutableRecordError:
        return None, final_refusal(request, pm)
    except services.FieldError as exc:
        return None, bad_request(str(exc))
    return saved, None


def _render_conflict(request, field_key: str, conflict, labels: dict,
                     mine: dict, container: str) -> HttpResponse:
    """409: another page saved this input first; show theirs beside mine, keep either.

    `labels` maps each posted input name to its label; `mine` the values this page sent;
    `container` the CSS selector holding the inputs (for "keep theirs").
    """
    theirs = conflict.theirs.values
    context = {
        "field_key": field_key,
        "conflict": conflict,
        "rows": [(labels[name], theirs.get(name, ""), mine.get(name, "")) for name in labels],
        "theirs_json": json.dumps({name: theirs.get(name, "") for name in labels}),
        "container": container,
    }
    return render(request, "incidents/partials/edit_conflict.html", context, status=409)


def bad_request(message: str) -> HttpResponse:
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


@require_POST
def postmortem_field(request, pk, name):
    """Autosave one scalar field of a draft, checked against the version the page edited.

    POST: the field's value and `base_version`. A stale version another page moved on
    answers 409 with both values (keep mine / keep theirs); every save is appended to the
    field's revision history (incidents.revisions). The postmortem row is read once,
    locked, for the whole check-and-save.
    """
    if name not in FIELD_OF_INPUT:
        raise Http404(f"No such field: {name}")
    field_key = FIELD_OF_INPUT[name]
    errors, saved = [], None
    with transaction.atomic():
        marked = PendingMark.objects.filter(postmortem=OuterRef("pk"), field=field_key)
        pm = get_object_or_404(
            Postmortem.objects.select_for_update().annotate(field_marked=Exists(marked)), pk=pk)
        form = field_form(name, request.POST, pm)
        if pm.is_final:
            return _resend_or_final_refusal(request, pm, form, {name: getattr(pm, name)})
        try:
            base_version = revisions.parse_base_version(request.POST.get("base_version"))
        except services.FieldError as exc:
            return bad_request(str(exc))
        if form.is_valid():
            value = form.cleaned_data[name]

            def write(locked):
                setattr(locked, name, value)
                locked.save_locked_draft([name, "updated_utc"])

            saved, refusal = _versioned_save(
                request, pm, field_key, name, {name: request.POST.get(name, "")}, base_version,
                write, {name: form.fields[name].label}, f"#section-{field_key}", locked=True)
            if refusal:
                return refusal
        else:
            errors = [f"{form.fields[name].label}: {e}" for e in form.errors.get(name, [])]
    if not request.htmx:
        for error in errors:
            messages.error(request, error)
        return redirect("incidents:postmortem_detail", pk=pm.pk)
    return _render_scalar_field_answer(request, pm, field_key, errors, saved)


@require_POST
def postmortem_fix_deferred(request, pk):
    """Set the fix to the template's exact text "no change; documented and deferred".

    Versioned like typing into "Change described" (POST base_version of that input).
    """
    pm = get_postmortem_for_user(request, pk)
    if pm.is_final:
        return final_refusal(request, pm)
    try:
        base_version = revisions.parse_base_version(request.POST.get("base_version"))
    except services.FieldError as exc:
        return bad_request(str(exc))

    def write(locked):
        locked.fix_description = DEFERRED_FIX_TEXT
        locked.save_locked_draft(["fix_description", "updated_utc"])

    _, refusal = _versioned_save(
        request, pm, "fix", "fix_description", {"fix_description": DEFERRED_FIX_TEXT},
        base_version, write, {"fix_description": "Change described"}, "#section-fix")
    if refusal:
        if refusal.status_code == 409 and not refusal.has_header("HX-Redirect"):
            refusal["HX-Retarget"] = "#feedback-fix"  # the button targets the whole section
        return refusal
    if not request.htmx:
        return redirect("incidents:postmortem_detail", pk=pm.pk)
    pm = get_postmortem_for_user(request, pm.pk, with_rows=True)
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
    """Autosave one row, version-checked like a field; a timeline row whose new time
    changes the order re-renders the list. A row removed meanwhile answers 409 with the
    text that was typed, so it is not lost."""
    pm = get_postmortem_for_user(request, pk)
    row_kind = _get_row_kind(kind)
    form_class = ROW_FORMS[kind]
    labels = {name: str(form_class.base_fields[name].label or name)
              for name in form_class.base_fields}
    mine = {name: request.POST.get(name, "") for name in labels if name in request.POST}
    row = row_kind.model.objects.filter(pk=row_id, postmortem=pm).first()
    form = None
    if row is not None and mine:
        stored = {name: getattr(row, name) for name in mine}
        # Only the posted inputs change: an input left out keeps its stored value.
        form = forms.modelform_factory(row_kind.model, form=form_class, fields=list(mine))(
            request.POST, instance=row)
    if pm.is_final:
        if form is None:
            return final_refusal(request, pm)
        return _resend_or_final_refusal(request, pm, form, stored)
    try:
        base_version = revisions.parse_base_version(request.POST.get("base_version"))
    except services.FieldError as exc:
        return bad_request(str(exc))
    if not mine:
        return bad_request(f"Nothing to save: post one of {', '.join(labels)}.")
    if row is None:
        return render(request, "incidents/partials/row_removed.html",
                      {"field_key": row_kind.field_key, "noun": row_kind.noun,
                       "mine": [(labels[n], v) for n, v in mine.items() if v]}, status=409)
    rows = row_kind.model.objects.filter(postmortem=pm).values_list("pk", flat=True)
    order_before = list(rows) if row_kind.ordered_by_time else None
    errors, saved = [], None
    if form.is_valid():
        saved, refusal = _versioned_save(
            request, pm, row_kind.field_key, f"{kind}:{row.pk}", mine, base_version,
            lambda locked: form.save(), {n: labels[n] for n in mine}, f"#{kind}-row-{row.pk}")
        if refusal:
            return refusal
    else:
        errors = [f"{form.fields[name].label}: {e}" for name, errs in form.errors.items()
                  for e in errs]
    if not request.htmx:
        for error in errors:
            messages.error(request, error)
        return redirect("incidents:postmortem_detail", pk=pm.pk)
    if order_before is not None and list(rows.all()) != order_before:
        response = render_section(request, pm, kind)
        response["HX-Retarget"] = f"#section-{row_kind.field_key}"
        response["HX-Reswap"] = "outerHTML"
        return response
    return render_field_answer(request, pm, row_kind.field_key, errors, saved)


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
