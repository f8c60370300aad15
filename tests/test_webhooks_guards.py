"""The delivery log is an audit record (docs/rules.md#webhook-guards): as the runtime role
(tests/conftest.py runtime_conn, made by `manage.py db_roles`) a delivery cannot be deleted
or truncated, what it sends cannot change, attempts cannot go down and a delivered row
cannot change at all; the sender's own updates pass."""
import psycopg
import pytest

from core.webhooks import subscriptions
from core.webhooks.models import WebhookDelivery
from incidents import services

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def deliveries(alice):
    subscriptions.create_subscription("Hook", "https://h.example.com/", "json",
                                      ["postmortem.opened"])
    services.create_draft(alice)
    services.create_draft(alice)
    first, second = WebhookDelivery.objects.order_by("created_utc", "id")
    WebhookDelivery.objects.filter(pk=second.pk).update(status="delivered", attempts=1,
                                                        response_code=200)
    return str(first.pk), str(second.pk)


@pytest.mark.parametrize("statement, message", [
    ("DELETE FROM core_webhookdelivery WHERE id = '{pending}'", "cannot be deleted"),
    ("UPDATE core_webhookdelivery SET body = '{{}}' WHERE id = '{pending}'",
     "what it sends never changes"),
    ("UPDATE core_webhookdelivery SET event_type = 'gate.opened' WHERE id = '{pending}'",
     "what it sends never changes"),
    (("UPDATE core_webhookdelivery SET attempts = 2 WHERE id = '{pending}'; "
      "UPDATE core_webhookdelivery SET attempts = 1 WHERE id = '{pending}'"), "never decrease"),
    ("UPDATE core_webhookdelivery SET status = 'pending' WHERE id = '{delivered}'",
     "was delivered"),
    ("DELETE FROM core_webhookdelivery WHERE id = '{delivered}'", "cannot be deleted"),
])
def test_the_runtime_role_cannot_rewrite_the_delivery_log(deliveries, runtime_conn, statement,
                                                         message):
    pending, delivered = deliveries
    before = sorted(WebhookDelivery.objects.values_list("id", "body", "status", "attempts"))

    def attempt():
        with runtime_conn.transaction():
            for part in statement.format(pending=pending, delivered=delivered).split("; "):
                runtime_conn.execute(part)

    with pytest.raises(psycopg.errors.RestrictViolation, match=message):
        attempt()
    assert sorted(WebhookDelivery.objects.values_list("id", "body", "status", "attempts")) \
        == before


def test_truncate_is_refused(deliveries, runtime_conn):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        runtime_conn.execute("TRUNCATE core_webhookdelivery CASCADE")
    assert WebhookDelivery.objects.count() == 2


def test_the_senders_updates_pass(deliveries, runtime_conn):
    pending, _ = deliveries
    runtime_conn.execute("UPDATE core_webhookdelivery SET attempts = attempts + 1, "
                         "response_code = 500, last_error = 'HTTP 500', "
                         "next_attempt_utc = now() WHERE id = %s", [pending])
    runtime_conn.execute("UPDATE core_webhookdelivery SET attempts = attempts + 1, "
                         "status = 'delivered', response_code = 200, delivered_utc = now() "
                         "WHERE id = %s", [pending])
    assert WebhookDelivery.objects.get(pk=pending).attempts == 2
