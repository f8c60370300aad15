"""The webhook events of postmortems, meetings, action items and the planning gate.

Each function is called by the service that makes the change, inside its transaction, and
writes the deliveries through core.webhooks.outbox.emit() (docs/rules.md#webhook-events,
docs/rules.md#webhook-outbox). Payload data: {"postmortem": {id, title, status,
severity, url}} plus, by event, "meeting", "action_item", "amendment" or the gate's
{"domain", "open", "blocking_count"}.
"""
from contextlib import contextmanager
from datetime import date
from urllib.parse import urlencode

from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, Value
from django.db.models.functions import Cast, Concat
from django.urls import reverse

from core.models import WebhookEventOnce
from core.webhooks.events import EventType
from core.webhooks.outbox import emit, record_link
from incidents import visibility
from incidents.models import ActionItem, PostmortemDomain

RESTRICTED_TITLE = "a restricted postmortem"


def _restricted(pm) -> bool:
    # A webhook goes to a channel of people outside the record's groups: a restricted
    # postmortem is named by id and link only (docs/rules.md#private-postmortems).
    return not visibility.can_see(None, pm)


def _title(pm) -> str:
    return RESTRICTED_TITLE if _restricted(pm) else pm.title


def _postmortem_link(pm_id, anchor: str = "") -> str:
    return record_link(reverse("incidents:postmortem_detail", args=[pm_id]) + anchor)


def _postmortem(pm) -> dict:
    if _restricted(pm):
        return {"id": str(pm.pk), "title": RESTRICTED_TITLE, "restricted": True,
                "status": pm.status, "url": _postmortem_link(pm.pk)}
    return {"id": str(pm.pk), "title": pm.title, "status": pm.status,
            "severity": pm.severity, "url": _postmortem_link(pm.pk)}


def postmortem_opened(pm) -> None:
    """postmortem.opened: a draft was started (incidents.services.create_draft)."""
    emit(EventType.POSTMORTEM_OPENED, {"postmortem": _postmortem(pm)},
         f"Postmortem opened: {_title(pm)}", _postmortem_link(pm.pk))


def postmortem_finalized(pm) -> None:
    """postmortem.finalized (incidents.services.finalize)."""
    emit(EventType.POSTMORTEM_FINALIZED, {"postmortem": _postmortem(pm)},
         f"Postmortem finalized: {_title(pm)}", _postmortem_link(pm.pk))


def postmortem_amended(amendment) -> None:
    """postmortem.amended: an amendment was appended (incidents.services.add_amendment)."""
    pm = amendment.postmortem
    emit(EventType.POSTMORTEM_AMENDED,
         {"postmortem": _postmortem(pm),
          "amendment": {"id": amendment.pk, "section": amendment.section,
                        "author": amendment.author.get_username() if amendment.author else "",
                        "note": "" if _restricted(pm) else amendment.note}},
         f"Postmortem amended: {_title(pm)}", _postmortem_link(pm.pk))


def meeting_scheduled(meeting) -> None:
    """meeting.scheduled (incidents.meetings.schedule_meeting), times in UTC."""
    pm = meeting.postmortem
    emit(EventType.MEETING_SCHEDULED,
         {"postmortem": _postmortem(pm),
          "meeting": {"id": meeting.pk, "scheduled_utc": meeting.scheduled_utc.isoformat(),
                      "facilitator": meeting.facilitator.get_username()}},
         f"Postmortem meeting scheduled for {meeting.scheduled_utc:%Y-%m-%d %H:%M} UTC: "
         f"{_title(pm)}", _postmortem_link(pm.pk))


def _item(item: ActionItem) -> dict:
    return {"id": item.pk, "type": item.kind, "description": item.description,
            "owner": item.owner.get_username(), "due": item.due_date.isoformat(),
            "status": item.status}


_ITEM_TEXT = {
    EventType.ACTION_ITEM_ADDED: "Action item added",
    EventType.ACTION_ITEM_SHIPPED: "Action item shipped",
    EventType.ACTION_ITEM_REOPENED: "Action item re-opened",
    EventType.ACTION_ITEM_OVERDUE: "Action item overdue",
}


def action_item(event_type: str, item: ActionItem, once_key: str = "") -> None:
    """action_item.added / shipped / reopened / overdue for `item`
    (incidents.action_items, incidents.tasks)."""
    pm = item.postmortem
    data = {"postmortem": _postmortem(pm), "action_item": _item(item)}
    description = item.description
    if _restricted(pm):
        data["action_item"]["description"] = description = "(restricted)"
    elif item.evidence_lapsed:
        data["action_item"]["evidence_lapsed"] = item.evidence_lapsed
    emit(event_type, data, f"{_ITEM_TEXT[event_type]}: {description} "
                           f"(owner {item.owner.get_username()}, due {item.due_date}; "
                           f"{_title(pm)})",
         _postmortem_link(pm.pk, "#action-items"), once_key=once_key)


def emit_overdue(today: date) -> int:
    """action_item.overdue once per item whose due date is before `today` (UTC) and that is
    still open; items already announced are left out by the query, each new one is its own
    transaction. Returns how many were newly emitted."""
    key = Concat(Value(f"{EventType.ACTION_ITEM_OVERDUE}:"), Cast("pk", CharField()))
    overdue = (ActionItem.objects.filter(status__in=ActionItem.OPEN_STATUSES,
                                         due_date__lt=today)
               .annotate(webhook_key=key)
               .exclude(Exists(WebhookEventOnce.objects.filter(key=OuterRef("webhook_key"))))
               .select_related("postmortem", "owner").order_by("id"))
    emitted = 0
    for item in overdue.iterator(chunk_size=500):
        with transaction.atomic():
            action_item(EventType.ACTION_ITEM_OVERDUE, item, once_key=item.webhook_key)
        emitted += 1
    return emitted


def domain_of(postmortem_id) -> str:
    """The domain `postmortem_id` is classified in ("" when none)."""
    return (PostmortemDomain.objects.filter(postmortem_id=postmortem_id)
            .values_list("domain", flat=True).first() or "")


def _gate_link(domain: str) -> str:
    return record_link(reverse("incidents:dashboard") + "?" + urlencode({"domain": domain}))


def _blocking_count(domain: str) -> int:
    from incidents.gate import blocking_items

    return blocking_items(domain).count()


@contextmanager
def gate_watch(*domains: str):
    """Around a change that may close or open the planning gate of `domains` (slugs; ""
    ignored): gate.closed when a domain had no blocking item before and has some after,
    gate.opened for the reverse (docs/rules.md#webhook-events). Overrides do not count:
    the gate's own state is what changed."""
    before = {d: _blocking_count(d) for d in dict.fromkeys(domains) if d}
    yield
    for domain, count in before.items():
        after = _blocking_count(domain)
        if bool(count) == bool(after):
            continue
        closed = bool(after)
        emit(EventType.GATE_CLOSED if closed else EventType.GATE_OPENED,
             {"domain": domain, "open": not closed, "blocking_count": after},
             (f"Planning gate closed for {domain}: {after} open action item"
              f"{'s' if after != 1 else ''} from finalized postmortems block new work."
              if closed else
              f"Planning gate opened for {domain}: every finalized postmortem there is "
              "closed out."),
             _gate_link(domain))


def gate_overridden(override) -> None:
    """gate.overridden (incidents.gate.override_gate): who, why and until when (UTC)."""
    by = override.created_by.get_username()
    emit(EventType.GATE_OVERRIDDEN,
         {"domain": override.domain, "override": {
             "by": by, "reason": override.reason, "until_utc": override.until_utc.isoformat()}},
         f"Planning gate of {override.domain} overridden by {by} until "
         f"{override.until_utc:%Y-%m-%d %H:%M} UTC: {override.reason}",
         _gate_link(override.domain))
