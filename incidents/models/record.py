"""The postmortem record: the seven-field template and its append-only amendments.

Rules: docs/rules.md#template-fields and docs/rules.md#final-immutable. A postmortem is a
draft until finalized;
a final postmortem and its timeline entries, contributing factors and references never
change again. PostgreSQL refuses UPDATE, DELETE and TRUNCATE on them (hand-written
triggers of migration 0018, docs/rules.md#database-guards); the ORM raises
ImmutableRecordError first so callers get a clear domain error. Amendment rows are
append-only from the start.
"""
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone

from core.limits import LONG_TEXT, SHORT_TEXT
from core.search_vector import search_vector_field, search_vector_trigger
from incidents.models.choices import (
    MEETING_DEADLINE_HOURS,
    RootCause,
    Section,
    Template,
    fix_is_deferred,
)
from incidents.models.guards import ImmutableRecordError
from incidents.models.vocabulary import QuestionSet

__all__ = [
    "Amendment",
    "AmendmentQuerySet",
    "ContributingFactor",
    "Postmortem",
    "PostmortemChild",
    "PostmortemChildQuerySet",
    "PostmortemQuerySet",
    "Reference",
    "Substitution",
    "TimelineEntry",
]

# The text columns of each searched table's document, in order (core.search_vector).
# The longest title (Postmortem.title) a list or an email shows.
TITLE_CHARS = 120
POSTMORTEM_SEARCH_COLUMNS = (
    "summary", "prevention", "lessons_learned", "what_went_wrong", "what_went_well",
    "impact_description", "trigger_reason", "fix_description",
)
TIMELINE_SEARCH_COLUMNS = ("event",)
FACTOR_SEARCH_COLUMNS = ("text",)
AMENDMENT_SEARCH_COLUMNS = ("note",)


class PostmortemQuerySet(models.QuerySet):
    """Postmortem queries; bulk update/delete refuse to touch a final postmortem."""

    def _refuse_if_any_final(self, action: str) -> None:
        if self.filter(status=Postmortem.Status.FINAL).exists():
            raise ImmutableRecordError(
                f"Cannot {action} a final postmortem; add an amendment instead."
            )

    def update(self, **kwargs):
        """QuerySet.update(); raises ImmutableRecordError if any matched postmortem is final."""
        self._refuse_if_any_final("update")
        return super().update(**kwargs)

    def delete(self):
        """QuerySet.delete(); raises ImmutableRecordError if any matched postmortem is final."""
        self._refuse_if_any_final("delete")
        return super().delete()


class Postmortem(models.Model):
    """One postmortem: the seven fields of the template, a draft until finalized.

    Fields in template order: summary (≤ 40 words), timeline (TimelineEntry rows, 5–20),
    root_cause (one RootCause label), contributing factors (ContributingFactor rows, 3–5),
    fix (fix_commit_sha + fix_description, or DEFERRED_FIX_TEXT + fix_ticket_link),
    prevention (one paragraph), references (Reference rows, 3–6). Times are UTC.
    The template rules are checked by incidents.template_rules, not on save: a draft may
    be incomplete, and imported legacy records keep their gaps.

    Raises ImmutableRecordError on save() or delete() once the stored row is final.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        FINAL = "final", "Final"

    class Origin(models.TextChoices):
        SCARLOG = "scarlog", "Written in Scarlog"
        IMPORT = "import", "Imported from a log"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_utc = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.SCARLOG)
    template = models.CharField(
        max_length=12, choices=Template.choices, default=Template.SEVEN_FIELD
    )
    occurred_utc = models.DateTimeField(
        "event occurred (UTC)", null=True, blank=True,
        help_text="When the event happened; the meeting deadline is 72 hours later.",
    )
    # A TriggerCondition slug (docs/rules.md#trigger-conditions), checked by
    # incidents.services.clean_event; a retired condition stays on the records that have it.
    trigger = models.CharField(max_length=24, blank=True)
    trigger_reason = models.TextField(
        blank=True, max_length=SHORT_TEXT,
        help_text='Why a postmortem is written when the trigger is "other".'
    )
    # A Severity code ("" = not rated; legacy records); chosen when the draft starts.
    severity = models.CharField(max_length=20, blank=True,
                                help_text="A severity code such as SEV1 (docs/rules.md#severity).")
    # The scan questions this postmortem answers; null = the default set (records older
    # than question sets, and imports that name none).
    question_set = models.ForeignKey(QuestionSet, on_delete=models.PROTECT, null=True,
                                     blank=True, related_name="+",
                                     verbose_name="scan question set")
    summary = models.TextField(blank=True, max_length=SHORT_TEXT)
    root_cause = models.CharField(max_length=20, choices=RootCause.choices, blank=True)
    fix_commit_sha = models.CharField("fix commit SHA", max_length=64, blank=True)
    fix_description = models.TextField("change described", blank=True, max_length=LONG_TEXT)
    fix_ticket_link = models.CharField("ticket link", max_length=500, blank=True)
    prevention = models.TextField(blank=True, max_length=LONG_TEXT)
    impact_usd = models.DecimalField(
        "financial impact (USD)", max_digits=14, decimal_places=2, null=True, blank=True
    )
    impact_users = models.PositiveIntegerField("users affected", null=True, blank=True)
    impact_duration_minutes = models.PositiveIntegerField(
        "impact duration (minutes)", null=True, blank=True
    )
    impact_description = models.TextField("impact described", blank=True, max_length=LONG_TEXT)
    what_went_well = models.TextField("what went well", blank=True, max_length=LONG_TEXT)
    what_went_wrong = models.TextField("what went wrong", blank=True, max_length=LONG_TEXT)
    lessons_learned = models.TextField("lessons learned", blank=True, max_length=LONG_TEXT)
    owner_sentiment = models.TextField(
        "owner sentiment", blank=True, max_length=LONG_TEXT,
        help_text="A real quote from whoever paid the cost, not softened.",
    )
    owner_sentiment_by = models.CharField("quote by", max_length=200, blank=True)
    updated_utc = models.DateTimeField(auto_now=True)
    finalized_utc = models.DateTimeField(null=True, blank=True)
    finalized_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # to_tsvector of POSTMORTEM_SEARCH_COLUMNS, set by PostgreSQL (trigger search_vector).
    search_vector = search_vector_field()

    objects = PostmortemQuerySet.as_manager()
    search_columns = POSTMORTEM_SEARCH_COLUMNS

    class Meta:
        ordering = ["-created_utc"]
        indexes = [
            # Drafts are few among final postmortems: the dashboard finds and counts them
            # from this index instead of reading every postmortem.
            models.Index(fields=["occurred_utc"], condition=Q(status="draft"),
                         name="postmortem_drafts"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["draft", "final"]), name="postmortem_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(root_cause__in=["", *RootCause.values]),
                name="postmortem_root_cause_in_vocabulary",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(finalized_utc__isnull=False),
                name="postmortem_final_has_finalized_utc",
            ),
            models.CheckConstraint(
                condition=Q(template__in=Template.values), name="postmortem_template_valid"
            ),
            models.CheckConstraint(
                condition=Q(impact_usd__isnull=True) | Q(impact_usd__gte=0),
                name="postmortem_impact_usd_not_negative",
            ),
            models.CheckConstraint(
                condition=~Q(trigger="other") | ~Q(trigger_reason=""),
                name="postmortem_other_trigger_has_reason",
            ),
        ]
        # The guards (final rows immutable, no TRUNCATE, finalizing sets the items' gate
        # domain) are hand-written SQL in migration 0018, not pgtrigger triggers
        # (docs/rules.md#database-guards).
        triggers = [search_vector_trigger(POSTMORTEM_SEARCH_COLUMNS)]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        """Save a draft; raises ImmutableRecordError if the stored row is already final."""
        if self._stored_row_is_final():
            raise ImmutableRecordError(
                f"Postmortem {self.pk} is final and cannot be changed; add an amendment instead."
            )
        super().save(*args, **kwargs)

    @property
    def title(self) -> str:
        """The summary's first eight words, at most TITLE_CHARS characters (a summary with
        no spaces is one word); the template has no title field."""
        words = self.summary.split()
        if not words:
            return f"Untitled postmortem {str(self.id)[:8]}"
        title = " ".join(words[:8])
        if len(title) > TITLE_CHARS:
            return title[:TITLE_CHARS - 1] + "…"
        return title + ("…" if len(words) > 8 else "")

    @property
    def is_final(self) -> bool:
        return self.status == self.Status.FINAL

    @property
    def fix_deferred(self) -> bool:
        """The fix reads "no change; documented and deferred" (docs/rules.md#template-fix)."""
        return fix_is_deferred(self.fix_commit_sha, self.fix_description)

    @property
    def is_long_form(self) -> bool:
        return self.template == Template.LONG_FORM

    @property
    def has_long_form_content(self) -> bool:
        """True when any long-form section (impact figures or text) holds something."""
        return any((self.impact_usd is not None, self.impact_users is not None,
                    self.impact_duration_minutes is not None, self.impact_description,
                    self.what_went_well, self.what_went_wrong, self.lessons_learned))

    @property
    def meeting_deadline_utc(self):
        """occurred_utc + 72 hours (UTC), or None when the event time is not recorded."""
        if self.occurred_utc is None:
            return None
        return self.occurred_utc + timedelta(hours=MEETING_DEADLINE_HOURS)

    @property
    def is_retrospective(self) -> bool:
        """True when the draft was started more than 72 hours after the event (UTC): a
        postmortem written about an old event plans no reminders and shows no countdown.
        Rule: docs/rules.md#meeting-retrospective."""
        if self.occurred_utc is None or self.created_utc is None:
            return False
        return self.created_utc - self.occurred_utc > timedelta(hours=MEETING_DEADLINE_HOURS)

    def _stored_row_is_final(self) -> bool:
        return (
            not self._state.adding
            and Postmortem.objects.filter(pk=self.pk, status=self.Status.FINAL).exists()
        )

    def save_locked_draft(self, update_fields: list[str]) -> None:
        """Write `update_fields` of a draft whose row this transaction has locked (SELECT
        ... FOR UPDATE) and found to be a draft (incidents.autosave).

        The lock keeps it a draft until the commit, so save()'s re-read of the stored
        status is skipped; PostgreSQL's trigger still refuses any write to a final row.
        """
        super().save(update_fields=update_fields)

    def delete(self, *args, **kwargs):
        """Delete a draft; raises ImmutableRecordError if the stored row is final."""
        if self._stored_row_is_final():
            raise ImmutableRecordError(
                f"Postmortem {self.pk} is final and cannot be deleted."
            )
        return super().delete(*args, **kwargs)


class PostmortemChildQuerySet(models.QuerySet):
    """Queries on a postmortem's rows; writes refuse rows of a final postmortem."""

    def _refuse_if_any_parent_final(self, action: str) -> None:
        parents = self.values("postmortem_id")
        if Postmortem.objects.filter(pk__in=parents, status=Postmortem.Status.FINAL).exists():
            raise ImmutableRecordError(
                f"Cannot {action} rows of a final postmortem; add an amendment instead."
            )

    def update(self, **kwargs):
        """QuerySet.update(); raises ImmutableRecordError for rows of a final postmortem."""
        self._refuse_if_any_parent_final("update")
        return super().update(**kwargs)

    def delete(self):
        """QuerySet.delete(); raises ImmutableRecordError for rows of a final postmortem."""
        self._refuse_if_any_parent_final("delete")
        return super().delete()

    def bulk_create(self, objs, *args, **kwargs):
        """QuerySet.bulk_create(); raises ImmutableRecordError when a parent is final."""
        objs = list(objs)
        parent_ids = {obj.postmortem_id for obj in objs}
        if Postmortem.objects.filter(pk__in=parent_ids, status=Postmortem.Status.FINAL).exists():
            raise ImmutableRecordError("Cannot add rows to a final postmortem.")
        return super().bulk_create(objs, *args, **kwargs)


class PostmortemChild(models.Model):
    """Base of the rows that belong to one postmortem and freeze with it.

    `position` keeps the order rows were added in (ties in the timeline, bullet order).
    save() and delete() raise ImmutableRecordError while the parent postmortem is final.
    """

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE)
    position = models.PositiveIntegerField(default=0)

    objects = PostmortemChildQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        """Save the row; raises ImmutableRecordError when its postmortem is final."""
        if self._parent_is_final():
            raise ImmutableRecordError(
                f"Postmortem {self.postmortem_id} is final; its rows cannot change."
            )
        super().save(*args, **kwargs)

    def _parent_is_final(self) -> bool:
        return Postmortem.objects.filter(
            pk=self.postmortem_id, status=Postmortem.Status.FINAL
        ).exists()

    def delete(self, *args, **kwargs):
        """Delete the row; raises ImmutableRecordError when its postmortem is final."""
        if self._parent_is_final():
            raise ImmutableRecordError(
                f"Postmortem {self.postmortem_id} is final; its rows cannot be deleted."
            )
        return super().delete(*args, **kwargs)


class TimelineEntry(PostmortemChild):
    """A timeline row: UTC timestamp, event, trace_id. Template: 5–20 rows, in time order.

    `utc` may be empty while a draft row is being typed; finalize requires it.
    """

    utc = models.DateTimeField("time (UTC)", null=True, blank=True)
    event = models.TextField(blank=True, max_length=SHORT_TEXT)
    trace_id = models.CharField(max_length=200, blank=True)
    search_vector = search_vector_field()

    search_columns = TIMELINE_SEARCH_COLUMNS

    class Meta:
        ordering = [F("utc").asc(nulls_last=True), "position", "id"]
        default_related_name = "timeline_entries"
        verbose_name_plural = "timeline entries"
        triggers = [search_vector_trigger(TIMELINE_SEARCH_COLUMNS)]

    def __str__(self) -> str:
        return f"{self.utc:%Y-%m-%d %H:%M:%S} UTC {self.event}" if self.utc else self.event


class Substitution(models.TextChoices):
    """The substitution test's verdict on a contributing factor.

    Rule: docs/rules.md#blameless-substitution.

    "Would this step have failed with someone else at the keyboard?" Yes: structural (the
    system allowed it; fix the system). No: personal. Only structural factors count
    toward the template's three to five.
    """

    STRUCTURAL = "structural", "Structural"
    PERSONAL = "personal", "Personal"


class ContributingFactor(PostmortemChild):
    """A contributing factor: one bullet naming a system condition. Template: 3–5 bullets.

    `substitution` is the substitution test's verdict ("" until the team decides); only
    structural factors count toward 3–5. A factor whose text the blameless check flags
    blocks finalize until the meeting's facilitator marks that exact text reviewed
    (`blameless_reviewed_text` equals `text`; editing the text clears the review).
    """

    text = models.TextField(blank=True, max_length=SHORT_TEXT)
    substitution = models.CharField(
        "substitution test", max_length=10, choices=Substitution.choices, blank=True
    )
    blameless_reviewed_text = models.TextField(blank=True)
    blameless_reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )
    blameless_reviewed_utc = models.DateTimeField(null=True, blank=True)
    search_vector = search_vector_field()

    search_columns = FACTOR_SEARCH_COLUMNS

    class Meta:
        ordering = ["position", "id"]
        default_related_name = "contributing_factors"
        constraints = [
            models.CheckConstraint(
                condition=Q(substitution__in=["", "structural", "personal"]),
                name="factor_substitution_valid",
            ),
        ]
        triggers = [search_vector_trigger(FACTOR_SEARCH_COLUMNS)]

    def __str__(self) -> str:
        return self.text

    @property
    def blameless_reviewed(self) -> bool:
        """True when the facilitator reviewed this exact text of the factor."""
        return bool(self.text) and self.blameless_reviewed_text == self.text


class Reference(PostmortemChild):
    """A typed reference link. Template: 3–6 of trace_id, commit SHA, PR link, ticket, other."""

    class Kind(models.TextChoices):
        TRACE_ID = "trace_id", "trace_id"
        COMMIT = "commit", "Commit SHA"
        PR = "pr", "PR link"
        TICKET = "ticket", "Ticket"
        OTHER = "other", "Other link"

    # Kinds whose value is a link: empty or http(s) only (docs/rules.md#input-links).
    LINK_KINDS = (Kind.PR, Kind.OTHER)

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TRACE_ID)
    value = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["position", "id"]
        default_related_name = "references"
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["trace_id", "commit", "pr", "ticket", "other"]),
                name="reference_kind_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.value}"


class AmendmentQuerySet(models.QuerySet):
    """Amendment queries: amendments are append-only, so bulk update/delete always raise."""

    def update(self, **kwargs):
        """Always raises ImmutableRecordError: amendments are never changed."""
        raise ImmutableRecordError("Amendments are append-only; they cannot be updated.")

    def delete(self):
        """Always raises ImmutableRecordError: amendments are never deleted."""
        raise ImmutableRecordError("Amendments are append-only; they cannot be deleted.")


class Amendment(models.Model):
    """A dated addendum to a final postmortem (Markdown note, author, UTC time).

    Rule: docs/rules.md#final-amendments; the log line is {parent_id, amended_utc, note}.
    `section` (a Section, or "" for a general note) says which long-form section it adds
    to (docs/rules.md#longform-amend); an Impact amendment may restate the figures
    (impact_usd in USD, impact_users, impact_duration_minutes), which then replace the
    record's as the stated impact.
    Append-only: save() of an existing row and delete() raise ImmutableRecordError, and
    PostgreSQL refuses UPDATE, DELETE and TRUNCATE, and INSERT against a draft.
    """

    postmortem = models.ForeignKey(
        Postmortem, on_delete=models.PROTECT, related_name="amendments"
    )
    amended_utc = models.DateTimeField(default=timezone.now)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    note = models.TextField(max_length=LONG_TEXT)
    section = models.CharField(
        "adds to", max_length=20, choices=Section.choices, blank=True,
        help_text="The long-form section this amendment adds to; blank for a general note.",
    )
    impact_usd = models.DecimalField(
        "financial impact (USD)", max_digits=14, decimal_places=2, null=True, blank=True
    )
    impact_users = models.PositiveIntegerField("users affected", null=True, blank=True)
    impact_duration_minutes = models.PositiveIntegerField(
        "impact duration (minutes)", null=True, blank=True
    )

    search_vector = search_vector_field()

    objects = AmendmentQuerySet.as_manager()
    search_columns = AMENDMENT_SEARCH_COLUMNS

    class Meta:
        ordering = ["amended_utc", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(section__in=["", *Section.values]),
                name="amendment_section_valid",
            ),
            models.CheckConstraint(
                condition=Q(section="impact")
                | Q(impact_usd__isnull=True, impact_users__isnull=True,
                    impact_duration_minutes__isnull=True),
                name="amendment_figures_only_for_impact",
            ),
            models.CheckConstraint(
                condition=Q(impact_usd__isnull=True) | Q(impact_usd__gte=0),
                name="amendment_impact_usd_not_negative",
            ),
        ]
        triggers = [search_vector_trigger(AMENDMENT_SEARCH_COLUMNS)]

    def __str__(self) -> str:
        return f"Amendment of {self.postmortem_id} at {self.amended_utc:%Y-%m-%d %H:%M} UTC"

    def save(self, *args, **kwargs):
        """Insert a new amendment and its seal (incidents.seals) in one transaction;
        raises ImmutableRecordError for an existing one."""
        if not self._state.adding:
            raise ImmutableRecordError("Amendments are append-only; they cannot be changed.")
        from incidents import seals

        with transaction.atomic():
            super().save(*args, **kwargs)
            seals.seal_amendment(self)

    @property
    def states_impact(self) -> bool:
        """True when this amendment restates at least one impact figure."""
        return any(value is not None for value in
                   (self.impact_usd, self.impact_users, self.impact_duration_minutes))

    def delete(self, *args, **kwargs):
        """Always raises ImmutableRecordError: amendments are never deleted."""
        raise ImmutableRecordError("Amendments are append-only; they cannot be deleted.")
