"""The action items section of a postmortem page: domain, items, evidence, drop reasons.

Plain POST forms that redirect back to the postmortem (#action-items) with a message; the
rules live in incidents.action_items, incidents.evidence and incidents.services.
"""
from datetime import UTC, date, datetime

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from core import roles
from core.limits import OutOfRange, day_in_range, whole_number
from incidents import action_items, evidence, services
from incidents.models import ActionItem, DomainChange, Postmortem, PostmortemDomain


def _back(pm_id) -> str:
    return reverse("incidents:postmortem_detail", args=[pm_id]) + "#action-items"


def action_item_context(pm: Postmortem) -> dict:
    """What the action items section shows: rows with evidence fields, closed state, owners."""
    items = list(pm.action_items.select_related("owner"))
    today = datetime.now(UTC).date()
    rows = [
        {
            "item": item,
            "overdue": item.is_open and item.due_date < today,
            "missing": evidence.describe_missing(item.kind) if item.is_open else "",
            "evidence_fields": [
                (name, evidence.LABELS[name], name in evidence.FIELDS[item.kind])
                for name in evidence.FIELDS[item.kind] + evidence.OPTIONAL_FIELDS.get(item.kind, ())
            ],
        }
        for item in items
    ]
    classification = PostmortemDomain.objects.filter(postmortem=pm).first()
    return {
        "item_rows": rows,
        "incomplete_rows": [row for row in rows if row["item"].is_open],
        "closed": action_items.is_closed(pm, items),
        "classification": classification,
        "domain_changes": list(DomainChange.objects.filter(postmortem=pm)
                               .select_related("by").order_by("-id")[:20]),
        "item_kinds": ActionItem.Kind.choices,
        "owners": roles.item_owners(),
    }


@require_POST
def domain_set(request, pk):
    """Classify the postmortem in a domain (works on final postmortems too)."""
    pm = get_object_or_404(Postmortem, pk=pk)
    try:
        classification = services.set_domain(pm, request.POST.get("domain", ""), user=request.user)
    except services.DomainError as exc:
        messages.error(request, f"Domain: {exc}")
    else:
        messages.success(request, f"Domain set to {classification.domain}.")
    return redirect(_back(pm.pk))


@require_POST
def action_item_add(request, pk):
    """Add an action item (type, description, owner, due date)."""
    pm = get_object_or_404(Postmortem, pk=pk)
    owner_id = request.POST.get("owner", "")
    owner = None
    if owner_id:
        number = whole_number(owner_id)
        owner = (get_user_model().objects.filter(pk=number).first()
                 if number is not None else None)
        if owner is None:
            messages.error(request, "Owner: choose a person from the list.")
            return redirect(_back(pm.pk))
        if not roles.item_owners().filter(pk=owner.pk).exists():
            messages.error(request, f"Owner: {owner.get_username()} cannot own an action item: "
                                    "an owner is an editor or admin who can sign in.")
            return redirect(_back(pm.pk))
    try:
        due = date.fromisoformat(request.POST.get("due_date", ""))
    except ValueError:
        messages.error(request, "Due date: give a date (YYYY-MM-DD).")
        return redirect(_back(pm.pk))
    try:
        day_in_range(due)
    except OutOfRange as exc:
        messages.error(request, f"Due date: {due.isoformat()} {exc}")
        return redirect(_back(pm.pk))
    try:
        action_items.add_item(pm, request.POST.get("kind", ""), request.POST.get("description", ""),
                              owner, due, user=request.user)
    except action_items.ActionItemError as exc:
        messages.error(request, str(exc))
    return redirect(_back(pm.pk))


@require_POST
def action_item_change(request, item_id, change):
    """Start, ship (with the evidence fields of the item's type) or drop (with a reason)."""
    item = get_object_or_404(ActionItem, pk=item_id)
    try:
        if change == "start":
            action_items.start_item(item, user=request.user)
        elif change == "ship":
            names = evidence.FIELDS[item.kind] + evidence.OPTIONAL_FIELDS.get(item.kind, ())
            data = {name: request.POST.get(name, "") for name in names}
            action_items.ship_item(item, data, user=request.user)
            messages.success(request, f"Shipped: {item.description}")
        elif change == "drop":
            action_items.drop_item(item, request.POST.get("drop_reason", ""), user=request.user)
        else:
            messages.error(request, f"Unknown change {change!r}.")
    except evidence.EvidenceError as exc:
        messages.error(request, f"Evidence: {exc}")
    except action_items.ActionItemError as exc:
        messages.error(request, str(exc))
    return redirect(_back(item.postmortem_id))
