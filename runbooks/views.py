"""Runbook pages: list and filters, the "I need to..." table, the graph, a runbook with
its dependencies both ways, editing with history, checklist runs, and the go/no-go API."""
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import readers
from core.errors import bad_request
from core.record_types import shown
from core.roles import editors_only
from runbooks import graph as graph_lib
from runbooks.docs_io import missing_targets
from runbooks.forms import NewRunbookForm, RunbookForm
from runbooks.models import (
    DEFAULT_REVIEW_DAYS,
    ChecklistRun,
    Perspective,
    Runbook,
    TaskIndex,
    TaskIndexEntry,
)
from runbooks.rendering import render_runbook
from runbooks.services import (
    RunbookError,
    checklist_items,
    create_runbook,
    edit_runbook,
    mark_reviewed,
    record_result,
    run_items,
    start_run,
)
from runbooks.services import (
    go_no_go as go_no_go_answer,
)


@require_GET
def runbook_list(request):
    """Runbooks filtered by ?tag=, ?perspective= and ?key_file= (any part of a key file path)."""
    runbooks = Runbook.objects.select_related("owner")
    tag = request.GET.get("tag", "").strip()
    perspective = request.GET.get("perspective", "").strip()
    key_file = request.GET.get("key_file", "").strip()
    if perspective and perspective not in Perspective.values:
        return bad_request(request, "perspective", f"{shown(perspective)} is not a perspective.",
                           Perspective.values)
    if perspective:
        runbooks = runbooks.filter(perspective=perspective)
    rows = list(runbooks)
    if tag:
        rows = [runbook for runbook in rows if tag in runbook.tags]
    if key_file:
        rows = [runbook for runbook in rows
                if any(key_file in path for path in runbook.key_files)]
    all_tags = sorted({tag for tags in Runbook.objects.values_list("tags", flat=True)
                       for tag in tags})
    today = timezone.now().date()
    return render(request, "runbooks/list.html", {
        "runbooks": rows, "tag": tag, "perspective": perspective, "key_file": key_file,
        "tags": all_tags, "perspectives": Perspective.choices,
        "stale": {runbook.pk for runbook in rows if runbook.is_stale(today)},
    })


@require_GET
def task_index(request):
    """The "I need to..." table; rows whose document is not in Scarlog are marked."""
    keys_by_path = dict(Runbook.objects.values_list("path", "key"))
    rows = [(row, keys_by_path.get(row.document)) for row in TaskIndexEntry.objects.all()]
    return render(request, "runbooks/tasks.html", {
        "rows": rows, "index": TaskIndex.objects.filter(pk=1).first(),
        "missing_count": sum(1 for _row, key in rows if key is None),
    })


@require_GET
def graph_page(request):
    """The depends_on graph as SVG, with dangling ids and cycles listed."""
    graph = graph_lib.build_graph(Runbook.objects.all())
    return render(request, "runbooks/graph.html", {
        "graph": graph, "nodes": list(graph.nodes.values()), "edges": graph.edge_lines(),
        "node_width": graph_lib.NODE_WIDTH, "node_height": graph_lib.NODE_HEIGHT,
        "missing_targets": missing_targets(),
    })


@require_GET
def detail(request, key):
    """A runbook: rendered body, frontmatter, depends_on both ways, incidents, checklist."""
    runbook = get_object_or_404(Runbook.objects.select_related("owner"), key=key)
    all_runbooks = {other.key: other for other in Runbook.objects.all()}
    keys_by_path = {other.path: other.key for other in all_runbooks.values()}
    depends = [(dep, all_runbooks.get(dep)) for dep in runbook.depends_on]
    needed_by = [other for other in all_runbooks.values() if runbook.key in other.depends_on]
    runs = list(runbook.runs.select_related("started_by")[:5])
    return render(request, "runbooks/detail.html", {
        "runbook": runbook, "html": render_runbook(runbook.body, runbook.path, keys_by_path,
                                                       title=runbook.title),
        "depends": depends, "needed_by": needed_by, "runs": runs,
        "checklist": checklist_items(runbook.body), "stale": runbook.is_stale(),
        "postmortems": list(runbook.postmortems.order_by("-created_utc")),  # filtered by the tag
        "revision_count": runbook.revisions.count(),
    })


@editors_only
@require_http_methods(["GET", "POST"])
def create(request):
    """Write a new runbook in the browser (id, path, frontmatter fields and body)."""
    form = NewRunbookForm(request.POST if request.method == "POST" else None,
                          initial={"review_interval_days": DEFAULT_REVIEW_DAYS,
                                   "owner": request.user, "perspective": "operations"})
    if request.method == "POST" and form.is_valid():
        runbook = create_runbook(form.cleaned_data, request.user)
        messages.success(request, f"Runbook {runbook.key} created (revision 1).")
        return redirect(runbook)
    return render(request, "runbooks/edit.html", {"runbook": None, "form": form},
                  status=422 if form.is_bound else 200)


@editors_only
@require_http_methods(["GET", "POST"])
def edit(request, key):
    """Edit a runbook; a changed document gets a new revision and today's last_updated."""
    runbook = get_object_or_404(Runbook, key=key)
    form = RunbookForm.for_runbook(runbook, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        revision = edit_runbook(runbook, form.cleaned_data, request.user)
        if revision is None:
            messages.success(request, f"{runbook.key}: owner and review interval saved; the "
                             "document did not change.")
        else:
            messages.success(request, f"{runbook.key}: revision {revision.number} saved; last "
                             f"updated {revision.last_updated:%Y-%m-%d}.")
        return redirect(runbook)
    return render(request, "runbooks/edit.html", {"runbook": runbook, "form": form},
                  status=422 if form.is_bound else 200)


@require_POST
def reviewed(request, key):
    """Record a review that changed nothing (last_updated today, a revision noted so)."""
    runbook = get_object_or_404(Runbook, key=key)
    revision = mark_reviewed(runbook, request.user)
    messages.success(request, f"{runbook.key}: reviewed, no change (revision {revision.number}).")
    return redirect(runbook)


@require_GET
def history(request, key):
    """Every revision of a runbook, newest first."""
    runbook = get_object_or_404(Runbook, key=key)
    return render(request, "runbooks/history.html", {
        "runbook": runbook, "revisions": runbook.revisions.select_related("author")})


@require_POST
def run_start(request, key):
    """Start a checklist run of the runbook's current task list."""
    runbook = get_object_or_404(Runbook, key=key)
    try:
        run = start_run(runbook, request.user)
    except RunbookError as exc:
        messages.error(request, str(exc))
        return redirect(runbook)
    return redirect("runbooks:run_detail", key=runbook.key, run_id=run.pk)


def _run(key, run_id) -> ChecklistRun:
    return get_object_or_404(ChecklistRun.objects.select_related("runbook", "started_by"),
                             pk=run_id, runbook__key=key)


@require_GET
def run_detail(request, key, run_id):
    """A checklist run: each item to pass or fail with evidence; the go/no-go so far."""
    run = _run(key, run_id)
    items = run_items(run)
    return render(request, "runbooks/run.html", {
        "run": run, "runbook": run.runbook, "items": items,
        "latest": run.runbook.runs.first() == run,
        "answer": go_no_go_answer(run.runbook),
    })


@require_POST
def run_record(request, key, run_id, position):
    """Record one item's result (htmx swaps the item; a plain POST redirects back)."""
    run = _run(key, run_id)
    outcome = request.POST.get("outcome", "")
    error = None
    if outcome not in ("passed", "failed"):
        error = RunbookError("outcome", "Choose passed or failed.")
    else:
        try:
            record_result(run, position, outcome == "passed", request.POST.get("evidence", ""),
                          request.user)
        except RunbookError as exc:
            error = exc
    if request.htmx:
        item = next((state for state in run_items(run) if state.position == position), None)
        if item is None:
            return bad_request(request, "position", f"The run has no item {position + 1}.")
        return render(request, "runbooks/partials/run_item.html", {
            "run": run, "runbook": run.runbook, "item": item, "error": error,
            "evidence": request.POST.get("evidence", ""),
            "answer": go_no_go_answer(run.runbook), "oob_answer": True,
        }, status=422 if error else 200)
    if error:
        messages.error(request, f"Item {position + 1} ({error.field}): {error}")
    return redirect("runbooks:run_detail", key=key, run_id=run.pk)


@login_not_required
@require_GET
def go_no_go(request, key):
    """GET /api/runbooks/<id>/go-no-go: {"overall_ready": bool, "items": [...]} from the
    latest checklist run (runbooks.services.go_no_go); session or docs:read token."""
    refusal = readers.refusal(request)
    if refusal is not None:
        return refusal
    runbook = Runbook.objects.filter(key=key).first()
    if runbook is None:
        return JsonResponse({"error": f"No runbook has id {shown(key)}.", "field": "id"},
                            status=404)
    if not checklist_items(runbook.body) and not runbook.runs.exists():
        return JsonResponse({"error": f"Runbook {key} has no checklist items.", "field": "id"},
                            status=404)
    return JsonResponse(go_no_go_answer(runbook))
