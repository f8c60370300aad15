"""The admins' webhook pages: subscriptions (list, create, disable, enable) and the delivery
log with Redeliver. Only admins open them (docs/rules.md#webhook-subscriptions); every
change is a POST with its CSRF token."""
import functools

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.roles import ADMIN, role_of
from core.webhooks import sender, subscriptions
from core.webhooks.forms import SubscriptionForm
from core.webhooks.models import WebhookDelivery, WebhookSubscription

ADMIN_REFUSAL = "Only a Scarlog admin manages webhooks."
DELIVERIES_PER_PAGE = 50


def admins_only(view):
    """Refuse `view` with 403 unless the signed-in user is an admin."""
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if role_of(request.user) != ADMIN:
            raise PermissionDenied(ADMIN_REFUSAL)
        return view(request, *args, **kwargs)
    return wrapper


def _page(request, form, status=200):
    rows = WebhookSubscription.objects.select_related("created_by").order_by("name", "id")
    return render(request, "core/webhooks.html", {"subscriptions": rows, "form": form},
                  status=status)


@require_http_methods(["GET", "POST"])
@admins_only
def subscription_list(request):
    """GET: the subscriptions and the form to add one. POST: create one and show its
    secret once (the only time it is shown); a refusal re-renders with 400."""
    if request.method == "GET":
        return _page(request, SubscriptionForm())
    form = SubscriptionForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    data = form.cleaned_data
    try:
        subscription, secret = subscriptions.create_subscription(
            data["name"], data["url"], data["format"], data["event_types"], user=request.user)
    except subscriptions.SubscriptionError as error:
        form.add_error(error.field, str(error))
        return _page(request, form, status=400)
    return render(request, "core/webhook_created.html",
                  {"subscription": subscription, "secret": secret}, status=201)


@require_POST
@admins_only
def subscription_active(request, subscription_id: int, change: str):
    """POST disable or enable subscription `subscription_id`; back to the list with a
    message."""
    if change not in ("disable", "enable"):
        raise PermissionDenied("Unknown change.")
    subscription = get_object_or_404(WebhookSubscription, pk=subscription_id)
    subscription = subscriptions.set_active(subscription, change == "enable")
    messages.success(request, f"Subscription {subscription.name!r} "
                              f"{'enabled' if subscription.active else 'disabled'}.")
    return redirect("webhooks:subscriptions")


@require_POST
@admins_only
def subscription_rotate(request, subscription_id: int):
    """POST: give subscription `subscription_id` a new secret and show it once; the old
    one keeps signing for 24 hours (docs/rules.md#webhook-secret-rotation)."""
    subscription = get_object_or_404(WebhookSubscription, pk=subscription_id)
    subscription, secret = subscriptions.rotate_secret(subscription)
    return render(request, "core/webhook_created.html",
                  {"subscription": subscription, "secret": secret, "rotated": True})


@require_GET
@admins_only
def delivery_log(request):
    """The deliveries, newest first, fifty a page, optionally of one subscription
    (?subscription=<id>): event, status, response code, attempts and times (UTC)."""
    rows = WebhookDelivery.objects.select_related("subscription").order_by("-created_utc", "id")
    chosen = request.GET.get("subscription", "")
    if chosen.isdigit():
        rows = rows.filter(subscription_id=int(chosen))
    page = Paginator(rows, DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "core/webhook_deliveries.html",
                  {"page": page, "subscription": chosen})


@require_POST
@admins_only
def delivery_redeliver(request, delivery_id):
    """POST: send delivery `delivery_id` again (core.webhooks.sender.redeliver); back to
    the log."""
    delivery = get_object_or_404(WebhookDelivery, pk=delivery_id)
    try:
        target = sender.redeliver(delivery)
    except sender.RedeliverError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Delivery {target.pk} queued.")
    return redirect("webhooks:deliveries")
