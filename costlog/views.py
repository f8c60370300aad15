"""Cost log pages: totals by root pattern (with chart and CSV), the incident table, an
entry and its corrections, the entry form with a live cost preview, and the rates.

Views are thin: parse filters and forms, call costlog.services, render.
"""
import functools
from datetime import UTC, datetime

from defusedcsv import csv
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import units
from core.errors import bad_request
from core.limits import whole_number
from core.record_types import shown
from core.roles import editors_only
from costlog import services
from costlog.forms import CorrectionForm, MishapEntryForm, ResourceRateForm, resource_formset
from costlog.models import MishapEntry, ResourceRate, RootPattern
from incidents import visibility
from incidents.models import Postmortem, RootCause

ENTRIES_PER_PAGE = 50
# The chart is 800 SVG units wide. Each pattern takes one row: its name on a line of its
# own above its bars (a long name never runs under a bar), the bars below, and the USD
# range right of the bars, in the room the longest bar leaves.
CHART_WIDTH = 800
CHART_ROW_HEIGHT = 44
CHART_VALUE_ROOM = 200  # SVG units right of the longest bar, for "$12,345–$67,890"
CHART_INSET = 4  # SVG units left of names and bars, so no glyph overhangs the edge
CHART_BAR_WIDTH = CHART_WIDTH - CHART_VALUE_ROOM - CHART_INSET


class FilterError(Exception):
    """A filter in the query string is malformed; the page answers 400 naming `field`."""

    def __init__(self, field: str, message: str, allowed=()):
        self.field, self.allowed = field, tuple(allowed)
        super().__init__(message)


def _filters(request) -> dict:
    """period, root_cause and pattern from the query string; raises FilterError. Without
    `period`, services.default_period() (docs/rules.md#cost-totals)."""
    try:
        period = (services.parse_period(request.GET["period"]) if "period" in request.GET
                  else services.default_period())
        root_cause = services.parse_root_cause(request.GET.get("root_cause", ""))
    except services.CostEntryError as exc:
        allowed = (*RootCause.values, services.UNLINKED) if exc.field == "root_cause" else ()
        raise FilterError(exc.field, str(exc), allowed) from exc
    pattern = None
    pattern_id = request.GET.get("pattern", "")
    if pattern_id:
        number = whole_number(pattern_id)
        pattern = RootPattern.objects.filter(pk=number).first() if number is not None else None
        if pattern is None:
            raise FilterError("pattern", f"Root pattern {shown(pattern_id)} does not exist.")
    return {"period": period, "root_cause": root_cause, "pattern": pattern}


def _filter_context(filters: dict) -> dict:
    today = datetime.now(UTC).date()
    return {
        **filters,
        "periods": services.period_choices(today),
        "this_quarter": services.quarter_of(today),
        "root_causes": RootCause.choices,
        "unlinked": services.UNLINKED,
    }


def with_filters(view):
    """Call `view(request, filters)` with the parsed query-string filters; a malformed
    filter is answered 400 with a page naming it."""
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            filters = _filters(request)
        except FilterError as exc:
            return bad_request(request, exc.field, str(exc), exc.allowed)
        return view(request, filters, *args, **kwargs)
    return wrapper


def _chart_rows(rows: list[services.PatternTotal]) -> list[dict]:
    """Bar widths (SVG units) for each pattern's low and high USD, scaled to the highest."""
    top = max((row.high_usd for row in rows), default=0) or 1
    return [
        {
            "row": row,
            "y": index * CHART_ROW_HEIGHT,
            "low_width": round(float(row.low_usd / top) * CHART_BAR_WIDTH, 1),
            "high_width": round(float(row.high_usd / top) * CHART_BAR_WIDTH, 1),
            "label_x": CHART_INSET + round(float(row.high_usd / top) * CHART_BAR_WIDTH) + 6,
        }
        for index, row in enumerate(rows)
    ]


@require_GET
@with_filters
def totals(request, filters):
    """Totals by root pattern for a period (and root-cause class), as a table and a chart."""
    rows, grand = services.cached_totals_by_pattern(filters["period"], filters["root_cause"])
    context = {
        **_filter_context(filters),
        "rows": rows,
        "grand": grand,
        "chart_rows": _chart_rows(rows),
        "chart_height": CHART_ROW_HEIGHT * len(rows),
        "chart_width": CHART_WIDTH,
        "chart_inset": CHART_INSET,
        "query": request.GET.urlencode(),
        "outside": services.entries_outside(filters["period"], filters["root_cause"]),
    }
    partial = request.htmx and not request.htmx.history_restore_request
    template = "costlog/partials/totals.html" if partial else "costlog/totals.html"
    return render(request, template, context)


@require_GET
@with_filters
def totals_csv(request, filters):
    """The totals table as CSV (USD with two decimals); the last row is the grand total."""
    rows, grand = services.cached_totals_by_pattern(filters["period"], filters["root_cause"])
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="mishap-costs-{filters["period"].key}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(["root_pattern", "low_usd", "high_usd", "entries", "near_misses", "period",
                     "root_cause"])
    for row in [*rows, grand]:
        writer.writerow([row.name, f"{row.low_usd:.2f}", f"{row.high_usd:.2f}", row.entries,
                         row.near_misses, filters["period"].label,
                         filters["root_cause"] or "any"])
    return response


@require_GET
@with_filters
def entry_list(request, filters):
    """The seed's incident table (date, incident, cost, root pattern), paginated."""
    entries = services.incident_table(filters["period"], filters["root_cause"], filters["pattern"])
    page = Paginator(entries, ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "costlog/entry_list.html", {
        **_filter_context(filters), "page": page, "query": query.urlencode(),
    })


@require_GET
def entry_detail(request, pk):
    """One entry with its resource rows, and the corrections before and after it."""
    entry = get_object_or_404(
        MishapEntry.objects.select_related("postmortem", "created_by", "corrects"), pk=pk
    )
    entry.correction_reason = visibility.redacted(entry.correction_reason, request.user)
    return render(request, "costlog/entry_detail.html", {
        "entry": entry,
        # A restricted postmortem the user may not read is not named nor linked.
        "postmortem": (entry.postmortem if entry.postmortem_id is not None
                       and visibility.can_see(request.user, entry.postmortem_id) else None),
        "patterns": [link.pattern for link in entry.pattern_links.select_related("pattern")],
        "resources": entry.resources.select_related("rate"),
        "correction": MishapEntry.objects.filter(corrects=entry).first(),
    })


def _resource_uses(formset) -> list[services.ResourceUse]:
    return [use for form in formset.forms if (use := form.resource_use()) is not None]


def _save_entry(request, form, formset, corrects: MishapEntry | None = None):
    """Validate and store; returns the entry, or None with the errors put on the form."""
    if not (form.is_valid() and formset.is_valid()):
        return None
    try:
        return services.record_entry(
            form.entry_input(_resource_uses(formset)), user=request.user, corrects=corrects,
            correction_reason=form.cleaned_data.get("correction_reason", ""),
        )
    except services.CostEntryError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        return None


def _entry_form_page(request, form, formset, corrects=None, status=200):
    return render(request, "costlog/entry_form.html", {
        "form": form, "formset": formset, "corrects": corrects,
        "rates": services.current_rates(datetime.now(UTC).date()),
    }, status=status)


@editors_only
@require_http_methods(["GET", "POST"])
def entry_create(request):
    """The entry form; its cost preview updates live from the resource rows."""
    if request.method == "POST":
        form = MishapEntryForm(request.POST, user=request.user)
        formset = resource_formset(request.POST)
        entry = _save_entry(request, form, formset)
        if entry is not None:
            return redirect("costlog:entry_detail", pk=entry.pk)
        return _entry_form_page(request, form, formset, status=400)
    now = datetime.now(UTC)
    form = MishapEntryForm(initial={
        "occurred_date": now.date(), "occurred_time": now.time().replace(second=0, microsecond=0),
        "logged_zone": "UTC", "postmortem": request.GET.get("postmortem", ""),
    })
    return _entry_form_page(request, form, resource_formset())


@editors_only
@require_http_methods(["GET", "POST"])
def entry_correct(request, pk):
    """A correction of a current entry: the form starts from the entry's content."""
    original = get_object_or_404(MishapEntry, pk=pk)
    if original.postmortem_id is not None:
        # Its form would name the postmortem (docs/rules.md#private-postmortems).
        visibility.visible_or_404(request.user, original.postmortem_id)
    if request.method == "POST":
        form = CorrectionForm(request.POST, user=request.user)
        formset = resource_formset(request.POST)
        entry = _save_entry(request, form, formset, corrects=original)
        if entry is not None:
            return redirect("costlog:entry_detail", pk=entry.pk)
        return _entry_form_page(request, form, formset, corrects=original, status=400)
    data = services.entry_input_from(original)
    form = CorrectionForm(initial=MishapEntryForm.initial_from(data))
    formset = resource_formset(initial=[
        {"resource": use.resource, "quantity": use.quantity,
         "duration": units.format_duration(use.duration_seconds)}
        for use in data.resources
    ])
    return _entry_form_page(request, form, formset, corrects=original)


@require_POST
def entry_preview(request):
    """htmx: the cost the entry form would store, priced from its resource rows."""
    form, formset = MishapEntryForm(request.POST, user=request.user), resource_formset(request.POST)
    form.is_valid()
    rows_valid = formset.is_valid()
    context = {"problem": "", "estimate": None}
    occurred = form.occurred_utc() or datetime.now(UTC)
    cost_fields = ("cost_low_usd", "cost_high_usd", "near_miss", "cost_approximate")
    if not rows_valid:
        context["problem"] = (
            "Complete each resource row (resource, quantity, duration like 1h 30m)."
        )
    elif any(name in form.errors for name in cost_fields):
        context["problem"] = "Fix the estimated cost figures to see the total."
    else:
        data = services.EntryInput(
            occurred_utc=occurred, logged_zone="UTC", title="", what_happened="", root_cause="",
            patterns=[], resources=_resource_uses(formset),
            cost_low_usd=form.cleaned_data.get("cost_low_usd"),
            cost_high_usd=form.cleaned_data.get("cost_high_usd"),
            cost_approximate=form.cleaned_data.get("cost_approximate", False),
            near_miss=form.cleaned_data.get("near_miss", False),
        )
        try:
            context["estimate"] = services.estimate(data)
        except services.CostEntryError as exc:
            context["problem"] = str(exc)
    context["priced_on"] = occurred.date()
    return render(request, "costlog/partials/cost_preview.html", context)


@require_POST
def resource_row_add(request):
    """htmx: the resource rows with one more, empty, row (the new row takes focus)."""
    data = request.POST.copy()
    total = data.get("resources-TOTAL_FORMS", "0")
    number = whole_number(total)
    data["resources-TOTAL_FORMS"] = str(number + 1 if number is not None else 1)
    formset = resource_formset(data)
    return render(request, "costlog/partials/resource_rows.html",
                  {"formset": formset, "show_errors": False, "focus_last": True})


@require_http_methods(["GET", "POST"])
def rate_list(request):
    """The cost reference table (rates in force today) and every rate row ever entered."""
    form = ResourceRateForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.add_rate(**form.cleaned_data, user=request.user)
            except services.CostEntryError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            else:
                return redirect("costlog:rate_list")
        status = 400
    today = datetime.now(UTC).date()
    return render(request, "costlog/rate_list.html", {
        "form": form, "today": today, "current": services.current_rates(today),
        "history": ResourceRate.objects.order_by("resource", "-effective_date"),
    }, status=status)


@require_POST
def postmortem_link(request, pk):
    """Link a cost log entry (POST `entry`, its id) to this postmortem (draft or final).

    The link is an append-only correction of the entry (costlog.services.link_entry).
    """
    pm = get_object_or_404(Postmortem, pk=pk)
    entry_id = request.POST.get("entry", "")
    number = whole_number(entry_id)
    if number is None:
        messages.error(request, "Cost log entry: choose an entry to link.")
    else:
        entry = services.current_entries().filter(pk=number).first()
        if entry is None:
            messages.error(request, f"Cost log entry: {number} is not a current entry "
                                    "(it does not exist or was corrected).")
        else:
            try:
                services.link_entry(entry, pm, user=request.user)
            except services.CostEntryError as exc:
                messages.error(request, f"Cost log entry: {exc}")
            else:
                messages.success(request, f"Linked the mishap \u201c{entry.title}\u201d.")
    return redirect(reverse("incidents:postmortem_detail", args=[pm.pk]) + "#impact-costs")
