"""A postmortem's stated impact: its own figures, each replaced by the newest Impact
amendment that restates it (the cost log compares it with its entries: costlog.panel).

Rule: docs/rules.md#impact-stated. The long-form template puts "Impact (financial,
users, duration)" beside the seven fields, and "every incident in the system gets a
dollar amount" in the mishap cost log. The postmortem states a financial impact in USD;
the cost log prices the mishaps linked to it. The page shows both and flags a mismatch.

Figures: USD as Decimal, users as an integer, duration in whole minutes.
"""
from dataclasses import dataclass
from decimal import Decimal

from incidents.models import Amendment, Postmortem, Section

ZERO = Decimal(0)


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


def amendments_by_section(amendments: list[Amendment]) -> dict[str, list[Amendment]]:
    """{section value: [amendments adding to it, oldest first]}; "" holds general notes."""
    grouped: dict[str, list[Amendment]] = {"": [], **{s.value: [] for s in Section}}
    for amendment in amendments:
        grouped[amendment.section].append(amendment)
    return grouped

