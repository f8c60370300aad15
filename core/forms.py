"""Form fields every app uses: a UTC time as pasted from a log, USD, minutes, a count of users."""
from django import forms

from core.limits import OutOfRange, day_in_range, whole_number
from core.units import MAX_COUNT, format_minutes, parse_minutes, parse_usd
from core.utc_times import UTC_INPUT_HELP, format_utc_input, parse_utc

__all__ = ["UTC_INPUT_HELP", "MinutesField", "USDField", "UTCDateTimeField", "UsersField",
           "format_utc_input"]


class UTCDateTimeField(forms.CharField):
    """A text field for a time pasted from a log: `2026-03-02 14:02`, `…T14:02:00Z`, `…+02:00`.

    Reads through core.utc_times.parse_utc (docs/rules.md#input-utc-times): a time without
    an offset is UTC, one with an offset is converted to UTC. Returns an aware UTC
    datetime, or None when blank; anything else is a ValidationError quoting the text, and
    so is a time outside the accepted range (docs/rules.md#limits-time-range).
    """

    def to_python(self, value):
        text = super().to_python(value).strip()
        if not text:
            return None
        try:
            return parse_utc(text)  # core.limits.OutOfRange (a ValueError) for the range
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def prepare_value(self, value):
        return format_utc_input(value) if hasattr(value, "astimezone") else value


class InRangeDateField(forms.DateField):
    """A date in the accepted range (docs/rules.md#limits-time-range); 9999-12-31 is
    refused, not stored to overflow the first computation that adds a day to it."""

    def to_python(self, value):
        day = super().to_python(value)
        if day is None:
            return None
        try:
            return day_in_range(day)
        except OutOfRange as exc:
            raise forms.ValidationError(f"{day.isoformat()} {exc}") from None


class USDField(forms.DecimalField):
    """An amount in USD as people type it: '78,947', '$78,947.00', '5.5'; blank -> None.

    A text input (a number input refuses '78,947'); docs/rules.md#input-money-durations.
    """

    widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})

    def to_python(self, value):
        try:
            return parse_usd(value if isinstance(value, str) else str(value or ""))
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def validate(self, value):
        forms.Field.validate(self, value)

    def prepare_value(self, value):
        return "" if value is None else value


class MinutesField(forms.IntegerField):
    """A duration in whole minutes: '90', '1h 30m', '2d'; blank -> None."""

    def to_python(self, value):
        try:
            return parse_minutes(value if isinstance(value, str) else str(value or ""))
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def prepare_value(self, value):
        return format_minutes(value) if isinstance(value, int) else value


class UsersField(forms.IntegerField):
    """A count of users: '1200' or '1,200'; blank -> None; negative refused."""

    def to_python(self, value):
        text = (value if isinstance(value, str) else str(value or "")).strip().replace(",", "")
        if not text:
            return None
        number = whole_number(text)
        if number is None:
            raise forms.ValidationError(
                f"{text[:40]!r} is not a whole number of users (0 or more).")
        if number > MAX_COUNT:
            raise forms.ValidationError(f"{text[:40]!r} is more users than can be stored "
                                        f"(at most {MAX_COUNT:,}).")
        return number
