"""Field revisions of drafts (every accepted autosave) and the seals of the tamper-evident
hash chain over final records (docs/rules.md#autosave, docs/rules.md#final-seals)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from incidents.models.record import Amendment, Postmortem

__all__ = [
    "FieldRevision",
    "RepositoryCommit",
    "Seal",
]



class FieldRevision(models.Model):
    """One autosave of a draft's input, kept for ever (append-only): who, when, what.

    `field` is the template field the input belongs to ("summary", "fix",
    "contributing_factors", …); `key` names the input ("fix_commit_sha") or the row
    ("factors:12"); `version` counts the saves of that key from 1; `values` holds what
    was saved ({"summary": "…"} or a row's inputs). `editor` identifies the browser page
    that saved it, so a person's own queued saves are never a conflict. PostgreSQL refuses
    UPDATE, TRUNCATE, any write once the postmortem is final, and a DELETE unless the
    draft itself is deleted in the same transaction (discarding it;
    docs/rules.md#database-guards).
    """

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE,
                                   related_name="revisions")
    field = models.CharField(max_length=30)
    key = models.CharField(max_length=40)
    version = models.PositiveIntegerField()
    values = models.JSONField()
    editor = models.CharField(max_length=40, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                               blank=True, related_name="+")
    saved_utc = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["postmortem", "key", "version"]
        constraints = [
            models.UniqueConstraint(fields=["postmortem", "key", "version"],
                                    name="one_revision_per_version"),
        ]
        indexes = [models.Index(fields=["postmortem", "field"], name="revision_by_field")]

    def __str__(self) -> str:
        return f"{self.key} v{self.version} of {self.postmortem_id}"


class Seal(models.Model):
    """One link of the postmortem log's tamper-evidence chain (incidents.seals).

    Written when a postmortem is finalized (amendment null) and when an amendment is
    stored: `content_sha256` is the SHA-256 (hex) of the record's canonical content,
    `chain_sha256` = SHA-256 of the previous seal's chain_sha256 and this seal's kind,
    object id and content hash, so changing any sealed record or seal breaks the chain.
    `content_version` says which canonical format was hashed (1 or 2, docs/rules.md#final-seals);
    a version-2 seal keeps each part's hash in `part_sha256s` so verify_log names the part.
    `manage.py verify_log` recomputes both. Append-only in PostgreSQL.
    """

    class Kind(models.TextChoices):
        POSTMORTEM = "postmortem", "Finalized postmortem"
        AMENDMENT = "amendment", "Amendment"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    postmortem = models.ForeignKey(Postmortem, on_delete=models.PROTECT, related_name="+")
    amendment = models.OneToOneField(
        Amendment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    content_sha256 = models.CharField(max_length=64)
    content_version = models.PositiveSmallIntegerField(
        default=1, help_text="The canonical content format hashed (incidents.seals): 1 for "
                             "seals written before version 2 existed.")
    part_sha256s = models.JSONField(
        default=dict, blank=True,
        help_text="Version 2: {part: SHA-256} of the record's parts (postmortem, meetings, "
                  "attendees, scan answers, ...); content_sha256 hashes this map.")
    chain_sha256 = models.CharField(max_length=64, unique=True)
    sealed_utc = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "incidents_logseal"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["postmortem"], condition=Q(kind="postmortem"),
                                    name="one_finalization_seal_per_postmortem"),
            models.CheckConstraint(
                condition=(Q(kind="postmortem", amendment__isnull=True)
                           | Q(kind="amendment", amendment__isnull=False)),
                name="seal_kind_matches_amendment",
            ),
        ]

    def __str__(self) -> str:
        return f"Seal {self.id} ({self.kind}) {self.chain_sha256[:12]}"


class RepositoryCommit(models.Model):
    """Outbox row: one seal still to be (or already) committed to the postmortem repository.

    Inserted in the seal's own transaction when settings.SCARLOG_POSTMORTEM_REPO is set
    (incidents.seals), so a seal is never appended without its row nor a row written for
    a seal rolled back. incidents.postmortem_repo commits the rows in seal order and fills
    `committed_utc` and `commit_sha`; a failed attempt keeps `last_error` and counts
    `attempts`.
    """

    seal = models.OneToOneField(Seal, on_delete=models.PROTECT, related_name="repository_commit")
    created_utc = models.DateTimeField(default=timezone.now)
    committed_utc = models.DateTimeField(null=True, blank=True)
    commit_sha = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["seal_id"]
        indexes = [models.Index(fields=["seal"], condition=Q(committed_utc__isnull=True),
                                name="repository_commit_pending")]

    def __str__(self) -> str:
        state = self.commit_sha[:12] if self.committed_utc else "pending"
        return f"Repository commit of seal {self.seal_id} ({state})"
