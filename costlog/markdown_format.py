"""The seed's Markdown mishap cost log, parsed into records and written back.

Rule: docs/rules.md#cost-markdown (the format of the real MISHAP_COST_LOG.md). The format:

    ## Cost reference                     a table of "| Resource | ~$0.23/hour |" rows
    ## Session 2026-01-12                 one section per day
    #### [6:02 PM ET] - Title             one entry; time in the zone it was logged in
    - **What happened**: text            bold-labelled bullets, in LABELS order
    - **Root cause**: TWO cascading failures:
      1. numbered sub-items               under any bullet
    - **Estimated cost**: ~$5-10 (note)  "$78,947", "$0 (near-miss)", "~$150-250"

parse_log() returns a CostLog (rates and entries, times converted to UTC) or raises
CostLogError listing every problem with its line number and heading; format_log() writes
a CostLog back in the same format. Money is Decimal, never float.

The Markdown is tokenised by hand (_Parser); each cost reference row and each entry is then
validated as a Record (RateRecord, EntryRecord, core.validation), keyed by the template's
labels ("Estimated cost"); lengths are the costlog models'. Every problem is a CostLogProblem
(a RecordError: file, line, key) whose text is "FILE, line N (heading): message", and
CostLogError (a RecordError too) carries them all.
"""
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, Field, ValidationInfo

from core.limits import OutOfRange, day_in_range
from core.record_types import Text, check_text, max_length_of, refusal, shown
from core.units import MAX_USD, format_amount, format_usd
from core.validation import Record, RecordError, parse_record
from costlog.models import ZONES, MishapEntry, ResourceRate

LABELS = (
    "What happened", "Root cause", "Root pattern", "AWS resources affected", "Duration",
    "Estimated cost", "Prevention", "Postmortem",
)
# Scarlog's one addition to the seed's labels: "Postmortem" (the linked postmortem's id),
# written only for entries that have one. The required ones are EntryRecord's.
NEAR_MISS_NOTE = "near-miss"

_AMOUNT = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_COST = re.compile(
    rf"^(?P<approx>~)?\$(?P<low>{_AMOUNT})(?:\s*-\s*\$?(?P<high>{_AMOUNT}))?"
    r"(?:\s+\((?P<note>[^()]*)\))?$"
)
_RATE = re.compile(rf"^(?P<approx>~)?\$(?P<usd>{_AMOUNT})/(?P<unit>hour|second)$")
_SESSION = re.compile(r"^## Session (?P<date>\d{4}-\d{2}-\d{2})\s*$")
_ENTRY = re.compile(
    r"^#### \[(?P<time>\d{1,2}:\d{2} [AP]M) (?P<zone>[A-Z]+)\] - (?P<title>\S.*?)\s*$"
)
_BULLET = re.compile(r"^- \*\*(?P<label>[^*]+)\*\*:(?: (?P<text>.*))?$")
_ITEM = re.compile(r"^  (?P<number>\d+)\. (?P<text>.+)$")
_RATE_ROW = re.compile(r"^\| (?P<resource>[^|]+?) \| (?P<cost>[^|]+?) \|$")


class CostLogProblem(RecordError):
    """One problem of a log: a RecordError (source, line, key) that also names the entry's
    heading; its text is "FILE, line N (heading): message" (the message names the key)."""

    def __init__(self, message: str, *, source: str = "", line: int | None = None,
                 key: str = "", heading: str = ""):
        self.heading = heading
        super().__init__(message, source=source, line=line, key=key)

    def located(self) -> str:
        where = f"line {self.line}" if self.line else ""
        if self.heading:
            where = f"{where} ({self.heading})" if where else f"({self.heading})"
        prefix = ", ".join(part for part in (self.source, where) if part)
        return f"{prefix}: {self.message}" if prefix else self.message


class CostLogError(RecordError):
    """The log could not be parsed or imported: `problems` holds every problem (each a
    RecordError), `errors` their texts ('line N (heading): message'). As a RecordError it
    is placed at its first problem; str() lists them all, one a line."""

    def __init__(self, problems: list):
        self.problems = [problem if isinstance(problem, RecordError) else RecordError(problem)
                         for problem in problems]
        self.errors = [problem.located() for problem in self.problems]
        first = self.problems[0] if self.problems else RecordError("the log was refused")
        super().__init__(first.message, source=first.source, line=first.line, key=first.key)
        self.args = ("\n".join(self.errors),)

    def located(self) -> str:
        return "\n".join(getattr(self, "errors", ())) or super().located()


@dataclass(frozen=True)
class CostEstimate:
    """A USD range: low == high for a single figure; `approximate` for a leading "~"."""

    low: Decimal
    high: Decimal
    approximate: bool = False
    note: str = ""

    @property
    def near_miss(self) -> bool:
        """True for "$0 (near-miss)": a mishap caught before it cost anything."""
        return self.high == 0 and self.note == NEAR_MISS_NOTE


@dataclass(frozen=True)
class Rate:
    """A cost reference row: USD per unit ("hour" or "second")."""

    resource: str
    usd: Decimal
    unit: str
    approximate: bool = True
    line: int = field(default=0, compare=False)  # where it was read; 0 when not read


@dataclass(frozen=True)
class Bullet:
    """One bold-labelled bullet: its text after the colon and its numbered sub-items."""

    label: str
    text: str = ""
    items: tuple[str, ...] = ()
    line: int = field(default=0, compare=False)  # where it was read; 0 when not read


@dataclass
class Entry:
    """One mishap: when (UTC, plus the clock time and zone as logged), title, its bullets."""

    session: date
    logged_time: str
    logged_zone: str
    title: str
    bullets: dict[str, Bullet] = field(default_factory=dict)
    line: int = 0

    @property
    def occurred_utc(self) -> datetime:
        # Only the wall-clock time is kept; the logged zone is attached by combine() below.
        clock = datetime.strptime(self.logged_time, "%I:%M %p").time()  # noqa: DTZ007
        local = datetime.combine(self.session, clock, tzinfo=ZoneInfo(ZONES[self.logged_zone]))
        return local.astimezone(UTC)

    @property
    def root_patterns(self) -> list[str]:
        """The root patterns, split on ";" ("Feature mismatch; Silent fallback")."""
        text = self.bullets["Root pattern"].text
        return [name.strip() for name in text.split(";") if name.strip()]

    @property
    def cost(self) -> CostEstimate:
        return parse_cost(self.bullets["Estimated cost"].text)


@dataclass
class CostLog:
    """A parsed log: the preamble lines before the cost table, the rates, the entries."""

    preamble: list[str]
    rates: list[Rate]
    entries: list[Entry]


# A rate's column: DecimalField(max_digits=14, decimal_places=6), below 10^8 USD.
MAX_RATE_USD = Decimal("1e8")


def parse_amount(text: str) -> Decimal:
    """'78,947' -> Decimal('78947'); '0.00012' -> Decimal('0.00012')."""
    return Decimal(text.replace(",", ""))


def parse_cost(text: str) -> CostEstimate:
    """Parse "~$5-10 (note)", "$78,947", "$0 (near-miss)"; ValueError names what is wrong."""
    match = _COST.match(text.strip())
    if not match:
        raise ValueError(
            f"Estimated cost {text!r} is not like '$78,947', '~$5-10' or '$0 (near-miss)'"
        )
    low = parse_amount(match["low"])
    high = parse_amount(match["high"]) if match["high"] else low
    if high > MAX_USD or high.as_tuple().exponent < -2:
        raise ValueError(f"Estimated cost {shown(text)} is over {format_usd(MAX_USD)} USD or has "
                         "more than two decimals; it does not fit the cost columns "
                         "(docs/rules.md#limits-numbers)")
    if high < low:
        raise ValueError(f"Estimated cost {text!r} has its high figure below its low figure")
    return CostEstimate(low, high, bool(match["approx"]), match["note"] or "")


def format_cost(cost: CostEstimate) -> str:
    """The inverse of parse_cost()."""
    text = ("~" if cost.approximate else "") + "$" + format_usd(cost.low)
    if cost.high != cost.low:
        text += "-" + format_usd(cost.high)
    return text + (f" ({cost.note})" if cost.note else "")


def parse_rate(resource: str, text: str) -> Rate:
    """Parse a cost reference cell "~$0.23/hour" or "~$0.00012/second"."""
    match = _RATE.match(text.strip())
    if not match:
        raise ValueError(f"cost {text!r} of {resource!r} is not like '~$0.23/hour'")
    usd = parse_amount(match["usd"])
    if usd >= MAX_RATE_USD or usd.as_tuple().exponent < -6:
        raise ValueError(f"cost {shown(text)} of {resource!r} is not below "
                         f"{format_amount(MAX_RATE_USD)} USD with at most six decimals; it "
                         "does not fit the rate column (docs/rules.md#limits-numbers)")
    return Rate(resource, usd, match["unit"], bool(match["approx"]))


def format_rate(rate: Rate) -> str:
    return ("~" if rate.approximate else "") + f"${format_amount(rate.usd)}/{rate.unit}"


# --- Record shapes: a cost reference row and an entry, keyed as the Markdown names them ---

def _rate_cost(value: Any, info: ValidationInfo) -> tuple:
    try:
        rate = parse_rate(info.data.get("resource", "?"), check_text(value))
    except ValueError as exc:
        raise refusal(str(exc)) from None
    return rate.usd, rate.unit, rate.approximate


class RateRecord(Record):
    """A cost reference row: `| resource | cost |`."""

    resource: Text(strip=True, max_length=max_length_of(ResourceRate, "resource"))
    cost: Annotated[tuple[Decimal, str, bool], BeforeValidator(_rate_cost)]


def _zone(value: Any) -> str:
    if value not in ZONES:
        raise refusal(f"time zone {value!r} is not one of {', '.join(ZONES)}")
    return value


def _clock(value: Any) -> str:
    try:
        # A format check only: the parsed value is discarded, so no zone applies.
        datetime.strptime(check_text(value), "%I:%M %p")  # noqa: DTZ007
    except ValueError:
        raise refusal(f"time {value!r} is not a clock time such as '6:02 PM'") from None
    return value


def _estimated_cost(value: Any) -> str:
    try:
        cost = parse_cost(check_text(value, required=False))
    except ValueError as exc:
        raise refusal(str(exc)) from None
    limit = max_length_of(MishapEntry, "cost_note")
    if len(cost.note) > limit:
        raise refusal(f"Estimated cost note is {len(cost.note)} characters; at most {limit}")
    return value


def _root_pattern(value: Any) -> str:
    if not [name for name in check_text(value, required=False).split(";") if name.strip()]:
        raise refusal("Root pattern is empty")
    return value


def _label(name: str, kind=None, required: bool = True):
    """An entry field read from the bullet labelled `name` (or the heading's part)."""
    kind = kind or Text(required=False)
    return Annotated[kind, Field(alias=name)] if required else \
        Annotated[kind, Field(alias=name, default="")]


class EntryRecord(Record):
    """An entry: its heading's time, zone and title and its bullets' texts by label.

    Numbered sub-items are kept as written (costlog.import_export says which labels keep
    them); the Postmortem id is checked against the database on import.
    """

    time: _label("time", Annotated[str, BeforeValidator(_clock)])
    zone: _label("time zone", Annotated[str, BeforeValidator(_zone)])
    title: _label("Title", Text(strip=True, max_length=max_length_of(MishapEntry, "title")))
    what_happened: _label("What happened")
    root_cause: _label("Root cause")
    root_pattern: _label("Root pattern", Annotated[str, BeforeValidator(_root_pattern)])
    resources_affected: _label("AWS resources affected", required=False)
    duration: _label("Duration", Text(required=False,
                                       max_length=max_length_of(MishapEntry, "duration")),
                     required=False)
    estimated_cost: _label("Estimated cost", Annotated[str, BeforeValidator(_estimated_cost)])
    prevention: _label("Prevention", required=False)
    postmortem: _label("Postmortem", required=False)


REQUIRED_LABELS = tuple(info.alias for info in EntryRecord.model_fields.values()
                        if info.is_required() and info.alias in LABELS)
GENERIC = ("is ", "must ", "contains ")  # messages that do not name their key yet


class _Parser:
    """Line-by-line reader; collects errors instead of stopping at the first."""

    def __init__(self, text: str, source: str = ""):
        self.lines = text.splitlines()
        self.source = source
        self.errors: list[CostLogProblem] = []
        self.log = CostLog(preamble=[], rates=[], entries=[])
        self.session: date | None = None
        self.entry: Entry | None = None
        self.bullet: Bullet | None = None
        self.section = "preamble"
        # After a heading that could not be read, its bullets are not reported again.
        self.skipping_broken_entry = False

    def error(self, number: int, message: str, key: str = "") -> None:
        self.errors.append(CostLogProblem(message, source=self.source, line=number, key=key,
                                          heading=self.entry.title if self.entry else ""))

    def refused(self, error: RecordError, lines: dict[str, int], default: int) -> None:
        """A Record's refusal as a problem on the line of its key (else `default`)."""
        message = error.message
        if message == "is required":
            missing = [label for label in REQUIRED_LABELS if label not in self.entry.bullets]
            message = f"missing {', '.join(missing)}"
        elif message.startswith(GENERIC):
            message = f"{error.key} {message.rstrip('.')}"
        self.error(lines.get(error.key, default), message, error.key)

    def run(self) -> CostLog:
        for number, line in enumerate(self.lines, start=1):
            self.read(number, line)
        self.close_entry()
        if self.errors:
            raise CostLogError(self.errors)
        return self.log

    def read(self, number: int, line: str) -> None:
        if line.startswith("## "):
            self.read_section(number, line)
        elif self.section == "preamble":
            self.log.preamble.append(line)
        elif line.startswith("#### "):
            self.read_entry_heading(number, line)
        elif self.section == "rates" and not self.skipping_broken_entry:
            self.read_rate(number, line)
        elif line.strip():
            self.read_entry_line(number, line)

    def read_section(self, number: int, line: str) -> None:
        self.close_entry()
        self.skipping_broken_entry = False
        if line.strip() == "## Cost reference":
            self.section = "rates"
            return
        match = _SESSION.match(line)
        if not match:
            self.error(
                number, f"{line!r} is neither '## Cost reference' nor '## Session YYYY-MM-DD'"
            )
            self.section = "unknown"
            return
        try:
            self.session = day_in_range(date.fromisoformat(match["date"]))
        except OutOfRange as exc:
            self.error(number, f"session date {match['date']} {exc}", "session")
        except ValueError:
            self.error(number, f"session date {match['date']!r} is not a date", "session")
        self.section = "session"

    def read_rate(self, number: int, line: str) -> None:
        if not line.strip() or line.startswith(("| Resource", "|---")):
            return
        match = _RATE_ROW.match(line)
        if not match:
            self.error(number, f"cost reference row {line!r} is not '| Resource | ~$0.23/hour |'")
            return
        try:
            row = parse_record(RateRecord, {"resource": match["resource"], "cost": match["cost"]},
                               source=self.source, line=number)
        except RecordError as exc:
            self.refused(exc, {}, number)
            return
        self.log.rates.append(Rate(row.resource, *row.cost, line=number))

    def read_entry_heading(self, number: int, line: str) -> None:
        self.close_entry()
        match = _ENTRY.match(line)
        self.skipping_broken_entry = not match
        if not match:
            self.error(number, f"entry heading {line!r} is not '#### [6:02 PM ET] - Title'")
            return
        if self.session is None:
            self.error(number, "entry heading comes before any '## Session YYYY-MM-DD'")
            self.skipping_broken_entry = True
            return
        self.entry = Entry(self.session, match["time"], match["zone"], match["title"], line=number)

    def read_entry_line(self, number: int, line: str) -> None:
        if self.skipping_broken_entry:
            return
        if self.entry is None:
            self.error(number, f"{line!r} is outside any entry")
            return
        bullet = _BULLET.match(line)
        item = _ITEM.match(line)
        if bullet:
            self.add_bullet(number, bullet["label"], bullet["text"] or "")
        elif item and self.bullet is not None:
            expected = len(self.bullet.items) + 1
            if int(item["number"]) != expected:
                self.error(number, f"sub-item numbered {item['number']}, expected {expected}",
                           self.bullet.label)
            self.bullet = Bullet(self.bullet.label, self.bullet.text,
                                 (*self.bullet.items, item["text"]), self.bullet.line)
            self.entry.bullets[self.bullet.label] = self.bullet
        else:
            self.error(number, f"{line!r} is not a '- **Label**: text' bullet or a numbered item")

    def add_bullet(self, number: int, label: str, text: str) -> None:
        if label not in LABELS:
            self.error(number, f"unknown label {label!r}; expected one of {', '.join(LABELS)}",
                       label)
            return
        if label in self.entry.bullets:
            self.error(number, f"label {label!r} appears twice", label)
            return
        self.bullet = Bullet(label, text, line=number)
        self.entry.bullets[label] = self.bullet

    def close_entry(self) -> None:
        """Validate the entry read so far as an EntryRecord; keep it for the log."""
        if self.entry is not None:
            entry = self.entry
            fields = {"time": entry.logged_time, "time zone": entry.logged_zone,
                      "Title": entry.title,
                      **{label: bullet.text for label, bullet in entry.bullets.items()}}
            lines = {label: bullet.line for label, bullet in entry.bullets.items()}
            try:
                parse_record(EntryRecord, fields, source=self.source, line=entry.line)
            except RecordError as exc:
                self.refused(exc, lines, entry.line)
            self.log.entries.append(entry)
        self.entry = None
        self.bullet = None


def parse_log(text: str, source: str = "") -> CostLog:
    """Parse a whole Markdown cost log (`source`: its file name, for errors); raises
    CostLogError listing every bad line."""
    return _Parser(text, source).run()


def format_log(log: CostLog) -> str:
    """Write `log` in the seed's format (entries grouped by session date, in order)."""
    lines = list(log.preamble)
    lines += ["## Cost reference", "", "| Resource | Cost |", "|---|---|"]
    lines += [f"| {rate.resource} | {format_rate(rate)} |" for rate in log.rates]
    session = None
    for entry in log.entries:
        if entry.session != session:
            session = entry.session
            lines += ["", f"## Session {session.isoformat()}"]
        lines += ["", f"#### [{entry.logged_time} {entry.logged_zone}] - {entry.title}"]
        for label in LABELS:
            bullet = entry.bullets.get(label)
            if bullet is None:
                continue
            lines.append(f"- **{label}**:" + (f" {bullet.text}" if bullet.text else ""))
            lines += [f"  {n}. {text}" for n, text in enumerate(bullet.items, start=1)]
    return "\n".join(lines) + "\n"
