"""Import and export of the seed's Markdown mishap cost log (MISHAP_COST_LOG.md).

Rule: docs/rules.md#cost-markdown. The format
is read and written by costlog.markdown_format; this module maps it to the database.

Importing is all or nothing: every problem is reported with its line number and entry
heading, and nothing is stored unless the whole file passes. Re-importing the same file
changes nothing: a rate (resource, effective date) or an entry (time, title) already
stored with the same content is skipped; with other content it is refused, because the
cost log is append-only (correct the entry in Scarlog instead).

The cost reference table carries no dates; its rates are stored as effective from the
first session of the log (or from `rates_effective`). Export writes each resource's
latest rate and the current entries (corrections applied) in time order.
"""
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from django.db import transaction

from costlog import markdown_format
from costlog.markdown_format import (
    NEAR_MISS_NOTE,
    ZONES,
    Bullet,
    CostEstimate,
    CostLog,
    CostLogError,
    CostLogProblem,
    Entry,
    Rate,
    format_cost,
)
from costlog.models import MishapEntry, ResourceRate, RootPattern
from costlog.services import CostEntryError, EntryInput, current_entries, record_entry
from incidents.models import Postmortem

PREAMBLE = [
    "# Mishap Cost Log", "", "Every mishap gets a price. $0 near-misses are logged too.", "",
]
# Labels whose numbered sub-items Scarlog keeps; items under any other label are refused.
LABELS_WITH_ITEMS = ("Root cause", "Prevention")


@dataclass
class ImportResult:
    """Counts of what an import stored and what was already there."""

    rates_created: int = 0
    rates_unchanged: int = 0
    entries_created: int = 0
    entries_unchanged: int = 0


def _entry_error(entry: Entry, message: str, key: str = "", source: str = "") -> CostLogProblem:
    """A problem of `entry`, on the line of the bullet labelled `key` (else its heading's)."""
    bullet = entry.bullets.get(key)
    return CostLogProblem(message, source=source, line=bullet.line if bullet and bullet.line
                          else entry.line, key=key, heading=entry.title)


def _entry_input(entry: Entry, patterns: dict[str, RootPattern], errors: list,
                 source: str = "") -> EntryInput | None:
    """Map a parsed entry onto EntryInput; appends to `errors` and returns None if it cannot."""
    problems = []
    for label, bullet in entry.bullets.items():
        if bullet.items and label not in LABELS_WITH_ITEMS:
            problems.append((f"numbered items under {label!r} are not kept; write them as text",
                             label))
    prevention = entry.bullets.get("Prevention", Bullet("Prevention"))
    if prevention.text:
        problems.append(("Prevention takes numbered items only, not text after the colon",
                         "Prevention"))
    chosen = []
    for name in entry.root_patterns:
        pattern = patterns.get(name.casefold())
        if pattern is None:
            problems.append(((f"root pattern {name!r} is not in the taxonomy "
                             f"(known: {', '.join(p.name for p in patterns.values())}); "
                             "an admin can add it"), "Root pattern"))
        else:
            chosen.append(pattern)
    postmortem = None
    if "Postmortem" in entry.bullets:
        postmortem_id = entry.bullets["Postmortem"].text.strip()
        try:
            postmortem = Postmortem.objects.get(pk=uuid.UUID(postmortem_id))
        except (ValueError, Postmortem.DoesNotExist):
            problems.append(((f"Postmortem {postmortem_id!r} is not the id of a stored "
                             "postmortem"), "Postmortem"))
    if problems:
        errors.extend(_entry_error(entry, message, key, source) for message, key in problems)
        return None
    cost = entry.cost
    root_cause = entry.bullets["Root cause"]
    return EntryInput(
        occurred_utc=entry.occurred_utc,
        logged_zone=entry.logged_zone,
        title=entry.title,
        what_happened=entry.bullets["What happened"].text,
        root_cause=root_cause.text,
        root_cause_items=list(root_cause.items),
        patterns=chosen,
        resources_affected=entry.bullets.get("AWS resources affected", Bullet("")).text,
        duration=entry.bullets.get("Duration", Bullet("")).text,
        cost_low_usd=cost.low,
        cost_high_usd=cost.high,
        cost_approximate=cost.approximate,
        cost_note="" if cost.near_miss else cost.note,
        near_miss=cost.near_miss,
        prevention_items=list(prevention.items),
        postmortem=postmortem,
    )


def _same_content(stored: MishapEntry, data: EntryInput) -> bool:
    """True when a stored entry holds what the log line says; a line without a Postmortem
    bullet also matches an entry linked to a postmortem after the import (link_entry)."""
    return (
        stored.logged_zone == data.logged_zone
        and stored.what_happened == data.what_happened.strip()
        and stored.root_cause == data.root_cause.strip()
        and stored.root_cause_items == data.root_cause_items
        and [link.pattern_id for link in stored.pattern_links.all()]
        == [p.pk for p in data.patterns]
        and stored.resources_affected == data.resources_affected.strip()
        and stored.duration == data.duration.strip()
        and stored.cost_low_usd == data.cost_low_usd
        and stored.cost_high_usd == data.cost_high_usd
        and stored.cost_approximate == data.cost_approximate
        and stored.cost_note == data.cost_note
        and stored.near_miss == data.near_miss
        and stored.prevention_items == data.prevention_items
        # A file that names no postmortem matches an entry linked in Scarlog since.
        and (data.postmortem is None or stored.postmortem_id == data.postmortem.pk)
    )


def _plan_rates(log: CostLog, effective: date, errors: list, result: ImportResult,
                source: str = "") -> list[Rate]:
    to_create = []
    stored_rates = {stored.resource: stored
                    for stored in ResourceRate.objects.filter(effective_date=effective)}
    for rate in log.rates:
        stored = stored_rates.get(rate.resource)
        if stored is None:
            to_create.append(rate)
        elif (stored.usd, stored.unit, stored.approximate) == (
            rate.usd,
            rate.unit,
            rate.approximate,
        ):
            result.rates_unchanged += 1
        else:
            errors.append(CostLogProblem(
                f"cost reference: {rate.resource!r} already has a different rate effective "
                f"{effective} ({stored}); a rate change takes a later effective date",
                source=source, line=rate.line or None, key="cost"))
    return to_create


@transaction.atomic
def import_costlog(text: str, user=None, rates_effective: date | None = None,
                   source: str = "") -> ImportResult:
    """Import a Markdown cost log; raises CostLogError listing every problem (nothing stored).

    Returns ImportResult counts. `rates_effective`: the date the cost reference rates take
    effect (default: the first session date of the log, else today UTC). `source`: the
    file's name, which every problem names.
    """
    log = markdown_format.parse_log(text, source)
    result = ImportResult()
    errors: list[CostLogProblem] = []
    if rates_effective is None:
        sessions = [entry.session for entry in log.entries]
        rates_effective = min(sessions) if sessions else datetime.now(UTC).date()
    rates = _plan_rates(log, rates_effective, errors, result, source)
    patterns = {pattern.name.casefold(): pattern for pattern in RootPattern.objects.all()}
    planned = []
    seen = set()
    # One query for the entries already stored at the file's times, with their patterns.
    stored_entries = {
        (stored.occurred_utc, stored.title): stored
        for stored in current_entries()
        .filter(occurred_utc__in=[entry.occurred_utc for entry in log.entries])
        .prefetch_related("pattern_links")
    }
    for entry in log.entries:
        data = _entry_input(entry, patterns, errors, source)
        if data is None:
            continue
        key = (data.occurred_utc, data.title)
        if key in seen:
            errors.append(_entry_error(entry, "the same time and title appear twice in the file",
                                       source=source))
            continue
        seen.add(key)
        stored = stored_entries.get((data.occurred_utc, data.title.strip()))
        if stored is None:
            planned.append((entry, data))
        elif _same_content(stored, data):
            result.entries_unchanged += 1
        else:
            errors.append(_entry_error(
                entry, f"entry {stored.pk} with this time and title already exists with other "
                       "content; the cost log is append-only, so correct it in Scarlog",
                source=source))
    if errors:
        raise CostLogError(errors)
    for rate in rates:
        ResourceRate.objects.create(resource=rate.resource, unit=rate.unit, usd=rate.usd,
                                    approximate=rate.approximate, effective_date=rates_effective,
                                    created_by=user)
        result.rates_created += 1
    for entry, data in planned:
        try:
            record_entry(data, user=user, origin=MishapEntry.Origin.IMPORT)
        except CostEntryError as exc:
            errors.append(_entry_error(entry, str(exc), source=source))
        else:
            result.entries_created += 1
    if errors:
        # Undo the rows stored so far: a file imports whole or not at all.
        transaction.set_rollback(True)
        raise CostLogError(errors)
    return result


def _log_entry(entry: MishapEntry) -> Entry:
    local = entry.occurred_utc.astimezone(ZoneInfo(ZONES[entry.logged_zone]))
    cost = CostEstimate(entry.cost_low_usd, entry.cost_high_usd, entry.cost_approximate,
                        NEAR_MISS_NOTE if entry.near_miss else entry.cost_note)
    bullets = {
        "What happened": Bullet("What happened", entry.what_happened),
        "Root cause": Bullet("Root cause", entry.root_cause, tuple(entry.root_cause_items)),
        "Root pattern": Bullet(
            "Root pattern", "; ".join(link.pattern.name for link in entry.pattern_links.all())
        ),
    }
    if entry.resources_affected:
        bullets["AWS resources affected"] = Bullet(
            "AWS resources affected", entry.resources_affected
        )
    if entry.duration:
        bullets["Duration"] = Bullet("Duration", entry.duration)
    bullets["Estimated cost"] = Bullet("Estimated cost", format_cost(cost))
    if entry.prevention_items:
        bullets["Prevention"] = Bullet("Prevention", "", tuple(entry.prevention_items))
    if entry.postmortem_id:
        bullets["Postmortem"] = Bullet("Postmortem", str(entry.postmortem_id))
    return Entry(
        session=local.date(),
        logged_time=local.strftime("%I:%M %p").lstrip("0"),
        logged_zone=entry.logged_zone,
        title=entry.title,
        bullets=bullets,
    )


def export_costlog() -> str:
    """The cost log in the seed's Markdown format: latest rate per resource, current entries."""
    latest: dict[str, ResourceRate] = {}
    first_entered: dict[str, int] = {}
    for rate in ResourceRate.objects.order_by("-effective_date", "id"):
        latest.setdefault(rate.resource, rate)
        first_entered[rate.resource] = min(rate.id, first_entered.get(rate.resource, rate.id))
    # Resources in the order they were first entered, as the log lists them.
    rates = sorted(latest.values(), key=lambda rate: first_entered[rate.resource])
    log = CostLog(
        preamble=list(PREAMBLE),
        rates=[Rate(rate.resource, rate.usd, rate.unit, rate.approximate) for rate in rates],
        entries=[
            _log_entry(entry)
            for entry in current_entries()
            .prefetch_related("pattern_links__pattern")
            .order_by("occurred_utc", "id")
        ],
    )
    return markdown_format.format_log(log)
