"""Runbooks: Markdown documents with YAML frontmatter, their revisions, the "I need to..."
task index, checklist runs and staleness reminders.

Rules: docs/rules.md#runbook-frontmatter, docs/rules.md#runbook-index and
docs/rules.md#runbook-go-no-go:
frontmatter id, title, perspective (architecture, risk, operations, guide), tags,
depends_on, key_files, last_updated; INDEX.md's "I need to..." table; the morning
go/no-go checklist answering overall_ready true or false.
"""
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from core.limits import DOCUMENT_TEXT, LONG_TEXT
from core.search_vector import search_vector_field, search_vector_trigger

DEFAULT_REVIEW_DAYS = 90
# Where the docs root sits in the repository: a knowledge-base entry's reference file
# names a runbook by this prefix and the runbook's path (docs/v2/ops/03-….md).
DOCS_PREFIX = "docs/v2/"


class Perspective(models.TextChoices):
    """The four perspectives of the documentation index."""

    ARCHITECTURE = "architecture", "Architecture"
    RISK = "risk", "Risk"
    OPERATIONS = "operations", "Operations"
    GUIDE = "guide", "System guide"

# The text columns of the searched document (core.search_vector).
RUNBOOK_SEARCH_COLUMNS = ("search_text",)


class Runbook(models.Model):
    """A runbook as its file holds it, plus who owns it and how often it is reviewed.

    Its document fields change only with a new revision (services.save_with_revision):
    current_revision points at the newest revision, which holds exactly those values.

    key is the frontmatter id ("ops-05"); path is the file's place under the docs root
    ("ops/05-trading-morning-go-no-go.md"), which INDEX.md and relative links name.
    tags, depends_on and key_files are lists of strings; depends_on may name ids that are
    not in Scarlog (dangling), which the graph page reports. last_updated is a UTC date.
    A runbook is stale when last_updated + review_interval_days is before today (UTC).
    """

    key = models.CharField("id", max_length=60, unique=True)
    path = models.CharField(max_length=300, unique=True)
    title = models.CharField(max_length=200)
    perspective = models.CharField(max_length=12, choices=Perspective.choices)
    tags = models.JSONField(default=list, blank=True)
    depends_on = models.JSONField(default=list, blank=True)
    key_files = models.JSONField(default=list, blank=True)
    last_updated = models.DateField()
    body = models.TextField(blank=True, max_length=DOCUMENT_TEXT)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                              blank=True, related_name="+")
    review_interval_days = models.PositiveIntegerField(default=DEFAULT_REVIEW_DAYS)
    # The revision the row's title, perspective, tags, depends_on, key_files, last_updated and
    # body equal; PostgreSQL refuses a change to them that does not point here at the newest
    # revision holding exactly the new values (docs/rules.md#database-guards).
    current_revision = models.ForeignKey("RunbookRevision", on_delete=models.PROTECT,
                                         null=True, blank=True, editable=False,
                                         related_name="+")
    postmortems = models.ManyToManyField("incidents.Postmortem", blank=True,
                                         related_name="runbooks")
    search_text = models.TextField(blank=True, editable=False)
    # to_tsvector of search_text, set by PostgreSQL (trigger search_vector).
    search_vector = search_vector_field()
    updated_utc = models.DateTimeField(auto_now=True)

    search_columns = RUNBOOK_SEARCH_COLUMNS

    class Meta:
        ordering = ["path"]
        triggers = [search_vector_trigger(RUNBOOK_SEARCH_COLUMNS)]

    def __str__(self) -> str:
        return f"{self.key}: {self.title}"

    def save(self, *args, **kwargs):
        self.search_text = "\n".join([self.key, self.title, *self.tags, *self.key_files,
                                      self.body])
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "search_text"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("runbooks:detail", args=[self.key])

    @property
    def review_due(self):
        """The date (UTC) by which the runbook should be reviewed again."""
        return self.last_updated + timedelta(days=self.review_interval_days)

    def is_stale(self, today=None) -> bool:
        """True when the review date is before `today` (default: today in UTC)."""
        return self.review_due < (today or timezone.now().date())


class RunbookRevision(models.Model):
    """One saved state of a runbook (frontmatter and body), append-only in PostgreSQL
    (docs/rules.md#database-guards).

    number counts from 1 per runbook; author is null for imported revisions (note says
    which file). The latest revision always equals the runbook's current state.
    """

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    perspective = models.CharField(max_length=12, choices=Perspective.choices)
    tags = models.JSONField(default=list)
    depends_on = models.JSONField(default=list)
    key_files = models.JSONField(default=list)
    last_updated = models.DateField()
    body = models.TextField(blank=True, max_length=DOCUMENT_TEXT)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                               blank=True, related_name="+")
    note = models.CharField(max_length=300, blank=True)
    saved_utc = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["runbook", "-number"]
        constraints = [models.UniqueConstraint(fields=["runbook", "number"],
                                               name="runbook_revision_number_unique")]

    def __str__(self) -> str:
        return f"{self.runbook.key} revision {self.number}"


class TaskIndex(models.Model):
    """INDEX.md around its "I need to..." table: the text before and after it, as written.

    One row (pk 1); TaskIndexEntry holds the table's rows.
    """

    before = models.TextField(blank=True)
    after = models.TextField(blank=True)
    updated_utc = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return "Task index (INDEX.md)"


class TaskIndexEntry(models.Model):
    """One row of the "I need to..." table: a task and the document path it points to
    ("ops/03-deployment-checklist.md"), which may name no runbook (a missing target)."""

    task = models.CharField(max_length=300)
    document = models.CharField(max_length=300)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.task} → {self.document}"


class ChecklistRun(models.Model):
    """One run of a runbook's Markdown task list (the morning go/no-go), against the
    revision current when it started; items are the checklist texts of that revision.

    A record: PostgreSQL refuses UPDATE, DELETE and TRUNCATE (docs/rules.md#database-guards).
    """

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="runs")
    revision = models.ForeignKey(RunbookRevision, on_delete=models.PROTECT, related_name="+")
    items = models.JSONField(default=list)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    started_utc = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-started_utc", "-id"]

    def __str__(self) -> str:
        return f"{self.runbook.key} run {self.pk} ({self.started_utc:%Y-%m-%d %H:%M} UTC)"


class ChecklistResult(models.Model):
    """One item's result in a run: passed or failed, with evidence, by whom, when (UTC).

    Recorded once per item and run; PostgreSQL refuses UPDATE and DELETE.
    """

    run = models.ForeignKey(ChecklistRun, on_delete=models.CASCADE, related_name="results")
    position = models.PositiveIntegerField()
    passed = models.BooleanField()
    evidence = models.TextField(max_length=LONG_TEXT)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at_utc = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["run", "position"], name="checklist_result_once"),
            models.CheckConstraint(condition=~models.Q(evidence=""),
                                   name="checklist_result_has_evidence"),
        ]

    def __str__(self) -> str:
        outcome = "passed" if self.passed else "failed"
        return f"Run {self.run_id} item {self.position}: {outcome}"


class StaleReminder(models.Model):
    """A staleness reminder sent to a runbook's owner, once per (runbook, last_updated)."""

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="+")
    last_updated = models.DateField()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="+")
    sent_utc = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["runbook", "last_updated"],
                                               name="stale_reminder_once")]

    def __str__(self) -> str:
        return f"Stale reminder for runbook {self.runbook_id} (last updated {self.last_updated})"
