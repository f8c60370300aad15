"""Webhook targets (SSRF): no link-local, metadata or local-network address, checked when a
subscription is saved (service, page, admin) and again at send time after resolving the host,
against a real HTTP receiver on loopback (tests/webhook_receiver.py). The test settings allow
private targets (the receivers are on loopback); override_settings turns that off.
Rule: docs/rules.md#webhook-targets."""
import ipaddress

import pytest
from django.test import override_settings
from django.urls import reverse
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from core import roles
from core.webhooks import sender, subscriptions, targets
from core.webhooks.events import EventType
from core.webhooks.models import WebhookDelivery, WebhookSubscription
from incidents import services
from tests import webhook_receiver
from tests.conftest import make_user

ALL = list(EventType.values)
PRIVATE_OFF = override_settings(SCARLOG_WEBHOOKS_ALLOW_PRIVATE=False)


@pytest.fixture
def receiver():
    rx = webhook_receiver.Receiver()
    server = webhook_receiver.start(rx)
    yield rx
    rx.release.set()
    server.shutdown()
    server.server_close()


def refusal(url):
    with pytest.raises(subscriptions.SubscriptionError) as refused:
        subscriptions.create_subscription("n", url, "json", ALL)
    assert refused.value.field == "url"
    return str(refused.value)


ALWAYS = [
    ("http://169.254.169.254/latest/meta-data/",
     "points at a link-local address (169.254.169.254, a cloud metadata service)"),
    ("http://169.254.1.7/", "points at a link-local address (169.254.1.7)"),
    ("http://[fe80::1]/", "points at a link-local address (fe80::1)"),
    ("http://[::ffff:169.254.169.254]/", "points at a link-local address"),
    ("http://[2002:a9fe:a9fe::1]/", "points at a link-local address"),  # 6to4 of 169.254.169.254
    ("http://[64:ff9b::a9fe:a9fe]/", "points at a reserved address"),  # NAT64
    ("http://[fd00:ec2::254]/", "points at a cloud metadata service address"),
    ("http://100.100.100.200/", "points at a cloud metadata service address"),
    ("http://0.0.0.0:8000/", "points at the unspecified address (0.0.0.0)"),
    ("http://[::]/", "points at the unspecified address (::)"),
    ("http://224.0.0.1/", "points at a multicast address"),
    ("http://[ff02::1]/", "points at a multicast address"),
    ("http://240.0.0.1/", "points at a reserved address"),
    ("http://192.0.2.10/", "points at a reserved address"),
]
PRIVATE = [
    ("http://127.0.0.1:8080/hook", "points at a loopback address (127.0.0.1)"),
    ("http://[::1]/", "points at a loopback address (::1)"),
    ("http://2130706433/", "points at a loopback address (127.0.0.1)"),  # decimal 127.0.0.1
    ("http://localhost:8080/", "points at a loopback address"),  # a name resolving to it
    ("http://10.0.0.5/", "points at a private-network address (10.0.0.5)"),
    ("http://172.16.4.4/", "points at a private-network address"),
    ("http://192.168.1.1/", "points at a private-network address"),
    ("http://[fc00::1]/", "points at a private-network address"),
    ("http://[2002:c0a8:101::]/", "points at a private-network address"),  # 6to4 192.168.1.1
    ("http://100.64.0.1/", "points at a private-network address"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("url, phrase", ALWAYS)
def test_link_local_metadata_and_reserved_targets_are_refused_even_with_private_allowed(
        url, phrase):
    message = refusal(url)
    assert message.startswith("URL '") and phrase in message
    with PRIVATE_OFF:
        assert phrase in refusal(url)
    assert not WebhookSubscription.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("url, phrase", PRIVATE)
def test_private_targets_are_refused_unless_the_setting_allows_them(url, phrase):
    with PRIVATE_OFF:
        message = refusal(url)
    assert phrase in message and "SCARLOG_WEBHOOKS_ALLOW_PRIVATE=true" in message
    subscription, _ = subscriptions.create_subscription("n", url, "json", ALL)  # allowed
    assert subscription.url == url


@pytest.mark.django_db
def test_a_public_address_is_accepted_with_private_refused():
    with PRIVATE_OFF:
        subscription, _ = subscriptions.create_subscription(
            "n", "https://93.184.215.14/hook", "json", ALL)
    assert subscription.pk


@pytest.mark.django_db
def test_the_page_names_the_url_field_for_a_metadata_target(django_app):
    admin = make_user("root", role=roles.ADMIN)
    form = django_app.get(reverse("webhooks:subscriptions"), user=admin).forms["webhook-form"]
    form["name"] = "Metadata"
    form["url"] = "http://169.254.169.254/latest/meta-data/"
    form["event_types"] = ["postmortem.opened"]
    page = form.submit(status=400)
    assert "points at a link-local address" in page.html.select_one("#webhook-form").text
    assert not WebhookSubscription.objects.exists()


@pytest.mark.django_db
def test_the_admin_change_form_refuses_a_link_local_target(django_app):
    subscription, _ = subscriptions.create_subscription(
        "Hook", "https://hooks.example.com/x", "json", ALL)
    superuser = make_user("su", role=roles.ADMIN)
    superuser.is_staff = superuser.is_superuser = True
    superuser.save()
    page = django_app.get(reverse("admin:core_webhooksubscription_change",
                                  args=[subscription.pk]), user=superuser)
    form = page.forms["webhooksubscription_form"]
    form["url"] = "http://[fe80::1]/"
    answer = form.submit()
    assert "points at a link-local address" in answer.text
    subscription.refresh_from_db()
    assert subscription.url == "https://hooks.example.com/x"


def _subscribed_delivery(rx, url, alice):
    subscription, rx.secret = subscriptions.create_subscription("Receiver", url, "json",
                                                                ["postmortem.opened"])
    services.create_draft(alice)
    (delivery,) = WebhookDelivery.objects.all()
    return subscription, delivery


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_send_to_a_private_address_is_refused_at_send_time_failed_without_retry(
        receiver, alice, host):
    url = receiver.url.replace("127.0.0.1", host)
    _, delivery = _subscribed_delivery(receiver, url, alice)  # saved while allowed
    with PRIVATE_OFF:
        assert sender.attempt(delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.attempts == 1
    assert delivery.response_code is None
    assert delivery.last_error.startswith("Refused: URL points at a loopback address (127.0.0.1)")
    assert receiver.requests == []  # nothing was sent
    assert sender.due_ids() == []  # and nothing is retried


@pytest.mark.django_db
def test_a_stored_metadata_url_is_refused_at_send_time(receiver, alice):
    subscription, delivery = _subscribed_delivery(receiver, receiver.url, alice)
    # A URL saved before the rule (or written around it) is still refused by the sender.
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        url="http://169.254.169.254/latest/meta-data/")
    assert sender.attempt(delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert "points at a link-local address (169.254.169.254" in delivery.last_error
    assert delivery.status == "failed" and receiver.requests == []


@pytest.mark.django_db
def test_a_name_is_resolved_and_the_send_connects_to_the_checked_address(receiver, alice):
    url = receiver.url.replace("127.0.0.1", "localhost")
    _, delivery = _subscribed_delivery(receiver, url, alice)
    assert sender.attempt(delivery.pk) == "delivered"
    (request,) = receiver.requests
    assert request.verified
    assert request.headers["host"] == url.split("/")[2]  # the URL's host, not the address


def test_checked_addresses_refuses_if_any_address_is_refused():
    # "localhost" resolves to 127.0.0.1 (and maybe ::1): every address is checked.
    assert "127.0.0.1" in targets.checked_addresses("http://localhost/", allow=True)
    with pytest.raises(targets.TargetRefused, match="loopback"):
        targets.checked_addresses("http://localhost/", allow=False)


def _in(networks):
    return st.one_of(*[st.ip_addresses(network=n) for n in networks])


@hypothesis_settings(max_examples=200, deadline=None)
@given(ip=_in(["169.254.0.0/16", "fe80::/10", "0.0.0.0/8", "224.0.0.0/4", "ff00::/8",
               "240.0.0.0/4", "192.0.2.0/24", "2001:db8::/32"]), allow=st.booleans())
def test_addresses_in_always_refused_ranges_are_refused(ip, allow):
    assert targets.address_problem(ip, allow) is not None
    mapped = ipaddress.IPv6Address(f"::ffff:{ip}") if ip.version == 4 else ip
    assert targets.address_problem(mapped, allow) is not None


@hypothesis_settings(max_examples=200, deadline=None)
@given(ip=_in(["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
               "fc00::/7", "100.64.0.0/10"]))
def test_addresses_in_private_ranges_need_the_setting(ip):
    assert "SCARLOG_WEBHOOKS_ALLOW_PRIVATE" in targets.address_problem(ip, False)
    if ip not in targets.METADATA:
        assert targets.address_problem(ip, True) is None


@hypothesis_settings(max_examples=300, deadline=None)
@given(ip=st.ip_addresses(), allow=st.booleans())
def test_any_address_gets_a_verdict_and_an_ipv4_mapped_one_the_same(ip, allow):
    verdict = targets.address_problem(ip, allow)
    assert verdict is None or verdict.startswith("points at ")
    if verdict is None:
        assert not (ip.is_multicast or ip.is_link_local or ip.is_unspecified)
        assert ip.is_global or allow  # only the setting lets a non-global address through
    if ip.version == 4:
        mapped = targets.address_problem(ipaddress.IPv6Address(f"::ffff:{ip}"), allow)
        assert (mapped is None) == (verdict is None)
