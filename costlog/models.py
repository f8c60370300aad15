"""The mishap cost log: resource rates, root patterns, priced mishap entries, corrections.

Rule: docs/rules.md#cost-log ("Every incident in the system gets a dollar amount"); the
Markdown log these rows import from and export to: docs/rules.md#cost-markdown.

- ResourceRate: USD per hour or per second for a resource, from an effective date. A rate
  change is a new row; a priced resource row keeps the rate row it was priced with.
- RootPattern: the editable taxonomy (silent fallback, unverified output, ...), distinct
  from a postmortem's closed root-cause class.
- MishapEntry: one mishap, append-only. A correction is a new entry whose `corrects`
  points at the one it replaces; totals count only entries nobody corrected, and the
  original stays visible. PostgreSQL refuses UPDATE, DELETE and TRUNCATE on entries,
  their pattern links and resource rows, and on rates (hand-written triggers of
  migration 0004; docs/rules.md#database-guards).
- EntryPattern: an entry's root patterns, in the order logged. Its figures (time, USD
  range, near-miss, postmortem) are copied from the entry by a PostgreSQL trigger so
  totals by pattern GROUP BY one table.
- MishapResource: resource × quantity × duration, priced from the rate in force.

Money is Decimal (USD), never float; times are stored in UTC.
"""
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.limits import LONG_TEXT, SHORT_TEXT
from core.units import format_span

# The zones an entry may be logged in (the cost log's "[6:02 PM ET]"), with their IANA names.
ZONES = {
    "ET": "America/New_York", "CT": "America/Chicago", "MT": "America/Denver",
    "PT": "America/Los_Angeles", "UTC": "UTC",
}


class AppendOnlyError(Exception):
    """Raised when code tries to change or delete a cost log row; add a correction instead."""


class AppendOnlyQuerySet(models.QuerySet):
    """Bulk update/delete always raise AppendOnlyError: cost log rows never change."""

    def update(self, **kwargs):
        """Always raises AppendOnlyError."""
        raise AppendOnlyError(f"{self.model._meta.verbose_name} rows are append-only.")

    def delete(self):
        """Always raises AppendOnlyError."""
        raise AppendOnlyError(f"{self.model._meta.verbose_name} rows are append-only.")


class AppendOnlyModel(models.Model):
    """A row that is inserted once: save() of a stored row and delete() raise AppendOnlyError."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        """Insert the row; raises AppendOnlyError for a row already stored."""
        if not self._state.adding:
            raise AppendOnlyError(
                f"{self._meta.verbose_name} {self.pk} is append-only; add a correction instead."
            )
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        """Always raises AppendOnlyError."""
        raise AppendOnlyError(f"{self._meta.verbose_name} {self.pk} is append-only.")


class ResourceRate(AppendOnlyModel):
    """USD per unit (hour or second) for a resource, in force from `effective_date` (UTC).

    Source rule: the cost reference table ("SageMaker Training (ml.m5.xlarge) ~$0.23/hour").
    A rate change adds a row with a later effective date; nothing is overwritten.
    """

    class Unit(models.TextChoices):
        HOUR = "hour", "hour"
        SECOND = "second", "second"

    SECONDS_PER_UNIT = {Unit.HOUR: 3600, Unit.SECOND: 1}

    resource = models.CharField(max_length=200)
    unit = models.CharField(max_length=6, choices=Unit.choices)
    usd = models.DecimalField("USD per unit", max_digits=14, decimal_places=6)
    approximate = models.BooleanField(default=True, help_text='Shown with "~" as in the log.')
    effective_date = models.DateField()
    created_utc = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["resource", "-effective_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["resource", "effective_date"], name="one_rate_per_resource_and_date"
            ),
            models.CheckConstraint(condition=Q(usd__gt=0), name="rate_usd_positive"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.resource}: ${self.usd.normalize():f}/{self.unit} (from {self.effective_date})"
        )

    def price(self, quantity: int, duration_seconds: int) -> Decimal:
        """USD for `quantity` units running `duration_seconds` seconds, rounded to cents."""
        units = Decimal(duration_seconds) / self.SECONDS_PER_UNIT[self.unit]
        return (self.usd * quantity * units).quantize(Decimal("0.01"))


class RootPattern(models.Model):
    """A root pattern of the taxonomy ("Silent fallback"), editable by admins.

    Rule: docs/rules.md#cost-root-patterns (costs are grouped by root pattern). Distinct
    from incidents.RootCause, the postmortem's closed five-class label.
    """

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True, max_length=LONG_TEXT)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MishapEntry(AppendOnlyModel):
    """One priced mishap, as the seed's log entry holds it (append-only).

    occurred_utc is stored UTC; logged_zone is the zone abbreviation it was logged in
    ("ET", one of ZONES), so the log shows "[6:02 PM ET]" again. The cost is
    a USD range (cost_low_usd == cost_high_usd for a single figure); near_miss marks a $0
    mishap caught before it cost anything. root_cause_items and prevention_items are the
    numbered sub-lists. `corrects` points at the entry this one replaces.
    """

    class Origin(models.TextChoices):
        FORM = "form", "Entered in Scarlog"
        IMPORT = "import", "Imported from a Markdown log"

    occurred_utc = models.DateTimeField()
    logged_zone = models.CharField(
        max_length=8, choices=[(zone, zone) for zone in ZONES], default="UTC"
    )
    title = models.CharField(max_length=300)
    what_happened = models.TextField(max_length=LONG_TEXT)
    root_cause = models.TextField(max_length=LONG_TEXT)
    root_cause_items = models.JSONField(default=list, blank=True)
    patterns = models.ManyToManyField(
        RootPattern, through="EntryPattern", related_name="entries"
    )
    resources_affected = models.TextField(
        blank=True, max_length=LONG_TEXT,
        help_text='As logged: "SageMaker Endpoint (ml.t2.medium), training jobs".'
    )
    duration = models.CharField(max_length=200, blank=True, help_text='As logged: "~5 hours".')
    cost_low_usd = models.DecimalField(max_digits=14, decimal_places=2)
    cost_high_usd = models.DecimalField(max_digits=14, decimal_places=2)
    cost_approximate = models.BooleanField(default=False)
    cost_note = models.CharField(max_length=200, blank=True)
    near_miss = models.BooleanField(default=False)
    prevention_items = models.JSONField(default=list, blank=True)
    postmortem = models.ForeignKey(
        "incidents.Postmortem", on_delete=models.PROTECT, null=True, blank=True,
        related_name="mishap_entries",
    )
    corrects = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="correction"
    )
    correction_reason = models.TextField(blank=True, max_length=SHORT_TEXT)
    origin = models.CharField(max_length=6, choices=Origin.choices, default=Origin.FORM)
    created_utc = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name_plural = "mishap entries"
        ordering = ["occurred_utc", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(cost_low_usd__gte=0), name="cost_low_not_negative"),
            models.CheckConstraint(
                condition=Q(cost_high_usd__gte=models.F("cost_low_usd")),
                name="cost_high_not_below_low",
            ),
            models.CheckConstraint(
                condition=Q(near_miss=False) | Q(cost_high_usd=0), name="near_miss_costs_zero"
            ),
            models.CheckConstraint(
                condition=Q(corrects__isnull=True) | ~Q(correction_reason=""),
                name="correction_has_reason",
            ),
        ]
        indexes = [
            # Covers the grand total of a period (index-only scan, no wide text rows read).
            models.Index(
                fields=["occurred_utc"], name="entry_totals",
                include=["id", "cost_low_usd", "cost_high_usd", "near_miss", "postmortem"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_utc:%Y-%m-%d} {self.title}"


# BEFORE INSERT on costlog_entrypattern: copy the entry's figures so totals by pattern
# read one table. The entry row is append-only, so the copy never goes stale.
class EntryPattern(AppendOnlyModel):
    """An entry's root pattern (position = order in the log), with the entry's figures.

    occurred_utc, cost_low_usd, cost_high_usd, near_miss and postmortem are copies of the
    entry's, set by PostgreSQL on insert (whatever the caller passes).
    """

    entry = models.ForeignKey(MishapEntry, on_delete=models.PROTECT, related_name="pattern_links")
    pattern = models.ForeignKey(RootPattern, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField()
    occurred_utc = models.DateTimeField(null=True, editable=False)
    cost_low_usd = models.DecimalField(max_digits=14, decimal_places=2, null=True, editable=False)
    cost_high_usd = models.DecimalField(max_digits=14, decimal_places=2, null=True, editable=False)
    near_miss = models.BooleanField(null=True, editable=False)
    postmortem = models.ForeignKey(
        "incidents.Postmortem", on_delete=models.DO_NOTHING, null=True, editable=False,
        db_constraint=False, related_name="+",
    )

    class Meta:
        ordering = ["entry", "position"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "pattern"], name="pattern_once_per_entry"),
        ]
        indexes = [
            # Covers totals by pattern for a period (index-only scan).
            models.Index(
                fields=["occurred_utc"], name="entrypattern_totals",
                include=["pattern", "entry", "cost_low_usd", "cost_high_usd", "near_miss",
                         "postmortem"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entry_id} → {self.pattern_id}"


class MishapResource(AppendOnlyModel):
    """A resource row of an entry: quantity × duration priced at `rate` (USD, to the cent)."""

    entry = models.ForeignKey(MishapEntry, on_delete=models.PROTECT, related_name="resources")
    rate = models.ForeignKey(ResourceRate, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    duration_seconds = models.PositiveIntegerField()
    cost_usd = models.DecimalField(max_digits=14, decimal_places=2)
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["entry", "position"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="resource_quantity_positive"),
            models.CheckConstraint(
                condition=Q(duration_seconds__gt=0), name="resource_duration_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.rate.resource} for {format_span(self.duration_seconds)}"
