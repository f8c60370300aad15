"""Action items: add, progress, ship with evidence, drop with a reason; each change recorded.

Rule: docs/rules.md#action-status ("Both items had owners but no verified-shipped
status. They were scheduled, not delivered."). Action items are living records: they can
be added and progressed after the postmortem is finalized. Every function runs in one
transaction, writes an ActionItemEvent before the item names it as `last_event`
(docs/rules.md#database-guards), and raises ActionItemError (naming the field) or
EvidenceError instead of half-writing.
"""
from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from core.limits import SHORT_TEXT, OutOfRange, day_in_range, text_problem
from core.webhooks.events import EventType
from incidents import git_verify, webhook_events
from incidents.evidence import EvidenceError, clean_evidence
from incidents.models import ActionItem, ActionItemEvent, Postmortem


class ActionItemError(ValueError):
    """An action item change was refused; `field` names the input at fault."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


def _save_recorded(item: ActionItem, fields: list[str], user, change: str,
                   at_utc: datetime | None = None) -> None:
    """Write the ActionItemEvent first, then save `fields` of `item` naming it as
    last_event: PostgreSQL refuses a change to an item that names no newer event of it
    (docs/rules.md#database-guards)."""
    extra = {"at_utc": at_utc} if at_utc is not None else {}
    item.last_event = ActionItemEvent.objects.create(item=item, by=user, change=change,
                                                     **extra)
    item.save(update_fields=[*fields, "last_event", "updated_utc"])


@transaction.atomic
def add_item(postmortem: Postmortem, kind: str, description: str, owner, due_date: date,
             user=None) -> ActionItem:
    """A new open action item; kind must be rule, hook, test, criterion or memory."""
    if kind not in ActionItem.Kind.values:
        raise ActionItemError(
            "kind", f"Type {kind!r} is not one of rule, hook, test, criterion, memory; an item "
                    "that fits none is too vague to ship.")
    if not description.strip():
        raise ActionItemError("description", "Description: say what will ship.")
    if problem := text_problem(description, SHORT_TEXT):
        raise ActionItemError("description", f"Description {problem}.")
    if owner is None:
        raise ActionItemError("owner", "Owner: every action item needs one.")
    if due_date is None:
        raise ActionItemError("due_date", "Due date: every action item needs one.")
    try:
        day_in_range(due_date)
    except OutOfRange as exc:
        raise ActionItemError("due_date", f"Due date: {due_date.isoformat()} {exc}") from None
    item = ActionItem.objects.create(postmortem=postmortem, kind=kind,
                                     description=description.strip(), owner=owner,
                                     due_date=due_date, created_by=user)
    with webhook_events.gate_watch(webhook_events.domain_of(postmortem.pk)):
        _save_recorded(item, [], user,
                       f"created: {kind}, owner {owner.get_username()}, due {due_date}")
    webhook_events.action_item(EventType.ACTION_ITEM_ADDED, item)
    return item


def _locked(item: ActionItem) -> ActionItem:
    return ActionItem.objects.select_for_update().get(pk=item.pk)


@transaction.atomic
def start_item(item: ActionItem, user=None) -> ActionItem:
    """Mark an open item in progress."""
    item = _locked(item)
    if item.status != ActionItem.Status.OPEN:
        raise ActionItemError("status", f"Only an open item can start; this one is {item.status}.")
    item.status = ActionItem.Status.IN_PROGRESS
    _save_recorded(item, ["status"], user, "status: open → in progress")
    return item


@transaction.atomic
def ship_item(item: ActionItem, evidence: dict, user=None) -> ActionItem:
    """Mark an item shipped with its evidence (incidents.evidence shapes), verified against
    its repository when it names one (incidents.git_verify); EvidenceError otherwise."""
    item = _locked(item)
    if not item.is_open:
        raise ActionItemError("status", f"This item is already {item.status}.")
    item.evidence = clean_evidence(item.kind, evidence)
    item.verification = git_verify.verify(item.evidence)
    before = item.get_status_display().lower()
    item.status = ActionItem.Status.SHIPPED
    item.evidence_lapsed, item.evidence_lapsed_utc = "", None
    shown = ", ".join(f"{key}={value}" for key, value in item.evidence.items())
    with webhook_events.gate_watch(webhook_events.domain_of(item.postmortem_id)):
        _save_recorded(item, ["evidence", "verification", "status", "evidence_lapsed",
                              "evidence_lapsed_utc"], user,
                       f"status: {before} → shipped; evidence {shown}")
    webhook_events.action_item(EventType.ACTION_ITEM_SHIPPED, item)
    return item


@transaction.atomic
def drop_item(item: ActionItem, reason: str, user=None) -> ActionItem:
    """Drop an open item; a reason is required and kept."""
    item = _locked(item)
    if not item.is_open:
        raise ActionItemError("status", f"This item is already {item.status}.")
    if not reason.strip():
        raise ActionItemError("drop_reason", "Reason for dropping: required.")
    if problem := text_problem(reason, SHORT_TEXT):
        raise ActionItemError("drop_reason", f"Reason for dropping {problem}.")
    before = item.get_status_display().lower()
    item.status, item.drop_reason = ActionItem.Status.DROPPED, reason.strip()
    with webhook_events.gate_watch(webhook_events.domain_of(item.postmortem_id)):
        _save_recorded(item, ["status", "drop_reason"], user,
                       f"status: {before} → dropped; reason: {item.drop_reason}")
    return item


def is_closed(postmortem: Postmortem, items: list[ActionItem] | None = None) -> bool:
    """Closed: at least one action item, and every item shipped (with evidence) or dropped.

    Derived from the items; never written onto the postmortem row.
    """
    items = list(postmortem.action_items.all()) if items is None else items
    return bool(items) and not any(item.is_open for item in items)



@dataclass(frozen=True)
class Reverified:
    """What one re-verification run did: items still holding, re-opened (with why) and
    skipped (repository no longer configured or unreadable, with why)."""

    held: int
    reopened: list[tuple[int, str]]
    skipped: list[tuple[int, str]]


def reverify_shipped(now: datetime | None = None) -> Reverified:
    """Re-check the shipped evidence of every item verified against a repository that is
    still configured (docs/rules.md#evidence-reverified). Evidence that no longer holds
    re-opens its item (status open, `evidence_lapsed` saying why, an ActionItemEvent by
    nobody), which closes the planning gate of its domain again. Each item is its own
    transaction, so one unreadable clone never stops the others. `now`: UTC."""
    now = now or timezone.now()
    held, reopened, skipped = 0, [], []
    shipped = (ActionItem.objects.filter(status=ActionItem.Status.SHIPPED,
                                         verification__isnull=False)
               .only("pk", "evidence", "verification").order_by("pk"))
    for item in shipped.iterator(chunk_size=500):
        try:
            lapsed = git_verify.still_holds(item.evidence, item.verification)
        except EvidenceError as error:
            skipped.append((item.pk, str(error)))
            continue
        if lapsed is None:
            held += 1
        elif _reopen(item, lapsed, now):
            reopened.append((item.pk, lapsed))
    return Reverified(held, reopened, skipped)


@transaction.atomic
def _reopen(item: ActionItem, why: str, now: datetime) -> bool:
    """Re-open a shipped item whose evidence lapsed; False when it changed meanwhile."""
    item = _locked(item)
    if item.status != ActionItem.Status.SHIPPED:
        return False
    item.status = ActionItem.Status.OPEN
    item.evidence_lapsed, item.evidence_lapsed_utc = why, now
    with webhook_events.gate_watch(webhook_events.domain_of(item.postmortem_id)):
        _save_recorded(item, ["status", "evidence_lapsed", "evidence_lapsed_utc"], None,
                       f"status: shipped → open; evidence no longer holds: {why}",
                       at_utc=now)
    webhook_events.action_item(EventType.ACTION_ITEM_REOPENED, item)
    return True
