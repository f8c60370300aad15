"""A postmortem's stated impact, and how it compares with the cost log.

Source rule: the long-form template of 000_147101d763a5563e.txt puts "Impact (financial,
users, duration)" beside the seven fields, and "every incident in the system gets a
dollar amount" in the mishap cost log. The postmortem states a financial impact in USD;
the cost log prices the mishaps linked to it. The page shows both and flags a mismatch.

Figures: USD as Decimal, users as an integer, duration in whole minutes.
"""
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from costlog.models import MishapEntry
from costlog.services import current_entries, format_duration, parse_duration
from incidents.models import Amendment, Postmortem, Section

ZERO = Decimal(0)


def parse_usd(text: str) -> Decimal | None:
    """'$78,947', '78947.5', ' 0 ' -> Decimal with cents; '' -> None.

    Raises ValueError (naming the value) for text that is not a non-negative USD amount
    with at most two decimals.
    """
    cleaned = (text or "").strip().replace(",", "").removeprefix("$").strip()
    if not cleaned:
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"{text.strip()!r} is not an amount in USD such as 78,947 or 5.50.") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"{text.strip()!r} is not an amount in USD of 0 or more.")
    if value != value.quantize(Decimal("0.01")):
        raise ValueError(f"{text.strip()!r} has more than two decimals (cents).")
    return value.quantize(Decimal("0.01"))


def parse_minutes(text: str) -> int | None:
    """'90', '90m', '1h 30m', '2d' -> whole minutes; '' -> None.

    Raises ValueError for anything else, for a negative number, and for a duration that is
    not a whole number of minutes.
    """
    cleaned = (text or "").strip()
    if not cleaned:
        return None
    if cleaned.lstrip("-").isdigit():
        minutes = int(cleaned)
        if minutes < 0:
            raise ValueError(f"{cleaned!r} is negative; a duration is 0 minutes or more.")
        return minutes
    try:
        seconds = parse_duration(cleaned)
    except ValueError:
        raise ValueError(
            f"{cleaned!r} is not a duration; give minutes (90) or '1h 30m', '2d'."
        ) from None
    if seconds % 60:
        raise ValueError(f"{cleaned!r} is not a whole number of minutes.")
    return seconds // 60


def format_minutes(minutes: int | None) -> str:
    """90 -> '1h 30m'; 0 -> '0m'; None -> ''."""
    if minutes is None:
        return ""
    return format_duration(minutes * 60) if minutes else "0m"


@dataclass(frozen=True)
class StatedFigure:
    """One stated impact figure and where it comes from: amendment None = the record itself."""

    value: Decimal | int | None
    amendment: Amendment | None = None


@dataclass(frozen=True)
class StatedImpact:
    """The impact a postmortem states now: the record's figures, each replaced by the
    newest Impact amendment that restates it (amendments append; the record never changes).
    """

    usd: StatedFigure
    users: StatedFigure
    duration_minutes: StatedFigure

    @property
    def any(self) -> bool:
        return any(f.value is not None for f in (self.usd, self.users, self.duration_minutes))


def stated_impact(postmortem: Postmortem, amendments: list[Amendment]) -> StatedImpact:
    """The stated impact of `postmortem` given its `amendments` (oldest first)."""
    figures = {
        "usd": StatedFigure(postmortem.impact_usd),
        "users": StatedFigure(postmortem.impact_users),
        "duration_minutes": StatedFigure(postmortem.impact_duration_minutes),
    }
    for amendment in amendments:
        if amendment.section != Section.IMPACT:
            continue
        for key, value in (("usd", amendment.impact_usd), ("users", amendment.impact_users),
                           ("duration_minutes", amendment.impact_duration_minutes)):
            if value is not None:
                figures[key] = StatedFigure(value, amendment)
    return StatedImpact(**figures)


@dataclass(frozen=True)
class CostComparison:
    """The stated financial impact (USD) beside the linked cost log entries' total.

    entries: the current (not corrected) mishap entries linked to the postmortem;
    low_usd/high_usd: their summed range. state: "match" (stated within the range),
    "mismatch", "no-stated" (no USD figure stated), "no-entries" (nothing linked), or
    "empty" (neither).
    """

    stated: StatedImpact
    entries: list[MishapEntry] = field(default_factory=list)
    low_usd: Decimal = ZERO
    high_usd: Decimal = ZERO

    @property
    def state(self) -> str:
        stated_usd = self.stated.usd.value
        if stated_usd is None and not self.entries:
            return "empty"
        if stated_usd is None:
            return "no-stated"
        if not self.entries:
            return "no-entries"
        return "match" if self.low_usd <= stated_usd <= self.high_usd else "mismatch"


def compare_with_cost_log(postmortem: Postmortem, amendments: list[Amendment]) -> CostComparison:
    """Compare `postmortem`'s stated USD impact with its linked cost log entries (one query)."""
    entries = list(
        current_entries().filter(postmortem=postmortem).order_by("occurred_utc", "id")
    )
    return CostComparison(
        stated=stated_impact(postmortem, amendments),
        entries=entries,
        low_usd=sum((e.cost_low_usd for e in entries), ZERO),
        high_usd=sum((e.cost_high_usd for e in entries), ZERO),
    )


def amendments_by_section(amendments: list[Amendment]) -> dict[str, list[Amendment]]:
    """{section value: [amendments adding to it, oldest first]}; "" holds general notes."""
    grouped: dict[str, list[Amendment]] = {"": [], **{s.value: [] for s in Section}}
    for amendment in amendments:
        grouped[amendment.section].append(amendment)
    return grouped

