"""Action items, their history, the planning-gate domain of a postmortem, gate overrides
and the daily digests (docs/rules.md#action-items, docs/rules.md#gate)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.limits import SHORT_TEXT
from incidents.models.record import Postmortem

__all__ = [
    "DOMAIN_HELP",
    "ActionItem",
    "ActionItemEvent",
    "DigestSent",
    "DomainChange",
    "GateOverride",
    "PostmortemDomain",
]



# --- PostmortemDomain, action items, the planning gate --------------------------------------
# Rule: docs/rules.md#gate-blocks (INC-030 → INC-031: action items that were scheduled,
# not delivered; "the planning gate didn't enforce that they shipped before the next run").
# These rows live outside the immutable postmortem content, so final and imported
# postmortems can be classified and their action items progressed.

DOMAIN_HELP = "A short slug naming the area of work, such as cloud-training."


class PostmortemDomain(models.Model):
    """A postmortem's domain (slug) and tags, with who set them and when (UTC).

    Kept apart from the postmortem row, which is immutable once final.
    """

    postmortem = models.OneToOneField(
        Postmortem, on_delete=models.PROTECT, primary_key=True, related_name="classification"
    )
    domain = models.SlugField(max_length=60, help_text=DOMAIN_HELP)
    tags = models.JSONField(default=list, blank=True)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )
    set_utc = models.DateTimeField(default=timezone.now)
    # The DomainChange that recorded this row's current state; PostgreSQL refuses a write
    # to a final postmortem's domain that does not name a fresh one
    # (docs/rules.md#database-guards).
    last_change = models.ForeignKey(
        "DomainChange", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
    )

    class Meta:
        db_table = "incidents_classification"
        indexes = [models.Index(fields=["domain"], name="classification_domain")]
        # Its gate-domain trigger is hand-written SQL (docs/rules.md#database-guards).

    def __str__(self) -> str:
        return f"{self.postmortem_id} in {self.domain}"


class ActionItem(models.Model):
    """An action item of a postmortem: typed, owned, due, and open until it ships.

    kind is one of the closed list rule, hook, test, criterion, memory (an item that fits
    none is too vague to ship). Shipped requires `evidence` of the kind's shape
    (incidents.evidence); dropped requires `drop_reason`. Every change is recorded in
    ActionItemEvent. Rule: docs/rules.md#action-types.
    """

    class Kind(models.TextChoices):
        RULE = "rule", "Rule"
        HOOK = "hook", "Hook"
        TEST = "test", "Test"
        CRITERION = "criterion", "Criterion"
        MEMORY = "memory", "Memory"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        SHIPPED = "shipped", "Shipped"
        DROPPED = "dropped", "Dropped"

    OPEN_STATUSES = (Status.OPEN, Status.IN_PROGRESS)

    postmortem = models.ForeignKey(
        Postmortem, on_delete=models.PROTECT, related_name="action_items"
    )
    kind = models.CharField("type", max_length=10, choices=Kind.choices)
    description = models.TextField(max_length=SHORT_TEXT)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    due_date = models.DateField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    drop_reason = models.TextField(blank=True, max_length=SHORT_TEXT)
    evidence = models.JSONField(default=dict, blank=True)
    verification = models.JSONField(
        null=True, blank=True,
        help_text="The check against a SCARLOG_GIT_REPOS clone when the evidence named one.",
    )
    # Set when the nightly re-verification found the shipped evidence no longer holds and
    # re-opened the item (docs/rules.md#evidence-reverified); cleared when it ships again.
    evidence_lapsed = models.TextField(
        blank=True, help_text="Why the shipped evidence stopped holding; empty while it holds.")
    evidence_lapsed_utc = models.DateTimeField(null=True, blank=True)
    created_utc = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )
    updated_utc = models.DateTimeField(auto_now=True)
    # The planning gate's domain: the postmortem's domain once the postmortem is final,
    # else NULL. PostgreSQL keeps it (the triggers named *gate_domain); it is read by
    # queries only (incidents.gate), never set by the application.
    # NULL, not "", is the database triggers' "no domain yet", so DJ001 does not apply here.
    gate_domain = models.CharField(  # noqa: DJ001
        max_length=60, null=True, blank=True, editable=False
    )
    # The ActionItemEvent recording this row's current state, written first; PostgreSQL
    # refuses a change that does not name a newer event of this item
    # (docs/rules.md#database-guards).
    last_event = models.ForeignKey(
        "ActionItemEvent", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        editable=False,
    )

    class Meta:
        ordering = ["due_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["rule", "hook", "test", "criterion", "memory"]),
                name="action_item_kind_in_list",
            ),
            models.CheckConstraint(
                condition=~Q(status="shipped") | ~Q(evidence={}),
                name="shipped_item_has_evidence",
            ),
            models.CheckConstraint(
                condition=~Q(status="dropped") | ~Q(drop_reason=""),
                name="dropped_item_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_date"], name="action_item_open_due"),
            # The dashboard lists the earliest-due open items first: read in this order,
            # the first 50 need no sort of every open item.
            models.Index(fields=["due_date", "id"], condition=Q(status__in=["open", "in_progress"]),
                         name="action_item_open_by_due"),
            # The planning gate: a domain's blocking items, earliest due first, and their
            # count, read from this index alone however many postmortems there are.
            models.Index(fields=["gate_domain", "due_date", "id"],
                         condition=Q(status__in=["open", "in_progress"],
                                     gate_domain__isnull=False),
                         name="action_item_blocking_by_due"),
        ]
        # gate_domain and the guards: hand-written SQL (docs/rules.md#database-guards).

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.description[:60]}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class ActionItemEvent(models.Model):
    """One change to an action item (append-only): who, when (UTC), what."""

    item = models.ForeignKey(ActionItem, on_delete=models.PROTECT, related_name="events")
    at_utc = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )
    change = models.TextField()

    class Meta:
        ordering = ["at_utc", "id"]

    def __str__(self) -> str:
        return f"{self.at_utc:%Y-%m-%d %H:%M} UTC: {self.change}"


class DomainChange(models.Model):
    """One change of a postmortem's domain (append-only): from `old_domain` ("" when it had
    none) to `new_domain`, by whom, when (UTC). Written by incidents.services.set_domain;
    rule: docs/rules.md#database-guards."""

    postmortem = models.ForeignKey(Postmortem, on_delete=models.PROTECT,
                                   related_name="domain_changes")
    old_domain = models.SlugField(max_length=60, blank=True)
    new_domain = models.SlugField(max_length=60)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )
    at_utc = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at_utc", "id"]

    def __str__(self) -> str:
        return f"{self.at_utc:%Y-%m-%d %H:%M} UTC: {self.old_domain or '—'} → {self.new_domain}"


class GateOverride(models.Model):
    """An explicit, recorded override letting work through a closed planning gate.

    Who, why and until when (UTC). It never hides the blocking items; it is append-only.
    """

    domain = models.SlugField(max_length=60)
    reason = models.TextField(max_length=SHORT_TEXT)
    until_utc = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    created_utc = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_utc"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="override_has_reason"),
        ]

    def __str__(self) -> str:
        return f"Override of {self.domain} until {self.until_utc:%Y-%m-%d %H:%M} UTC"


class DigestSent(models.Model):
    """One action item digest sent to an owner on a UTC day: at most one a day."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    sent_utc = models.DateTimeField(default=timezone.now)
    item_count = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "day"], name="one_digest_a_day")]

    def __str__(self) -> str:
        return f"Digest to {self.owner_id} on {self.day}"
