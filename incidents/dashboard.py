"""The dashboard (home page): open action items, overdue first; drafts waiting for their
meeting (72-hour countdown, nearest first) or to reconvene; reminders that failed.

Rule: docs/rules.md#action-dashboard ("scheduled, not delivered"): what has not shipped
must be the first thing anyone sees. A constant number of queries whatever the row count:
one for the counts (on PostgreSQL without an owner or domain filter: served from the
`insights` cache under the insights generation, two generation reads instead — the
generation rises in the same transaction as any action item change, so a count is never
stale), one for the listed items (the ITEM_LIMIT earliest due, shown grouped by
owner or domain, with only the columns shown), one for drafts, one each for the owner and
domain filter choices (the domains by one index probe each), one for active planning-gate
overrides, one for failed reminders.
"""
import hashlib
from dataclasses import dataclass
from datetime import date

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q
from django.db.models.functions import Left
from django.utils import timezone

from core.record_types import shown
from incidents import visibility
from incidents.meetings import annotate_meeting_held
from incidents.models import ActionItem, GateOverride, Postmortem, Reminder
from incidents.services import known_domains

ITEM_LIMIT = 50
DRAFT_LIMIT = 20
# The columns templates/incidents/dashboard.html shows of each listed item and draft.
# A summary is read only as far as its head (SUMMARY_HEAD_CHARS, as the postmortem list
# does): a 2,000-character summary weighs nothing here and the page shows a bounded head.
ITEM_COLUMNS = ("kind", "description", "status", "due_date", "evidence_lapsed", "owner__username",
                "postmortem__id", "postmortem__classification__domain")
DRAFT_COLUMNS = ("trigger", "status", "occurred_utc", "created_utc")
SUMMARY_HEAD_CHARS = 400
GROUPINGS = ("owner", "domain")


class DashboardFilterError(ValueError):
    """A filter in the query string is malformed; `field` names it, `allowed` lists the
    values it takes (empty for an open list)."""

    def __init__(self, field: str, message: str, allowed=()):
        self.field, self.allowed = field, tuple(allowed)
        super().__init__(message)


@dataclass(frozen=True)
class Filters:
    """Dashboard filters: owner username, item type, domain slug, overdue only, grouping."""

    owner: str = ""
    kind: str = ""
    domain: str = ""
    overdue: bool = False
    group: str = "owner"

    @classmethod
    def from_query(cls, query) -> "Filters":
        """Read the filters from request.GET; DashboardFilterError names a bad one."""
        kind = query.get("type", "")
        if kind and kind not in ActionItem.Kind.values:
            raise DashboardFilterError("type", f"Type {shown(kind)} is not one of "
                                       f"{', '.join(ActionItem.Kind.values)}.",
                                       ActionItem.Kind.values)
        group = query.get("group", "owner")
        if group not in GROUPINGS:
            raise DashboardFilterError("group", f"Group {shown(group)} is not owner or domain.",
                                       GROUPINGS)
        overdue = query.get("overdue", "")
        if overdue not in ("", "1"):
            raise DashboardFilterError("overdue", f"{shown(overdue)} is not '1'; leave the filter "
                                                  "out to show every item.", ("1",))
        return cls(query.get("owner", ""), kind, query.get("domain", ""), overdue == "1", group)


def open_items(filters: Filters, today: date, hidden=()):
    """Open and in-progress items matching `filters`, overdue (earliest due) first; the
    items of the postmortems in `hidden` (ids, incidents.visibility.hidden_ids) left out."""
    items = ActionItem.objects.filter(status__in=ActionItem.OPEN_STATUSES).exclude(
        postmortem_id__in=hidden)
    if filters.owner:
        items = items.filter(owner__username=filters.owner)
    if filters.kind:
        items = items.filter(kind=filters.kind)
    if filters.domain:
        items = items.filter(postmortem__classification__domain=filters.domain)
    if filters.overdue:
        items = items.filter(due_date__lt=today)
    return items.select_related("owner", "postmortem", "postmortem__classification").order_by(
        "due_date", "id"
    )


def _group_key(filters: Filters):
    """Sort key showing listed items under their owner (or domain), earliest due first."""
    if filters.group == "owner":
        return lambda item: (item.owner.get_username(), item.due_date, item.pk)

    def by_domain(item):
        domain = getattr(getattr(item.postmortem, "classification", None), "domain", "")
        return (domain == "", domain, item.due_date, item.pk)  # "(no domain)" last

    return by_domain


COUNT_CACHE_SECONDS = 3600


def _counts(items, filters: Filters, today: date, hidden) -> dict:
    """{"open": n, "overdue": n} of `items` (open_items(filters, today, hidden)).

    The count reads every open item (an index-only scan of 100,000 entries at 100,000
    postmortems), so without an owner or domain filter (which read rows of other tables
    the generation does not watch) it is kept in the `insights` cache under the insights
    generation, raised by PostgreSQL in the same transaction as any action item change,
    the type and overdue filters, the day and the hidden set; stored only when the
    generation did not move while counting, and counted once however many requests miss
    at once (knowledge.generation_cache). docs/rules.md#action-dashboard"""
    from knowledge.generation_cache import generation_cached  # knowledge builds on incidents

    def count():
        # Count due_date (never null), not id: the (status, due_date) index answers it.
        return items.order_by().aggregate(
            open=Count("due_date"), overdue=Count("due_date", filter=Q(due_date__lt=today)))

    if filters.owner or filters.domain:
        return count()
    hidden_key = hashlib.sha256(",".join(sorted(map(str, hidden))).encode()).hexdigest()[:32]

    def key_for(generation: str) -> str:
        return (f"dashboard-counts:{generation}:{today.isoformat()}:{filters.kind}:"
                f"{int(filters.overdue)}:{hidden_key}")

    return generation_cached(key_for, count, COUNT_CACHE_SECONDS)


def dashboard(filters: Filters, today: date, user=None) -> dict:
    """Everything the dashboard shows to `user`; see the module docstring for the query
    budget. Restricted postmortems `user` may not read leave no trace here
    (docs/rules.md#private-postmortems)."""
    hidden = visibility.hidden_ids(user)
    items = open_items(filters, today, hidden)
    counts = _counts(items, filters, today, hidden)
    # The ITEM_LIMIT earliest-due items (an index read), then shown grouped; only the
    # columns the page shows are read.
    listed = sorted(items.only(*ITEM_COLUMNS).annotate(
        summary_head=Left("postmortem__summary", SUMMARY_HEAD_CHARS))[:ITEM_LIMIT],
        key=_group_key(filters))
    for item in listed:
        item.is_overdue = item.due_date < today
    drafts = Postmortem.objects.filter(status=Postmortem.Status.DRAFT).exclude(pk__in=hidden)
    # Drafts waiting for their meeting come first, the nearest 72-hour deadline on top.
    draft_rows = list(annotate_meeting_held(drafts.only(*DRAFT_COLUMNS).annotate(
        summary_head=Left("summary", SUMMARY_HEAD_CHARS))).order_by(
        "meeting_held", F("occurred_utc").asc(nulls_last=True), "-created_utc")[:DRAFT_LIMIT])
    failed_reminders = Reminder.objects.filter(state=Reminder.State.FAILED).exclude(
        postmortem_id__in=hidden)
    return {
        "filters": filters,
        "items": listed,
        "more_items": max(counts["open"] - len(listed), 0),
        "open_count": counts["open"],
        "overdue_count": counts["overdue"],
        "drafts": draft_rows,
        "draft_count": len(draft_rows) if len(draft_rows) < DRAFT_LIMIT else drafts.count(),
        "today": today,
        "owners": get_user_model().objects.filter(is_active=True).order_by("username")
        .values_list("username", flat=True),
        "domains": known_domains(),
        "item_kinds": ActionItem.Kind.choices,
        "failed_reminders": list(failed_reminders.annotate(
            summary_head=Left("postmortem__summary", SUMMARY_HEAD_CHARS))
            .order_by("-updated_utc")[:DRAFT_LIMIT]),
        "overrides": list(GateOverride.objects.filter(until_utc__gt=timezone.now())
                          .select_related("created_by").order_by("until_utc")),
    }
