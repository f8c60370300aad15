"""The limits every piece of outside input is held to, in one place: the range of times and
dates Scarlog accepts, the length of free text, the size of an imported file.

Rules: docs/rules.md#limits-time-range, docs/rules.md#limits-text,
docs/rules.md#limits-import-file.
"""
from datetime import UTC, date, datetime
from pathlib import Path

# Times and dates a record may hold: 1970-01-01 00:00 UTC up to, not including, 2100-01-01.
# Wide enough for any incident, meeting or due date; narrow enough that converting a time
# with any offset, or adding the 72-hour deadline or a week's reconvene, never overflows.
EARLIEST_UTC = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_UTC = datetime(2100, 1, 1, tzinfo=UTC)
RANGE_TEXT = "from 1970-01-01 to 2099-12-31 (UTC)"

# Free-text lengths, in characters (docs/rules.md#limits-text).
SHORT_TEXT = 2_000      # one line of a list: a timeline event, a factor, a reason, a note
LONG_TEXT = 20_000      # a section of prose: prevention, impact, an amendment, what happened
DOCUMENT_TEXT = 200_000  # a whole document: a runbook's body

# The largest file an import command reads (docs/rules.md#limits-import-file).
IMPORT_FILE_BYTES = 20 * 1024 * 1024


class OutOfRange(ValueError):
    """A time or date outside EARLIEST_UTC..LATEST_UTC; str() says the accepted range, as
    the end of a sentence that begins with the value ("'0001-01-01' is outside …")."""


def utc_in_range(moment: datetime) -> datetime:
    """`moment` (aware; naive is read as UTC) converted to UTC. Raises OutOfRange when it,
    or its conversion to UTC, lies outside the accepted range (year 1 with +05:00 and
    9999-12-31 with -05:00 included: the conversion itself would overflow).
    docs/rules.md#limits-time-range"""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        raise OutOfRange(f"is outside the accepted range of times, {RANGE_TEXT}.") from None
    if not EARLIEST_UTC <= utc < LATEST_UTC:
        raise OutOfRange(f"is outside the accepted range of times, {RANGE_TEXT}; in UTC it "
                         f"is {utc:%Y-%m-%d %H:%M}.")
    return utc


def day_in_range(day: date) -> date:
    """`day` unchanged when it lies in the accepted range; OutOfRange otherwise (its
    message follows the date: "9999-12-31 is outside …"). docs/rules.md#limits-time-range"""
    if not EARLIEST_UTC.date() <= day < LATEST_UTC.date():
        raise OutOfRange(f"is outside the accepted range of dates, {RANGE_TEXT}.")
    return day


class FileTooLarge(ValueError):
    """An import file over IMPORT_FILE_BYTES; str() names the file and both sizes."""


def check_import_size(path: str | Path, limit: int | None = None) -> None:
    """Raises FileTooLarge when the file at `path` holds more than `limit` bytes (checked
    before it is read). docs/rules.md#limits-import-file"""
    limit = IMPORT_FILE_BYTES if limit is None else limit
    size = Path(path).stat().st_size
    if size > limit:
        raise FileTooLarge(f"{path}: the file is {size:,} bytes; an import reads at most "
                           f"{limit:,} bytes. Nothing was imported.")


def text_problem(value: str, max_length: int) -> str:
    """What stops free text `value` being stored, as the end of a sentence naming the field
    ("holds a NUL character", "is 25,000 characters; at most 20,000"), or "" when nothing
    does. PostgreSQL cannot store NUL in text. docs/rules.md#limits-text"""
    if "\x00" in value:
        return "holds a NUL character, which cannot be stored"
    if len(value) > max_length:
        return f"is {len(value):,} characters; at most {max_length:,}"
    return ""


# The largest whole number a form may carry (a row id, a count, a version): PostgreSQL's
# bigint. Longer digit strings are refused before int() reads them.
MAX_WHOLE_NUMBER = 9_223_372_036_854_775_807


def whole_number(text: str) -> int | None:
    """`text` as a whole number 0..MAX_WHOLE_NUMBER, or None when it is not one (not digits,
    or more digits than a bigint holds: never int() of a 5,000-digit string).
    docs/rules.md#limits-numbers"""
    text = text.strip() if isinstance(text, str) else ""
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    number = int(text)
    return number if number <= MAX_WHOLE_NUMBER else None
