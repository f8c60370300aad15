"""Vocabularies that admins keep as data: trigger conditions, severities, and the sets of
failure-mode scan questions (docs/rules.md#trigger-conditions, docs/rules.md#severity,
docs/rules.md#scan-questions).

The seed's lists are the defaults (migration 0018 loads them; incidents.failure_modes and
incidents.vocabulary hold the same lists for tests and `manage.py demo`). Rows are never
deleted while a record names them (PROTECT); an admin retires one instead (`retired_utc`),
which takes it off the forms while old records keep it and its wording.
"""
from django.db import models
from django.db.models import Q
from django.utils import timezone

__all__ = [
    "QuestionSet",
    "ScanQuestion",
    "Severity",
    "TriggerCondition",
]

RETIRED_HELP = ("Set to retire it: new postmortems no longer offer it; records that used "
                "it keep it. Clear it to bring it back.")


class RetirableQuerySet(models.QuerySet):
    """Rows of a vocabulary; active() are those not retired."""

    def active(self):
        return self.filter(retired_utc__isnull=True)


class TriggerCondition(models.Model):
    """A condition that makes an event deserve a postmortem (slug stored on the record).

    `requires_reason`: the reporter must say why (the seed's "other"). `slug` is the
    value exports and the events API carry; `label` what the forms show. Rule:
    docs/rules.md#trigger-conditions.
    """

    slug = models.SlugField("key", max_length=24, unique=True,
                            help_text="Stored on each postmortem and in exports; never "
                                      "reuse a key for a different meaning.")
    label = models.CharField(max_length=200, help_text="What the forms and pages show.")
    position = models.PositiveIntegerField("order", default=0)
    requires_reason = models.BooleanField(
        "needs a reason", default=False,
        help_text="The reporter must write why a postmortem is needed (like “Other”).")
    retired_utc = models.DateTimeField("retired (UTC)", null=True, blank=True,
                                       help_text=RETIRED_HELP)

    objects = RetirableQuerySet.as_manager()

    class Meta:
        ordering = ["position", "slug"]
        verbose_name = "trigger condition"

    def __str__(self) -> str:
        return self.label


class Severity(models.Model):
    """A severity level (SEV1 most severe … SEV5 by default); `code` is stored on records.

    Rule: docs/rules.md#severity.
    """

    code = models.SlugField(max_length=20, unique=True,
                            help_text="Stored on each postmortem and in exports, e.g. SEV1.")
    label = models.CharField(max_length=100, help_text="What the forms and pages show.")
    description = models.TextField(blank=True, help_text="When to choose this level.")
    rank = models.PositiveIntegerField(
        default=0, help_text="1 is the most severe; lists sort by it.")
    retired_utc = models.DateTimeField("retired (UTC)", null=True, blank=True,
                                       help_text=RETIRED_HELP)

    objects = RetirableQuerySet.as_manager()

    class Meta:
        ordering = ["rank", "code"]
        verbose_name_plural = "severities"

    def __str__(self) -> str:
        return self.label


class QuestionSet(models.Model):
    """A set of failure-mode scan questions that a team's postmortems answer.

    The default set is the seed's twenty questions about an LLM-driven trading system;
    a database or CDN team gets its own set, chosen when a postmortem is started, so it
    is not asked twenty questions that do not apply. Exactly one set is the default.
    Rule: docs/rules.md#scan-sets.
    """

    slug = models.SlugField("key", max_length=60, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Which teams or systems it is for.")
    is_default = models.BooleanField(
        "default set", default=False,
        help_text="New postmortems use it unless another set is chosen. Exactly one.")
    retired_utc = models.DateTimeField("retired (UTC)", null=True, blank=True,
                                       help_text=RETIRED_HELP)
    created_utc = models.DateTimeField(default=timezone.now)

    objects = RetirableQuerySet.as_manager()

    class Meta:
        ordering = ["-is_default", "name"]
        verbose_name = "scan question set"
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True),
                                    name="one_default_question_set"),
            models.CheckConstraint(condition=Q(is_default=False) | Q(retired_utc__isnull=True),
                                   name="default_question_set_not_retired"),
        ]

    def __str__(self) -> str:
        return self.name


class ScanQuestion(models.Model):
    """One failure-mode scan question of a set: slug, number, name, wording, factor.

    `failure_answer` is the answer that reveals the failure mode ("yes" for most; "no"
    for a question phrased as a health check). `factor` is the contributing factor a
    revealing answer offers, phrased as a missing control. Rewording a question changes
    what new answers see; each answer keeps the wording it was answered against
    (ScanAnswer.question_text). Rule: docs/rules.md#scan-questions.
    """

    class FailureAnswer(models.TextChoices):
        YES = "yes", "Yes reveals the failure mode"
        NO = "no", "No reveals the failure mode (a health check)"

    question_set = models.ForeignKey(QuestionSet, on_delete=models.PROTECT,
                                     related_name="questions", verbose_name="set")
    slug = models.SlugField("key", max_length=40,
                            help_text="Stable key in exports; unique within the set.")
    number = models.PositiveIntegerField(help_text="Its place in the scan (1 first).")
    name = models.CharField(max_length=100, help_text="Short name of the failure mode.")
    question = models.TextField("question asked")
    factor = models.TextField(
        "suggested contributing factor",
        help_text="Offered when the answer reveals the failure mode; name the missing "
                  "control, not a person.")
    failure_answer = models.CharField("revealing answer", max_length=3,
                                      choices=FailureAnswer.choices, default=FailureAnswer.YES)
    retired_utc = models.DateTimeField("retired (UTC)", null=True, blank=True,
                                       help_text=RETIRED_HELP)

    objects = RetirableQuerySet.as_manager()

    class Meta:
        ordering = ["question_set", "number", "id"]
        verbose_name = "scan question"
        constraints = [
            models.UniqueConstraint(fields=["question_set", "slug"],
                                    name="one_question_per_slug_in_set"),
            models.CheckConstraint(condition=Q(failure_answer__in=["yes", "no"]),
                                   name="scan_question_failure_answer_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"
