"""Template filters: UTC times with their zone, UTC time inputs, sanitized Markdown, impact figures."""
from datetime import UTC

from django import template

from incidents.forms import format_utc_input
from incidents.impact import format_minutes
from incidents.markdown import render_markdown

register = template.Library()


@register.filter
def utc(value, with_seconds: bool = False) -> str:
    """`2026-03-02 14:02 UTC` for an aware datetime; '' for None."""
    if not value:
        return ""
    fmt = "%Y-%m-%d %H:%M:%S UTC" if with_seconds else "%Y-%m-%d %H:%M UTC"
    return value.astimezone(UTC).strftime(fmt)


@register.filter
def utc_input(value) -> str:
    """The value a UTC time text input shows (`YYYY-MM-DD HH:MM:SS`)."""
    return format_utc_input(value)


@register.filter
def markdown(text: str):
    """Render Markdown through the one sanitizing renderer (incidents.markdown)."""
    return render_markdown(text or "")


@register.filter
def minutes(value) -> str:
    """Whole minutes as a duration: 90 -> '1h 30m'; None -> ''."""
    return format_minutes(value)


@register.filter
def figure_input(value) -> str:
    """An impact figure as its input shows it: Decimal('78947.00') -> '78947.00'; None -> ''."""
    return "" if value is None else str(value)
