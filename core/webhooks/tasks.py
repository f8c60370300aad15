"""Celery tasks of the webhooks (docs/rules.md#webhook-delivery)."""
import logging

from celery import shared_task

from core.webhooks import sender

log = logging.getLogger(__name__)


@shared_task
def deliver_webhook(delivery_id: str) -> str:
    """One attempt at delivery `delivery_id` (queued at the commit that wrote it); returns
    sender.attempt()'s answer. A retry is not a Celery retry: sweep_webhooks picks it up
    once its next_attempt_utc has passed."""
    return sender.attempt(delivery_id)


@shared_task
def sweep_webhooks() -> dict:
    """Beat, every minute: attempt every pending delivery that is due; returns the count of
    each answer ({"delivered": n, "retry": n, ...})."""
    counts: dict[str, int] = {}
    for pk in sender.due_ids():
        result = sender.attempt(pk)
        counts[result] = counts.get(result, 0) + 1
    if counts:
        log.info("webhook sweep: %s", counts)
    return counts
