"""The admins' webhook pages, used through the forms they render (django-webtest, CSRF
checked): subscriptions (create with the secret shown once, refusals naming the field,
disable), the delivery log and Redeliver. Only admins open them.
Rules: docs/rules.md#webhook-subscriptions, docs/rules.md#webhook-redeliver."""
import html

import pytest
from django.urls import reverse

from core import roles
from core.webhooks import sender, subscriptions
from core.webhooks.models import WebhookDelivery, WebhookSubscription
from incidents import services
from tests import webhook_receiver
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

PAGES = [reverse("webhooks:subscriptions"), reverse("webhooks:deliveries")]


@pytest.fixture
def admin():
    return make_user("root", role=roles.ADMIN)


@pytest.fixture
def receiver():
    rx = webhook_receiver.Receiver()
    server = webhook_receiver.start(rx)
    yield rx
    server.shutdown()
    server.server_close()


def new_subscription_form(app, user):
    page = app.get(reverse("webhooks:subscriptions"), user=user)
    return page.forms["webhook-form"]


def fill(form, name="Ops channel", url="https://hooks.example.com/scarlog", fmt="json",
         events=("postmortem.opened", "gate.closed")):
    form["name"], form["url"], form["format"] = name, url, fmt
    for index, field in enumerate(form.fields["event_types"]):
        form.set("event_types", field._value in events, index=index)
    return form


@pytest.mark.parametrize("role", [roles.VIEWER, roles.EDITOR])
def test_only_admins_open_the_pages(django_app, role):
    user = make_user(f"a-{role}", role=role)
    for path in PAGES:
        assert django_app.get(path, user=user, expect_errors=True).status_code == 403
    response = django_app.post(reverse("webhooks:subscriptions"), user=user,
                               expect_errors=True)
    assert response.status_code == 403


def test_signed_out_visitors_are_sent_to_login(django_app):
    for path in PAGES:
        response = django_app.get(path)
        assert response.status_code == 302 and "/accounts/login/" in response.location


def test_an_admin_creates_a_subscription_and_sees_its_secret_once(django_app, admin):
    response = fill(new_subscription_form(django_app, admin), fmt="slack").submit()
    assert response.status_code == 201
    subscription = WebhookSubscription.objects.get()
    assert subscription.secret in response.text and subscription.secret.startswith("whsec_")
    assert subscription.event_types == ["postmortem.opened", "gate.closed"]
    assert (subscription.format, subscription.created_by) == ("slack", admin)
    listing = django_app.get(reverse("webhooks:subscriptions"), user=admin)
    assert "Ops channel" in listing.text and subscription.secret not in listing.text


@pytest.mark.parametrize("changes, message", [
    ({"url": "javascript:alert(1)"}, "URL 'javascript:alert(1)' is not an http(s) link"),
    ({"url": "ftp://files.example.com/x"}, "is not an http(s) link"),
    ({"url": "https://hooks.example.com/a b"}, "contains a space"),
    ({"events": ()}, "Events: This field is required."),
    ({"name": ""}, "Name: This field is required."),
])
def test_bad_input_is_refused_naming_the_field(django_app, admin, changes, message):
    response = fill(new_subscription_form(django_app, admin), **changes).submit(
        expect_errors=True)
    assert response.status_code == 400
    assert message in html.unescape(response.text)
    assert not WebhookSubscription.objects.exists()


def test_disable_and_enable_from_the_list(django_app, admin):
    subscription, _ = subscriptions.create_subscription("Hook", "https://h.example.com/", "json",
                                                        ["postmortem.opened"])
    page = django_app.get(reverse("webhooks:subscriptions"), user=admin)
    disable = next(f for f in page.forms.values() if f.action.endswith("/disable/"))
    page = disable.submit().follow()
    assert "Subscription 'Hook' disabled." in html.unescape(page.text)
    subscription.refresh_from_db()
    assert not subscription.active and subscription.disabled_utc is not None
    enable = next(f for f in page.forms.values() if f.action.endswith("/enable/"))
    enable.submit()
    subscription.refresh_from_db()
    assert subscription.active and subscription.disabled_utc is None


def test_the_delivery_log_shows_each_attempt_and_redelivers(django_app, admin, receiver, alice):
    subscription, receiver.secret = subscriptions.create_subscription(
        "Receiver", receiver.url, "json", ["postmortem.opened"])
    receiver.codes = [500]
    services.create_draft(alice)
    (delivery,) = WebhookDelivery.objects.all()
    assert sender.attempt(delivery.pk) == "retry"
    log = django_app.get(reverse("webhooks:deliveries"), user=admin)
    row = log.html.select_one(f'tr.delivery[data-id="{delivery.pk}"]')
    assert row.select_one(".status").text == "pending"
    assert row.select_one(".code").text == "500"
    assert row.select_one(".attempts").text == "1"
    redeliver = next(f for f in log.forms.values() if f.action.endswith(
        f"/deliveries/{delivery.pk}/redeliver/"))
    assert redeliver.method.lower() == "post" and "csrfmiddlewaretoken" in redeliver.fields
    redeliver.submit().follow()
    assert sender.attempt(delivery.pk) == "delivered"
    log = django_app.get(reverse("webhooks:deliveries") + f"?subscription={subscription.pk}",
                         user=admin)
    row = log.html.select_one(f'tr.delivery[data-id="{delivery.pk}"]')
    assert (row.select_one(".status").text, row.select_one(".code").text,
            row.select_one(".attempts").text) == ("delivered", "200", "2")
    # Redeliver of a delivered one is a new delivery row of the same body, sent under the
    # same webhook-id: the receiver sees a duplicate and does not act twice.
    redeliver = next(f for f in log.forms.values() if f.action.endswith(
        f"/deliveries/{delivery.pk}/redeliver/"))
    redeliver.submit()
    copy = WebhookDelivery.objects.get(redelivery_of=delivery)
    assert copy.status == "pending" and copy.body == delivery.body
    assert sender.attempt(copy.pk) == "delivered"
    assert receiver.requests[-1].webhook_id == str(delivery.pk)
    assert receiver.requests[-1].verified
    assert receiver.processed == [str(delivery.pk)]


def test_a_redeliver_without_its_csrf_token_is_refused(django_app, admin, alice):
    subscriptions.create_subscription("Hook", "https://h.example.com/", "json",
                                      ["postmortem.opened"])
    services.create_draft(alice)
    delivery = WebhookDelivery.objects.get()
    response = django_app.post(reverse("webhooks:redeliver", args=[delivery.pk]), user=admin,
                               expect_errors=True)
    assert response.status_code == 403


def test_an_admin_rotates_a_secret_and_receivers_switch_over_without_a_lost_delivery(
        django_app, admin, receiver, alice, frozen_time):
    from datetime import timedelta

    subscription, old_secret = subscriptions.create_subscription(
        "Receiver", receiver.url, "json", ["postmortem.opened"])
    page = django_app.get(reverse("webhooks:subscriptions"), user=admin)
    rotate = next(f for f in page.forms.values() if f.action.endswith(
        f"/{subscription.pk}/rotate/"))
    assert "csrfmiddlewaretoken" in rotate.fields
    shown = rotate.submit()
    subscription.refresh_from_db()
    new_secret = subscription.secret
    assert new_secret != old_secret and new_secret in shown.text
    assert old_secret not in shown.text
    assert "2026-03-10" in shown.text  # the old secret signs for 24 more hours (UTC)
    listing = django_app.get(reverse("webhooks:subscriptions"), user=admin)
    assert new_secret not in listing.text and "secret changed" in listing.text

    # Inside the 24 hours a receiver holding either secret verifies the same request.
    services.create_draft(alice)
    (during,) = WebhookDelivery.objects.all()
    receiver.secret = old_secret
    assert sender.attempt(during.pk) == "delivered"
    assert receiver.requests[-1].verified
    signatures = receiver.requests[-1].headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(sig.startswith("v1,") for sig in signatures)
    receiver.secret = new_secret
    assert receiver.verify(receiver.requests[-1].body, receiver.requests[-1].headers)

    # After them only the new secret signs: the old one no longer verifies.
    frozen_time.shift(timedelta(hours=24))
    services.create_draft(alice)
    after = WebhookDelivery.objects.exclude(pk=during.pk).get()
    assert sender.attempt(after.pk) == "delivered"
    request = receiver.requests[-1]
    assert request.verified and len(request.headers["webhook-signature"].split(" ")) == 1
    receiver.secret = old_secret
    assert not receiver.verify(request.body, request.headers)


@pytest.mark.parametrize("role", [roles.VIEWER, roles.EDITOR])
def test_only_an_admin_rotates_a_secret(django_app, role):
    subscription, secret = subscriptions.create_subscription(
        "Hook", "https://h.example.com/", "json", ["postmortem.opened"])
    user = make_user(f"r-{role}", role=role)
    # The admin's own list page renders the form; a non-admin sending it is refused.
    admin_page = django_app.get(reverse("webhooks:subscriptions"),
                                user=make_user("root", role=roles.ADMIN))
    rotate = next(f for f in admin_page.forms.values() if f.action.endswith(
        f"/{subscription.pk}/rotate/"))
    django_app.set_user(user)
    refused = rotate.submit(expect_errors=True)
    expected = {roles.VIEWER: "Your role is viewer",
                roles.EDITOR: "Only a Scarlog admin manages webhooks."}[role]
    assert refused.status_code == 403 and expected in refused.text
    subscription.refresh_from_db()
    assert subscription.secret == secret and not subscription.previous_secret
