"""The seed's Markdown mishap cost log, parsed into records and written back.

Source rule: "The Mishap Cost Log" of ../shared/seeds/000_147101d763a5563e.txt and the real
log ../shared/data/MISHAP_COST_LOG.md. The format:

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
"""
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from core.units import format_amount, format_usd

LABELS = (
    "What happened", "Root cause", "Root pattern", "AWS resources affected", "Duration",
    "Estimated cost", "Prevention", "Postmortem",
)
# Scarlog's one addition to the seed's labels: "Postmortem" (the linked postmortem's id),
# written only for entries that have one.
REQUIRED_LABELS = ("What happened", "Root cause", "Root pattern", "Estimated cost")
ZONES = {
    "ET": "America/New_York", "CT": "America/Chicago", "MT": "America/Denver",
    "PT": "America/Los_Angeles", "UTC": "UTC",
}
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


class CostLogError(ValueError):
    """The log could not be parsed; `errors` holds every 'line N (heading): message'."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("\n".join(errors))


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


@dataclass(frozen=True)
class Bullet:
    """One bold-labelled bullet: its text after the colon and its numbered sub-items."""

    label: str
    text: str = ""
    items: tuple[str, ...] = ()


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
        clock = datetime.strptime(self.logged_time, "%I:%M %p").time()
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
    return Rate(resource, parse_amount(match["usd"]), match["unit"], bool(match["approx"]))


def format_rate(rate: Rate) -> str:
    return ("~" if rate.approximate else "") + f"${format_amount(rate.usd)}/{rate.unit}"


class _Parser:
    """Line-by-line reader; collects errors instead of stopping at the first."""

    def __init__(self, text: str):
        self.lines = text.splitlines()
        self.errors: list[str] = []
        self.log = CostLog(preamble=[], rates=[], entries=[])
        self.session: date | None = None
        self.entry: Entry | None = None
        self.bullet: Bullet | None = None
        self.section = "preamble"
        # After a heading that could not be read, its bullets are not reported again.
        self.skipping_broken_entry = False

    def error(self, number: int, message: str) -> None:
        heading = f" ({self.entry.title})" if self.entry else ""
        self.errors.append(f"line {number}{heading}: {message}")

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
            self.error(number, f"{line!r} is neither '## Cost reference' nor '## Session YYYY-MM-DD'")
            self.section = "unknown"
            return
        try:
            self.session = date.fromisoformat(match["date"])
        except ValueError:
            self.error(number, f"session date {match['date']!r} is not a date")
        self.section = "session"

    def read_rate(self, number: int, line: str) -> None:
        if not line.strip() or line.startswith(("| Resource", "|---")):
            return
        match = _RATE_ROW.match(line)
        if not match:
            self.error(number, f"cost reference row {line!r} is not '| Resource | ~$0.23/hour |'")
            return
        try:
            self.log.rates.append(parse_rate(match["resource"], match["cost"]))
        except ValueError as exc:
            self.error(number, str(exc))

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
        if match["zone"] not in ZONES:
            self.error(number, f"time zone {match['zone']!r} is not one of {', '.join(ZONES)}")

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
                self.error(number, f"sub-item numbered {item['number']}, expected {expected}")
            self.bullet = Bullet(self.bullet.label, self.bullet.text,
                                 (*self.bullet.items, item["text"]))
            self.entry.bullets[self.bullet.label] = self.bullet
        else:
            self.error(number, f"{line!r} is not a '- **Label**: text' bullet or a numbered item")

    def add_bullet(self, number: int, label: str, text: str) -> None:
        if label not in LABELS:
            self.error(number, f"unknown label {label!r}; expected one of {', '.join(LABELS)}")
            return
        if label in self.entry.bullets:
            self.error(number, f"label {label!r} appears twice")
            return
        self.bullet = Bullet(label, text)
        self.entry.bullets[label] = self.bullet
        if label == "Estimated cost":
            try:
                parse_cost(text)
            except ValueError as exc:
                self.error(number, str(exc))

    def close_entry(self) -> None:
        if self.entry is not None:
            missing = [label for label in REQUIRED_LABELS if label not in self.entry.bullets]
            if missing:
                self.error(self.entry.line, f"missing {', '.join(missing)}")
            elif not self.entry.root_patterns:
                self.error(self.entry.line, "Root pattern is empty")
            self.log.entries.append(self.entry)
        self.entry = None
        self.bullet = None


def parse_log(text: str) -> CostLog:
    """Parse a whole Markdown cost log; raises CostLogError listing every bad line."""
    return _Parser(text).run()


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
