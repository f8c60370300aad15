"""Outbound webhooks against a real HTTP receiver on loopback (tests/webhook_receiver.py).

The sender runs in this process (core.webhooks.sender.attempt, and the beat task run as a
function); the clock is moved with time-machine past next_attempt_utc, never slept on.
Rules: docs/rules.md#webhook-outbox, #webhook-signing, #webhook-delivery, #webhook-formats,
#webhook-redeliver, #webhook-events.
"""
import json
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from core.web_links import link_problem
from core.webhooks import formats, outbox, sender, signing, subscriptions
from core.webhooks.events import EventType
from core.webhooks.models import WebhookDelivery
from core.webhooks.tasks import sweep_webhooks
from incidents import action_items, gate, meetings, services, webhook_events
from incidents.meetings import AttendeeInput
from incidents.models import ActionItem
from incidents.tasks import send_action_item_digests
from tests import webhook_receiver
from tests.conftest import NOW, make_user

ALL = list(EventType.values)


@pytest.fixture
def receiver():
    rx = webhook_receiver.Receiver()
    server = webhook_receiver.start(rx)
    yield rx
    rx.release.set()
    server.shutdown()
    server.server_close()


def subscribe(rx, fmt="json", events=ALL, name="Receiver"):
    subscription, secret = subscriptions.create_subscription(name, rx.url, fmt, events)
    rx.secret = secret
    return subscription


def pending():
    return list(WebhookDelivery.objects.filter(status="pending").order_by("created_utc", "id"))


def deliver_all() -> list[str]:
    return [sender.attempt(d.pk) for d in pending()]


@pytest.mark.django_db
def test_the_receiver_verifies_the_signature_with_the_secret(receiver, alice):
    subscription = subscribe(receiver)
    assert subscription.secret.startswith("whsec_")
    pm = services.create_draft(alice, summary="Orders stuck in the queue")
    (delivery,) = WebhookDelivery.objects.all()
    assert sender.attempt(delivery.pk) == "delivered"
    (request,) = receiver.requests
    assert request.verified
    assert request.webhook_id == str(delivery.pk)
    assert request.headers["webhook-signature"].startswith("v1,")
    assert request.headers["content-type"] == "application/json"
    body = json.loads(request.body)
    assert body["type"] == "postmortem.opened"
    assert body["data"]["postmortem"]["id"] == str(pm.pk)
    assert body["data"]["url"].endswith(f"/postmortems/{pm.pk}/")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 1, 200)
    assert receiver.processed == [str(delivery.pk)]
    # The control: another secret does not verify the same request, nor does a changed body.
    assert not webhook_receiver.Receiver(secret=signing.new_secret()).verify(
        request.body, request.headers)
    assert not receiver.verify(request.body + b" ", request.headers)


@pytest.mark.django_db
def test_a_delivered_row_is_never_sent_again(receiver, alice):
    subscribe(receiver)
    services.create_draft(alice)
    (delivery,) = WebhookDelivery.objects.all()
    assert sender.attempt(delivery.pk) == "delivered"
    assert sender.attempt(delivery.pk) == "skipped"
    assert sweep_webhooks() == {}
    assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_a_receiver_failing_twice_gets_the_third_attempt(receiver, alice):
    receiver.codes = [500, 500]
    subscribe(receiver)
    with time_machine.travel(NOW, tick=False) as clock:
        services.create_draft(alice)
        (delivery,) = WebhookDelivery.objects.all()
        assert sender.attempt(delivery.pk) == "retry"
        delivery.refresh_from_db()
        assert (delivery.attempts, delivery.response_code) == (1, 500)
        assert delivery.next_attempt_utc == NOW + timedelta(seconds=30)
        assert "500" in delivery.last_error
        assert sweep_webhooks() == {}  # not due yet: nothing sent
        clock.shift(timedelta(seconds=30))
        assert sweep_webhooks() == {"retry": 1}
        delivery.refresh_from_db()
        assert delivery.attempts == 2
        assert delivery.next_attempt_utc == NOW + timedelta(seconds=30 + 60)  # doubled
        clock.shift(timedelta(seconds=59))
        assert sweep_webhooks() == {}
        clock.shift(timedelta(seconds=1))
        assert sweep_webhooks() == {"delivered": 1}
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 3, 200)
    assert [r.answered for r in receiver.requests] == [500, 500, 200]
    assert {r.webhook_id for r in receiver.requests} == {str(delivery.pk)}
    assert all(r.verified for r in receiver.requests)
    assert receiver.processed == [str(delivery.pk)]


@pytest.mark.django_db
def test_a_receiver_that_never_answers_2xx_fails_after_the_last_attempt(receiver, alice):
    receiver.codes = [503] * sender.MAX_ATTEMPTS
    subscribe(receiver)
    with time_machine.travel(NOW, tick=False) as clock:
        services.create_draft(alice)
        results = []
        for _ in range(sender.MAX_ATTEMPTS):
            results += sweep_webhooks().keys()
            clock.shift(sender.retry_delay(sender.MAX_ATTEMPTS))
    assert results == ["retry"] * (sender.MAX_ATTEMPTS - 1) + ["failed"]
    (delivery,) = WebhookDelivery.objects.all()
    assert (delivery.status, delivery.attempts) == ("failed", sender.MAX_ATTEMPTS)
    assert sender.retry_delay(1) == timedelta(seconds=30)
    assert sender.retry_delay(30) == timedelta(hours=6)


@pytest.mark.django_db
def test_a_refused_connection_is_recorded_and_retried(alice, receiver):
    subscribe(receiver)
    services.create_draft(alice)
    (delivery,) = WebhookDelivery.objects.all()
    WebhookDelivery.subscription.field.related_model.objects.update(url="http://127.0.0.1:9/x")
    assert sender.attempt(delivery.pk) == "retry"
    delivery.refresh_from_db()
    assert delivery.response_code is None and "Error" in delivery.last_error


@pytest.mark.django_db
def test_the_outbox_row_is_written_in_the_changes_transaction(receiver, alice, complete_draft):
    subscribe(receiver)

    def change_that_fails_after_its_event():
        with transaction.atomic():
            services.create_draft(alice)
            assert WebhookDelivery.objects.count() == 1  # written inside, before any commit
            raise RuntimeError("the change fails after its event was written")

    with pytest.raises(RuntimeError):
        change_that_fails_after_its_event()
    assert WebhookDelivery.objects.count() == 0
    complete_draft.summary = ""
    complete_draft.save()
    with pytest.raises(services.TemplateIncompleteError):
        services.finalize(complete_draft, alice)
    assert WebhookDelivery.objects.count() == 0  # a refused finalize emits nothing


def test_emit_outside_a_transaction_fails_loudly():
    with pytest.raises(outbox.OutsideTransactionError):
        outbox.emit(EventType.POSTMORTEM_OPENED, {}, "text")
    with pytest.raises(ValueError, match="not one of"):
        outbox.emit("postmortem.deleted", {}, "text")


def events_sent(rx) -> list[str]:
    return [body["type"] for body in rx.bodies()]


@pytest.mark.django_db
def test_each_change_emits_its_event(receiver, alice, complete_draft):
    subscribe(receiver)
    bob = make_user("bob")
    start = NOW + timedelta(hours=1)
    meetings.schedule_meeting(complete_draft, start, alice,
                              [AttendeeInput(alice, "operator"), AttendeeInput(bob, "code_owner")])
    services.set_domain(complete_draft, "trading", user=alice)
    item = action_items.add_item(complete_draft, "test", "Regression test", alice,
                                 NOW.date() + timedelta(days=7), user=alice)
    final = services.finalize(complete_draft, alice)
    services.add_amendment(final, alice, "The vendor confirmed the window.")
    gate.override_gate("trading", "Hotfix", NOW + timedelta(days=3650), alice)
    action_items.ship_item(item, {"test_name": "tests/test_x.py::test_y",
                                  "commit_sha": "3f9c2ab"}, user=alice)
    reopened = action_items._reopen(ActionItem.objects.get(pk=item.pk), "the test was deleted",
                                    NOW + timedelta(days=1))
    assert reopened
    deliver_all()
    assert events_sent(receiver) == [
        "meeting.scheduled", "action_item.added", "gate.closed", "postmortem.finalized",
        "postmortem.amended", "gate.overridden", "gate.opened", "action_item.shipped",
        "gate.closed", "action_item.reopened"]
    bodies = {b["type"]: b["data"] for b in receiver.bodies()}
    assert bodies["gate.closed"] == {"domain": "trading", "open": False, "blocking_count": 1,
                                     "url": settings.SCARLOG_SITE_URL + "/?domain=trading"}
    assert bodies["action_item.reopened"]["action_item"]["evidence_lapsed"] == \
        "the test was deleted"
    assert bodies["meeting.scheduled"]["meeting"]["scheduled_utc"] == start.isoformat()
    assert bodies["postmortem.amended"]["amendment"]["note"] == "The vendor confirmed the window."
    assert all(r.verified for r in receiver.requests)


@pytest.mark.django_db
def test_moving_a_final_postmortem_to_another_domain_moves_the_gate(receiver, alice,
                                                                    final_postmortem):
    services.set_domain(final_postmortem, "trading", user=alice)
    action_items.add_item(final_postmortem, "rule", "A rule", alice,
                          NOW.date() + timedelta(days=7), user=alice)
    subscribe(receiver, events=[EventType.GATE_CLOSED, EventType.GATE_OPENED])
    services.set_domain(final_postmortem, "payments", user=alice)
    deliver_all()
    assert [(b["type"], b["data"]["domain"]) for b in receiver.bodies()] == [
        ("gate.opened", "trading"), ("gate.closed", "payments")]


@pytest.mark.django_db
def test_a_subscription_gets_only_its_event_types(receiver, alice, final_postmortem):
    subscribe(receiver, events=[EventType.POSTMORTEM_AMENDED])
    services.create_draft(alice)
    services.add_amendment(final_postmortem, alice, "More detail.")
    assert [d.event_type for d in WebhookDelivery.objects.all()] == ["postmortem.amended"]


@pytest.mark.django_db
def test_an_overdue_item_is_emitted_once(receiver, alice, final_postmortem):
    subscribe(receiver, events=[EventType.ACTION_ITEM_OVERDUE])
    with time_machine.travel(NOW, tick=False):
        item = action_items.add_item(final_postmortem, "rule", "Write the rule", alice,
                                     NOW.date() + timedelta(days=1), user=alice)
        action_items.add_item(final_postmortem, "rule", "Not due yet", alice,
                              NOW.date() + timedelta(days=30), user=alice)
    for days in (2, 3, 4):  # the digest task runs again and again while the item is overdue
        send_action_item_digests((NOW + timedelta(days=days)).isoformat())
    assert webhook_events.emit_overdue(NOW.date() + timedelta(days=5)) == 0
    (delivery,) = WebhookDelivery.objects.all()
    assert delivery.event_type == "action_item.overdue"
    assert sender.attempt(delivery.pk) == "delivered"
    assert receiver.bodies()[0]["data"]["action_item"]["id"] == item.pk


@pytest.mark.django_db
def test_slack_and_teams_payloads(receiver, alice):
    slack = subscribe(receiver, "slack", name="Slack")
    secret = receiver.secret
    teams = subscribe(receiver, "teams", name="Teams")
    receiver.secret = ""  # Slack and Teams check no signature; their URL is the secret
    pm = services.create_draft(alice, summary="Latency <script> & retries")
    assert deliver_all() == ["delivered", "delivered"]
    by_id = {r.webhook_id: json.loads(r.body) for r in receiver.requests}
    slack_body = by_id[str(WebhookDelivery.objects.get(subscription=slack).pk)]
    teams_body = by_id[str(WebhookDelivery.objects.get(subscription=teams).pk)]
    link = f"{settings.SCARLOG_SITE_URL}/postmortems/{pm.pk}/"
    assert slack_body["text"] == (f"Postmortem opened: Latency &lt;script&gt; &amp; retries "
                                  f"<{link}|Open in Scarlog>")
    assert slack_body["blocks"] == [{"type": "section", "text": {
        "type": "mrkdwn", "text": slack_body["text"]}}]
    assert teams_body["@type"] == "MessageCard"
    assert teams_body["@context"] == "https://schema.org/extensions"
    assert teams_body["title"] == "Scarlog: Postmortem opened"
    assert teams_body["text"] == "Postmortem opened: Latency <script> & retries"
    assert teams_body["potentialAction"] == [{"@type": "OpenUri", "name": "Open in Scarlog",
                                              "targets": [{"os": "default", "uri": link}]}]
    # Signed all the same, with each subscription's own secret.
    slack_request = next(r for r in receiver.requests if json.loads(r.body) == slack_body)
    assert webhook_receiver.Receiver(secret=secret).verify(slack_request.body,
                                                          slack_request.headers)


def test_links_are_absolute_with_the_site_url(monkeypatch):
    monkeypatch.setattr(settings, "SCARLOG_SITE_URL", "https://scarlog.example.com")
    assert outbox.record_link("/postmortems/1/") == "https://scarlog.example.com/postmortems/1/"
    body = json.loads(formats.render("json", "gate.opened", NOW, {"domain": "x"}, "t",
                                     "https://scarlog.example.com/"))
    assert body == {"type": "gate.opened", "timestamp": NOW.isoformat(),
                    "data": {"domain": "x", "url": "https://scarlog.example.com/"}}
    with pytest.raises(ValueError, match="not one of json, slack, teams"):
        formats.render("xml", "gate.opened", NOW, {}, "t", "")


@pytest.mark.django_db
def test_redeliver(receiver, alice):
    subscribe(receiver)
    receiver.codes = [500] * sender.MAX_ATTEMPTS
    services.create_draft(alice)
    (delivery,) = WebhookDelivery.objects.all()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=sender.MAX_ATTEMPTS - 1)
    assert sender.attempt(delivery.pk) == "failed"
    receiver.codes = []
    again = sender.redeliver(delivery)
    assert again.pk == delivery.pk and again.status == "pending"  # same webhook-id
    assert sender.attempt(delivery.pk) == "delivered"
    copy = sender.redeliver(WebhookDelivery.objects.get(pk=delivery.pk))
    assert copy.pk != delivery.pk and copy.redelivery_of_id == delivery.pk
    assert copy.body == delivery.body
    assert sender.attempt(copy.pk) == "delivered"
    # The resend keeps the message's webhook-id (Standard Webhooks), signed over it: the
    # deduping receiver recognises it as a duplicate and acts once.
    assert [r.webhook_id for r in receiver.requests[-2:]] == [str(delivery.pk)] * 2
    assert receiver.requests[-1].verified
    assert receiver.processed == [str(delivery.pk)]
    # A redelivery of the redelivery is still the same message.
    again = sender.redeliver(WebhookDelivery.objects.get(pk=copy.pk))
    assert again.redelivery_of_id == copy.pk and again.message_id() == str(delivery.pk)
    assert sender.attempt(again.pk) == "delivered"
    assert receiver.requests[-1].webhook_id == str(delivery.pk) and receiver.requests[-1].verified
    assert receiver.processed == [str(delivery.pk)]


@pytest.mark.django_db
def test_a_disabled_subscription_gets_nothing_and_cannot_be_redelivered(receiver, alice):
    subscription = subscribe(receiver)
    services.create_draft(alice)
    subscriptions.set_active(subscription, False)
    services.create_draft(alice)
    (delivery,) = WebhookDelivery.objects.all()  # none written for the second draft
    assert sender.attempt(delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert delivery.last_error == "The subscription is disabled."
    with pytest.raises(sender.RedeliverError, match="is disabled"):
        sender.redeliver(delivery)
    assert receiver.requests == []


@pytest.mark.django_db
@pytest.mark.parametrize("field, args, message", [
    ("name", ("  ", "https://hooks.example.com/x", "json", ALL), "Name: give"),
    ("url", ("n", "javascript:alert(1)", "json", ALL), "URL 'javascript:alert(1)' is not"),
    ("url", ("n", "ftp://files.example.com/", "json", ALL), "is not an http(s) link"),
    ("url", ("n", "https:///nohost", "json", ALL), "has no host"),
    ("format", ("n", "https://hooks.example.com/x", "xml", ALL), "Format: 'xml'"),
    ("event_types", ("n", "https://hooks.example.com/x", "json", []), "Events: choose"),
    ("event_types", ("n", "https://hooks.example.com/x", "json", ["pm.deleted"]), "Events:"),
])
def test_bad_subscriptions_are_refused_naming_the_field(field, args, message):
    with pytest.raises(subscriptions.SubscriptionError) as refused:
        subscriptions.create_subscription(*args)
    assert refused.value.field == field
    assert message in str(refused.value)


@pytest.mark.django_db
@hypothesis_settings(max_examples=60, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(url=st.text(max_size=80) | st.from_regex(r"\A[a-z]{2,10}:[^\s]{0,30}\Z"))
def test_any_url_the_link_rule_refuses_is_refused(url):
    if link_problem(url) is None or not url:
        return
    with pytest.raises(subscriptions.SubscriptionError) as refused:
        subscriptions.create_subscription("n", url, "json", ALL)
    assert refused.value.field == "url"


def test_beat_sweeps_webhooks_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["webhook-sweep"]
    assert entry["task"] == "core.webhooks.tasks.sweep_webhooks"
    assert entry["schedule"] == 60


@pytest.mark.django_db
def test_a_restricted_postmortem_is_named_by_its_link_only(receiver, alice, complete_draft):
    # A webhook reaches a channel of people outside the record's groups: no title, item text
    # or amendment note of a restricted postmortem goes out (docs/rules.md#private-postmortems).
    from django.contrib.auth.models import Group

    from incidents import visibility
    security = Group.objects.create(name="security")
    alice.groups.add(security)
    with transaction.atomic():
        visibility.set_access(complete_draft, [security], alice)
    for fmt in ("json", "slack", "teams"):
        subscribe(receiver, fmt=fmt, name=f"Receiver {fmt}")
    secret_item = "Rotate the leaked signing key"
    item = action_items.add_item(complete_draft, "test", secret_item, alice,
                                 NOW.date() + timedelta(days=7), user=alice)
    final = services.finalize(complete_draft, alice)
    services.add_amendment(final, alice, "The key was in the build log.")
    action_items.ship_item(item, {"test_name": "tests/test_x.py::test_y",
                                  "commit_sha": "3f9c2ab"}, user=alice)
    deliver_all()
    sent = [r.body.decode() for r in receiver.requests]
    assert len(sent) >= 12  # four events to three subscriptions
    for body in sent:
        for secret in (complete_draft.title, secret_item, "The key was in the build log."):
            assert secret not in body
        assert f"/postmortems/{complete_draft.pk}/" in body
