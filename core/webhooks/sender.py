"""Sending deliveries: one attempt under a row lock, retries with exponential backoff.

Rule: docs/rules.md#webhook-delivery. attempt() locks the delivery row (SELECT … FOR
UPDATE SKIP LOCKED) for the whole HTTP request and records the outcome in the same
transaction: a second worker skips a row being sent, a delivered row is never sent again,
and a worker killed mid-request leaves the row pending (its transaction rolls back), so
the next attempt resends the same webhook-id, which the receiver dedupes.
"""
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from core.webhooks.models import WebhookDelivery
from core.webhooks.signing import signed_headers

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 6 * 60 * 60
TIMEOUT_SECONDS = 10
ERROR_LIMIT = 500


def retry_delay(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed try: 30 s doubled per try, at most 6 hours."""
    return timedelta(seconds=min(FIRST_RETRY_SECONDS * 2 ** (attempts - 1), MAX_RETRY_SECONDS))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a place to send the signed body to."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


@dataclass(frozen=True)
class Outcome:
    """What one HTTP POST gave: the status code (None when none came) and an error text."""

    code: int | None
    error: str

    @property
    def ok(self) -> bool:
        return self.code is not None and 200 <= self.code < 300


def post(url: str, body: str, headers: dict) -> Outcome:
    """POST `body` (JSON text) to `url` with `headers`; never raises for the receiver's
    failures (a refused connection, a timeout after TIMEOUT_SECONDS, a non-2xx answer)."""
    request = urllib.request.Request(
        url, data=body.encode(), method="POST",
        headers={**headers, "Content-Type": "application/json", "User-Agent": "Scarlog-Webhooks"})
    try:
        with _OPENER.open(request, timeout=TIMEOUT_SECONDS) as response:
            return Outcome(response.status, "")
    except urllib.error.HTTPError as error:
        return Outcome(error.code, f"HTTP {error.code} {error.reason}")
    except (urllib.error.URLError, OSError, ValueError) as error:
        return Outcome(None, f"{type(error).__name__}: {error}"[:ERROR_LIMIT])


def attempt(delivery_id, now: datetime | None = None) -> str:
    """Try to send delivery `delivery_id` once if it is pending and due at `now` (UTC).

    Returns "delivered", "retry" (next_attempt_utc set by retry_delay), "failed" (the
    MAX_ATTEMPTS-th try failed, or the subscription is disabled) or "skipped" (not found,
    not pending, not due, or locked by another worker)."""
    with transaction.atomic():
        delivery = (WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related("subscription")
                    .filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING,
                            next_attempt_utc__lte=now or timezone.now())
                    .first())
        if delivery is None:
            return "skipped"
        subscription = delivery.subscription
        sent_at = timezone.now()
        if not subscription.active:
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.last_error = "The subscription is disabled."
            delivery.save(update_fields=["status", "last_error"])
            return "failed"
        headers = signed_headers(subscription.secret, str(delivery.pk), sent_at, delivery.body)
        outcome = post(subscription.url, delivery.body, headers)
        delivery.attempts += 1
        delivery.last_attempt_utc = sent_at
        delivery.response_code = outcome.code
        delivery.last_error = outcome.error
        if outcome.ok:
            delivery.status = WebhookDelivery.Status.DELIVERED
            delivery.delivered_utc = timezone.now()
            result = "delivered"
        elif delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = WebhookDelivery.Status.FAILED
            result = "failed"
        else:
            delivery.next_attempt_utc = sent_at + retry_delay(delivery.attempts)
            result = "retry"
        delivery.save(update_fields=["attempts", "last_attempt_utc", "response_code",
                                     "last_error", "status", "delivered_utc",
                                     "next_attempt_utc"])
    if result != "delivered":
        log.warning("webhook delivery %s to subscription %s: %s (%s)", delivery.pk,
                    subscription.pk, result, outcome.error)
    return result


def due_ids(now: datetime | None = None, limit: int = 500) -> list:
    """The ids of pending deliveries due at `now` (UTC), oldest due first, at most `limit`."""
    return list(WebhookDelivery.objects
                .filter(status=WebhookDelivery.Status.PENDING,
                        next_attempt_utc__lte=now or timezone.now())
                .order_by("next_attempt_utc").values_list("pk", flat=True)[:limit])


class RedeliverError(ValueError):
    """A redelivery was refused (the subscription is disabled); the message says why."""


@transaction.atomic
def redeliver(delivery: WebhookDelivery) -> WebhookDelivery:
    """Send `delivery` again (docs/rules.md#webhook-redeliver): a delivered one as a new
    delivery with a new webhook-id (its body unchanged, `redelivery_of` naming it); a
    pending or failed one is due now with the same webhook-id. Returns the delivery to
    be sent; the send is queued at commit. Raises RedeliverError when the subscription is
    disabled."""
    delivery = (WebhookDelivery.objects.select_for_update(of=("self",))
                .select_related("subscription").get(pk=delivery.pk))
    if not delivery.subscription.active:
        raise RedeliverError(f"Subscription {delivery.subscription.name!r} is disabled; "
                             "enable it before redelivering.")
    now = timezone.now()
    if delivery.status == WebhookDelivery.Status.DELIVERED:
        target = WebhookDelivery.objects.create(
            subscription=delivery.subscription, event_type=delivery.event_type,
            body=delivery.body, link=delivery.link, created_utc=now, next_attempt_utc=now,
            redelivery_of=delivery)
    else:
        delivery.status, delivery.next_attempt_utc = WebhookDelivery.Status.PENDING, now
        delivery.save(update_fields=["status", "next_attempt_utc"])
        target = delivery
    from core.webhooks.outbox import _enqueue

    transaction.on_commit(lambda: _enqueue(target.pk), robust=True)
    return target
