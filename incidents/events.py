"""Opening a draft postmortem from a monitoring system's event (POST /api/events).

Payload (JSON object): trigger (a Trigger value), occurred_utc (core.utc_times.parse_utc),
trace_id, summary (one line), trigger_reason (for "other"), template (optional), and for
the drawdown trigger `sessions`: [{"loss_usd": "1400", "deployed_capital_usd": "100000"},
…] oldest first, the event's session last. The drawdown rule is evaluated from those
figures (incidents.drawdown); under threshold no postmortem is opened.

The payload's shape is the Record EventRecord (core.validation); a refusal is an
EventPayloadError, both the EventError callers caught before and a RecordError whose key
names the field (`sessions[0].loss_usd`); the API answers 400 with that key as "field".
Rules: docs/rules.md#event-drawdown (triggers) and docs/rules.md#event-api (the endpoint).
"""
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from django.db import transaction
from pydantic import BeforeValidator, model_validator

from core.limits import OutOfRange
from core.record_types import Text, check_text, max_length_of, refusal, shown
from core.utc_times import parse_utc
from core.validation import Record, RecordError, parse_record
from incidents import services
from incidents.drawdown import DrawdownResult, Session, evaluate_drawdown
from incidents.models import Postmortem, Reference, Template, TimelineEntry, Trigger
from incidents.services import EventError

SOURCE = "request body"
MAX_SESSIONS = 50
# Limits of a request, not of a column (the summary and reason are stored as text).
OCCURRED_LIMIT, SUMMARY_LIMIT, REASON_LIMIT = 40, 1000, 2000


class EventPayloadError(EventError, RecordError):
    """A refused event payload: `field` and `key` name the bad value, source is the body."""

    def __init__(self, field_name: str, message: str):
        RecordError.__init__(self, message, source=SOURCE, key=field_name)
        self.field = field_name

    @classmethod
    def of(cls, error: RecordError) -> "EventPayloadError":
        return cls(error.key, error.message)


def _time(value: Any) -> datetime:
    text = check_text(value, max_length=OCCURRED_LIMIT, strip=True)
    try:
        return parse_utc(text)
    except OutOfRange as exc:
        # A real time outside docs/rules.md#limits-time-range; the message quotes it.
        raise refusal(str(exc)) from None
    except ValueError:
        # The forms core.utc_times reads (docs/rules.md#input-utc-times).
        raise refusal(f"{shown(text)} is not a UTC time such as 2026-03-02T15:47:00Z or "
                      "2026-03-02 15:47.") from None


# Amounts of a trading session in USD: anything outside these is a mistake, and Decimal
# arithmetic on 1e999999 would overflow or print a megabyte.
MAX_USD = Decimal("1e12")
MIN_USD = Decimal("0.01")


def _amount(positive: bool):
    def check(value: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise refusal('must be a decimal string such as "1400.50".')
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise refusal(f"{shown(value)} is not a number.") from None
        if not amount.is_finite():
            raise refusal(f"{shown(value)} is not a finite number.")
        # copy_abs() and comparisons never round, so 1e999999999 cannot overflow here.
        if amount.copy_abs() >= MAX_USD or (amount and amount.copy_abs() < MIN_USD):
            raise refusal(f"{shown(value)} is not an amount in USD between one cent and "
                          "a trillion.")
        if positive and amount <= 0:
            raise refusal(f"{shown(value)} must be more than 0.")
        return amount
    return BeforeValidator(check)


def _template(value: Any) -> str:
    text = check_text(value, required=False, strip=True) or Template.SEVEN_FIELD
    if text not in Template.values:
        raise refusal(f"{shown(text)} is not one of {', '.join(Template.values)}.")
    return text


def _sessions(value: Any) -> list:
    if not isinstance(value, list) or not value:
        raise refusal("the drawdown trigger needs a list of sessions, each with loss_usd and "
                      "deployed_capital_usd, the event's last.")
    if len(value) > MAX_SESSIONS:
        raise refusal(f"at most {MAX_SESSIONS}.")
    return value


class SessionRecord(Record):
    """One session's figures: its loss (may be 0 or negative) and the capital deployed."""

    loss_usd: Annotated[Decimal, _amount(positive=False)]
    deployed_capital_usd: Annotated[Decimal, _amount(positive=True)]

    @model_validator(mode="before")
    @classmethod
    def _both_figures(cls, data: Any) -> Any:
        if not isinstance(data, dict) or set(data) != {"loss_usd", "deployed_capital_usd"}:
            raise refusal("must be an object with loss_usd and deployed_capital_usd.")
        return data


class EventRecord(Record):
    """The POST /api/events body. Cross-field rules (a trigger value, a reason for
    "other", sessions with the drawdown trigger only) are checked after it."""

    trigger: Text(strip=True, max_length=max_length_of(Postmortem, "trigger"))
    occurred_utc: Annotated[datetime, BeforeValidator(_time)]
    trace_id: Text(strip=True, max_length=max_length_of(TimelineEntry, "trace_id"))
    summary: Text(strip=True, max_length=SUMMARY_LIMIT)
    trigger_reason: Text(strip=True, required=False, max_length=REASON_LIMIT) = ""
    template: Annotated[str, BeforeValidator(_template)] = Template.SEVEN_FIELD
    sessions: Annotated[list[SessionRecord], BeforeValidator(_sessions)] | None = None


@dataclass(frozen=True)
class EventInput:
    """A checked event: occurred_utc aware UTC; sessions only for the drawdown trigger."""

    trigger: str
    occurred_utc: datetime
    trace_id: str
    summary: str
    trigger_reason: str = ""
    template: str = Template.SEVEN_FIELD
    sessions: list[Session] = field(default_factory=list)


def parse_event(payload) -> EventInput:
    """Check a decoded JSON payload; raises EventPayloadError naming the first bad field."""
    if not isinstance(payload, dict):
        raise EventPayloadError("body", "The body must be a JSON object.")
    unknown = sorted(set(payload) - set(EventRecord.model_fields), key=str)
    if unknown:
        # Every unknown key in one message; the first is the field.
        raise EventPayloadError(unknown[0], "Unknown field(s): "
                                f"{', '.join(repr(key) for key in unknown)}.")
    try:
        record = parse_record(EventRecord, payload, source=SOURCE)
        occurred, trigger, reason = services.clean_event(
            record.occurred_utc, record.trigger, record.trigger_reason)
    except RecordError as exc:
        raise EventPayloadError.of(exc) from None
    except EventError as exc:
        raise EventPayloadError(exc.field, str(exc)) from None
    if trigger == Trigger.DRAWDOWN and record.sessions is None:
        raise EventPayloadError("sessions", "the drawdown trigger needs a list of sessions, "
                                "each with loss_usd and deployed_capital_usd, the event's last.")
    if trigger != Trigger.DRAWDOWN and "sessions" in payload:
        raise EventPayloadError("sessions", "sessions are only sent with the drawdown trigger.")
    sessions = [Session(loss_usd=row.loss_usd, deployed_capital_usd=row.deployed_capital_usd)
                for row in record.sessions or ()]
    return EventInput(trigger=trigger, occurred_utc=occurred, trace_id=record.trace_id,
                      summary=record.summary, trigger_reason=reason,
                      template=record.template, sessions=sessions)


@dataclass(frozen=True)
class EventOutcome:
    """postmortem: the draft opened (or found: created False); None when the drawdown
    figures are under threshold (drawdown then says by how much)."""

    postmortem: Postmortem | None
    created: bool
    drawdown: DrawdownResult | None = None


def first_timeline_event(event: EventInput, drawdown: DrawdownResult | None) -> str:
    """Timeline row 1 of a draft opened by an event: which trigger the monitoring system
    reported (with the reason for "other" and the computed drawdown figures). The event's
    summary is the postmortem's summary, not this row (docs/rules.md#event-open)."""
    trigger = (event.trigger_reason if event.trigger == Trigger.OTHER
               else Trigger(event.trigger).label)
    text = f"Monitoring reported: {trigger}"
    return text + (f" ({drawdown.describe()})" if drawdown else "") + "."


@transaction.atomic
def open_from_event(event: EventInput, user) -> EventOutcome:
    """Open a draft for `event` (owned by `user`): its summary is the postmortem's summary,
    the reported trigger its first timeline entry and its trace_id the first reference;
    reminders planned in the same transaction (docs/rules.md#event-open).

    The same event sent again (trigger, occurred_utc and trace_id equal) returns the
    draft already opened instead of a second one.
    """
    drawdown = evaluate_drawdown(event.sessions) if event.sessions else None
    if drawdown is not None and not drawdown.breached:
        return EventOutcome(None, False, drawdown)
    existing = Postmortem.objects.filter(
        trigger=event.trigger, occurred_utc=event.occurred_utc,
        timeline_entries__trace_id=event.trace_id,
    ).first()
    if existing is not None:
        return EventOutcome(existing, False, drawdown)
    pm = services.create_draft(user, template=event.template, occurred_utc=event.occurred_utc,
                               trigger=event.trigger, trigger_reason=event.trigger_reason,
                               summary=event.summary)
    event_text = first_timeline_event(event, drawdown)
    TimelineEntry.objects.create(postmortem=pm, position=1, utc=event.occurred_utc,
                                 event=event_text, trace_id=event.trace_id)
    Reference.objects.create(postmortem=pm, position=1, kind=Reference.Kind.TRACE_ID,
                             value=event.trace_id)
    return EventOutcome(pm, True, drawdown)
