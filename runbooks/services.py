"""Runbook rules: revisions on every change, checklist runs and the go/no-go answer.

Source rules: issue 6 (editing keeps history and sets last_updated; checklist runs) and
the morning go/no-go of docs/rules.md#runbook-go-no-go ("One call returns overall_ready: true
or overall_ready: false"). Checklist items are the Markdown task-list lines of the body
("- [ ] Service health: …").
"""
import re
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from runbooks.models import ChecklistResult, ChecklistRun, Runbook, RunbookRevision

TASK_RE = re.compile(r"^\s{0,3}[-*+] \[[ xX]\] (?P<text>\S.*)$")
MAX_EVIDENCE = 2000


class RunbookError(ValueError):
    """A refused runbook change or checklist result; `field` names the form field."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


def checklist_items(body: str) -> list[str]:
    """The texts of the Markdown task-list items of `body`, in order (fenced code skipped)."""
    items, fenced = [], False
    for line in body.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        match = None if fenced else TASK_RE.match(line)
        if match:
            items.append(match["text"].strip())
    return items


DOCUMENT_FIELDS = ("title", "perspective", "tags", "depends_on", "key_files", "last_updated",
                   "body")


def record_revision(runbook: Runbook, author, note: str = "") -> RunbookRevision:
    """Append the runbook's current (in-memory) state as its next revision (numbered from 1).

    Only the revision is written; save_with_revision also points the runbook at it.
    """
    last = runbook.revisions.aggregate(last=Max("number"))["last"] or 0
    return RunbookRevision.objects.create(
        runbook=runbook, number=last + 1, author=author, note=note,
        **{name: getattr(runbook, name) for name in DOCUMENT_FIELDS})


def save_with_revision(runbook: Runbook, author, note: str = "") -> RunbookRevision:
    """Save `runbook` (already in the database) with its in-memory document fields: the
    revision holding them is written first, then the row, pointing at it. PostgreSQL refuses
    any other change of the document fields (docs/rules.md#database-guards)."""
    revision = record_revision(runbook, author=author, note=note)
    runbook.current_revision = revision
    runbook.save()
    return revision


@transaction.atomic
def create_runbook(values: dict, author) -> Runbook:
    """A new runbook from `values` (key, path and the edit fields), last updated today
    (UTC), with revision 1 by `author`."""
    runbook = Runbook.objects.create(last_updated=timezone.now().date(), **values)
    save_with_revision(runbook, author=author, note="created in Scarlog")
    return runbook


@transaction.atomic
def edit_runbook(runbook: Runbook, values: dict, author) -> RunbookRevision | None:
    """Apply `values` (any of title, perspective, tags, depends_on, key_files, body, owner,
    review_interval_days) to `runbook`; when the document changed, set last_updated to
    today (UTC) and append a revision by `author`. Returns the revision, or None when only
    owner/review interval changed (or nothing did)."""
    locked = Runbook.objects.select_for_update().get(pk=runbook.pk)
    changed = any(getattr(locked, name) != values[name] for name in DOCUMENT_FIELDS
                  if name in values)
    for name, value in values.items():
        setattr(locked, name, value)
    revision = None
    if changed:
        locked.last_updated = timezone.now().date()
        revision = save_with_revision(locked, author=author)
    else:
        locked.save()
    runbook.refresh_from_db()
    return revision


@transaction.atomic
def mark_reviewed(runbook: Runbook, author) -> RunbookRevision:
    """Record a review that changed nothing: last_updated becomes today (UTC), and a
    revision noted "reviewed, no change" is appended, so the runbook is no longer stale."""
    locked = Runbook.objects.select_for_update().get(pk=runbook.pk)
    locked.last_updated = timezone.now().date()
    revision = save_with_revision(locked, author=author, note="reviewed, no change")
    runbook.refresh_from_db()
    return revision


def latest_revision(runbook: Runbook) -> RunbookRevision:
    """The runbook's newest revision (every runbook has one from its import or creation)."""
    return runbook.revisions.order_by("-number").first()


def start_run(runbook: Runbook, user) -> ChecklistRun:
    """Start a checklist run of the runbook's current task list; RunbookError when the
    runbook has no task-list items."""
    items = checklist_items(runbook.body)
    if not items:
        raise RunbookError("runbook", f"{runbook.key} has no checklist items (Markdown "
                           "'- [ ] …' lines) to run.")
    return ChecklistRun.objects.create(runbook=runbook, revision=latest_revision(runbook),
                                       items=items, started_by=user)


def record_result(run: ChecklistRun, position: int, passed: bool, evidence: str,
                  user) -> ChecklistResult:
    """Record item `position` (0-based) of `run` as passed or failed with `evidence`.

    Raises RunbookError naming "position" (no such item, or already recorded in this run:
    start a new run) or "evidence" (empty, too long, or holding a NUL byte).
    """
    if not 0 <= position < len(run.items):
        raise RunbookError("position", f"This run has no item {position + 1}.")
    evidence = evidence.strip()
    if not evidence:
        raise RunbookError("evidence", "Evidence is required: say what you saw (a log "
                           "line, a status, a link).")
    if len(evidence) > MAX_EVIDENCE or "\x00" in evidence:
        raise RunbookError("evidence", f"Evidence must be text of at most {MAX_EVIDENCE} "
                           "characters.")
    try:
        with transaction.atomic():
            return ChecklistResult.objects.create(run=run, position=position, passed=passed,
                                                  evidence=evidence, by=user)
    except IntegrityError:
        raise RunbookError("position", f"Item {position + 1} is already recorded in this "
                           "run; start a new run to check it again.") from None


@dataclass
class ItemState:
    """One checklist item in a run: its text and result (None when not yet run)."""

    position: int
    item: str
    result: ChecklistResult | None

    @property
    def status(self) -> str:
        if self.result is None:
            return "not run"
        return "passed" if self.result.passed else "failed"

    def as_json(self) -> dict:
        result = self.result
        return {"item": self.item, "status": self.status,
                "evidence": result.evidence if result else None,
                "by": result.by.get_username() if result else None,
                "at_utc": result.at_utc.isoformat() if result else None}


def run_items(run: ChecklistRun) -> list[ItemState]:
    """The run's items with their results, in checklist order."""
    results = {result.position: result for result in run.results.select_related("by")}
    return [ItemState(position, item, results.get(position))
            for position, item in enumerate(run.items)]


def go_no_go(runbook: Runbook) -> dict:
    """The go/no-go answer from the runbook's latest run, as JSON-ready data:
    {"runbook", "title", "overall_ready", "run": {"id", "started_utc", "started_by"} or
    None, "items": [{"item", "status" (passed|failed|not run), "evidence", "by", "at_utc"}]}.

    overall_ready is true only when the latest run has every item passed; with no run,
    or any item failed or not run, it is false (missing data never means ready).
    """
    run = runbook.runs.select_related("started_by").first()
    if run is None:
        items = [ItemState(position, item, None)
                 for position, item in enumerate(checklist_items(runbook.body))]
    else:
        items = run_items(run)
    ready = run is not None and bool(items) and all(state.status == "passed" for state in items)
    return {
        "runbook": runbook.key, "title": runbook.title, "overall_ready": ready,
        "run": None if run is None else {"id": run.pk, "started_utc": run.started_utc.isoformat(),
                                         "started_by": run.started_by.get_username()},
        "items": [state.as_json() for state in items],
    }
