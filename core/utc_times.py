"""UTC times as people paste them from logs, read the same way by every field that takes one.

One parser for every UTC time input: the draft's event time and timeline rows (forms and
autosave), the meeting's scheduled start, memory evidence's last_modified_utc, and the
events API's occurred_utc. Rule: docs/rules.md#input-utc-times.

Accepted (and nothing else): `YYYY-MM-DD HH:MM`, `YYYY-MM-DD HH:MM:SS`, the same with `T`
between date and time, with optional fractions of a second, and optionally ending in `Z`,
` UTC` or an offset `±HH:MM`. A time without an offset is UTC.
"""
import re
from datetime import UTC, datetime

from core.limits import OutOfRange, utc_in_range

UTC_INPUT_HELP = "YYYY-MM-DD HH:MM[:SS] in UTC, or ISO 8601 with an offset"
UTC_INPUT_EXAMPLE = "2026-03-02 14:02"

_UTC_TEXT = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)"
    r"(?P<zone>Z| ?UTC|[+-]\d{2}:\d{2})?$"
)


def parse_utc(text: str) -> datetime:
    """'2026-03-02 14:02', '2026-03-02T14:02:00Z', '…+02:00' -> an aware UTC datetime.

    Raises ValueError, quoting the text and naming the accepted forms, for anything else
    (a date alone, a time alone, an impossible date such as 2026-02-30, other offsets), and
    core.limits.OutOfRange (a ValueError) for a time outside the accepted range
    (docs/rules.md#limits-time-range).
    """
    cleaned = (text or "").strip()
    match = _UTC_TEXT.match(cleaned)
    problem = (f"{cleaned[:40]!r} is not a date and time; use {UTC_INPUT_HELP} "
               f"(e.g. {UTC_INPUT_EXAMPLE}).")
    if match is None:
        raise ValueError(problem)
    zone = match["zone"] or ""
    offset = "+00:00" if zone.strip() in ("", "Z", "UTC") else zone
    try:
        parsed = datetime.fromisoformat(f"{match['date']}T{match['time']}{offset}")
    except ValueError:
        raise ValueError(problem) from None
    try:
        # Converting year 1 at +05:00 or 9999-12-31 at -05:00 to UTC would overflow.
        return utc_in_range(parsed)
    except OutOfRange as exc:
        raise OutOfRange(f"{cleaned[:40]!r} {exc}") from None


def format_utc_input(value: datetime | None) -> str:
    """The text a UTC time input shows: `YYYY-MM-DD HH:MM:SS` (UTC, a four-digit year even
    before 1000, so parse_utc reads it back), or '' for None."""
    if not value:
        return ""
    moment = value.astimezone(UTC)
    return f"{moment.year:04d}-{moment:%m-%d %H:%M:%S}"
