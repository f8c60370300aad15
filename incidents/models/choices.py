"""Closed vocabularies and constants of the postmortem template: root causes, templates,
trigger conditions, long-form sections, the meeting's deadline and length (docs/rules.md)."""

from django.db import models

__all__ = [
    "DEFERRED_FIX_TEXT",
    "MEETING_DEADLINE_HOURS",
    "MEETING_MINUTES",
    "ROOT_CAUSE_DEFINITIONS",
    "SECTION_HINTS",
    "DeferredFixConflict",
    "RootCause",
    "Section",
    "Template",
    "Trigger",
    "fix_from_log",
    "fix_is_deferred",
    "fix_to_log",
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


class DeferredFixConflict(ValueError):
    """A log line's fix says both "deferred" (in fix_commit_sha) and something else."""


def fix_is_deferred(sha: str, description: str) -> bool:
    """True when a stored fix is the deferred one: the description reads exactly
    DEFERRED_FIX_TEXT (the one representation Scarlog stores; docs/rules.md#template-fix).
    A record imported before that rule, with the text in the SHA and no description, is
    read the same way (final records are sealed and are not rewritten)."""
    sha, description = (sha or "").strip(), (description or "").strip()
    return description == DEFERRED_FIX_TEXT or (sha == DEFERRED_FIX_TEXT and not description)


def fix_from_log(sha: str, description: str, ticket: str, pr_link: str) -> tuple[str, str, str]:
    """(fix_commit_sha, fix_description, fix_ticket_link) as stored, from a log line's values.

    The seed's format writes a deferred fix as fix_commit_sha = DEFERRED_FIX_TEXT, and its
    ticket in the line's only link key, pr_link (the seed has no fix_ticket_link key);
    Scarlog stores it as fix_description = DEFERRED_FIX_TEXT with no SHA and the ticket in
    fix_ticket_link. A line's own fix_ticket_link wins over pr_link. Any other fix is
    unchanged. Raises DeferredFixConflict when the SHA key is deferred and the description
    says something else (the line would mean two things). Rule: docs/rules.md#template-fix.
    """
    if sha.strip() != DEFERRED_FIX_TEXT:
        return sha, description, ticket
    if description.strip() not in ("", DEFERRED_FIX_TEXT):
        raise DeferredFixConflict(
            f'fix_commit_sha reads "{DEFERRED_FIX_TEXT}" but fix_description describes a '
            f'change; leave fix_description out or make it "{DEFERRED_FIX_TEXT}"')
    return "", DEFERRED_FIX_TEXT, ticket or pr_link


def fix_to_log(sha: str, description: str, ticket: str, pr_link: str) -> tuple[str, str, str]:
    """(fix_commit_sha, fix_description, fix_ticket_link) as the log writes them, given the
    pr_link the line carries: a deferred fix in the seed's format (fix_commit_sha =
    DEFERRED_FIX_TEXT, no fix_description, and no fix_ticket_link when the ticket is the
    line's pr_link); any other fix unchanged. The inverse of fix_from_log, so a seed line
    round-trips unchanged. Rule: docs/rules.md#template-fix."""
    if fix_is_deferred(sha, description) and sha.strip() in ("", DEFERRED_FIX_TEXT):
        return DEFERRED_FIX_TEXT, "", "" if ticket == pr_link else ticket
    return sha, description, ticket


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
