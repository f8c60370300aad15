"""Who may read a postmortem: its access history (docs/rules.md#private-postmortems).

A postmortem without a PostmortemAccess row, or whose latest row names no group, is read by
every signed-in person (docs/rules.md#role-read). A latest row naming groups restricts it to
their members. The rows live outside the postmortem row (frozen once final), like
DomainChange for the domain, so a final record can be restricted or tightened later.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from incidents.models.record import Postmortem

__all__ = ["PostmortemAccess"]


class PostmortemAccess(models.Model):
    """One access change of a postmortem (append-only; the latest row by id wins).

    `group_ids`: a JSON list of django.contrib.auth Group ids (ints), sorted; [] means
    "every signed-in person". A group deleted later leaves its id behind, which no user is
    a member of (fails closed). Written only by incidents.visibility.set_access;
    rules: docs/rules.md#private-postmortems, docs/rules.md#database-guards.
    """

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE,
                                   related_name="access_changes")
    group_ids = models.JSONField(default=list)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                           related_name="+")
    at_utc = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at_utc", "id"]

    def __str__(self) -> str:
        groups = ", ".join(str(pk) for pk in self.group_ids) or "everyone"
        return f"{self.at_utc:%Y-%m-%d %H:%M} UTC: {groups}"
