"""An admin sets up a webhook and reads its delivery log, in real Chromium; the delivery
goes to a real receiver on loopback (tests/webhook_receiver.py), signed with the secret the
page showed once. Rules: docs/rules.md#webhook-subscriptions, docs/rules.md#webhook-redeliver."""
import pytest
from playwright.sync_api import expect

from core import roles
from core.webhooks import sender
from core.webhooks.models import WebhookDelivery
from incidents import services
from tests import webhook_receiver
from tests.conftest import make_user
from tests.test_browser_postmortem import signed_in_page


@pytest.fixture
def receiver():
    rx = webhook_receiver.Receiver()
    server = webhook_receiver.start(rx)
    yield rx
    server.shutdown()
    server.server_close()


def test_an_admin_sets_up_a_webhook_and_redelivers(browser, live_server, transactional_db,
                                                    receiver):
    alice = make_user("alice", role=roles.ADMIN, password="alice-password-1")
    page = signed_in_page(browser, live_server, "/", "Dashboard")
    try:
        page.get_by_role("link", name="Webhooks", exact=True).click()  # on the dashboard
        expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()
        page.get_by_label("Name").fill("Ops receiver")
        page.get_by_label("URL").fill("javascript:alert(1)")
        page.get_by_label("Postmortem opened").check()
        page.get_by_role("button", name="Add subscription").click()
        expect(page.get_by_role("alert")).to_contain_text(
            "URL 'javascript:alert(1)' is not an http(s) link")
        page.get_by_label("URL").fill(receiver.url)
        page.get_by_label("Postmortem opened").check()
        page.get_by_role("button", name="Add subscription").click()
        expect(page.get_by_role("heading", name="Subscription Ops receiver created")
               ).to_be_visible()
        receiver.secret = page.locator("#webhook-secret").inner_text()
        assert receiver.secret.startswith("whsec_")

        services.create_draft(alice, summary="Queue stalled on the hourly batch")
        (delivery,) = WebhookDelivery.objects.all()
        assert sender.attempt(delivery.pk) == "delivered"
        assert [r.verified for r in receiver.requests] == [True]

        page.get_by_role("link", name="Back to webhooks").click()
        page.get_by_role("link", name="Delivery log").click()
        row = page.locator(f'tr.delivery[data-id="{delivery.pk}"]')
        expect(row.locator(".status")).to_have_text("delivered")
        expect(row.locator(".code")).to_have_text("200")
        row.get_by_role("button", name="Redeliver").click()
        expect(page.get_by_role("status")).to_contain_text("queued")
        copy = WebhookDelivery.objects.get(redelivery_of=delivery)
        expect(page.locator(f'tr.delivery[data-id="{copy.pk}"] .status')).to_have_text("pending")
    finally:
        page.context.close()
