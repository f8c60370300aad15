"""Closed vocabularies and constants of the postmortem template: root causes, templates,
trigger conditions, long-form sections, the meeting's deadline and length (docs/rules.md)."""

from django.db import models

__all__ = [
    "DEFERRED_FIX_TEXT",
    "MEETING_DEADLINE_HOURS",
    "MEETING_MINUTES",
    "ROOT_CAUSE_DEFINITIONS",
    "SECTION_HINTS",
    "RootCause",
    "Section",
    "Template",
    "Trigger",
]


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

    Rule: docs/rules.md#longform-template. The long-form template adds four sections
    beside the seven fields: Impact, What went well, What went wrong, Lessons learned.
    Under SEVEN_FIELD those sections are optional; under LONG_FORM finalize refuses an
    empty one.
    """

    SEVEN_FIELD = "seven-field", "Seven-field"
    LONG_FORM = "long-form", "Long-form"


class Trigger(models.TextChoices):
    """Why a postmortem is written: the six trigger conditions, or "other" with a reason.

    Rule: docs/rules.md#trigger-conditions.
    """

    DRAWDOWN = "drawdown", "Daily drawdown threshold breached"
    THESIS_INVALIDATION = "thesis_invalidation", "Thesis invalidation without position exit"
    UNAPPROVED_EXECUTION = "unapproved_execution", "Execution the operator would not have approved"
    TOKEN_OVERRUN = "token_overrun", "Token budget overrun of 5x or more"
    INJECTION = "injection", "Prompt injection or schema violation"
    PROVIDER_OUTAGE = "provider_outage", "Provider outage or rate-limit cascade"
    OTHER = "other", "Other (reason given)"


# The meeting is held within 72 hours of the event and lasts thirty minutes
# (docs/rules.md#meeting-deadline, docs/rules.md#meeting-length).
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
