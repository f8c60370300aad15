"""Template filters for money and durations, one per unit, over core.units; every app's
pages show amounts and durations through these (docs/rules.md#input-money-durations).

    {{ amount|usd }}            Decimal('78947.00') -> '$78,947', Decimal('5.5') -> '$5.50'
    {{ low|usd_between:high }}  '$55–$90', or one figure when equal
    {{ minutes|minutes }}       45 -> '45 min', 90 -> '1 h 30 min'
    {{ seconds|seconds }}       2700 -> '45 min'
    {{ users|count }}           1200 -> '1,200'
"""
from decimal import Decimal

from django import template

from core.units import format_count, format_span, format_usd

register = template.Library()


@register.filter
def usd(value) -> str:
    """Decimal USD -> '$78,947' or '$5.50'; None -> ''."""
    if value is None or value == "":
        return ""
    return "$" + format_usd(Decimal(value))


@register.filter
def usd_between(low, high) -> str:
    """'$79,102–$79,207', or one figure when low equals high."""
    return usd(low) if low == high else f"{usd(low)}–{usd(high)}"


@register.filter
def minutes(value) -> str:
    """Whole minutes as a duration: 45 -> '45 min'; None -> ''."""
    return "" if value is None else format_span(int(value) * 60)


@register.filter
def seconds(value) -> str:
    """Seconds as a duration: 2700 -> '45 min'; None -> ''."""
    return "" if value is None else format_span(int(value))


@register.filter
def count(value) -> str:
    """A whole count (users affected) with thousands separators: 1200 -> '1,200'; None -> ''."""
    return "" if value is None or value == "" else format_count(value)
