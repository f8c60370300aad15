"""The postmortem record: the seven-field template and its append-only amendments.

Source rule: the seven-field template and the append-only log of
../shared/seeds/001_60b217100959449d.txt. A postmortem is a draft until finalized;
a final postmortem and its timeline entries, contributing factors and references never
change again. PostgreSQL refuses UPDATE, DELETE and TRUNCATE on them (triggers below,
installed by migrations); the ORM raises ImmutableRecordError first so callers get a
clear domain error. Amendment rows are append-only from the start.
"""
import uuid
from datetime import timedelta

import pgtrigger
from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone

from incidents.failure_modes import FAILURE_MODE_CHOICES


class ImmutableRecordError(Exception):
    """Raised when code tries to change or delete a finalized postmortem, its rows, or an amendment.

    Source rule: "Prior postmortems are never silently rewritten ... Amendments append;
    they never overwrite." (001_60b217100959449d.txt)
    """


class RootCause(models.TextChoices):
    """The closed root-cause vocabulary of the template: exactly one label per postmortem."""

    COST = "cost", "Cost"
    CORRECTNESS = "correctness", "Correctness"
    COMPLIANCE = "compliance", "Compliance"
    SECURITY = "security", "Security"
    OPERATIONAL = "operational", "Operational"


ROOT_CAUSE_DEFINITIONS = {
    RootCause.COST: "Money or tokens spent beyond plan: budget overruns, runaway loops, "
    "mispriced usage.",
    RootCause.CORRECTNESS: "The system produced a wrong output or decision: bad data, wrong "
    "logic, fabricated numbers, silent fallbacks.",
    RootCause.COMPLIANCE: "A rule, limit or obligation (risk limit, regulation, policy) was "
    "breached or bypassed.",
    RootCause.SECURITY: "Prompt injection, schema violation, leaked secret or unauthorized "
    "access, whether or not a trade was affected.",
    RootCause.OPERATIONAL: "Infrastructure, deployment, scheduling or a provider failed: the "
    "system did not run as intended.",
}

DEFERRED_FIX_TEXT = "no change; documented and deferred"


class Template(models.TextChoices):
    """Which template a postmortem follows; chosen when the draft is created.

    Source rule: 000_147101d763a5563e.txt ("The Post-Mortem Feedback Loop") uses a longer
    template beside the seven fields: Impact, What went well, What went wrong, Lessons
    learned. Under SEVEN_FIELD those sections are optional; under LONG_FORM finalize
    refuses an empty one.
    """

    SEVEN_FIELD = "seven-field", "Seven-field"
    LONG_FORM = "long-form", "Long-form"


class Trigger(models.TextChoices):
    """Why a postmortem is written: the six trigger conditions, or "other" with a reason.

    Source rule: "What counts as a postmortem-worthy event", 001_60b217100959449d.txt.
    """

    DRAWDOWN = "drawdown", "Daily drawdown threshold breached"
    THESIS_INVALIDATION = "thesis_invalidation", "Thesis invalidation without position exit"
    UNAPPROVED_EXECUTION = "unapproved_execution", "Execution the operator would not have approved"
    TOKEN_OVERRUN = "token_overrun", "Token budget overrun of 5x or more"
    INJECTION = "injection", "Prompt injection or schema violation"
    PROVIDER_OUTAGE = "provider_outage", "Provider outage or rate-limit cascade"
    OTHER = "other", "Other (reason given)"


# The meeting is held within 72 hours of the event and lasts thirty minutes
# (001_60b217100959449d.txt).
MEETING_DEADLINE_HOURS = 72
MEETING_MINUTES = 30


class Section(models.TextChoices):
    """The long-form sections an amendment can add to ("" is a general note)."""

    IMPACT = "impact", "Impact"
    WHAT_WENT_WELL = "what_went_well", "What went well"
    WHAT_WENT_WRONG = "what_went_wrong", "What went wrong"
    LESSONS_LEARNED = "lessons_learned", "Lessons learned"


SECTION_HINTS = {
    Section.IMPACT: "Financial impact in USD, users affected and duration in minutes, "
    "then a sentence on what the figures mean.",
    Section.WHAT_WENT_WELL: "What worked as designed during the failure. Often the hardest "
    "to fill; it prevents over-correction (in the KXIN loss the prescreening model and the "
    "stop-loss system both worked).",
    Section.WHAT_WENT_WRONG: "What failed or made the failure worse, as system conditions.",
    Section.LESSONS_LEARNED: "What the team now knows that it did not before.",
}

FINAL_STATUS_SQL = "'final'"

# Recompute ActionItem.gate_domain of the items of one postmortem: their BEFORE trigger
# (action_item_gate_domain) sets the value on every UPDATE, so "touching" them is enough.
_TOUCH_ITEMS_SQL = ("UPDATE incidents_actionitem SET gate_domain = NULL "
                    "WHERE postmortem_id = {row}.postmortem_id;")


def _refuse_if_parent_final_func(child_table: str) -> str:
    """PL/pgSQL body for child rows: refuse any write while the parent postmortem is final.

    FOR SHARE on the parent row makes a concurrent finalize wait for this write (and
    vice versa), so no row slips into a postmortem as it becomes final.
    """
    check = (
        "PERFORM 1 FROM incidents_postmortem WHERE id = {row}.postmortem_id "
        f"AND status = {FINAL_STATUS_SQL} FOR SHARE; "
        "IF FOUND THEN RAISE EXCEPTION "
        f"'{child_table} row belongs to final postmortem %; add an amendment instead', "
        "{row}.postmortem_id USING ERRCODE = 'restrict_violation'; END IF;"
    )
    return (
        "IF TG_OP IN ('UPDATE', 'DELETE') THEN " + check.format(row="OLD") + " END IF; "
        "IF TG_OP IN ('INSERT', 'UPDATE') THEN " + check.format(row="NEW") + " END IF; "
        "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW;"
    )


def _refuse_truncate_if_any_final_func(table: str) -> str:
    """PL/pgSQL body for a statement-level TRUNCATE trigger: refuse while any postmortem is final."""
    return (
        f"IF EXISTS (SELECT 1 FROM incidents_postmortem WHERE status = {FINAL_STATUS_SQL}) "
        f"THEN RAISE EXCEPTION 'cannot truncate {table}: it holds final postmortem records' "
        "USING ERRCODE = 'restrict_violation'; END IF; RETURN NULL;"
    )


def child_row_triggers(table: str) -> list[pgtrigger.Trigger]:
    """The two triggers every child table of a postmortem carries (row writes, TRUNCATE)."""
    return [
        pgtrigger.Trigger(
            name="final_parent_protects_rows",
            when=pgtrigger.Before,
            operation=pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete,
            func=_refuse_if_parent_final_func(table),
        ),
        pgtrigger.Trigger(
            name="final_parent_protects_truncate",
            level=pgtrigger.Statement,
            when=pgtrigger.Before,
            operation=pgtrigger.Truncate,
            func=_refuse_truncate_if_any_final_func(table),
        ),
    ]


def append_only_trigger(name: str, message: str) -> pgtrigger.Trigger:
    """A trigger refusing UPDATE and DELETE on every row: `message` is the exception text,
    with % standing for the row's id (raised as restrict_violation)."""
    return pgtrigger.Trigger(
        name=name,
        when=pgtrigger.Before,
        operation=pgtrigger.Update | pgtrigger.Delete,
        func=f"RAISE EXCEPTION '{message}', OLD.id USING ERRCODE = 'restrict_violation';",
    )


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
    trigger = models.CharField(max_length=24, choices=Trigger.choices, blank=True)
    trigger_reason = models.TextField(
        blank=True, help_text='Why a postmortem is written when the trigger is "other".'
    )
    summary = models.TextField(blank=True)
    root_cause = models.CharField(max_length=20, choices=RootCause.choices, blank=True)
    fix_commit_sha = models.CharField("fix commit SHA", max_length=64, blank=True)
    fix_description = models.TextField("change described", blank=True)
    fix_ticket_link = models.CharField("ticket link", max_length=500, blank=True)
    prevention = models.TextField(blank=True)
    impact_usd = models.DecimalField(
        "financial impact (USD)", max_digits=14, decimal_places=2, null=True, blank=True
    )
    impact_users = models.PositiveIntegerField("users affected", null=True, blank=True)
    impact_duration_minutes = models.PositiveIntegerField(
        "impact duration (minutes)", null=True, blank=True
    )
    impact_description = models.TextField("impact described", blank=True)
    what_went_well = models.TextField("what went well", blank=True)
    what_went_wrong = models.TextField("what went wrong", blank=True)
    lessons_learned = models.TextField("lessons learned", blank=True)
    owner_sentiment = models.TextField(
        "owner sentiment", blank=True,
        help_text="A real quote from whoever paid the cost, not softened "
                  "(002_c5de36bc64e2efd7.txt).",
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

    objects = PostmortemQuerySet.as_manager()

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
                condition=Q(trigger__in=["", *Trigger.values]), name="postmortem_trigger_valid"
            ),
            models.CheckConstraint(
                condition=~Q(trigger="other") | ~Q(trigger_reason=""),
                name="postmortem_other_trigger_has_reason",
            ),
        ]
        triggers = [
            pgtrigger.Trigger(
                name="final_postmortem_is_immutable",
                when=pgtrigger.Before,
                operation=pgtrigger.Update | pgtrigger.Delete,
                condition=pgtrigger.Q(old__status="final"),
                func=(
                    "RAISE EXCEPTION 'postmortem % is final and cannot be changed; "
                    "add an amendment instead', OLD.id USING ERRCODE = 'restrict_violation';"
                ),
            ),
            pgtrigger.Trigger(
                name="final_postmortem_no_truncate",
                level=pgtrigger.Statement,
                when=pgtrigger.Before,
                operation=pgtrigger.Truncate,
                func=_refuse_truncate_if_any_final_func("incidents_postmortem"),
            ),
            # Finalizing makes the postmortem's open action items block its domain's gate.
            pgtrigger.Trigger(
                name="status_sets_items_gate_domain",
                when=pgtrigger.After,
                operation=pgtrigger.Update,
                condition=pgtrigger.Condition("OLD.status IS DISTINCT FROM NEW.status"),
                func="UPDATE incidents_actionitem SET gate_domain = NULL "
                     "WHERE postmortem_id = NEW.id; RETURN NULL;",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        """The summary's first eight words (the template has no title field)."""
        words = self.summary.split()
        if not words:
            return f"Untitled postmortem {str(self.id)[:8]}"
        return " ".join(words[:8]) + ("…" if len(words) > 8 else "")

    @property
    def is_final(self) -> bool:
        return self.status == self.Status.FINAL

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

    def _stored_row_is_final(self) -> bool:
        return (
            not self._state.adding
            and Postmortem.objects.filter(pk=self.pk, status=self.Status.FINAL).exists()
        )

    def save(self, *args, **kwargs):
        """Save a draft; raises ImmutableRecordError if the stored row is already final."""
        if self._stored_row_is_final():
            raise ImmutableRecordError(
                f"Postmortem {self.pk} is final and cannot be changed; add an amendment instead."
            )
        super().save(*args, **kwargs)

    def save_locked_draft(self, update_fields: list[str]) -> None:
        """Write `update_fields` of a draft whose row this transaction has locked (SELECT
        ... FOR UPDATE) and found to be a draft (incidents.revisions.save_with_revision).

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

    def _parent_is_final(self) -> bool:
        return Postmortem.objects.filter(
            pk=self.postmortem_id, status=Postmortem.Status.FINAL
        ).exists()

    def save(self, *args, **kwargs):
        """Save the row; raises ImmutableRecordError when its postmortem is final."""
        if self._parent_is_final():
            raise ImmutableRecordError(
                f"Postmortem {self.postmortem_id} is final; its rows cannot change."
            )
        super().save(*args, **kwargs)

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
    event = models.TextField(blank=True)
    trace_id = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = [F("utc").asc(nulls_last=True), "position", "id"]
        default_related_name = "timeline_entries"
        verbose_name_plural = "timeline entries"
        triggers = child_row_triggers("incidents_timelineentry")

    def __str__(self) -> str:
        return f"{self.utc:%Y-%m-%d %H:%M:%S} UTC {self.event}" if self.utc else self.event


class Substitution(models.TextChoices):
    """The substitution test's verdict on a contributing factor (002_c5de36bc64e2efd7.txt).

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

    text = models.TextField(blank=True)
    substitution = models.CharField(
        "substitution test", max_length=10, choices=Substitution.choices, blank=True
    )
    blameless_reviewed_text = models.TextField(blank=True)
    blameless_reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )
    blameless_reviewed_utc = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]
        default_related_name = "contributing_factors"
        constraints = [
            models.CheckConstraint(
                condition=Q(substitution__in=["", "structural", "personal"]),
                name="factor_substitution_valid",
            ),
        ]
        triggers = child_row_triggers("incidents_contributingfactor")

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
        triggers = child_row_triggers("incidents_reference")

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

    Source rule: `amend()` of 001_60b217100959449d.txt writes {parent_id, amended_utc, note}.
    `section` (a Section, or "" for a general note) says which long-form section it adds
    to (issue 8, 000_147101d763a5563e.txt); an Impact amendment may restate the figures
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
    note = models.TextField()
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

    objects = AmendmentQuerySet.as_manager()

    @property
    def states_impact(self) -> bool:
        """True when this amendment restates at least one impact figure."""
        return any(value is not None for value in
                   (self.impact_usd, self.impact_users, self.impact_duration_minutes))

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
        triggers = [
            append_only_trigger("amendments_append_only",
                                "amendment % is append-only and cannot be changed"),
            pgtrigger.Trigger(
                name="amendments_only_on_final",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert,
                func=(
                    "PERFORM 1 FROM incidents_postmortem WHERE id = NEW.postmortem_id "
                    f"AND status = {FINAL_STATUS_SQL} FOR SHARE; "
                    "IF NOT FOUND THEN RAISE EXCEPTION 'postmortem % is not final; edit the "
                    "draft instead of amending it', NEW.postmortem_id "
                    "USING ERRCODE = 'restrict_violation'; END IF; RETURN NEW;"
                ),
            ),
            pgtrigger.Trigger(
                name="amendments_no_truncate",
                level=pgtrigger.Statement,
                when=pgtrigger.Before,
                operation=pgtrigger.Truncate,
                func=(
                    "RAISE EXCEPTION 'amendments are append-only; cannot truncate "
                    "incidents_amendment' USING ERRCODE = 'restrict_violation';"
                ),
            ),
        ]

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

    def delete(self, *args, **kwargs):
        """Always raises ImmutableRecordError: amendments are never deleted."""
        raise ImmutableRecordError("Amendments are append-only; they cannot be deleted.")


class ScanAnswer(PostmortemChild):
    """One answer of the twenty-failure-mode scan: yes, no or not applicable, with a note.

    `mode` is a slug of incidents.failure_modes.FAILURE_MODES; one answer per mode and
    postmortem. Finalize requires all twenty. Answers freeze with the postmortem (the same
    PostgreSQL triggers as its other rows). Source rule: 001_60b217100959449d.txt.
    """

    class Answer(models.TextChoices):
        YES = "yes", "Yes"
        NO = "no", "No"
        NOT_APPLICABLE = "na", "Not applicable"

    mode = models.CharField(max_length=40, choices=FAILURE_MODE_CHOICES)
    answer = models.CharField(max_length=3, choices=Answer.choices)
    note = models.CharField(max_length=300, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )
    answered_utc = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]
        default_related_name = "scan_answers"
        constraints = [
            models.UniqueConstraint(fields=["postmortem", "mode"], name="one_answer_per_mode"),
            models.CheckConstraint(condition=Q(mode__in=[slug for slug, _ in
                                                         FAILURE_MODE_CHOICES]),
                                   name="scan_mode_in_list"),
            models.CheckConstraint(condition=Q(answer__in=["yes", "no", "na"]),
                                   name="scan_answer_valid"),
        ]
        triggers = child_row_triggers("incidents_scananswer")

    def __str__(self) -> str:
        return f"{self.mode}: {self.answer}"


class FieldRevision(models.Model):
    """One autosave of a draft's input, kept for ever (append-only): who, when, what.

    `field` is the template field the input belongs to ("summary", "fix",
    "contributing_factors", …); `key` names the input ("fix_commit_sha") or the row
    ("factors:12"); `version` counts the saves of that key from 1; `values` holds what
    was saved ({"summary": "…"} or a row's inputs). `editor` identifies the browser page
    that saved it, so a person's own queued saves are never a conflict. PostgreSQL refuses
    UPDATE and DELETE (discarding a draft passes with pgtrigger.ignore) and any INSERT
    once the postmortem is final.
    """

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE,
                                   related_name="revisions")
    field = models.CharField(max_length=30)
    key = models.CharField(max_length=40)
    version = models.PositiveIntegerField()
    values = models.JSONField()
    editor = models.CharField(max_length=40, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                               blank=True, related_name="+")
    saved_utc = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["postmortem", "key", "version"]
        constraints = [
            models.UniqueConstraint(fields=["postmortem", "key", "version"],
                                    name="one_revision_per_version"),
        ]
        indexes = [models.Index(fields=["postmortem", "field"], name="revision_by_field")]
        triggers = [
            append_only_trigger("revisions_append_only", "field revision % is append-only"),
            *child_row_triggers("incidents_fieldrevision"),
        ]

    def __str__(self) -> str:
        return f"{self.key} v{self.version} of {self.postmortem_id}"


class PendingMark(models.Model):
    """A draft field marked "incomplete, pending trace review" (reconvene within a week).

    One mark per (postmortem, field); clearing the mark deletes it. Finalize refuses
    while any mark remains; ending the meeting with marks plans the reconvene reminder.
    Source rule: "How to run the meeting", 001_60b217100959449d.txt.
    """

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE,
                                   related_name="pending_marks")
    field = models.CharField(max_length=30)
    marked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  null=True, blank=True, related_name="+")
    marked_utc = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["marked_utc", "id"]
        constraints = [
            models.UniqueConstraint(fields=["postmortem", "field"], name="one_mark_per_field"),
        ]
        triggers = child_row_triggers("incidents_pendingmark")

    def __str__(self) -> str:
        return f"{self.field} of {self.postmortem_id} pending trace review"


IMMUTABILITY_TRIGGERS = [
    "incidents.Postmortem:final_postmortem_is_immutable",
    "incidents.Postmortem:final_postmortem_no_truncate",
    "incidents.TimelineEntry:final_parent_protects_rows",
    "incidents.TimelineEntry:final_parent_protects_truncate",
    "incidents.ContributingFactor:final_parent_protects_rows",
    "incidents.ContributingFactor:final_parent_protects_truncate",
    "incidents.Reference:final_parent_protects_rows",
    "incidents.Reference:final_parent_protects_truncate",
    "incidents.ScanAnswer:final_parent_protects_rows",
    "incidents.ScanAnswer:final_parent_protects_truncate",
    "incidents.FieldRevision:revisions_append_only",
    "incidents.FieldRevision:final_parent_protects_rows",
    "incidents.FieldRevision:final_parent_protects_truncate",
    "incidents.PendingMark:final_parent_protects_rows",
    "incidents.PendingMark:final_parent_protects_truncate",
    "incidents.Amendment:amendments_append_only",
    "incidents.Amendment:amendments_only_on_final",
    "incidents.Amendment:amendments_no_truncate",
    "incidents.ActionItemEvent:action_item_history_append_only",
    "incidents.GateOverride:gate_override_append_only",
    "incidents.LogSeal:seals_append_only",
    "incidents.LogSeal:seals_no_truncate",
]


# --- Classification, action items, the planning gate --------------------------------------
# Source rule: 002_c5de36bc64e2efd7.txt (INC-030 → INC-031: action items that were scheduled,
# not delivered; "the planning gate didn't enforce that they shipped before the next run").
# These rows live outside the immutable postmortem content, so final and imported
# postmortems can be classified and their action items progressed.

DOMAIN_HELP = "A short slug naming the area of work, such as cloud-training."


class Classification(models.Model):
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

    class Meta:
        indexes = [models.Index(fields=["domain"], name="classification_domain")]
        triggers = [
            # A domain set, changed or removed moves the postmortem's action items with it.
            pgtrigger.Trigger(
                name="domain_sets_items_gate_domain",
                when=pgtrigger.After,
                operation=pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete,
                func=(
                    "IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND (OLD.domain IS DISTINCT FROM "
                    "NEW.domain OR OLD.postmortem_id IS DISTINCT FROM NEW.postmortem_id)) THEN "
                    + _TOUCH_ITEMS_SQL.format(row="OLD") + " END IF; "
                    "IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND (OLD.domain IS DISTINCT FROM "
                    "NEW.domain OR OLD.postmortem_id IS DISTINCT FROM NEW.postmortem_id)) THEN "
                    + _TOUCH_ITEMS_SQL.format(row="NEW") + " END IF; RETURN NULL;"
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.postmortem_id} in {self.domain}"


class ActionItem(models.Model):
    """An action item of a postmortem: typed, owned, due, and open until it ships.

    kind is one of the closed list rule, hook, test, criterion, memory (an item that fits
    none is too vague to ship). Shipped requires `evidence` of the kind's shape
    (incidents.evidence); dropped requires `drop_reason`. Every change is recorded in
    ActionItemEvent. Source rule: 002_c5de36bc64e2efd7.txt.
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
    description = models.TextField()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    due_date = models.DateField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    drop_reason = models.TextField(blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    verification = models.JSONField(
        null=True, blank=True,
        help_text="The check against a SCARLOG_GIT_REPOS clone when the evidence named one.",
    )
    created_utc = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )
    updated_utc = models.DateTimeField(auto_now=True)
    # The planning gate's domain: the postmortem's domain once the postmortem is final,
    # else NULL. PostgreSQL keeps it (the triggers named *gate_domain); it is read by
    # queries only (incidents.gate), never set by the application.
    gate_domain = models.CharField(max_length=60, null=True, blank=True, editable=False)

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
        triggers = [
            pgtrigger.Trigger(
                name="action_item_gate_domain",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert | pgtrigger.Update,
                func=(
                    "NEW.gate_domain := (SELECT c.domain FROM incidents_postmortem p "
                    "JOIN incidents_classification c ON c.postmortem_id = p.id "
                    f"WHERE p.id = NEW.postmortem_id AND p.status = {FINAL_STATUS_SQL}); "
                    "RETURN NEW;"
                ),
            ),
        ]

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
        triggers = [
            append_only_trigger("action_item_history_append_only",
                                "action item history is append-only (event %)"),
        ]

    def __str__(self) -> str:
        return f"{self.at_utc:%Y-%m-%d %H:%M} UTC: {self.change}"


class GateOverride(models.Model):
    """An explicit, recorded override letting work through a closed planning gate.

    Who, why and until when (UTC). It never hides the blocking items; it is append-only.
    """

    domain = models.SlugField(max_length=60)
    reason = models.TextField()
    until_utc = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    created_utc = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_utc"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="override_has_reason"),
        ]
        triggers = [
            append_only_trigger("gate_override_append_only",
                                "gate override % is a record and cannot be changed"),
        ]

    def __str__(self) -> str:
        return f"Override of {self.domain} until {self.until_utc:%Y-%m-%d %H:%M} UTC"


class ApiToken(models.Model):
    """A token for machine clients (CI calling the planning gate): only its SHA-256 is stored.

    The token is shown once when created (incidents.api_tokens.create_token). `scopes` lists
    what it may do ("gate:read"); revoked_utc ends it.
    """

    name = models.CharField(max_length=100)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    prefix = models.CharField(max_length=12, help_text="The first characters, to recognise it.")
    key_sha256 = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_utc = models.DateTimeField(default=timezone.now)
    revoked_utc = models.DateTimeField(null=True, blank=True)
    last_used_utc = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


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


class Meeting(models.Model):
    """The postmortem meeting: 30 minutes, within 72 hours of the event, three people.

    scheduled_utc: planned start (UTC); started_utc / ended_utc: when the facilitator
    started and ended it. A meeting counts as held on time when started_utc is at or
    before the postmortem's meeting deadline. Source rule: "How to run the meeting",
    001_60b217100959449d.txt.
    """

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="meetings")
    scheduled_utc = models.DateTimeField("scheduled start (UTC)")
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    started_utc = models.DateTimeField(null=True, blank=True)
    ended_utc = models.DateTimeField(null=True, blank=True)
    created_utc = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["scheduled_utc", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_utc__isnull=True) | Q(started_utc__isnull=False),
                name="meeting_ends_after_it_starts",
            ),
        ]

    def __str__(self) -> str:
        return f"Meeting for {self.postmortem_id} at {self.scheduled_utc:%Y-%m-%d %H:%M} UTC"

    @property
    def timer_ends_utc(self):
        """started_utc + 30 minutes (UTC): when the meeting's timer runs out; None before."""
        if self.started_utc is None:
            return None
        return self.started_utc + timedelta(minutes=MEETING_MINUTES)

    @property
    def in_progress(self) -> bool:
        """Started and not yet ended: its 30-minute timer is running (or over time)."""
        return self.started_utc is not None and self.ended_utc is None


class MeetingAttendee(models.Model):
    """One attendee of a meeting, by role (operator, code owner, reviewer not involved)."""

    class Role(models.TextChoices):
        OPERATOR = "operator", "System operator"
        CODE_OWNER = "code_owner", "Code owner"
        REVIEWER = "reviewer", "Reviewer (not involved)"
        OTHER = "other", "Other"

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendees")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=12, choices=Role.choices)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "user"], name="attendee_once_per_meeting"),
            models.CheckConstraint(
                condition=Q(role__in=["operator", "code_owner", "reviewer", "other"]),
                name="attendee_role_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} as {self.role}"


class Reminder(models.Model):
    """A reminder email due at a time, kept as a row so nothing is lost between sweeps.

    Kinds (issue 3): schedule the meeting (24 h after the event if none is scheduled),
    meeting starts in one hour, deadline missed (72 h without a held meeting), reconvene
    (an incomplete postmortem, within 7 days). One row per (postmortem, kind). The sweep
    (incidents.reminders.sweep) claims due pending rows with SELECT … FOR UPDATE SKIP
    LOCKED, sends, and marks each sent, skipped (skip_reason says why) or, after
    MAX_ATTEMPTS failed sends, failed (last_error says why). Times are UTC.
    """

    class Kind(models.TextChoices):
        SCHEDULE_MEETING = "schedule_meeting", "Schedule the meeting"
        MEETING_STARTS = "meeting_starts", "Meeting starts in one hour"
        DEADLINE_MISSED = "deadline_missed", "Meeting deadline missed"
        RECONVENE = "reconvene", "Reconvene within a week"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    planned_utc = models.DateTimeField(help_text="The due time as planned (retries move due_utc).")
    due_utc = models.DateTimeField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    skip_reason = models.TextField(blank=True)
    recipients = models.JSONField(default=list, blank=True)
    sent_utc = models.DateTimeField(null=True, blank=True)
    created_utc = models.DateTimeField(default=timezone.now)
    updated_utc = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_utc", "id"]
        indexes = [
            models.Index(fields=["due_utc"], condition=Q(state="pending"),
                         name="reminder_pending_due"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["postmortem", "kind"], name="one_reminder_per_kind"),
            models.CheckConstraint(
                condition=Q(kind__in=["schedule_meeting", "meeting_starts", "deadline_missed",
                                      "reconvene"]),
                name="reminder_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["pending", "sent", "skipped", "failed"]),
                name="reminder_state_valid",
            ),
            models.CheckConstraint(
                condition=~Q(state="skipped") | ~Q(skip_reason=""),
                name="skipped_reminder_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(state="failed") | ~Q(last_error=""),
                name="failed_reminder_has_error",
            ),
            models.CheckConstraint(
                condition=~Q(state="sent") | Q(sent_utc__isnull=False),
                name="sent_reminder_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.postmortem_id} ({self.state})"


class LogSeal(models.Model):
    """One link of the postmortem log's tamper-evidence chain (incidents.seals).

    Written when a postmortem is finalized (amendment null) and when an amendment is
    stored: `content_sha256` is the SHA-256 (hex) of the record's canonical content,
    `chain_sha256` = SHA-256 of the previous seal's chain_sha256 and this seal's kind,
    object id and content hash, so changing any sealed record or seal breaks the chain.
    `manage.py verify_log` recomputes both. Append-only in PostgreSQL.
    """

    class Kind(models.TextChoices):
        POSTMORTEM = "postmortem", "Finalized postmortem"
        AMENDMENT = "amendment", "Amendment"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    postmortem = models.ForeignKey(Postmortem, on_delete=models.PROTECT, related_name="+")
    amendment = models.OneToOneField(
        Amendment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    content_sha256 = models.CharField(max_length=64)
    chain_sha256 = models.CharField(max_length=64, unique=True)
    sealed_utc = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["postmortem"], condition=Q(kind="postmortem"),
                                    name="one_finalization_seal_per_postmortem"),
            models.CheckConstraint(
                condition=(Q(kind="postmortem", amendment__isnull=True)
                           | Q(kind="amendment", amendment__isnull=False)),
                name="seal_kind_matches_amendment",
            ),
        ]
        triggers = [
            append_only_trigger("seals_append_only", "seal % is append-only and cannot be changed"),
            pgtrigger.Trigger(
                name="seals_no_truncate",
                level=pgtrigger.Statement,
                when=pgtrigger.Before,
                operation=pgtrigger.Truncate,
                func=("RAISE EXCEPTION 'seals are append-only; cannot truncate "
                      "incidents_logseal' USING ERRCODE = 'restrict_violation';"),
            ),
        ]

    def __str__(self) -> str:
        return f"Seal {self.id} ({self.kind}) {self.chain_sha256[:12]}"
