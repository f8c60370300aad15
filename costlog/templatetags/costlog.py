"""Template filters for the cost log: USD amounts, an entry's cost as logged, logged time."""
from zoneinfo import ZoneInfo

from django import template

from core.templatetags import units as units_filters
from costlog import panel
from costlog.markdown_format import (
    NEAR_MISS_NOTE,
    ZONES,
    CostEstimate,
    Rate,
    format_cost,
    format_rate,
)

register = template.Library()


@register.filter
def usd(value) -> str:
    """Decimal USD -> '$78,947' or '$5.50' (core.templatetags.units)."""
    return units_filters.usd(value)


@register.filter
def usd_range(total) -> str:
    """A total's low–high USD: '$79,102–$79,207', or one figure when they are equal."""
    return units_filters.usd_between(total.low_usd, total.high_usd)


register.filter("seconds", units_filters.seconds)


@register.filter
def entry_cost(entry) -> str:
    """An entry's estimated cost as the log writes it: '~$5-10 (wasted training jobs)'."""
    note = NEAR_MISS_NOTE if entry.near_miss else entry.cost_note
    return format_cost(CostEstimate(entry.cost_low_usd, entry.cost_high_usd,
                                    entry.cost_approximate, note))


@register.filter
def logged_time(entry) -> str:
    """The entry's time in the zone it was logged in: '2026-01-12 6:02 PM ET'."""
    local = entry.occurred_utc.astimezone(ZoneInfo(ZONES[entry.logged_zone]))
    clock = local.strftime("%I:%M %p").lstrip("0")
    return f"{local:%Y-%m-%d} {clock} {entry.logged_zone}"


@register.filter
def rate_text(rate) -> str:
    """A ResourceRate as the cost reference table writes it: '~$0.00012/second'."""
    return format_rate(Rate(rate.resource, rate.usd, rate.unit, rate.approximate))


@register.inclusion_tag("costlog/partials/impact_costs.html", takes_context=True)
def impact_costs(context, postmortem, amendments=(), oob=False):
    """The "Impact and cost log" panel of `postmortem` (its amendments, oldest first, restate
    the impact): stated figures, linked entries' total in USD, and the entries to link."""
    return {
        "request": context.get("request"), "csrf_token": context.get("csrf_token"),
        "can_write": context.get("can_write", False),
        "pm": postmortem, "oob": oob,
        "cost": panel.compare_with_cost_log(postmortem, list(amendments)),
        "linkable_entries": panel.linkable_entries(),
    }
