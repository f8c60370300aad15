"""Units as Scarlog reads and writes them: money in USD (Decimal), durations in seconds
or whole minutes. One parser and one formatter per unit, used by every app.

"$78,947" and "78947.5" read as Decimal USD; "1h 30m" reads as 5400 seconds (or 90
minutes); the formatters write what the parsers read back.
"""
import re
from decimal import Decimal, InvalidOperation

# A unit as people write it: "2d", "1h", "1 hr", "30m", "30 min", "45 s", "45 seconds".
_UNIT = (r"(days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)")
_DURATION_PART = re.compile(r"(\d+)\s*" + _UNIT + r"(?![a-z])", re.IGNORECASE)


_DURATION = re.compile(r"^(?:\s*\d+\s*" + _UNIT + r"(?![a-z]))+\s*$", re.IGNORECASE)


_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_SPAN_UNITS = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))


def parse_duration(text: str) -> int:
    """'1h 30m' -> 5400 seconds ('2d', '20m', '45s', '1h30m', '1 h 30 min', '45 sec');
    ValueError when malformed."""
    if not _DURATION.match(text or ""):
        raise ValueError(f"Duration {text!r} is not like '1h 30m', '20m' or '45s'.")
    seconds = sum(int(n) * _SECONDS[unit[0].lower()]
                  for n, unit in _DURATION_PART.findall(text))
    if seconds <= 0:
        raise ValueError(f"Duration {text!r} is zero; enter how long the resource ran.")
    return seconds


def format_duration(seconds: int) -> str:
    """5400 -> '1h 30m': the compact form an input shows; the inverse of parse_duration()."""
    parts = []
    for unit, size in _SECONDS.items():
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts) or "0s"


def format_span(seconds: int | None) -> str:
    """How every page and export shows a duration: 2700 -> '45 min', 5400 -> '1 h 30 min',
    90061 -> '1 d 1 h 1 min 1 s', 0 -> '0 min'; None -> ''. parse_duration reads it back.

    Rule: docs/rules.md#input-money-durations.
    """
    if seconds is None:
        return ""
    parts = []
    for unit, size in _SPAN_UNITS:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}")
    return " ".join(parts) or "0 min"


def format_amount(value: Decimal) -> str:
    """Decimal('78947.00') -> '78,947'; Decimal('0.230000') -> '0.23' (no exponent, commas)."""
    text = format(value.normalize(), "f")
    whole, _, fraction = text.partition(".")
    whole = f"{int(whole):,}"
    return f"{whole}.{fraction}" if fraction else whole


def format_count(value: int) -> str:
    """A count of people or things with thousands separators: 1200 -> '1,200'.

    Rule: docs/rules.md#input-money-durations."""
    return f"{int(value):,}"


def format_usd(value: Decimal) -> str:
    """Money as every page, export and the log write it (after a '$'): Decimal('78947.00')
    -> '78,947' (no cents when whole); Decimal('5.5') -> '5.50'.

    Rule: docs/rules.md#input-money-durations.
    """
    if value == value.to_integral_value():
        return format_amount(value)
    return f"{value:,.2f}"


# The largest amount a USD column holds (DecimalField(max_digits=14, decimal_places=2)):
# a larger one is refused by name, never sent to overflow the column.
# docs/rules.md#limits-numbers
MAX_USD = Decimal("999999999999.99")
# The largest count or number of minutes a column holds (PositiveIntegerField on PostgreSQL).
MAX_COUNT = 2_147_483_647


def parse_usd(text: str) -> Decimal | None:
    """'$78,947', '78947.5', ' 0 ' -> Decimal with cents; '' -> None.

    Raises ValueError (naming the value) for text that is not a non-negative USD amount
    with at most two decimals, or more than MAX_USD (1e999999 and 5,000-digit amounts
    included).
    """
    cleaned = (text or "").strip().replace(",", "").removeprefix("$").strip()
    if not cleaned:
        return None
    shown = repr(cleaned) if len(cleaned) <= 40 else repr(cleaned[:37]) + "…"
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"{shown} is not an amount in USD such as 78,947 or 5.50.") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"{shown} is not an amount in USD of 0 or more.")
    if value > MAX_USD:
        raise ValueError(f"{shown} is more than the largest amount stored, "
                         f"{format_usd(MAX_USD)} USD.")
    if value.as_tuple().exponent < -2 and value != value.quantize(Decimal("0.01")):
        raise ValueError(f"{shown} has more than two decimals (cents).")
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
        if cleaned.startswith("-"):
            raise ValueError(f"{cleaned[:40]!r} is negative; a duration is 0 minutes or more.")
        if len(cleaned) > 10 or int(cleaned) > MAX_COUNT:
            raise ValueError(f"{cleaned[:40]!r} is more minutes than can be stored "
                             f"(at most {MAX_COUNT:,}).")
        return int(cleaned)
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
    """90 -> '1h 30m'; 0 -> '0m'; None -> '' (the compact form a minutes input shows;
    pages and exports show format_span(minutes * 60))."""
    if minutes is None:
        return ""
    return format_duration(minutes * 60) if minutes else "0m"
