"""Sending deliveries: one attempt under a row lock, retries with exponential backoff.

Rule: docs/rules.md#webhook-delivery. attempt() locks the delivery row (SELECT … FOR
UPDATE SKIP LOCKED) for the whole HTTP request and records the outcome in the same
transaction: a second worker skips a row being sent, a delivered row is never sent again,
and a worker killed mid-request leaves the row pending (its transaction rolls back), so
the next attempt resends the same webhook-id, which the receiver dedupes.
"""
import http.client
import logging
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from core.webhooks import targets
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


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to `address`, an address checked by core.webhooks.targets, with
    the URL's host in the Host header."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self):
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to a checked `address`; the certificate is verified for the
    URL's host (SNI and hostname check)."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = address

    def connect(self):
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


@dataclass(frozen=True)
class Outcome:
    """What one HTTP POST gave: the status code (None when none came), an error text, and
    `refused` when the target was refused before connecting (docs/rules.md#webhook-targets;
    not retried)."""

    code: int | None
    error: str
    refused: bool = False

    @property
    def ok(self) -> bool:
        return self.code is not None and 200 <= self.code < 300


def post(url: str, body: str, headers: dict) -> Outcome:
    """POST `body` (JSON text) to `url` with `headers`; never raises for the receiver's
    failures (a refused connection, a timeout after TIMEOUT_SECONDS, a non-2xx answer; a
    redirect is an answer, never followed). The host is resolved and every address checked
    (core.webhooks.targets.checked_addresses) and the connection goes to a checked address;
    a refused target gives Outcome(refused=True) and nothing is sent."""
    try:
        addresses = targets.checked_addresses(url)
    except targets.TargetRefused as refused:
        return Outcome(None, f"Refused: URL {refused}."[:ERROR_LIMIT], refused=True)
    except OSError as error:
        return Outcome(None, f"{type(error).__name__}: {error}"[:ERROR_LIMIT])
    parts = urlsplit(url)
    host, port = targets.host_and_port(url)
    connection_class = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    last_error: Exception | None = None
    for address in addresses:
        connection = connection_class(host, port, address, TIMEOUT_SECONDS)
        try:
            connection.request("POST", path, body=body.encode(), headers={
                **headers, "Content-Type": "application/json", "User-Agent": "Scarlog-Webhooks"})
            response = connection.getresponse()
            if 200 <= response.status < 300:
                return Outcome(response.status, "")
            return Outcome(response.status, f"HTTP {response.status} {response.reason}")
        except (OSError, http.client.HTTPException) as error:
            last_error = error
            if not isinstance(error, ConnectionRefusedError):
                break  # a timeout or a broken answer: do not send the body twice
        finally:
            connection.close()
    return Outcome(None, f"{type(last_error).__name__}: {last_error}"[:ERROR_LIMIT])


def attempt(delivery_id, now: datetime | None = None) -> str:
    """Try to send delivery `delivery_id` once if it is pending and due at `now` (UTC).

    Returns "delivered", "retry" (next_attempt_utc set by retry_delay), "failed" (the
    MAX_ATTEMPTS-th try failed, the subscription is disabled, or its URL points at an
    address webhooks may not reach: docs/rules.md#webhook-targets) or "skipped" (not found,
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
        headers = signed_headers(subscription.secret, delivery.message_id(), sent_at,
                                 delivery.body, also=subscription.secret_for_grace(sent_at))
        outcome = post(subscription.url, delivery.body, headers)
        delivery.attempts += 1
        delivery.last_attempt_utc = sent_at
        delivery.response_code = outcome.code
        delivery.last_error = outcome.error
        if outcome.ok:
            delivery.status = WebhookDelivery.Status.DELIVERED
            delivery.delivered_utc = timezone.now()
            result = "delivered"
        elif outcome.refused or delivery.attempts >= MAX_ATTEMPTS:
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
    delivery row (its body unchanged, `redelivery_of` naming it) sent under the original
    message's webhook-id (WebhookDelivery.message_id), so a receiver dedupes it; a
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
