"""Opening a draft postmortem from a monitoring system's event (POST /api/events).

Payload (JSON object): trigger (a Trigger value), occurred_utc (ISO 8601 with offset),
trace_id, summary (one line), trigger_reason (for "other"), template (optional), and for
the drawdown trigger `sessions`: [{"loss_usd": "1400", "deployed_capital_usd": "100000"},
…] oldest first, the event's session last. The drawdown rule is evaluated from those
figures (incidents.drawdown); under threshold no postmortem is opened.
Source rules: 001_60b217100959449d.txt (triggers), issue 3 (the endpoint).
"""
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction

from incidents import services
from incidents.drawdown import DrawdownResult, Session, evaluate_drawdown
from incidents.models import Postmortem, Reference, Template, TimelineEntry, Trigger
from incidents.services import EventError

KEYS = ("trigger", "occurred_utc", "trace_id", "summary", "trigger_reason", "template",
        "sessions")
REQUIRED = ("trigger", "occurred_utc", "trace_id", "summary")
MAX_SESSIONS = 50


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


def _text(payload: dict, key: str, limit: int, required: bool = True) -> str:
    value = payload.get(key, "")
    if not isinstance(value, str):
        raise EventError(key, f"{key} must be a string, not {type(value).__name__}.")
    value = value.strip()
    if "\x00" in value:
        raise EventError(key, f"{key} contains a NUL character.")
    if required and not value:
        raise EventError(key, f"{key} is required.")
    if len(value) > limit:
        raise EventError(key, f"{key} is {len(value)} characters; at most {limit}.")
    return value


def _amount(value, key: str, positive: bool) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise EventError(key, f'{key} must be a decimal string such as "1400.50".')
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise EventError(key, f"{key} {value!r} is not a number.") from None
    if not amount.is_finite() or (positive and amount <= 0):
        raise EventError(key, f"{key} {value!r} must be more than 0." if positive
                         else f"{key} {value!r} is not a finite number.")
    return amount


def _sessions(value) -> list[Session]:
    if not isinstance(value, list) or not value:
        raise EventError("sessions", "sessions: the drawdown trigger needs a list of sessions "
                                     "[{loss_usd, deployed_capital_usd}], the event's last.")
    if len(value) > MAX_SESSIONS:
        raise EventError("sessions", f"sessions: at most {MAX_SESSIONS}.")
    sessions = []
    for index, row in enumerate(value):
        key = f"sessions[{index}]"
        if not isinstance(row, dict) or set(row) != {"loss_usd", "deployed_capital_usd"}:
            raise EventError(key, f"{key} must be an object with loss_usd and "
                                  "deployed_capital_usd.")
        sessions.append(Session(
            loss_usd=_amount(row["loss_usd"], f"{key}.loss_usd", positive=False),
            deployed_capital_usd=_amount(row["deployed_capital_usd"],
                                         f"{key}.deployed_capital_usd", positive=True),
        ))
    return sessions


def parse_event(payload) -> EventInput:
    """Check a decoded JSON payload; raises EventError naming the first bad field."""
    if not isinstance(payload, dict):
        raise EventError("body", "The body must be a JSON object.")
    unknown = sorted(set(payload) - set(KEYS))
    if unknown:
        raise EventError(unknown[0], "Unknown field(s): "
                                     f"{', '.join(repr(key) for key in unknown)}.")
    for key in REQUIRED:
        if key not in payload:
            raise EventError(key, f"{key} is required.")
    occurred_text = _text(payload, "occurred_utc", 40)
    try:
        occurred = datetime.fromisoformat(occurred_text.replace("Z", "+00:00"))
    except ValueError:
        raise EventError("occurred_utc", f"occurred_utc {occurred_text!r} is not an ISO 8601 "
                                         "time such as 2026-03-02T15:47:00Z.") from None
    trigger = _text(payload, "trigger", 30)
    reason = _text(payload, "trigger_reason", 2000, required=False)
    occurred, trigger, reason = services.clean_event(occurred, trigger, reason)
    template = _text(payload, "template", 20, required=False) or Template.SEVEN_FIELD
    if template not in Template.values:
        raise EventError("template", f"template {template!r} is not one of "
                                     f"{', '.join(Template.values)}.")
    sessions = []
    if trigger == Trigger.DRAWDOWN:
        sessions = _sessions(payload.get("sessions"))
    elif "sessions" in payload:
        raise EventError("sessions", "sessions are only sent with the drawdown trigger.")
    return EventInput(trigger=trigger, occurred_utc=occurred,
                      trace_id=_text(payload, "trace_id", 200),
                      summary=_text(payload, "summary", 1000), trigger_reason=reason,
                      template=template, sessions=sessions)


@dataclass(frozen=True)
class EventOutcome:
    """postmortem: the draft opened (or found: created False); None when the drawdown
    figures are under threshold (drawdown then says by how much)."""

    postmortem: Postmortem | None
    created: bool
    drawdown: DrawdownResult | None = None


@transaction.atomic
def open_from_event(event: EventInput, user) -> EventOutcome:
    """Open a draft for `event` (owned by `user`), with the event as its first timeline
    entry and its trace_id as a reference; reminders planned in the same transaction.

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
                               trigger=event.trigger, trigger_reason=event.trigger_reason)
    event_text = event.summary + (f" ({drawdown.describe()})" if drawdown else "")
    TimelineEntry.objects.create(postmortem=pm, position=1, utc=event.occurred_utc,
                                 event=event_text, trace_id=event.trace_id)
    Reference.objects.create(postmortem=pm, position=1, kind=Reference.Kind.TRACE_ID,
                             value=event.trace_id)
    return EventOutcome(pm, True, drawdown)
