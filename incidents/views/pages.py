"""Postmortem pages: the dashboard, the list, a new draft, the draft form, the final record
with its amendments, finalize and discard, the Markdown download.
"""
import uuid
from datetime import UTC, datetime

from django.contrib import messages
from django.db.models import prefetch_related_objects
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import bad_request
from core.roles import can_write, editors_only
from incidents import dashboard as dashboard_data
from incidents import (
    impact,
    markdown_export,
    record_body,
    services,
)
from incidents import postmortem_list as postmortem_list_data
from incidents.forms import AmendmentForm, NewPostmortemForm
from incidents.models import (
    ImmutableRecordError,
    Postmortem,
    Section,
    Template,
)
from incidents.views import live as live_views
from incidents.views.action_items import action_item_context
from incidents.views.autosave import final_refusal
from incidents.views.context import (
    draft_page_context,
    get_postmortem_for_user,
)
from incidents.views.meeting import meeting_context


@require_GET
def dashboard(request):
    """The home page: open action items (filters in the URL, htmx swaps) and drafts."""
    try:
        filters = dashboard_data.Filters.from_query(request.GET)
    except dashboard_data.DashboardFilterError as exc:
        return bad_request(request, exc.field, str(exc), exc.allowed)
    context = dashboard_data.dashboard(filters, datetime.now(UTC).date(), request.user)
    return render(request, "incidents/dashboard.html", context)


@require_GET
def postmortem_list(request):
    """Postmortems, fifty a page, filtered and sorted by the page's GET form
    (incidents.postmortem_list); a bad parameter answers 400 with the form and a message
    naming it."""
    listing = postmortem_list_data.listing(request.GET, request.user)
    return render(request, "incidents/postmortem_list.html", {"listing": listing},
                  status=listing.status)


@editors_only
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
                trigger_reason=data["trigger_reason"], severity=data["severity"],
                question_set=data["question_set"])
        except services.EventError as exc:
            form.add_error(exc.field, str(exc))
        else:
            return redirect("incidents:postmortem_detail", pk=pm.pk)
    return render(request, "incidents/postmortem_new.html", {"form": form}, status=400)


@require_GET
def postmortem_detail(request, pk):
    """A draft's form, or a final postmortem read-only with its amendments.

    A viewer reads a draft as text, laid out as a final record with no inputs
    (docs/rules.md#role-viewer)."""
    pm = get_postmortem_for_user(request, pk)
    if pm.is_final or not can_write(request.user):
        # The record's rows are read only when its body is rendered (incidents.record_body).
        return _render_final(request, pm, AmendmentForm())
    prefetch_related_objects([pm], *record_body.BODY_ROWS)
    context = draft_page_context(pm)
    context.update(live_views.page_context(request, pm, context["meeting"], context["editor_id"]))
    return render(request, "incidents/postmortem_draft.html", context)


def _render_final(request, pm: Postmortem, form: AmendmentForm, status: int = 200):
    """The read-only record page: a final postmortem, or a draft as a viewer reads it."""
    amendments = list(pm.amendments.select_related("author"))
    by_section = impact.amendments_by_section(amendments)
    sections = [
        (section, by_section[section.value]) for section in Section
    ]
    show_sections = (pm.is_long_form or len(amendments) > len(by_section[""])
                     or pm.has_long_form_content)
    context = {
        "pm": pm,
        # The sealed part, rendered once per seal; everything else below is read fresh.
        "record_body": record_body.record_body(pm, amendments, sections, show_sections),
        "amendments": by_section[""],
        "sectioned_amendment_count": len(amendments) - len(by_section[""]),
        "form": form,
        "amendment_list": amendments,
        **meeting_context(pm),
        **action_item_context(pm),
    }
    if not pm.is_final:
        # A viewer reading a draft sees it change live (docs/rules.md#live-feed).
        context.update(live_views.page_context(request, pm, context["meeting"],
                                               uuid.uuid4().hex))
    return render(request, "incidents/postmortem_final.html", context, status=status)


@require_POST
def postmortem_finalize(request, pk):
    """Finalize a draft, or show it again with every field's reason for refusal."""
    pm = get_postmortem_for_user(request, pk)
    try:
        services.finalize(pm, request.user)
    except services.TemplateIncompleteError as exc:
        context = draft_page_context(pm, finalize_refused=exc.statuses)
        return render(request, "incidents/postmortem_draft.html", context, status=422)
    except ImmutableRecordError:
        messages.info(request, "This postmortem was already final.")
        return redirect("incidents:postmortem_detail", pk=pm.pk)
    messages.success(request, "Postmortem finalized. It can no longer change; amend it instead.")
    return redirect("incidents:postmortem_detail", pk=pm.pk)


@require_POST
def postmortem_discard(request, pk):
    """Delete a draft (a final postmortem is never deleted)."""
    pm = get_postmortem_for_user(request, pk)
    try:
        services.discard_draft(pm)
    except ImmutableRecordError:
        return final_refusal(request, pm)
    messages.success(request, "Draft discarded.")
    return redirect("incidents:postmortem_list")


@require_POST
def amendment_create(request, pk):
    """Append a dated amendment (Markdown note) to a final postmortem."""
    pm = get_postmortem_for_user(request, pk)
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


@require_GET
def postmortem_markdown(request, pk):
    """Download the postmortem as Markdown (the same file `export_postmortems` writes)."""
    pm = get_postmortem_for_user(request, pk, with_rows=True)
    response = HttpResponse(
        markdown_export.postmortem_markdown(pm), content_type="text/markdown; charset=utf-8"
    )
    filename = markdown_export.postmortem_filename(pm)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
