"""The "Impact and cost log" panel of a postmortem page: the stated financial impact beside
the total of the mishap entries linked to the postmortem, and the entries one can link.

docs/rules.md#impact-cost-log. Money is Decimal USD.
"""
from dataclasses import dataclass, field
from decimal import Decimal

from costlog.models import MishapEntry
from costlog.services import current_entries
from incidents.impact import StatedImpact, stated_impact
from incidents.models import Amendment, Postmortem

ZERO = Decimal(0)
# How many unlinked cost log entries the "Link a mishap" list offers (newest first).
LINKABLE_ENTRIES = 100


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


def linkable_entries():
    """The newest current entries linked to no postmortem (at most LINKABLE_ENTRIES)."""
    return (current_entries().filter(postmortem__isnull=True)
            .order_by("-occurred_utc", "-id")[:LINKABLE_ENTRIES])
