"""Pages of the knowledge base, policies, feedback loop and search; the agent documents.

Views stay thin: rules live in kb_yaml, policies_md, links, loop and search.
"""

import functools
import io
import json

from defusedcsv import csv
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Count, Prefetch, Q, Sum
from django.http import (
    Http404,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from core import readers
from core.errors import bad_request
from core.record_types import shown
from costlog.services import current_entries
from incidents import visibility, vocabulary
from incidents.models.choices import RootCause
from incidents.services import known_domains
from knowledge import charts, insights, loop
from knowledge.kb_yaml import export_yaml
from knowledge.links import (
    LinkError,
    describe,
    find_postmortem,
    find_target,
    set_link,
)
from knowledge.models import KnowledgeEntry, Policy, Severity
from knowledge.policies_md import export_policies
from knowledge.search import CANDIDATE_LIMIT, SearchError, is_simplified, search_counted
from runbooks.models import DOCS_PREFIX, Runbook

# Plain text so a browser shows the document instead of downloading it; agents parse the body.
YAML_TYPE = "text/plain; charset=utf-8"
MARKDOWN_TYPE = "text/plain; charset=utf-8"


class FilterError(ValueError):
    """A query-string filter is malformed: `field` names it, `allowed` its values."""

    def __init__(self, field: str, message: str, allowed=()):
        self.field, self.allowed = field, tuple(allowed)
        super().__init__(message)


def _entry_filters(request) -> dict:
    """Validated filters from the query string; raises FilterError naming the parameter."""
    filters = {}
    severity = request.GET.get("severity", "").strip().upper()
    if severity:
        if severity not in Severity.values:
            raise FilterError("severity", f"{shown(severity)} is not a severity.",
                              Severity.values)
        filters["severity"] = severity
    kind = request.GET.get("kind", "").strip()
    if kind:
        if kind not in KnowledgeEntry.Kind.values:
            raise FilterError("kind", f"{shown(kind)} is not a kind of entry.",
                              KnowledgeEntry.Kind.values)
        filters["kind"] = kind
    for name in ("category", "id"):
        value = request.GET.get(name, "").strip()
        if value:
            filters["key" if name == "id" else name] = value
    return filters


@require_GET
def entry_list(request):
    """The knowledge base, filtered by severity, kind and category, with incidents and cost."""
    try:
        filters = _entry_filters(request)
    except FilterError as exc:
        return bad_request(request, exc.field, str(exc), exc.allowed)
    hidden = visibility.hidden_ids(request.user)
    entries = list(KnowledgeEntry.objects.filter(**filters).annotate(
        incident_count=Count("postmortems", distinct=True,
                             filter=~Q(postmortems__in=hidden) if hidden else None)))
    # Every entry's cost in one query: current mishap entries by the entries they reach.
    costs = {row["postmortem__knowledge_entries"]: row for row in current_entries()
             .filter(postmortem__knowledge_entries__in=[entry.pk for entry in entries])
             .values("postmortem__knowledge_entries")
             .annotate(low=Sum("cost_low_usd"), high=Sum("cost_high_usd"), entries=Count("id"))}
    for entry in entries:
        entry.costs = costs.get(entry.pk)
    categories = (KnowledgeEntry.objects.exclude(category="").order_by("category")
                  .values_list("category", flat=True).distinct())
    return render(request, "knowledge/entry_list.html", {
        "entries": entries, "filters": filters, "severities": Severity.choices,
        "kinds": KnowledgeEntry.Kind.choices, "categories": list(categories),
    })


@require_GET
def entry_detail(request, key):
    """One entry: its lists, its decision tree walker (?step=<id>), its incidents and cost."""
    entry = get_object_or_404(KnowledgeEntry, key=key)
    postmortems = list(entry.postmortems.exclude(pk__in=visibility.hidden_ids(request.user))
                       .order_by("-created_utc"))
    walk = None
    if entry.kind == KnowledgeEntry.Kind.DECISION_TREE:
        step_id = request.GET.get("step", "")
        step = entry.step_by_id(step_id) if step_id else entry.steps[0]
        if step is None:
            raise Http404(f"Decision tree {entry.key} has no step {step_id!r}.")
        path = [part for part in request.GET.get("path", "").split(",") if part]
        walk = {"step": step, "number": entry.steps.index(step) + 1, "path": path,
                "next_path": ",".join([*path, step.get("id", "start")])}
    runbooks_by_path = {runbook.path: runbook for runbook in Runbook.objects.all()}
    references = [(path, runbooks_by_path.get(path.removeprefix(DOCS_PREFIX)))
                  for path in entry.reference_files]
    return render(request, "knowledge/entry_detail.html", {
        "entry": entry, "postmortems": postmortems, "walk": walk, "references": references,
    })


@login_not_required
@require_GET
def knowledge_yaml(request):
    """The knowledge base as `.ai-knowledge-base.yaml`, for agents (session or docs:read
    token); ?severity=CRITICAL, ?id=<entry id>, ?category=, ?kind= filter it."""
    refusal = readers.refusal(request)
    if refusal is not None:
        return refusal
    try:
        filters = _entry_filters(request)
    except FilterError as exc:
        # Plain text (and nosniff): an agent reads it, a browser shows it as text.
        return HttpResponseBadRequest(f"{exc.field}: {exc} Allowed: {', '.join(exc.allowed)}.\n",
                                      content_type=YAML_TYPE)
    entries = KnowledgeEntry.objects.filter(**filters)
    if "key" in filters and not entries.exists():
        return HttpResponse(f"No knowledge-base entry has id {shown(filters['key'])}.\n",
                            status=404, content_type="text/plain; charset=utf-8")
    hidden = visibility.hidden_ids(readers.reader(request))
    return HttpResponse(export_yaml(entries, hidden), content_type=YAML_TYPE)


@require_GET
def policy_list(request):
    """The numbered policies; those tracing to no incident are flagged."""
    policies = list(Policy.objects.prefetch_related(
        "origins", Prefetch("postmortems", visibility.visible_postmortems(request.user))))
    untraced = [policy for policy in policies
                if not policy.origins.all() and not policy.postmortems.all()]
    return render(request, "knowledge/policy_list.html", {
        "policies": policies, "untraced": {policy.pk for policy in untraced},
        "untraced_count": len(untraced),
    })


@require_GET
def policy_detail(request, number):
    """One policy with its origins, linked postmortems and their cost."""
    policy = get_object_or_404(Policy, number=number)
    postmortems = list(policy.postmortems.exclude(pk__in=visibility.hidden_ids(request.user))
                       .order_by("-created_utc"))
    return render(request, "knowledge/policy_detail.html", {
        "policy": policy, "origins": list(policy.origins.all()), "postmortems": postmortems,
    })


@login_not_required
@require_GET
def policies_markdown(request):
    """The policies file as Markdown, for regenerating an agent's rules file (session or
    docs:read token)."""
    refusal = readers.refusal(request)
    if refusal is not None:
        return refusal
    hidden = visibility.hidden_ids(readers.reader(request))
    return HttpResponse(export_policies(hidden=hidden), content_type=MARKDOWN_TYPE)


def _back(request, fallback: str) -> HttpResponseRedirect:
    """A redirect to the POSTed `next` when it is a path on this site, else to `fallback`
    (redirect() would try a bare word such as "0" as a view name and fail with a 500)."""
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return HttpResponseRedirect(target)
    return HttpResponseRedirect(fallback)


@require_POST
def link(request):
    """Link or unlink a postmortem and a knowledge entry, policy or runbook; back to `next`."""
    fallback = reverse("knowledge:loop_gaps")
    try:
        postmortem = find_postmortem(request.POST.get("postmortem", ""), request.user)
        target = find_target(request.POST.get("target_kind", ""), request.POST.get("target", ""))
    except LinkError as exc:
        messages.error(request, f"Not linked ({exc.field}): {exc}")
        return _back(request, fallback)
    linked = request.POST.get("action", "link") != "unlink"
    changed = set_link(postmortem, target, linked)
    name = describe(target)
    summary = postmortem.summary[:60] or "the draft"
    if linked:
        messages.success(request, f"Linked {name} to “{summary}”." if changed
                         else f"{name} was already linked to “{summary}”.")
    else:
        messages.success(request, f"Unlinked {name} from “{summary}”.")
    return _back(request, fallback)


@require_GET
def loop_gaps(request):
    """Postmortems whose feedback loop has missing steps, worst first, 50 a page."""
    visible = visibility.visible_postmortems(request.user)
    page = Paginator(loop.loop_gaps(visible), 50).get_page(request.GET.get("page"))
    rows = [(pm, loop.missing_labels(pm)) for pm in page.object_list]
    return render(request, "knowledge/loop_gaps.html", {
        "page": page, "rows": rows, "steps": loop.STEPS,
        "complete": visible.count() - page.paginator.count,
    })


@require_GET
def search_page(request):
    """One search box across postmortems, amendments, patterns, policies and runbooks."""
    query = request.GET.get("q", "")
    result, error = None, None
    if query.strip():
        try:
            result = search_counted(query, user=request.user)
        except SearchError as exc:
            error = str(exc)
    return render(request, "knowledge/search.html", {"query": query, "result": result,
                                                     "hits": result.hits if result else [],
                                                     "candidate_limit": CANDIDATE_LIMIT,
                                                     "error": error,
                                                     "simplified": is_simplified()},
                  status=400 if error else 200)




def _insights_filters(view):
    """Call `view(request, filters)` with knowledge.insights.parse_filters of the query
    string; a parameter it cannot use is answered 400 naming it (JSON for the JSON
    endpoint, text for the CSV, a page otherwise: core.errors.bad_request)."""
    @functools.wraps(view)
    def wrapper(request):
        try:
            filters = insights.parse_filters(request.GET)
        except insights.InsightsFilterError as exc:
            allowed = {"root_cause": RootCause.values,
                       "severity": list(vocabulary.severity_labels())}.get(exc.field, ())
            return bad_request(request, exc.field, str(exc), allowed)
        return view(request, filters)
    return wrapper


@require_GET
@_insights_filters
def insights_page(request, filters):
    """Did the lesson work? Figures, SVG charts with their tables, recurrence, cost before
    and after each pattern's first fix (knowledge.insights)."""
    figures_html = insights.cached_rendering("page", filters, timezone.now(), request.user,
                                             _figures_html)
    return render(request, "knowledge/insights.html", {
        "filters": filters, "figures_html": mark_safe(figures_html),  # our autoescaped render
        "root_causes": RootCause.choices,
        "severities": vocabulary.severity_labels().items(),
        "domains": known_domains(),
        "query": request.GET.urlencode(),
    })


def _figures_html(result) -> str:
    """The figures part of the insights page (charts and tables), from `result` alone: it
    is cached and served to every reader with the same key (knowledge.insights)."""
    per_month = charts.stacked([(m, result.by_root_cause[m]) for m in result.months], "rc-")
    backlog = charts.single([(week[5:], count) for week, count in result.backlog], "backlog")
    return render_to_string("knowledge/partials/insights_figures.html", {
        "insights": result, "month_chart": per_month, "backlog_chart": backlog,
        "month_rows": [(m, sorted(result.by_root_cause[m].items()),
                        sorted(result.by_domain[m].items())) for m in result.months],
        "times": [("Event to meeting", result.event_to_meeting),
                  ("Finalize to close-out", result.finalize_to_closeout)],
    })


@require_GET
@_insights_filters
def insights_json(request, filters):
    """The insights page's figures as JSON (same filters)."""
    body = insights.cached_rendering(
        "json", filters, timezone.now(), request.user,
        lambda result: json.dumps(insights.as_dict(result), cls=DjangoJSONEncoder))
    return HttpResponse(body, content_type="application/json")


@require_GET
@_insights_filters
def insights_csv(request, filters):
    """The insights page's figures as CSV, one figure a row (same filters)."""
    body = insights.cached_rendering("csv", filters, timezone.now(), request.user, _csv_text)
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="scarlog-insights.csv"'
    return response


def _csv_text(result) -> str:
    """The CSV download of `result`, one figure a row (cached like the page)."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in insights.csv_rows(result):
        writer.writerow(row)
    return out.getvalue()
