"""Celery tasks of the runbooks app.

remind_stale_runbooks: the owner of each runbook past its review date (last_updated +
review_interval_days, UTC) gets one email for that version of the runbook; the
StaleReminder row is written in the same transaction as the send, so a failed send is
retried on the next run and nothing is sent twice. Runbooks without an owner, or whose
owner has no email address, are logged and counted, never silently skipped.
"""
import logging
from datetime import UTC, datetime

from celery import shared_task
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction

from core.site_url import site_link
from runbooks.models import Runbook, StaleReminder

log = logging.getLogger(__name__)


def stale_runbooks(today):
    """Runbooks whose review date is before `today` (a date), oldest review date first."""
    runbooks = Runbook.objects.select_related("owner")
    return sorted((runbook for runbook in runbooks if runbook.is_stale(today)),
                  key=lambda runbook: (runbook.review_due, runbook.key))


@shared_task
def remind_stale_runbooks(today_iso: str | None = None) -> dict:
    """Send staleness reminders; returns {"sent", "already_sent", "no_owner": [ids],
    "no_email": [ids]}. `today_iso`: YYYY-MM-DD for tests, default today (UTC)."""
    today = (datetime.fromisoformat(today_iso).date() if today_iso
             else datetime.now(UTC).date())
    result = {"sent": 0, "already_sent": 0, "no_owner": [], "no_email": []}
    for runbook in stale_runbooks(today):
        if runbook.owner is None:
            log.warning("Runbook %s is stale and has no owner to remind", runbook.key)
            result["no_owner"].append(runbook.key)
            continue
        if not runbook.owner.email:
            log.warning("Runbook %s is stale; its owner %s has no email address", runbook.key,
                        runbook.owner.get_username())
            result["no_email"].append(runbook.key)
            continue
        link = site_link(runbook.get_absolute_url())
        body = (f"Hello {runbook.owner.get_username()},\n\n"
                f"The runbook {runbook.key} \"{runbook.title}\" was last updated on "
                f"{runbook.last_updated:%Y-%m-%d}; its review was due on "
                f"{runbook.review_due:%Y-%m-%d} (every {runbook.review_interval_days} days).\n"
                f"Review it, then edit it or press \"Reviewed, no change\":\n"
                f"{link}\n")
        try:
            with transaction.atomic():
                StaleReminder.objects.create(runbook=runbook, last_updated=runbook.last_updated,
                                             owner=runbook.owner)
                EmailMessage(
                    subject=f"Scarlog: runbook {runbook.key} is due for review",
                    body=body, to=[runbook.owner.email],
                    headers={"Message-ID": f"<runbook-stale-{runbook.pk}-"
                                           f"{runbook.last_updated:%Y%m%d}@scarlog>"},
                ).send(fail_silently=False)
        except IntegrityError:
            result["already_sent"] += 1
            continue
        result["sent"] += 1
    return result
