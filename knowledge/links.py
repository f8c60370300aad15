"""Linking a postmortem to a knowledge-base entry, a policy or a runbook (either side).

Rule: docs/rules.md#loop-links: the pattern, policy and
runbook steps are present when linked. Links are not part of the postmortem's record, so
they can be made and removed after it is final.
"""
import uuid
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Sum

from core.limits import whole_number
from costlog.services import current_entries
from incidents import visibility
from incidents.models import Postmortem
from knowledge.models import KnowledgeEntry, Policy
from runbooks.models import Runbook

TARGET_KINDS = ("knowledge", "policy", "runbook")
RECENT_CHOICES = 50


class LinkError(ValueError):
    """A refused link: `field` is "postmortem", "target_kind" or "target"."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


def recent_postmortems(user=None):
    """The newest postmortems `user` may read offered by a page's "link a postmortem" box
    (any other is linked by id or page address)."""
    return visibility.visible_postmortems(user).order_by("-created_utc")[:RECENT_CHOICES]


def find_postmortem(text: str, user=None) -> Postmortem:
    """The postmortem whose id is `text` (a UUID, or a URL/path ending with one) that
    `user` may read; LinkError("postmortem") otherwise, the same for a restricted one as
    for a missing one (docs/rules.md#private-postmortems)."""
    candidate = text.strip().rstrip("/").rsplit("/", 1)[-1]
    try:
        pk = uuid.UUID(candidate)
    except ValueError:
        raise LinkError("postmortem", "Give the postmortem's id (or its page address).") from None
    postmortem = visibility.visible_postmortems(user).filter(pk=pk).first()
    if postmortem is None:
        raise LinkError("postmortem", f"No postmortem has id {pk}.")
    return postmortem


def find_target(kind: str, key: str):
    """The KnowledgeEntry (by id), Policy (by number) or Runbook (by id) named."""
    if kind not in TARGET_KINDS:
        raise LinkError("target_kind", f"Link a {', a '.join(TARGET_KINDS)}; not {kind!r}.")
    key = key.strip()
    if "\x00" in key:  # never sent to PostgreSQL, which cannot compare text holding NUL
        target = None
    elif kind == "knowledge":
        target = KnowledgeEntry.objects.filter(key=key).first()
    elif kind == "policy":
        number = whole_number(key)
        target = Policy.objects.filter(number=number).first() if number is not None else None
    else:
        target = Runbook.objects.filter(key=key).first()
    if target is None:
        raise LinkError("target", f"No {kind} {key!r} exists." if key else f"Choose a {kind}.")
    return target


@transaction.atomic
def set_link(postmortem: Postmortem, target, linked: bool) -> bool:
    """Link (linked=True) or unlink `postmortem` and `target`; returns whether it changed."""
    present = target.postmortems.filter(pk=postmortem.pk).exists()
    if linked and not present:
        target.postmortems.add(postmortem)
        return True
    if not linked and present:
        target.postmortems.remove(postmortem)
        return True
    return False


def describe(target) -> str:
    """A short name for a link target, for messages."""
    if isinstance(target, Policy):
        return f"Policy {target.number}"
    return target.key


def linked_costs(postmortem_ids) -> dict:
    """{"low": USD, "high": USD, "entries": n} of current mishap entries of the postmortems."""
    figures = current_entries().filter(postmortem_id__in=postmortem_ids).aggregate(
        low=Sum("cost_low_usd"), high=Sum("cost_high_usd"), entries=Count("id"))
    return {"low": figures["low"] or Decimal(0), "high": figures["high"] or Decimal(0),
            "entries": figures["entries"]}
