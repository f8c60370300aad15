"""Creating, disabling and enabling webhook subscriptions (docs/rules.md#webhook-subscriptions).

A subscription's URL follows the link rule (docs/rules.md#input-links: http or https, a
host, no space or control character) and may not point at a link-local, metadata or
local-network address (docs/rules.md#webhook-targets); its secret is generated here and
returned once.
"""
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from core.limits import text_problem
from core.record_types import shown
from core.web_links import link_problem
from core.webhooks import targets
from core.webhooks.events import EventType
from core.webhooks.models import WebhookSubscription
from core.webhooks.signing import new_secret

# How long the secret before a rotation still signs (docs/rules.md#webhook-secret-rotation).
ROTATION_GRACE = timedelta(hours=24)

NAME_LIMIT = 100
URL_LIMIT = 2000


class SubscriptionError(ValueError):
    """A subscription was refused; `field` names the input (name, url, format, event_types)."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


def url_problem(url: str) -> str | None:
    """None for a URL a subscription may post to, else the reason (a phrase after "URL")."""
    if not isinstance(url, str) or not url:
        return "is required"
    if len(url) > URL_LIMIT:
        return f"is longer than {URL_LIMIT} characters"
    if (problem := link_problem(url)) is not None:
        return problem
    return targets.url_target_problem(url)


@transaction.atomic
def create_subscription(name: str, url: str, fmt: str, event_types: list[str],
                        user=None) -> tuple[WebhookSubscription, str]:
    """A new active subscription; returns it and its secret ("whsec_…"), which the caller
    shows once. Raises SubscriptionError naming the field for a blank or long name, a URL
    that is not http(s) (docs/rules.md#input-links) or points at an address webhooks may
    not reach (docs/rules.md#webhook-targets), an unknown format, or no or unknown
    event types."""
    name = (name or "").strip()
    if not name:
        raise SubscriptionError("name", "Name: give the subscription a name.")
    if problem := text_problem(name, NAME_LIMIT):
        raise SubscriptionError("name", f"Name {problem}.")
    if (problem := url_problem(url)) is not None:
        raise SubscriptionError("url", f"URL {shown(url)} {problem}.")
    if fmt not in WebhookSubscription.Format.values:
        raise SubscriptionError("format", f"Format: {shown(fmt)} is not one of "
                                          f"{', '.join(WebhookSubscription.Format.values)}.")
    unknown = [e for e in event_types if e not in EventType.values]
    if unknown:
        raise SubscriptionError("event_types", f"Events: {shown(unknown[0])} is not an event type.")
    if not event_types:
        raise SubscriptionError("event_types", "Events: choose at least one event.")
    secret = new_secret()
    subscription = WebhookSubscription.objects.create(
        name=name, url=url, format=fmt, secret=secret, created_by=user,
        event_types=[e for e in EventType.values if e in event_types])
    return subscription, secret


@transaction.atomic
def set_active(subscription: WebhookSubscription, active: bool) -> WebhookSubscription:
    """Enable or disable `subscription`; a disabled one gets no new deliveries and its
    pending ones fail at their next attempt. disabled_utc records when (UTC)."""
    subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    subscription.active = active
    subscription.disabled_utc = None if active else timezone.now()
    subscription.save(update_fields=["active", "disabled_utc"])
    return subscription


@transaction.atomic
def rotate_secret(subscription: WebhookSubscription) -> tuple[WebhookSubscription, str]:
    """Give `subscription` a new secret and return it with the secret, which the caller
    shows once. For ROTATION_GRACE (24 hours) from now (UTC) every attempt is signed with
    both the new and the old secret, so receivers can switch over without losing a
    delivery; a second rotation inside that window drops the oldest secret at once
    (docs/rules.md#webhook-secret-rotation)."""
    subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    now = timezone.now()
    secret = new_secret()
    subscription.previous_secret = subscription.secret
    subscription.previous_secret_until = now + ROTATION_GRACE
    subscription.secret_rotated_utc = now
    subscription.secret = secret
    subscription.save(update_fields=["secret", "previous_secret", "previous_secret_until",
                                     "secret_rotated_utc"])
    return subscription, secret
