"""A worker killed mid-delivery delivers exactly once (docs/rules.md#webhook-delivery).

A real Celery worker process (started as tests/test_reminder_worker.py starts one) sends a
delivery to the loopback receiver, which holds the request open; the worker is killed
with SIGKILL while it waits. Its transaction rolls back, so the row is pending again with
no attempt recorded; a new worker sends it again with the same webhook-id, the receiver
dedupes, and once the row is delivered no worker sends it again. Every wait ends on a
signal (the request arriving, the row's state, a task's result).
"""
import signal

import pytest
from django.db import connection

from config.celery import app
from core.webhooks import subscriptions
from core.webhooks.models import WebhookDelivery
from core.webhooks.tasks import deliver_webhook
from incidents import services
from tests import webhook_receiver
from tests.test_reminder_worker import WAIT_GUARD_SECONDS, start_worker, stop, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receiver():
    rx = webhook_receiver.Receiver(hold=True)
    server = webhook_receiver.start(rx)
    yield rx
    rx.release.set()
    server.shutdown()
    server.server_close()


def row_is_free(pk) -> bool:
    """True once no transaction holds the delivery's row lock (the killed worker's is gone)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM core_webhookdelivery WHERE id = %s FOR UPDATE SKIP LOCKED",
                       [str(pk)])
        return cursor.fetchone() is not None


def test_a_worker_killed_mid_delivery_delivers_exactly_once(receiver, alice, tmp_path):
    _, receiver.secret = subscriptions.create_subscription("Receiver", receiver.url, "json",
                                                           ["postmortem.opened"])
    services.create_draft(alice, summary="Killed mid-delivery")
    delivery = WebhookDelivery.objects.get()
    app.control.purge()  # the task queued at commit: this test sends its own
    backend = "django.core.mail.backends.locmem.EmailBackend"

    hanging = start_worker(tmp_path, backend, tmp_path / "hanging.log")
    try:
        deliver_webhook.delay(str(delivery.pk))
        assert receiver.received.wait(WAIT_GUARD_SECONDS), "the worker never sent the request"
    finally:
        stop(hanging, signal.SIGKILL)
    # The receiver answers the killed worker's request (it got the event: one effective
    # delivery) but the worker never recorded it: its transaction is rolled back.
    receiver.hold = False
    receiver.release.set()
    wait_until(lambda: row_is_free(delivery.pk), what="PostgreSQL to end the killed worker's "
                                                      "transaction")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    wait_until(lambda: len(receiver.requests) == 1, what="the held request to be answered")

    worker = start_worker(tmp_path, backend, tmp_path / "worker.log")
    try:
        assert deliver_webhook.delay(str(delivery.pk)).get(timeout=WAIT_GUARD_SECONDS) \
            == "delivered"
        # Delivered: no worker sends it again.
        assert deliver_webhook.delay(str(delivery.pk)).get(timeout=WAIT_GUARD_SECONDS) \
            == "skipped"
    finally:
        stop(worker)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 1, 200)
    assert [r.webhook_id for r in receiver.requests] == [str(delivery.pk)] * 2
    assert all(r.verified for r in receiver.requests)
    assert receiver.processed == [str(delivery.pk)]  # the receiver acted once
