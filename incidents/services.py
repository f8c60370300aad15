"""Domain operations on postmortems, shared by views, management commands and tasks.

Each function runs in one transaction and raises a domain error instead of half-writing:
ImmutableRecordError (the postmortem is final), TemplateIncompleteError (finalize with
gaps), ValueError subclasses for bad input. Rule: docs/rules.md#final-checks.
"""
import re
from dataclasses import dataclass
from datetime import UTC, timedelta

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from core.record_types import shown
from incidents import live_feed, reminders, seals, template_rules, vocabulary, webhook_events
from incidents.models import (
    Amendment,
    ContributingFactor,
    DomainChange,
    ImmutableRecordError,
    Postmortem,
    PostmortemDomain,
    QuestionSet,
    Reference,
    Section,
    Template,
    TimelineEntry,
)


@dataclass(frozen=True)
class RowKind:
    """A kind of row a draft holds several of.

    field_key: its template field (and page section) in template_rules.FIELDS; model;
    noun for messages; maximum: the template's upper bound; ordered_by_time: an edit can
    move the row (timeline rows are shown in time order, the others in the order added).
    """

    field_key: str
    model: type
    noun: str
    maximum: int
    ordered_by_time: bool = False


ROW_KINDS = {
    "timeline": RowKind("timeline", TimelineEntry, "timeline row",
                        template_rules.TIMELINE_ROWS[1], ordered_by_time=True),
    "factors": RowKind(
        "contributing_factors", ContributingFactor, "contributing factor",
        template_rules.FACTOR_COUNT[1],
    ),
    "references": RowKind("references", Reference, "reference", template_rules.REFERENCE_COUNT[1]),
}


class TemplateIncompleteError(Exception):
    """Finalize was refused: `statuses` lists every FieldStatus, the incomplete ones with
    messages."""

    def __init__(self, statuses: list[template_rules.FieldStatus]):
        self.statuses = statuses
        incomplete = [s.label for s in statuses if not s.complete]
        super().__init__("Cannot finalize; incomplete: " + ", ".join(incomplete))


class RowLimitError(ValueError):
    """Adding a row would pass the template's maximum for that field."""


class AmendmentError(ValueError):
    """An amendment was refused (empty note, or the postmortem is still a draft)."""


def require_draft(postmortem: Postmortem) -> None:
    """Raise ImmutableRecordError unless `postmortem` is a draft."""
    if postmortem.is_final:
        raise ImmutableRecordError(
            f"Postmortem {postmortem.pk} is final; add an amendment instead of editing it."
        )


class FieldError(ValueError):
    """Bad input for one field; `field` names the input, the message says what is wrong."""

    def __init__(self, field_name: str, message: str):
        self.field = field_name
        super().__init__(message)


class EventError(FieldError):
    """The event of a postmortem (time, trigger) was refused."""


def clean_event(occurred_utc, trigger: str, trigger_reason: str = "") -> tuple:
    """Check an event: an aware time not in the future, an active TriggerCondition slug,
    a reason when that condition needs one (the seed's "other").

    Returns (occurred_utc in UTC, trigger, reason stripped, "" unless the condition needs
    one). Raises EventError naming occurred_utc, trigger or trigger_reason. Rule:
    docs/rules.md#trigger-conditions.
    """
    if occurred_utc is None:
        raise EventError("occurred_utc", "Event occurred: give the time the event happened (UTC).")
    if occurred_utc.tzinfo is None:
        raise EventError("occurred_utc", "Event occurred: the time has no UTC offset.")
    if occurred_utc > timezone.now() + timedelta(minutes=5):
        raise EventError("occurred_utc", "Event occurred: the time is in the future.")
    condition = vocabulary.active_trigger(trigger) if isinstance(trigger, str) else None
    if condition is None:
        known = ", ".join(slug for slug, _ in vocabulary.trigger_choices())
        raise EventError("trigger", f"Trigger: {shown(trigger)} is not one of {known}.")
    reason = (trigger_reason or "").strip()
    if condition.requires_reason and not reason:
        raise EventError(
            "trigger_reason",
            f'Trigger reason: say why a postmortem is needed when the trigger is '
            f'"{condition.label}".',
        )
    return (occurred_utc.astimezone(UTC), trigger,
            reason if condition.requires_reason else "")


def clean_severity(severity: str) -> str:
    """An active Severity code, or "" (not rated); raises EventError naming severity.
    Rule: docs/rules.md#severity."""
    if severity == "":
        return ""
    if not isinstance(severity, str) or not vocabulary.is_active_severity(severity):
        known = ", ".join(code for code, _ in vocabulary.severity_choices())
        raise EventError("severity", f"Severity: {shown(severity)} is not one of {known}.")
    return severity


def clean_question_set(slug: str) -> QuestionSet:
    """The active QuestionSet `slug` ("" = the default set); raises EventError naming
    question_set. Rule: docs/rules.md#scan-sets."""
    if slug == "":
        return vocabulary.default_question_set()
    found = QuestionSet.objects.active().filter(slug=slug).first() \
        if isinstance(slug, str) else None
    if found is None:
        raise EventError("question_set", f"Scan questions: {shown(slug)} is not a question "
                                         "set in use.")
    return found


@transaction.atomic
def create_draft(user, template: str = Template.SEVEN_FIELD, occurred_utc=None,
                 trigger: str = "", trigger_reason: str = "", summary: str = "",
                 severity: str = "", question_set: str = "") -> Postmortem:
    """Start a draft postmortem owned by `user`; returns it (created_utc = now, UTC).

    `template` is a Template value (seven-field, or long-form whose extra sections are
    mandatory at finalize); it is fixed for the life of the postmortem. With
    `occurred_utc` (the event time, UTC) the trigger is required (clean_event) and the
    meeting reminders are planned in the same transaction, unless the event is more than
    72 hours old (a retrospective postmortem: docs/rules.md#meeting-retrospective).
    `severity` is a Severity code ("" = not rated), `question_set` a QuestionSet slug
    ("" = the default set). Raises ValueError for an unknown template and EventError for
    a bad event, severity or question set.
    """
    if template not in Template.values:
        raise ValueError(f"Template {template!r} is not one of {', '.join(Template.values)}.")
    event = {}
    if occurred_utc is not None or trigger:
        occurred_utc, trigger, trigger_reason = clean_event(occurred_utc, trigger, trigger_reason)
        event = {"occurred_utc": occurred_utc, "trigger": trigger,
                 "trigger_reason": trigger_reason}
    pm = Postmortem.objects.create(created_by=user, template=template, summary=summary,
                                   severity=clean_severity(severity),
                                   question_set=clean_question_set(question_set), **event)
    if event:
        reminders.plan_event_reminders(pm)
    webhook_events.postmortem_opened(pm)
    return pm


@transaction.atomic
def set_event(postmortem: Postmortem, occurred_utc, trigger: str, trigger_reason: str = "",
              severity: str | None = None):
    """Record or correct a draft's event time, trigger and (unless `severity` is None)
    severity; pending reminders move with it.

    `severity` is an active Severity code or "" (not rated); the record's own level is
    kept even once retired (docs/rules.md#severity). Raises EventError (bad input, naming
    the field) or ImmutableRecordError (final postmortem).
    """
    postmortem = Postmortem.objects.select_for_update().get(pk=postmortem.pk)
    require_draft(postmortem)
    occurred_utc, trigger, trigger_reason = clean_event(occurred_utc, trigger, trigger_reason)
    if severity is not None and severity != postmortem.severity:
        postmortem.severity = clean_severity(severity)
    postmortem.occurred_utc, postmortem.trigger = occurred_utc, trigger
    postmortem.trigger_reason = trigger_reason
    postmortem.save(update_fields=["occurred_utc", "trigger", "trigger_reason", "severity",
                                   "updated_utc"])
    reminders.plan_event_reminders(postmortem)
    return postmortem


@transaction.atomic
def add_row(postmortem: Postmortem, kind: RowKind):
    """Append an empty row of `kind` to a draft; returns the new row.

    Raises ImmutableRecordError for a final postmortem and RowLimitError when the field
    already holds the template's maximum (20 timeline rows, 5 factors, 6 references).
    """
    postmortem = Postmortem.objects.select_for_update().get(pk=postmortem.pk)
    require_draft(postmortem)
    rows = kind.model.objects.filter(postmortem=postmortem)
    if rows.count() >= kind.maximum:
        raise RowLimitError(
            f"The template allows at most {kind.maximum} {kind.noun}s; remove one first."
        )
    last = rows.aggregate(last=Max("position"))["last"]
    row = kind.model.objects.create(postmortem=postmortem, position=(last or 0) + 1)
    live_feed.record_change(postmortem.pk, kind.field_key, locked=True)
    return row


@transaction.atomic
def remove_row(postmortem: Postmortem, row) -> None:
    """Delete `row` from a draft; raises ImmutableRecordError for a final postmortem."""
    require_draft(postmortem)
    row.delete()
    kind = next(k for k in ROW_KINDS.values() if isinstance(row, k.model))
    live_feed.record_change(postmortem.pk, kind.field_key)


@transaction.atomic
def finalize(postmortem: Postmortem, user) -> Postmortem:
    """Make a draft final after checking every template rule; returns the final postmortem.

    Besides the template's fields, finalize needs the twenty-failure-mode scan answered,
    no contributing factor still flagged by the blameless check (unless the facilitator
    reviewed it) and no field pending trace review (template_rules.check_record).
    Raises TemplateIncompleteError (with a message per field) when any rule fails, and
    ImmutableRecordError when it is already final. The row lock makes two simultaneous
    finalize clicks finalize once.
    """
    locked = Postmortem.objects.select_for_update().get(pk=postmortem.pk)
    require_draft(locked)
    statuses = finalize_statuses(locked)
    if any(not status.complete for status in statuses):
        raise TemplateIncompleteError(statuses)
    # Its open action items start blocking its domain's gate (docs/rules.md#webhook-events).
    with webhook_events.gate_watch(webhook_events.domain_of(locked.pk)):
        store_final_without_checks(locked, user)
    live_feed.record_change(locked.pk, "final", locked=True)
    webhook_events.postmortem_finalized(locked)
    return locked


def finalize_statuses(postmortem: Postmortem) -> list[template_rules.FieldStatus]:
    """Everything finalize checks, in order: the template's fields (check_postmortem),
    then the scan, the blameless review and pending marks (check_record)."""
    factors = list(postmortem.contributing_factors.all())
    flagged = template_rules.flagged_factors(factors, people_names())
    return (template_rules.check_postmortem(postmortem)
            + template_rules.check_record(postmortem, flagged))


def store_final_without_checks(postmortem: Postmortem, user) -> None:
    """Set status final, finalized_utc = now (UTC) and finalized_by, and append the
    postmortem's seal to the log's hash chain (incidents.seals); no template check.

    Used by finalize() and by the importer, whose legacy records become final with
    their gaps listed rather than fixed. Call inside a transaction.
    """
    postmortem.status = Postmortem.Status.FINAL
    postmortem.finalized_utc = timezone.now()
    postmortem.finalized_by = user
    postmortem.save(update_fields=["status", "finalized_utc", "finalized_by", "updated_utc"])
    seals.seal_postmortem(postmortem.pk)
    reminders.skip_pending(postmortem, f"The postmortem was finalized at "
                                       f"{postmortem.finalized_utc:%Y-%m-%d %H:%M} UTC.")


@transaction.atomic
def discard_draft(postmortem: Postmortem) -> None:
    """Delete a draft with its rows and revision history; ImmutableRecordError when final.

    The revision history is append-only; PostgreSQL lets a revision go only when its
    draft's row is gone too at commit, which is what this deletion does
    (docs/rules.md#database-guards).
    """
    require_draft(postmortem)
    postmortem.delete()


def people_names() -> list[str]:
    """Usernames and display names (full, first and last name) of active people: the
    blameless check treats each as a person (docs/rules.md#blameless-flagged)."""
    names = set()
    rows = (get_user_model().objects.filter(is_active=True)
            .values_list("username", "first_name", "last_name"))
    for username, first, last in rows:
        full = f"{first} {last}".strip()
        names.update(n for n in (username, first.strip(), last.strip(), full) if n)
    return sorted(names)


@transaction.atomic
def add_amendment(postmortem: Postmortem, user, note: str, section: str = "",
                  impact_usd=None, impact_users=None,
                  impact_duration_minutes=None) -> Amendment:
    """Append a dated amendment (Markdown `note`, author `user`, amended_utc = now UTC).

    `section` names the long-form section it adds to (a Section value, "" for a general
    note); an Impact amendment may restate the figures (USD Decimal, users, minutes).
    Raises AmendmentError when the note is blank, the section unknown, figures come
    without the Impact section, or the postmortem is still a draft (a draft is edited,
    not amended).
    """
    if not note.strip():
        raise AmendmentError("The amendment note is empty.")
    if section not in ("", *Section.values):
        raise AmendmentError(f"Adds to: {section!r} is not a section of the template.")
    figures = {"impact_usd": impact_usd, "impact_users": impact_users,
               "impact_duration_minutes": impact_duration_minutes}
    if section != Section.IMPACT and any(v is not None for v in figures.values()):
        raise AmendmentError("Impact figures go with an amendment that adds to Impact.")
    if not postmortem.is_final:
        raise AmendmentError("This postmortem is a draft; edit it instead of amending it.")
    amendment = Amendment.objects.create(postmortem=postmortem, author=user, note=note,
                                         section=section, **figures)
    webhook_events.postmortem_amended(amendment)
    return amendment


class DomainError(ValueError):
    """A domain or tag was refused; the message names it."""


_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def clean_domain(domain: str) -> str:
    """A domain slug ('cloud-training'): lower-case letters, digits and single hyphens.

    Raises DomainError naming the value.
    """
    domain = (domain or "").strip()
    if not _SLUG.match(domain) or len(domain) > 60:
        raise DomainError(
            f"Domain {shown(domain)} is not a slug such as cloud-training (lower-case letters, "
            "digits and hyphens, at most 60 characters)."
        )
    return domain


# Each distinct domain found by one index probe (a "loose index scan"): the smallest
# domain, then the smallest one after it, and so on. Plain SQL that SQLite runs too.
_DOMAINS_SQL = """
WITH RECURSIVE domains(domain) AS (
    SELECT MIN(domain) FROM {table}
    UNION ALL
    SELECT (SELECT MIN(c.domain) FROM {table} c WHERE c.domain > domains.domain)
    FROM domains WHERE domains.domain IS NOT NULL
)
SELECT domain FROM domains WHERE domain IS NOT NULL
"""


def known_domains() -> list[str]:
    """Every domain some postmortem is classified in, sorted (slugs).

    One index probe per domain, so the cost follows the number of domains, not of
    postmortems (the dashboard's domain filter reads it on every view).
    """
    with connection.cursor() as cursor:
        cursor.execute(_DOMAINS_SQL.format(table=PostmortemDomain._meta.db_table))
        return [domain for (domain,) in cursor.fetchall()]


@transaction.atomic
def set_domain(postmortem: Postmortem, domain: str, user=None, tags: list[str] | None = None):
    """Classify `postmortem` in `domain` (and `tags` when given); records who and when (UTC).

    Works on drafts and final postmortems alike: classification is kept outside the
    immutable content. Each call first appends a DomainChange (old and new domain, who,
    when) and the row names it as `last_change`, in one transaction; PostgreSQL refuses a
    final postmortem's domain write without one (docs/rules.md#database-guards). Returns
    the PostmortemDomain; raises DomainError.
    """
    domain = clean_domain(domain)
    clean_tags = [clean_domain(tag) for tag in tags] if tags is not None else None
    current = (PostmortemDomain.objects.select_for_update()
               .filter(postmortem=postmortem).first())
    now = timezone.now()
    with webhook_events.gate_watch(current.domain if current else "", domain):
        return _classify(postmortem, current, domain, clean_tags, user, now)


def _classify(postmortem, current, domain, clean_tags, user, now):
    change = DomainChange.objects.create(
        postmortem=postmortem, old_domain=current.domain if current else "",
        new_domain=domain, by=user, at_utc=now)
    defaults = {"domain": domain, "set_by": user, "set_utc": now, "last_change": change}
    if clean_tags is not None:
        defaults["tags"] = clean_tags
    classification, _ = PostmortemDomain.objects.update_or_create(
        postmortem=postmortem, defaults=defaults
    )
    return classification
