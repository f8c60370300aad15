"""Celery tasks of the incidents app.

send_action_item_digests: each owner of open action items that are overdue or due within
DIGEST_HORIZON_DAYS gets one email a day listing them (UTC days). The DigestSent row is
written in the same transaction as the send, so a failed send is retried on the next run
and a day never gets two digests. Source rule: issue 4 (reminders for action items).
"""
import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from celery import shared_task
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.urls import reverse

from core import health
from core.site_url import site_link
from incidents import reminders, visibility, webhook_events
from incidents.models import ActionItem, DigestSent

DIGEST_HORIZON_DAYS = 2
log = logging.getLogger(__name__)


def _digest_body(owner, items, today) -> str:
    intro = ("These action items are overdue or due soon. They stay open until their "
             "shipping evidence is recorded:")
    lines = [f"Hello {owner.get_username()},", "", intro, ""]
    for item in items:
        when = "OVERDUE since" if item.due_date < today else "due"
        link = site_link(reverse(
            "incidents:postmortem_detail", args=[item.postmortem_id]) + "#action-items")
        lines.append(f"- [{item.get_kind_display()}] {item.description} ({when} "
                     f"{item.due_date:%Y-%m-%d}) {link}")
    return "\n".join(lines) + "\n"


@shared_task
def send_action_item_digests(now_iso: str | None = None) -> dict:
    """Send today's digests; returns {"sent": n, "already_sent": n, "no_email": [usernames]}.

    `now_iso`: the current time (ISO 8601 with offset) for tests; default now (UTC).
    """
    now = datetime.fromisoformat(now_iso) if now_iso else datetime.now(UTC)
    today = now.astimezone(UTC).date()
    # Each item overdue today is announced to webhooks once ever (docs/rules.md#webhook-events).
    webhook_events.emit_overdue(today)
    due = (ActionItem.objects.filter(status__in=ActionItem.OPEN_STATUSES,
                                     due_date__lte=today + timedelta(days=DIGEST_HORIZON_DAYS))
           .select_related("owner").order_by("owner_id", "due_date", "id"))
    by_owner = defaultdict(list)
    for item in due:
        by_owner[item.owner].append(item)
    result = {"sent": 0, "already_sent": 0, "no_email": []}
    for owner, every in by_owner.items():
        # An owner outside a restricted postmortem's groups is not told of its items
        # (docs/rules.md#private-postmortems).
        hidden = visibility.hidden_ids(owner)
        items = [item for item in every if item.postmortem_id not in hidden]
        if not items:
            continue
        if not owner.email:
            log.warning(
                "Action item digest not sent: %s has no email address", owner.get_username()
            )
            result["no_email"].append(owner.get_username())
            continue
        try:
            with transaction.atomic():
                DigestSent.objects.create(owner=owner, day=today, item_count=len(items))
                message = EmailMessage(
                    subject=f"Scarlog: {len(items)} action item{'s' if len(items) != 1 else ''} "
                            "overdue or due soon",
                    body=_digest_body(owner, items, today), to=[owner.email],
                    headers={"Message-ID": f"<digest-{owner.pk}-{today:%Y%m%d}@scarlog>"},
                )
                message.send(fail_silently=False)
        except IntegrityError:
            result["already_sent"] += 1
            continue
        result["sent"] += 1
    return result


@shared_task
def sweep_reminders() -> dict:
    """Send the meeting reminders that are due (incidents.reminders.sweep); beat runs it
    every minute, so it also records the worker's heartbeat (core.health). Returns
    {"sent", "skipped", "failed", "retry"} counts."""
    result = reminders.sweep()
    health.record_heartbeat()
    counts = result.counts()
    if any(counts.values()):
        log.info("reminder sweep: %s", counts)
    return counts


@shared_task
def commit_postmortem_records() -> dict:
    """Commit the pending outbox rows to SCARLOG_POSTMORTEM_REPO (incidents.postmortem_repo);
    queued after each seal and swept by beat every minute. Returns {"committed",
    "marked", "failed", "skipped"}; a git failure is recorded on its row and raised."""
    from incidents import postmortem_repo

    counts = postmortem_repo.commit_pending().counts()
    if counts["committed"] or counts["marked"]:
        log.info("postmortem repository: %s", counts)
    return counts


@shared_task
def reverify_shipped_evidence() -> dict:
    """Nightly: re-check shipped evidence against its repository
    (incidents.action_items.reverify_shipped; docs/rules.md#evidence-reverified). Returns
    {"held", "reopened", "skipped"} counts; each re-opened or skipped item is logged."""
    from incidents import action_items

    result = action_items.reverify_shipped()
    for pk, why in result.reopened:
        log.warning("action item %s re-opened: evidence no longer holds: %s", pk, why)
    for pk, why in result.skipped:
        log.warning("action item %s not re-checked: %s", pk, why)
    return {"held": result.held, "reopened": len(result.reopened),
            "skipped": len(result.skipped)}
