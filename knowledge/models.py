"""Knowledge-base entries (patterns, anti-patterns, decision trees) and policies.

Rule: docs/rules.md#kb-layers (four documentation layers). Layer 2 is the
machine-readable knowledge base (.ai-knowledge-base.yaml: id, name, severity, category,
description, do, dont, checklist, reference_files; decision trees have steps); Layer 1 is
the numbered policies file (CLAUDE.md), each policy a scar that traces to an incident.
Both link to the postmortems that motivated them (the feedback loop, knowledge.loop).
"""
from django.db import models
from django.urls import reverse
from django.utils import timezone

from core.search_vector import search_vector_field, search_vector_trigger

ENTRY_KEY_HELP = "The stable id agents look entries up by (letters, digits, _ . -)."


class Severity(models.TextChoices):
    """The knowledge base's four severities, most severe first."""

    CRITICAL = "CRITICAL", "Critical"
    HIGH = "HIGH", "High"
    MEDIUM = "MEDIUM", "Medium"
    LOW = "LOW", "Low"


SEVERITY_ORDER = {value: rank for rank, value in enumerate(Severity.values)}

# The text columns of each searched table's document, in order (core.search_vector).
ENTRY_SEARCH_COLUMNS = ("search_text",)
POLICY_SEARCH_COLUMNS = ("title", "body")


class KnowledgeEntry(models.Model):
    """One entry of the knowledge base: a pattern (do this), an anti-pattern (don't) or a
    decision tree (steps walked yes/no).

    do, dont, checklist and reference_files are lists of strings. steps (decision trees
    only) is a list of {"id"?, "question", "yes", "no"} or {"id", "action"} mappings;
    "yes"/"no" name the id of the next step. search_text is the name, description and
    lists joined, kept for full-text search (knowledge.search).
    """

    class Kind(models.TextChoices):
        PATTERN = "pattern", "Pattern"
        ANTI_PATTERN = "anti_pattern", "Anti-pattern"
        DECISION_TREE = "decision_tree", "Decision tree"

    key = models.CharField("id", max_length=100, unique=True, help_text=ENTRY_KEY_HELP)
    kind = models.CharField(max_length=14, choices=Kind.choices)
    name = models.CharField(max_length=200)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    category = models.CharField(max_length=100, blank=True)
    description = models.TextField(blank=True)
    do = models.JSONField(default=list, blank=True)
    dont = models.JSONField(default=list, blank=True)
    checklist = models.JSONField(default=list, blank=True)
    reference_files = models.JSONField(default=list, blank=True)
    steps = models.JSONField(default=list, blank=True)
    position = models.PositiveIntegerField(default=0, help_text="Order within its kind's list.")
    postmortems = models.ManyToManyField(
        "incidents.Postmortem", blank=True, related_name="knowledge_entries"
    )
    search_text = models.TextField(blank=True, editable=False)
    # to_tsvector of search_text, set by PostgreSQL (trigger search_vector).
    search_vector = search_vector_field()
    updated_utc = models.DateTimeField(auto_now=True)

    search_columns = ENTRY_SEARCH_COLUMNS

    class Meta:
        verbose_name_plural = "knowledge entries"
        ordering = ["kind", "position", "key"]
        triggers = [search_vector_trigger(ENTRY_SEARCH_COLUMNS)]

    def __str__(self) -> str:
        return f"{self.key}: {self.name}"

    def save(self, *args, **kwargs):
        self.search_text = "\n".join(
            [self.key, self.name, self.category, self.description,
             *self.do, *self.dont, *self.checklist, *self.reference_files,
             *(str(step.get("question") or step.get("action") or "") for step in self.steps)]
        )
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "search_text"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("knowledge:entry_detail", args=[self.key])

    def step_by_id(self, step_id: str) -> dict | None:
        """The decision-tree step whose id is `step_id`, or None."""
        return next((step for step in self.steps if step.get("id") == step_id), None)


class Policy(models.Model):
    """A numbered imperative rule of the policies file ("**Title** — body").

    Rule: docs/rules.md#kb-policy-trace: "Each policy is a scar." It traces
    to incidents through its origins (the "Where each policy came from" lines, as written)
    and its linked postmortems; a policy with neither is flagged as tracing to no incident.
    """

    number = models.PositiveIntegerField(unique=True)
    title = models.CharField(max_length=200)
    body = models.TextField()
    postmortems = models.ManyToManyField(
        "incidents.Postmortem", blank=True, related_name="policies"
    )
    created_utc = models.DateTimeField(default=timezone.now)
    updated_utc = models.DateTimeField(auto_now=True)
    # to_tsvector of title and body, set by PostgreSQL (trigger search_vector).
    search_vector = search_vector_field()

    search_columns = POLICY_SEARCH_COLUMNS

    class Meta:
        verbose_name_plural = "policies"
        ordering = ["number"]
        triggers = [search_vector_trigger(POLICY_SEARCH_COLUMNS)]

    def __str__(self) -> str:
        return f"Policy {self.number}: {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("knowledge:policy_detail", args=[self.number])


class PolicyOrigin(models.Model):
    """One "- Policy N ← <text>" line of the policies file, its text kept as written
    ("2026-01-14: RL model "deployed" but never loaded; …")."""

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="origins")
    text = models.TextField()
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"Policy {self.policy.number} ← {self.text[:60]}"


# The insights rollups (docs/rules.md#insights-precomputed). PostgreSQL's triggers keep
# them exact in the writing transaction (knowledge 0006, incidents 0031, costlog 0007);
# nothing in Python writes them. They are models so that every table Django manages is
# known to it: a test's flush truncates them together with the rows they are made from.
# On SQLite (the demo) they stay empty and the figures come from the raw rows.


class InsightsCloseOut(models.Model):
    """Per postmortem whose items are all shipped or dropped (at least one shipped): when
    its last item closed (UTC)."""

    postmortem_id = models.UUIDField(primary_key=True)
    closed_utc = models.DateTimeField()

    class Meta:
        db_table = "knowledge_insightscloseout"

    def __str__(self) -> str:
        return f"{self.postmortem_id} closed out {self.closed_utc:%Y-%m-%d}"


class InsightsOpenChange(models.Model):
    """Per action item, each moment (UTC) its open state flips: d = 1 opened, -1 closed
    (the open backlog week by week)."""

    pk = models.CompositePrimaryKey("item_id", "at")
    item_id = models.BigIntegerField()
    at = models.DateTimeField()
    postmortem_id = models.UUIDField()
    d = models.SmallIntegerField()

    class Meta:
        db_table = "knowledge_insightsopenchange"
        constraints = [
            models.CheckConstraint(condition=models.Q(d__in=[-1, 1]), name="insights_openchange_d"),
        ]
        indexes = [
            models.Index(
                fields=["postmortem_id"], include=["at", "d"], name="insights_openchange_by_pm"
            ),
        ]

    def __str__(self) -> str:
        return f"item {self.item_id} {'+' if self.d > 0 else '-'}1 at {self.at:%Y-%m-%d}"


class InsightsCost(models.Model):
    """Per root pattern and UTC month ("YYYY-MM"): the current cost entries' summed low and
    high figures (USD) and how many links they came from."""

    pk = models.CompositePrimaryKey("pattern_id", "month")
    pattern_id = models.BigIntegerField()
    month = models.CharField(max_length=7)
    low = models.DecimalField(max_digits=20, decimal_places=2)
    high = models.DecimalField(max_digits=20, decimal_places=2)
    links = models.IntegerField()

    class Meta:
        db_table = "knowledge_insightscost"

    def __str__(self) -> str:
        return f"pattern {self.pattern_id} {self.month}: {self.low}–{self.high} USD"


class InsightsPatternPostmortem(models.Model):
    """Per root pattern and postmortem: how many current cost entries link them."""

    pk = models.CompositePrimaryKey("pattern_id", "postmortem_id")
    pattern_id = models.BigIntegerField()
    postmortem_id = models.UUIDField()
    links = models.IntegerField()

    class Meta:
        db_table = "knowledge_insightspatternpm"

    def __str__(self) -> str:
        return f"pattern {self.pattern_id} ↔ {self.postmortem_id} ({self.links})"
