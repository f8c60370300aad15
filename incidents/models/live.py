"""The live feed of a draft: one row per saved change, numbered per draft.

Rule: docs/rules.md#live-feed. A page polls "changed since version N"; when nothing
changed that costs one query on the (postmortem, version) unique index
(incidents.live.changes_since). Rows are notifications, not records: the values live in
the postmortem, its rows and FieldRevision; a discarded draft's rows go with it.
"""
from django.db import models

from incidents.models.record import Postmortem

__all__ = ["LiveChange"]


class LiveChange(models.Model):
    """Change `version` (1, 2, … per draft) touched `field`: a template field key,
    "meeting" (the meeting or its current field) or "final" (the draft was finalized)."""

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="+",
                                   db_index=False)
    version = models.PositiveBigIntegerField()
    field = models.CharField(max_length=40)
    # The page (its editor id, X-Scarlog-Editor) whose request made the change; "" when
    # none (a task, the admin): that page recognises its own change coming back.
    editor = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["postmortem", "version"],
                                               name="live_change_version_unique")]

    def __str__(self) -> str:
        return f"{self.postmortem_id} change {self.version}: {self.field}"
