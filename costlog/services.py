"""Cost log operations: pricing resource rows, recording entries and corrections, totals.

Every write runs in one transaction and raises CostEntryError (naming the field) instead of
half-writing. Totals are computed by PostgreSQL (GROUP BY), over current entries only: an
entry that has a correction is replaced by it. Rule: docs/rules.md#cost-log.
Money is Decimal USD; times UTC.
"""
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Exists, Max, Min, OuterRef, Q, Sum

from core.limits import EARLIEST_UTC, LATEST_UTC, RANGE_TEXT
from core.record_types import shown
from core.units import format_duration
from costlog.models import (
    EntryPattern,
    MishapEntry,
    MishapResource,
    ResourceRate,
    RootPattern,
)
from incidents.models import Postmortem, RootCause

ZERO = Decimal(0)
UNLINKED = "unlinked"


class CostEntryError(ValueError):
    """Bad input for a cost log write; `field` names the input at fault."""

    def __init__(self, field_name: str, message: str):
        self.field = field_name
        super().__init__(message)


def rate_in_force(resource: str, on: date) -> ResourceRate:
    """The rate of `resource` with the latest effective date on or before `on` (UTC date).

    Raises CostEntryError("resource") when the resource has no rate in force that day.
    """
    rate = (
        ResourceRate.objects.filter(resource=resource, effective_date__lte=on)
        .order_by("-effective_date")
        .first()
    )
    if rate is None:
        raise CostEntryError("resource", f"No rate for {resource!r} is in force on {on}.")
    return rate


def current_rates(on: date) -> list[ResourceRate]:
    """The cost reference table: each resource's rate in force on `on`, by resource name."""
    rates = ResourceRate.objects.filter(effective_date__lte=on).order_by(
        "resource", "-effective_date"
    )
    latest: dict[str, ResourceRate] = {}
    for rate in rates:
        latest.setdefault(rate.resource, rate)
    return list(latest.values())


@transaction.atomic
def add_rate(resource: str, unit: str, usd: Decimal, effective_date: date, user=None,
             approximate: bool = True) -> ResourceRate:
    """Add a rate row (a rate change never overwrites); CostEntryError names a bad field."""
    resource = resource.strip()
    if not resource:
        raise CostEntryError("resource", "Resource: enter the resource's name.")
    if unit not in ResourceRate.Unit.values:
        raise CostEntryError("unit", f"Unit {unit!r} is not one of hour, second.")
    if usd <= 0:
        raise CostEntryError("usd", "USD per unit must be more than 0.")
    if ResourceRate.objects.filter(resource=resource, effective_date=effective_date).exists():
        raise CostEntryError(
            "effective_date",
            f"{resource!r} already has a rate effective {effective_date}; "
            "a change takes a later effective date.",
        )
    return ResourceRate.objects.create(
        resource=resource, unit=unit, usd=usd, effective_date=effective_date,
        approximate=approximate, created_by=user,
    )


@dataclass(frozen=True)
class ResourceUse:
    """A resource row as entered: resource name, quantity (count), duration (seconds)."""

    resource: str
    quantity: int
    duration_seconds: int


@dataclass(frozen=True)
class PricedResource:
    """A ResourceUse priced at the rate in force: cost in USD, to the cent."""

    use: ResourceUse
    rate: ResourceRate
    cost_usd: Decimal

    @property
    def description(self) -> str:
        """'2x SageMaker Training (ml.m5.xlarge) for 1h 30m'."""
        return (f"{self.use.quantity}x {self.use.resource} for "
                f"{format_duration(self.use.duration_seconds)}")


def price_resources(uses: list[ResourceUse], on: date) -> list[PricedResource]:
    """Price each row at the rate in force on `on`; raises CostEntryError("resource")."""
    priced = []
    for use in uses:
        rate = rate_in_force(use.resource, on)
        priced.append(PricedResource(use, rate, rate.price(use.quantity, use.duration_seconds)))
    return priced


@dataclass
class EntryInput:
    """What a mishap entry holds before it is stored (see MishapEntry for each field).

    cost_low_usd/cost_high_usd None: the estimate is the priced resources' total (marked
    approximate, as rates are). patterns: RootPattern rows in the order logged.
    """

    occurred_utc: datetime
    logged_zone: str
    title: str
    what_happened: str
    root_cause: str
    patterns: list[RootPattern]
    root_cause_items: list[str] = field(default_factory=list)
    resources: list[ResourceUse] = field(default_factory=list)
    resources_affected: str = ""
    duration: str = ""
    cost_low_usd: Decimal | None = None
    cost_high_usd: Decimal | None = None
    cost_approximate: bool = False
    cost_note: str = ""
    near_miss: bool = False
    prevention_items: list[str] = field(default_factory=list)
    postmortem: Postmortem | None = None


@dataclass(frozen=True)
class Estimate:
    """The USD range an entry will store, and the priced resource rows it came from."""

    low: Decimal
    high: Decimal
    approximate: bool
    priced: list[PricedResource]

    @property
    def resources_total(self) -> Decimal:
        return sum((row.cost_usd for row in self.priced), ZERO)


def estimate(data: EntryInput) -> Estimate:
    """The cost an entry will store: the figures given, or else the resources' total.

    Raises CostEntryError naming cost_low_usd/cost_high_usd/near_miss/resource.
    """
    priced = price_resources(data.resources, data.occurred_utc.astimezone(UTC).date())
    low, high, approximate = data.cost_low_usd, data.cost_high_usd, data.cost_approximate
    if low is None and high is None:
        if not priced:
            raise CostEntryError(
                "cost_low_usd",
                "Estimated cost: enter a figure (or a low–high range), or add resource rows "
                "to price it from the cost reference table.",
            )
        low = high = sum((row.cost_usd for row in priced), ZERO)
        approximate = True
    elif low is None:
        raise CostEntryError(
            "cost_low_usd", "Estimated cost low: enter it (high alone is not a range)."
        )
    elif high is None:
        high = low
    if low < 0:
        raise CostEntryError("cost_low_usd", "Estimated cost low cannot be negative.")
    if high < low:
        raise CostEntryError("cost_high_usd", "Estimated cost high is below low.")
    if data.near_miss and high != 0:
        raise CostEntryError(
            "near_miss", "A near-miss is a $0 entry; its estimated cost must be $0."
        )
    return Estimate(low, high, approximate, priced)


def _check_text(data: EntryInput) -> None:
    for name, label in (("title", "Title"), ("what_happened", "What happened"),
                        ("root_cause", "Root cause")):
        if not getattr(data, name).strip():
            raise CostEntryError(name, f"{label}: this field is required.")
    if not data.patterns:
        raise CostEntryError("patterns", "Root pattern: choose at least one.")
    if len({pattern.pk for pattern in data.patterns}) != len(data.patterns):
        raise CostEntryError("patterns", "Root pattern: a pattern is listed twice.")


@transaction.atomic
def record_entry(data: EntryInput, user=None, origin: str = MishapEntry.Origin.FORM,
                 corrects: MishapEntry | None = None, correction_reason: str = "") -> MishapEntry:
    """Store a mishap entry with its pattern links and priced resource rows.

    With `corrects`, the new entry replaces that one in every total (the original stays
    visible); a correction needs a reason and the corrected entry must be current.
    Raises CostEntryError naming the field; nothing is stored then.
    """
    _check_text(data)
    figures = estimate(data)
    if corrects is not None:
        if not correction_reason.strip():
            raise CostEntryError("correction_reason", "Reason for the correction: required.")
        locked = MishapEntry.objects.select_for_update().get(pk=corrects.pk)
        if MishapEntry.objects.filter(corrects=locked).exists():
            raise CostEntryError(
                "corrects", f"Entry {locked.pk} was already corrected; correct the newest entry."
            )
    resources_affected = data.resources_affected.strip() or ", ".join(
        row.description for row in figures.priced
    )
    entry = MishapEntry.objects.create(
        occurred_utc=data.occurred_utc.astimezone(UTC),
        logged_zone=data.logged_zone,
        title=data.title.strip(),
        what_happened=data.what_happened.strip(),
        root_cause=data.root_cause.strip(),
        root_cause_items=[item.strip() for item in data.root_cause_items if item.strip()],
        resources_affected=resources_affected,
        duration=data.duration.strip(),
        cost_low_usd=figures.low,
        cost_high_usd=figures.high,
        cost_approximate=figures.approximate,
        cost_note="" if data.near_miss else data.cost_note.strip(),
        near_miss=data.near_miss,
        prevention_items=[item.strip() for item in data.prevention_items if item.strip()],
        postmortem=data.postmortem,
        corrects=corrects,
        correction_reason=correction_reason.strip() if corrects else "",
        origin=origin,
        created_by=user,
    )
    EntryPattern.objects.bulk_create(
        EntryPattern(
            entry=entry, pattern=pattern, position=position,
            # PostgreSQL's copy_entry_figures trigger sets these; the embedded demo
            # database has no triggers, so they are passed too.
            occurred_utc=entry.occurred_utc, cost_low_usd=entry.cost_low_usd,
            cost_high_usd=entry.cost_high_usd, near_miss=entry.near_miss,
            postmortem_id=entry.postmortem_id,
        )
        for position, pattern in enumerate(data.patterns, start=1)
    )
    MishapResource.objects.bulk_create(
        MishapResource(entry=entry, rate=row.rate, quantity=row.use.quantity,
                       duration_seconds=row.use.duration_seconds, cost_usd=row.cost_usd,
                       position=position)
        for position, row in enumerate(figures.priced, start=1)
    )
    return entry


def entry_input_from(entry: MishapEntry) -> EntryInput:
    """An EntryInput holding `entry`'s content, to start a correction from."""
    return EntryInput(
        occurred_utc=entry.occurred_utc, logged_zone=entry.logged_zone, title=entry.title,
        what_happened=entry.what_happened, root_cause=entry.root_cause,
        patterns=[link.pattern for link in entry.pattern_links.select_related("pattern")],
        root_cause_items=list(entry.root_cause_items),
        resources=[ResourceUse(row.rate.resource, row.quantity, row.duration_seconds)
                   for row in entry.resources.select_related("rate")],
        resources_affected=entry.resources_affected, duration=entry.duration,
        cost_low_usd=entry.cost_low_usd, cost_high_usd=entry.cost_high_usd,
        cost_approximate=entry.cost_approximate, cost_note=entry.cost_note,
        near_miss=entry.near_miss, prevention_items=list(entry.prevention_items),
        postmortem=entry.postmortem,
    )


def link_entry(entry: MishapEntry, postmortem: Postmortem, user=None) -> MishapEntry:
    """Link the mishap `entry` to `postmortem`; returns the new, linked entry.

    Entries are append-only, so the link is a correction: a copy of the entry (same
    cost figures, patterns and resource rows) that names the
    postmortem and replaces the original in every total. Raises CostEntryError naming
    "entry" when the entry was already corrected or already links a postmortem.
    """
    if entry.postmortem_id is not None:
        raise CostEntryError(
            "entry", f"Entry {entry.pk} is already linked to postmortem {entry.postmortem_id}."
        )
    data = entry_input_from(entry)
    data.postmortem = postmortem
    return record_entry(
        data, user=user, origin=entry.origin, corrects=entry,
        correction_reason=f"Linked to postmortem {postmortem.pk}.",
    )


def current_entries():
    """Entries no correction replaced: the ones every total counts.

    NOT EXISTS rather than the reverse relation's IS NULL: PostgreSQL plans the anti join
    from an index, where the LEFT JOIN form hashed all 1,000,000 entries per page.
    """
    return MishapEntry.objects.filter(
        ~Exists(MishapEntry.objects.filter(corrects_id=OuterRef("pk"))))


# --- Periods -------------------------------------------------------------------------

_MONTH = re.compile(r"^(?P<year>\d{4})-(?P<month>\d{2})$")
_QUARTER = re.compile(r"^(?P<year>\d{4})-Q(?P<quarter>[1-4])$")


@dataclass(frozen=True)
class Period:
    """A reporting period: key ("12m", "all", "2026-Q1", "2026-01"), label, [start, end) UTC."""

    key: str
    label: str
    start: datetime | None = None
    end: datetime | None = None

    def filter(self, prefix: str = "") -> Q:
        """A Q on `{prefix}occurred_utc` within the period."""
        q = Q()
        if self.start is not None:
            q &= Q(
                **{f"{prefix}occurred_utc__gte": self.start, f"{prefix}occurred_utc__lt": self.end}
            )
        return q


ALL_TIME = Period("all", "All time")
# Years a period may name: a period's end (the next month) must still be a datetime.
LAST_12_MONTHS = "12m"
DEFAULT_PERIOD = LAST_12_MONTHS


def _month_start(year: int, month: int) -> datetime:
    """The first instant of a month (UTC); months past 12 or below 1 roll the year."""
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return datetime(year, month, 1, tzinfo=UTC)


def parse_period(key: str, today: date | None = None) -> Period:
    """'12m' (the 12 calendar months up to and including this one), 'all', 'YYYY-Qn' or
    'YYYY-MM' -> Period; CostEntryError("period") otherwise. `today`: UTC date (default now).
    """
    if key == "all":
        return ALL_TIME
    if key in ("", LAST_12_MONTHS):
        today = today or datetime.now(UTC).date()
        start = _month_start(today.year, today.month - 11)
        end = _month_start(today.year, today.month + 1)
        return Period(LAST_12_MONTHS, f"Last 12 months ({start:%b %Y} – {today:%b %Y})", start, end)
    match = _QUARTER.match(key) or _MONTH.match(key)
    if match and not EARLIEST_UTC.year <= int(match["year"]) < LATEST_UTC.year:
        raise CostEntryError("period", f"Period {shown(key)}: the year is outside the accepted "
                                       f"range of dates, {RANGE_TEXT}.")
    if match := _QUARTER.match(key):
        year, quarter = int(match["year"]), int(match["quarter"])
        start = datetime(year, 3 * quarter - 2, 1, tzinfo=UTC)
        end = datetime(year + (quarter == 4), 1 if quarter == 4 else 3 * quarter + 1, 1, tzinfo=UTC)
        return Period(key, f"Q{quarter} {year}", start, end)
    if (match := _MONTH.match(key)) and 1 <= int(match["month"]) <= 12:
        year, month = int(match["year"]), int(match["month"])
        start = datetime(year, month, 1, tzinfo=UTC)
        end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
        return Period(key, start.strftime("%B %Y"), start, end)
    raise CostEntryError("period", f"Period {shown(key)} is not 'all', 'YYYY-Qn' or 'YYYY-MM'.")


def default_period(today: date | None = None) -> Period:
    """The period the totals open on when none is asked for: the last 12 months, unless
    every current entry lies before them (a log of older mishaps), then all time, so the
    page never opens on zeros while entries exist. Rule: docs/rules.md#cost-totals."""
    recent = parse_period(LAST_12_MONTHS, today)
    entries = current_entries()
    if entries.exists() and not entries.filter(recent.filter()).exists():
        return ALL_TIME
    return recent


def entries_outside(period: Period, root_cause: str = "") -> int:
    """How many current entries (of the root-cause filter) lie outside `period`."""
    if period.start is None:
        return 0
    entries = current_entries().filter(_root_cause_filter(root_cause))
    return entries.count() - entries.filter(period.filter()).count()


def period_choices(today: date) -> list[Period]:
    """Periods to pick from: all time, then each quarter and month from the first entry to today."""
    span = MishapEntry.objects.aggregate(first=Min("occurred_utc"), last=Max("occurred_utc"))
    first, last = span["first"], span["last"]
    if first is None:
        return [parse_period(LAST_12_MONTHS, today), ALL_TIME]
    end = max(last.date(), today)
    quarters, months = [], []
    year, month = first.year, first.month
    while (year, month) <= (end.year, end.month):
        months.append(parse_period(f"{year}-{month:02d}"))
        quarter_key = f"{year}-Q{(month - 1) // 3 + 1}"
        if not quarters or quarters[-1].key != quarter_key:
            quarters.append(parse_period(quarter_key))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return [parse_period(LAST_12_MONTHS, today), ALL_TIME, *reversed(quarters), *reversed(months)]


def quarter_of(day: date) -> str:
    """The period key of the quarter holding `day` ('2026-Q1')."""
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def parse_root_cause(value: str) -> str:
    """'' (any), 'unlinked', or a RootCause value; CostEntryError("root_cause") otherwise."""
    if value in ("", UNLINKED) or value in RootCause.values:
        return value
    raise CostEntryError(
        "root_cause",
        f"Root cause {shown(value)} is not one of {', '.join(RootCause.values)} or {UNLINKED}.",
    )


def _root_cause_filter(root_cause: str, prefix: str = "") -> Q:
    if root_cause == UNLINKED:
        return Q(**{f"{prefix}postmortem__isnull": True})
    if root_cause:
        return Q(**{f"{prefix}postmortem__root_cause": root_cause})
    return Q()


# --- Totals --------------------------------------------------------------------------

@dataclass(frozen=True)
class PatternTotal:
    """One row of the totals page: a root pattern's USD range, entry and near-miss counts."""

    pattern: RootPattern | None
    low_usd: Decimal
    high_usd: Decimal
    entries: int
    near_misses: int

    @property
    def name(self) -> str:
        return self.pattern.name if self.pattern else "All entries (each counted once)"


def totals_by_pattern(
    period: Period = ALL_TIME, root_cause: str = ""
) -> tuple[list[PatternTotal], PatternTotal]:
    """Per-pattern totals (every pattern, highest cost first) and the grand total.

    An entry with two root patterns counts toward both rows; the grand total counts it once.
    Only current entries count (a corrected entry is replaced by its correction). Two GROUP
    BY queries in PostgreSQL, whatever the number of entries; USD as Decimal.
    """
    aggregates = {
        "low": Sum("cost_low_usd"),
        "high": Sum("cost_high_usd"),
        "entries": Count("*"),
        "near_misses": Count("near_miss", filter=Q(near_miss=True)),
    }
    # "corrects_id IS NOT NULL" is implied, but spelled out it lets PostgreSQL hash the few
    # corrections instead of scanning every entry's NULL (measured: bench/costlog_totals.py).
    corrections = MishapEntry.objects.filter(corrects_id__isnull=False)
    pattern_not_corrected = ~Exists(corrections.filter(corrects_id=OuterRef("entry_id")))
    rows = (
        EntryPattern.objects.filter(pattern_not_corrected, period.filter(),
                                    _root_cause_filter(root_cause))
        .values("pattern_id")
        .annotate(**aggregates)
        .order_by()
    )
    by_pattern = {row["pattern_id"]: row for row in rows}
    totals = []
    for pattern in RootPattern.objects.all():
        row = by_pattern.get(pattern.pk, {})
        totals.append(PatternTotal(pattern, row.get("low") or ZERO, row.get("high") or ZERO,
                                   row.get("entries", 0), row.get("near_misses", 0)))
    totals.sort(key=lambda total: (-total.high_usd, -total.entries, total.name))
    entry_not_corrected = ~Exists(corrections.filter(corrects_id=OuterRef("id")))
    grand = MishapEntry.objects.filter(
        entry_not_corrected, period.filter(), _root_cause_filter(root_cause)
    ).aggregate(**aggregates)
    return totals, PatternTotal(None, grand["low"] or ZERO, grand["high"] or ZERO,
                                grand["entries"], grand["near_misses"])


TOTALS_CACHE_SECONDS = 300


def cached_totals_by_pattern(period: Period = ALL_TIME, root_cause: str = ""):
    """totals_by_pattern(), served from the cache when nothing was logged since.

    The cost log is append-only (a correction or a link is a new entry), so totals that
    depend on entries alone are keyed by the newest entry id: a new entry changes the key,
    and no stale total is ever served. A root-cause class filter also reads postmortems
    (a draft's root cause can change), so it is computed fresh every time. Entries kept
    TOTALS_CACHE_SECONDS at most (pattern names are read with the totals).
    """
    if root_cause not in ("", UNLINKED):
        return totals_by_pattern(period, root_cause)
    newest = MishapEntry.objects.aggregate(newest=Max("id"))["newest"] or 0
    key = (f"costlog:totals:{newest}:{period.start and period.start.isoformat()}:"
           f"{period.end and period.end.isoformat()}:{root_cause}")
    found = cache.get(key)
    if found is None:
        found = totals_by_pattern(period, root_cause)
        cache.set(key, found, TOTALS_CACHE_SECONDS)
    return found


def incident_table(
    period: Period = ALL_TIME, root_cause: str = "", pattern: RootPattern | None = None
):
    """Current entries of the period, oldest first, with their patterns prefetched.

    The seed's incident table (date, incident, cost, root pattern) is one row per entry.
    """
    entries = current_entries().filter(period.filter(), _root_cause_filter(root_cause))
    if pattern is not None:
        entries = entries.filter(pattern_links__pattern=pattern)
    return entries.prefetch_related("pattern_links__pattern").order_by("occurred_utc", "id")
