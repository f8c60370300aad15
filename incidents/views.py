"""Postmortem pages: the list, the draft form (autosaved through htmx), the final record.

Views are thin: parse with a form, call incidents.services, render. A draft's fields are
saved one at a time as they change; each answer carries the field's template messages
and, out of band, the seven-field progress panel.
"""
import json
import uuid
from datetime import UTC, datetime

from django import forms
from django.contrib import messages
from django.db import transaction
from django.db.models import Count, Exists, OuterRef
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from costlog.services import CostEntryError, current_entries, link_entry
from incidents import (
    blameless,
    impact,
    markdown_export,
    meeting_record,
    revisions,
    services,
    template_rules,
)
from incidents import dashboard as dashboard_data
from incidents.action_item_views import action_item_context
from incidents.failure_modes import FAILURE_MODES
from incidents.forms import ROW_FORMS, AmendmentForm, NewPostmortemForm, field_form
from incidents.meeting_views import meeting_context
from incidents.meetings import annotate_meeting_held
from incidents.models import (
    DEFERRED_FIX_TEXT,
    ROOT_CAUSE_DEFINITIONS,
    SECTION_HINTS,
    ImmutableRecordError,
    PendingMark,
    Postmortem,
    Reference,
    RootCause,
    ScanAnswer,
    Section,
    Substitution,
    Template,
)

# How many unlinked cost log entries the "Link a mishap" list offers (newest first).
LINKABLE_ENTRIES = 100

# Which of the seven template fields each autosaved input belongs to.
FIELD_OF_INPUT = {
    "summary": "summary",
    "root_cause": "root_cause",
    "fix_commit_sha": "fix",
    "fix_description": "fix",
    "fix_ticket_link": "fix",
    "prevention": "prevention",
    "impact_usd": "impact",
    "impact_users": "impact",
    "impact_duration_minutes": "impact",
    "impact_description": "impact",
    "what_went_well": "what_went_well",
    "what_went_wrong": "what_went_wrong",
    "lessons_learned": "lessons_learned",
    "owner_sentiment": "owner_sentiment",
    "owner_sentiment_by": "owner_sentiment",
}

def _get_postmortem_for_user(request, pk, with_rows: bool = False) -> Postmortem:
    """The postmortem `pk` (its rows prefetched when `with_rows`); 404 when it does not exist.

    Every signed-in user may read every postmortem (blameless records are public within
    the operating team, 001_60b217100959449d.txt).
    """
    queryset = Postmortem.objects.all()
    if with_rows:
        queryset = queryset.prefetch_related(
            "timeline_entries", "contributing_factors__blameless_reviewed_by", "references",
            "scan_answers__answered_by", "pending_marks__marked_by",
        )
    return get_object_or_404(queryset, pk=pk)


def _final_refusal(request, pm: Postmortem) -> HttpResponse:
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
    the `stored` ones, else _final_refusal.

    Clicking Finalize blurs the input being typed in, which re-sends its already-saved
    text; when finalize wins the race, that save changes nothing and nothing is lost.
    `stored` must be read before `form` is validated (validating a ModelForm sets its
    instance's attributes).
    """
    if form.is_valid() and all(form.cleaned_data[name] == value for name, value in stored.items()):
        return HttpResponse(status=204)
    return _final_refusal(request, pm)


def _cost_context(pm: Postmortem, amendments: list) -> dict:
    """The "Impact and cost log" panel: stated impact vs linked entries, and linkable ones."""
    return {
        "cost": impact.compare_with_cost_log(pm, amendments),
        "linkable_entries": current_entries().filter(postmortem__isnull=True)
        .order_by("-occurred_utc", "-id")[:LINKABLE_ENTRIES],
    }


def _draft_context(pm: Postmortem, **extra) -> dict:
    statuses = template_rules.check_postmortem(pm)
    names = services.people_names()
    factors = list(pm.contributing_factors.all())
    flagged = template_rules.flagged_factors(factors, names)
    record_statuses = template_rules.check_record(pm, flagged)
    status_by_key = {status.key: status for status in statuses + record_statuses}
    optional_keys = ["owner_sentiment"]
    status_by_key["owner_sentiment"] = template_rules.check_scalar_field(pm, "owner_sentiment")
    if not pm.is_long_form:
        # The long-form sections are optional here: shown, checked for shape, never required.
        for status in template_rules.check_long_form(pm):
            status_by_key[status.key] = status
            optional_keys.append(status.key)
    text_sections = [
        {"key": key, "number": number, "label": label, "hint": SECTION_HINTS[key],
         "value": getattr(pm, key), "status": status_by_key[key]}
        for number, (key, label) in enumerate(template_rules.LONG_FORM_SECTIONS[1:], start=9)
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
        "versions": versions,
        "pending_marks": {mark.field: mark for mark in pm.pending_marks.all()},
        "markable_fields": meeting_record.MARKABLE_FIELDS,
        "history_fields": revisions.HISTORY_FIELDS,
        "blame": {"summary": blameless.check(pm.summary, names),
                  "prevention": blameless.check(pm.prevention, names)},
        "flagged_factors": flagged,
        "scan_rows": scan_rows(pm, factors),
        "facilitator": latest_meeting.facilitator if latest_meeting else None,
        "meeting_in_progress": latest_meeting if latest_meeting and latest_meeting.in_progress
        else None,
        "impact_hint": SECTION_HINTS[Section.IMPACT],
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
    """The twenty scan questions in order, each with its answer row (or None) and whether
    the contributing factor it suggests is already listed."""
    answers = {answer.mode: answer for answer in pm.scan_answers.all()}
    factor_texts = {factor.text for factor in factors}
    rows = []
    for mode in FAILURE_MODES:
        answer = answers.get(mode.slug)
        rows.append({
            "mode": mode, "answer": answer,
            "reveals": answer is not None and answer.answer == mode.failure_answer,
            "factor_listed": answer is not None
            and meeting_record.factor_text(answer) in factor_texts,
        })
    return rows


def _draft_page_context(pm: Postmortem, **extra) -> dict:
    """The whole draft page: the fields, the cost comparison, the event and meeting panels.

    `editor_id` names this page load: its autosaves carry it (X-Scarlog-Editor) so its
    own queued saves are never taken for someone else's (incidents.revisions).
    """
    return _draft_context(pm, **_cost_context(pm, []), **meeting_context(pm),
                          editor_id=uuid.uuid4().hex, **extra)


def _render_field_answer(request, pm: Postmortem, field_key: str, errors=None,
                         saved=None) -> HttpResponse:
    """The htmx answer to an autosave: the field's messages, the new version and the
    progress panel out of band."""
    pm = _get_postmortem_for_user(request, pm.pk, with_rows=True)
    context = _draft_context(pm, field_key=field_key, input_errors=errors or [], saved=saved)
    if field_key == "impact":
        # The stated figure changed: refresh the comparison with the cost log too.
        context |= _cost_context(pm, []) | {"cost_oob": True}
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
        context |= _cost_context(pm, []) | {"cost_oob": True}
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
        return None, _final_refusal(request, pm)
    except services.FieldError as exc:
        return None, _bad_request(str(exc))
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


def _bad_request(message: str) -> HttpResponse:
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


@require_GET
def dashboard(request):
    """The home page: open action items (filters in the URL, htmx swaps) and drafts."""
    try:
        filters = dashboard_data.Filters.from_query(request.GET)
    except dashboard_data.DashboardFilterError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    context = dashboard_data.dashboard(filters, datetime.now(UTC).date())
    return render(request, "incidents/dashboard.html", context)


@require_GET
def postmortem_list(request):
    """All postmortems, newest first, with status, template gaps and amendment counts."""
    # Explicit order: Meta.ordering does not apply to a GROUP BY (Count) query.
    postmortems = annotate_meeting_held(Postmortem.objects.annotate(
        amendment_count=Count("amendments"))).order_by("-created_utc", "id").prefetch_related(
        "timeline_entries", "contributing_factors", "references"
    )
    rows = [(pm, template_rules.gaps(pm)) for pm in postmortems]
    return render(request, "incidents/postmortem_list.html", {"rows": rows})


@require_http_methods(["GET", "POST"])
def postmortem_create(request):
    """Record the event and choose the template (GET), then start the draft (POST).

    The event time and trigger are required (the meeting deadline and its reminders
    follow from them); a POST without `template` starts a seven-field draft (the
    default). Bad input answers 400 with the form and each field's message.
    """
    if request.method == "GET":
        return render(request, "incidents/postmortem_new.html", {"form": NewPostmortemForm()})
    form = NewPostmortemForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            pm = services.create_draft(
                request.user, template=data["template"] or Template.SEVEN_FIELD,
                occurred_utc=data["occurred_utc"], trigger=data["trigger"],
                trigger_reason=data["trigger_reason"])
        except services.EventError as exc:
            form.add_error(exc.field, str(exc))
        else:
            return redirect("incidents:postmortem_detail", pk=pm.pk)
    return render(request, "incidents/postmortem_new.html", {"form": form}, status=400)


@require_GET
def postmortem_detail(request, pk):
    """A draft's form, or a final postmortem read-only with its amendments."""
    pm = _get_postmortem_for_user(request, pk, with_rows=True)
    if pm.is_final:
        return _render_final(request, pm, AmendmentForm())
    return render(request, "incidents/postmortem_draft.html", _draft_page_context(pm))


def _scan_context(pm: Postmortem) -> dict:
    """The final page's scan table: none for a record without answers (legacy imports)."""
    rows = scan_rows(pm, list(pm.contributing_factors.all()))
    if not any(row["answer"] for row in rows):
        return {"scan_rows": [], "scan_revealed": []}
    return {"scan_rows": rows, "scan_revealed": [row for row in rows if row["reveals"]]}


def _render_final(request, pm: Postmortem, form: AmendmentForm, status: int = 200):
    amendments = list(pm.amendments.select_related("author"))
    by_section = impact.amendments_by_section(amendments)
    sections = [
        (section, by_section[section.value]) for section in Section
    ]
    context = {
        "pm": pm,
        "gaps": template_rules.gaps(pm),
        "amendments": by_section[""],
        "sectioned_amendment_count": len(amendments) - len(by_section[""]),
        "sections": sections,
        "show_sections": (pm.is_long_form or len(amendments) > len(by_section[""])
                          or pm.has_long_form_content),
        "form": form,
        **_scan_context(pm),
        **_cost_context(pm, amendments),
        **meeting_context(pm),
        "root_cause_definition": ROOT_CAUSE_DEFINITIONS.get(pm.root_cause, ""),
        "deferred_fix_text": DEFERRED_FIX_TEXT,
        **action_item_context(pm),
    }
    return render(request, "incidents/postmortem_final.html", context, status=status)


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
            return _bad_request(str(exc))
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
    pm = _get_postmortem_for_user(request, pk)
    if pm.is_final:
        return _final_refusal(request, pm)
    try:
        base_version = revisions.parse_base_version(request.POST.get("base_version"))
    except services.FieldError as exc:
        return _bad_request(str(exc))

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
    pm = _get_postmortem_for_user(request, pm.pk, with_rows=True)
    return render(request, "incidents/partials/fix_section.html", _draft_context(pm, oob=True))


def _get_row_kind(kind: str) -> services.RowKind:
    """The RowKind for a URL slug (timeline, factors, references); Http404 otherwise."""
    if kind not in services.ROW_KINDS:
        raise Http404(f"No such row kind: {kind}")
    return services.ROW_KINDS[kind]


def _render_section(request, pm: Postmortem, kind: str, **extra) -> HttpResponse:
    pm = _get_postmortem_for_user(request, pm.pk, with_rows=True)
    context = _draft_context(pm, oob=True, **extra)
    return render(request, f"incidents/partials/{kind}_section.html", context)


@require_POST
def row_add(request, pk, kind):
    """Add an empty timeline row, contributing factor or reference to a draft."""
    pm = _get_postmortem_for_user(request, pk)
    row_kind = _get_row_kind(kind)
    try:
        row = services.add_row(pm, row_kind)
    except ImmutableRecordError:
        return _final_refusal(request, pm)
    except services.RowLimitError as exc:
        if not request.htmx:
            messages.error(request, str(exc))
            return redirect("incidents:postmortem_detail", pk=pm.pk)
        return _render_section(request, pm, kind, section_error=str(exc))
    if not request.htmx:
        return redirect(reverse("incidents:postmortem_detail", args=[pm.pk]) + f"#section-{kind}")
    return _render_section(request, pm, kind, focus_row_id=row.pk)


@require_POST
def row_update(request, pk, kind, row_id):
    """Autosave one row, version-checked like a field; a timeline row whose new time
    changes the order re-renders the list. A row removed meanwhile answers 409 with the
    text that was typed, so it is not lost."""
    pm = _get_postmortem_for_user(request, pk)
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
            return _final_refusal(request, pm)
        return _resend_or_final_refusal(request, pm, form, stored)
    try:
        base_version = revisions.parse_base_version(request.POST.get("base_version"))
    except services.FieldError as exc:
        return _bad_request(str(exc))
    if not mine:
        return _bad_request(f"Nothing to save: post one of {', '.join(labels)}.")
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
        response = _render_section(request, pm, kind)
        response["HX-Retarget"] = f"#section-{row_kind.field_key}"
        response["HX-Reswap"] = "outerHTML"
        return response
    return _render_field_answer(request, pm, row_kind.field_key, errors, saved)


@require_POST
def row_remove(request, pk, kind, row_id):
    """Remove one row from a draft."""
    pm = _get_postmortem_for_user(request, pk)
    row_kind = _get_row_kind(kind)
    row = get_object_or_404(row_kind.model, pk=row_id, postmortem=pm)
    try:
        services.remove_row(pm, row)
    except ImmutableRecordError:
        return _final_refusal(request, pm)
    if not request.htmx:
        return redirect(reverse("incidents:postmortem_detail", args=[pm.pk]) + f"#section-{kind}")
    return _render_section(request, pm, kind)


@require_POST
def postmortem_finalize(request, pk):
    """Finalize a draft, or show it again with every field's reason for refusal."""
    pm = _get_postmortem_for_user(request, pk)
    try:
        services.finalize(pm, request.user)
    except services.TemplateIncompleteError as exc:
        context = _draft_page_context(pm, finalize_refused=exc.statuses)
        return render(request, "incidents/postmortem_draft.html", context, status=422)
    except ImmutableRecordError:
        messages.info(request, "This postmortem was already final.")
        return redirect("incidents:postmortem_detail", pk=pm.pk)
    messages.success(request, "Postmortem finalized. It can no longer change; amend it instead.")
    return redirect("incidents:postmortem_detail", pk=pm.pk)


@require_POST
def postmortem_discard(request, pk):
    """Delete a draft (a final postmortem is never deleted)."""
    pm = _get_postmortem_for_user(request, pk)
    try:
        services.discard_draft(pm)
    except ImmutableRecordError:
        return _final_refusal(request, pm)
    messages.success(request, "Draft discarded.")
    return redirect("incidents:postmortem_list")


@require_POST
def amendment_create(request, pk):
    """Append a dated amendment (Markdown note) to a final postmortem."""
    pm = _get_postmortem_for_user(request, pk)
    form = AmendmentForm(request.POST)
    if not form.is_valid():
        return _render_final(request, pm, form, status=422)
    try:
        services.add_amendment(
            pm, request.user, form.cleaned_data["note"],
            section=form.cleaned_data["section"],
            impact_usd=form.cleaned_data["impact_usd"],
            impact_users=form.cleaned_data["impact_users"],
            impact_duration_minutes=form.cleaned_data["impact_duration_minutes"],
        )
    except services.AmendmentError as exc:
        form.add_error("note", str(exc))
        if not pm.is_final:
            return HttpResponse(str(exc), status=409, content_type="text/plain; charset=utf-8")
        return _render_final(request, pm, form, status=422)
    messages.success(request, "Amendment added.")
    return redirect(reverse("incidents:postmortem_detail", args=[pm.pk]) + "#amendments")


@require_POST
def postmortem_cost_link(request, pk):
    """Link a cost log entry (POST `entry`, its id) to this postmortem (draft or final).

    The link is an append-only correction of the entry (costlog.services.link_entry).
    """
    pm = _get_postmortem_for_user(request, pk)
    entry_id = request.POST.get("entry", "")
    if not entry_id.isdigit():
        messages.error(request, "Cost log entry: choose an entry to link.")
    else:
        entry = current_entries().filter(pk=int(entry_id)).first()
        if entry is None:
            messages.error(request, f"Cost log entry: {entry_id} is not a current entry "
                                    "(it does not exist or was corrected).")
        else:
            try:
                link_entry(entry, pm, user=request.user)
            except CostEntryError as exc:
                messages.error(request, f"Cost log entry: {exc}")
            else:
                messages.success(request, f"Linked the mishap \u201c{entry.title}\u201d.")
    return redirect(reverse("incidents:postmortem_detail", args=[pm.pk]) + "#impact-costs")


@require_GET
def postmortem_markdown(request, pk):
    """Download the postmortem as Markdown (the same file `export_postmortems` writes)."""
    pm = _get_postmortem_for_user(request, pk, with_rows=True)
    response = HttpResponse(
        markdown_export.postmortem_markdown(pm), content_type="text/markdown; charset=utf-8"
    )
    filename = markdown_export.postmortem_filename(pm)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
