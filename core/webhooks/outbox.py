"""Writing deliveries to the outbox in the caller's transaction (docs/rules.md#webhook-outbox).

emit() must run inside the transaction of the change it reports: the delivery rows commit
or roll back with the change. Only the Celery task that sends them is queued at commit
(transaction.on_commit); a task lost with Redis is picked up by the beat sweep.
"""
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from core.webhooks import formats
from core.webhooks.events import EventType
from core.webhooks.models import WebhookDelivery, WebhookEventOnce, WebhookSubscription


class OutsideTransactionError(RuntimeError):
    """emit() was called outside a transaction: the rows could not commit with the change."""


def record_link(path: str) -> str:
    """SCARLOG_SITE_URL + `path` when the site URL is set, else `path` itself (relative)."""
    return (settings.SCARLOG_SITE_URL or "") + path


def emit(event_type: str, data: dict, text: str, link: str = "",
         once_key: str = "") -> list[WebhookDelivery]:
    """Write one pending delivery per active subscription to `event_type` (an EventType
    value); returns them. `data` is JSON-ready, `text` one readable line, `link` the
    record's URL. With `once_key`, the event is emitted at most once ever: a key already
    recorded emits nothing. Raises OutsideTransactionError outside an atomic block and
    ValueError for an unknown event type."""
    if event_type not in EventType.values:
        raise ValueError(f"Event type {event_type!r} is not one of {', '.join(EventType.values)}.")
    if not connection.in_atomic_block:
        raise OutsideTransactionError(
            "webhook events are written in the transaction of their change; call emit() "
            "inside transaction.atomic()")
    if once_key:
        try:
            with transaction.atomic():
                WebhookEventOnce.objects.create(key=once_key)
        except IntegrityError:
            return []
    now = timezone.now()
    subscriptions = [s for s in WebhookSubscription.objects.filter(active=True).order_by("id")
                     if event_type in s.event_types]
    deliveries = [
        WebhookDelivery.objects.create(
            subscription=s, event_type=event_type, link=link, created_utc=now,
            next_attempt_utc=now,
            body=formats.render(s.format, event_type, now, data, text, link))
        for s in subscriptions
    ]
    for delivery in deliveries:
        # robust: a broker that is down at commit is logged; the beat sweep sends it later.
        transaction.on_commit(lambda pk=delivery.pk: _enqueue(pk), robust=True)
    return deliveries


def _enqueue(delivery_id) -> None:
    from core.webhooks.tasks import deliver_webhook

    deliver_webhook.delay(str(delivery_id))
