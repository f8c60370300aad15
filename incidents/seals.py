"""Tamper evidence for the postmortem log: a SHA-256 hash chain over finalized records.

At finalize (services.store_final_without_checks) the postmortem's canonical content is hashed and
appended to the chain as a Seal; every amendment is sealed the same way when stored.
`verify_log()` (and `manage.py verify_log`) recomputes each sealed record's hash from the
rows as they are now, and each link of the chain, and reports every mismatch: a record
changed behind the application's back (e.g. by a superuser with the immutability
triggers disabled), a seal edited, or a final record without a seal.

Canonical content (version 1): JSON with sorted keys of the columns listed in FIELDS_V1
for the postmortem and its timeline entries, contributing factors, references and scan
answers (each list in id order), or for the amendment; datetimes in ISO 8601 UTC,
decimals as stored; the columns of OPTIONAL_FIELDS join only when set. The lists are
frozen so that a later migration adding a column does not change the hash of records
sealed before it; a new format gets a new version.

Canonical content (version 2, every seal written now; Seal.content_version records it):
the version-1 parts plus the record's meetings, their attendees and its pending marks,
each part a list of rows with the columns of FIELDS_V2 in id order (the optional columns
always present), datetimes as ISO 8601 UTC strings with microseconds. Each part is hashed
on its own (Seal.part_sha256s) and content_sha256 is the SHA-256 of that sorted
{part: hash} map, so verify_log names the part that changed ("meetings", "attendees",
"scan answers", ...). Rule: docs/rules.md#final-seals.
"""
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.apps import apps as global_apps
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection

# Content version 1: the columns hashed, per model (the postmortem's child tables are
# the rows frozen with it at finalize).
FIELDS_V1 = {
    "Postmortem": (
        "id", "created_utc", "created_by_id", "status", "origin", "template", "occurred_utc",
        "trigger", "trigger_reason", "summary", "root_cause", "fix_commit_sha",
        "fix_description", "fix_ticket_link", "prevention", "impact_usd", "impact_users",
        "impact_duration_minutes", "impact_description", "what_went_well", "what_went_wrong",
        "lessons_learned", "owner_sentiment", "owner_sentiment_by", "updated_utc",
        "finalized_utc", "finalized_by_id",
    ),
    "TimelineEntry": ("id", "postmortem_id", "position", "utc", "event", "trace_id"),
    "ContributingFactor": (
        "id", "postmortem_id", "position", "text", "substitution", "blameless_reviewed_text",
        "blameless_reviewed_by_id", "blameless_reviewed_utc",
    ),
    "Reference": ("id", "postmortem_id", "position", "kind", "value"),
    "ScanAnswer": (
        "id", "postmortem_id", "position", "mode", "answer", "note", "answered_by_id",
        "answered_utc",
    ),
    "Amendment": (
        "id", "postmortem_id", "amended_utc", "author_id", "note", "section", "impact_usd",
        "impact_users", "impact_duration_minutes",
    ),
}
# Columns added since version 1, hashed only when set (not None or ""): a record sealed
# before they existed, or one that leaves them empty, hashes as it did (docs/rules.md#severity).
OPTIONAL_FIELDS = {
    "Postmortem": ("severity", "question_set_id"),
    "ScanAnswer": ("question_id", "question_name", "question_text"),
}
CHILD_MODELS = ("TimelineEntry", "ContributingFactor", "Reference", "ScanAnswer")
# Content version 2 (frozen like FIELDS_V1): every version-1 column, the optional ones
# always, and the meeting's rows; PARTS_V2 names each part in verify_log's reports.
FIELDS_V2 = {
    "Postmortem": FIELDS_V1["Postmortem"] + OPTIONAL_FIELDS["Postmortem"],
    "TimelineEntry": FIELDS_V1["TimelineEntry"],
    "ContributingFactor": FIELDS_V1["ContributingFactor"],
    "Reference": FIELDS_V1["Reference"],
    "ScanAnswer": FIELDS_V1["ScanAnswer"] + OPTIONAL_FIELDS["ScanAnswer"],
    "Meeting": ("id", "postmortem_id", "scheduled_utc", "facilitator_id", "started_utc",
                "ended_utc", "created_utc", "created_by_id"),
    "MeetingAttendee": ("id", "meeting_id", "user_id", "role"),
    "PendingMark": ("id", "postmortem_id", "field", "marked_by_id", "marked_utc"),
}
PARTS_V2 = {
    "Postmortem": "postmortem", "TimelineEntry": "timeline", "ContributingFactor":
    "contributing factors", "Reference": "references", "ScanAnswer": "scan answers",
    "Meeting": "meetings", "MeetingAttendee": "attendees", "PendingMark": "pending marks",
}
CURRENT_VERSION = 2
VERSIONS = (1, 2)
# One advisory-lock key for "append to the chain" (PostgreSQL), so two finalizes at once
# cannot both chain to the same previous seal.
CHAIN_LOCK_KEY = 0x5CA2_106
# verify_log() reads seals and the records they seal this many at a time.
VERIFY_CHUNK = 500


def _row(instance) -> dict:
    """The version-1 columns of `instance` (FIELDS_V1), as stored, and those of
    OPTIONAL_FIELDS that are set."""
    name = instance._meta.object_name
    row = {column: getattr(instance, column) for column in FIELDS_V1[name]}
    for column in OPTIONAL_FIELDS.get(name, ()):
        value = getattr(instance, column, None)
        if value not in (None, ""):
            row[column] = value
    return row


def _canonical(value):
    """A version-2 value: aware datetimes as ISO 8601 UTC strings (microseconds kept);
    a naive datetime is refused (ValueError), never guessed."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} cannot be sealed")
        return value.astimezone(UTC).isoformat()
    return value


def _row_v2(instance) -> dict:
    return {column: _canonical(getattr(instance, column))
            for column in FIELDS_V2[instance._meta.object_name]}


def _digest(payload) -> str:
    text = json.dumps(payload, cls=DjangoJSONEncoder, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def postmortem_content_sha256s(postmortem_ids, apps=global_apps) -> dict:
    """{postmortem id: SHA-256 (hex) of its canonical content}, read fresh from the database
    in one query per table, whatever the number of ids; an id that no longer exists is
    left out. `apps` lets a migration pass its historical registry."""
    ids = list(postmortem_ids)
    payloads = {pm.pk: {"postmortem": _row(pm), **{name: [] for name in CHILD_MODELS}}
                for pm in apps.get_model("incidents", "Postmortem").objects.filter(pk__in=ids)}
    for name in CHILD_MODELS:
        rows = apps.get_model("incidents", name).objects.filter(postmortem_id__in=ids)
        for row in rows.order_by("id"):
            payloads[row.postmortem_id][name].append(_row(row))
    return {pk: _digest(payload) for pk, payload in payloads.items()}


def postmortem_part_sha256s(postmortem_ids, apps=global_apps) -> dict:
    """{postmortem id: {part name (PARTS_V2): SHA-256 (hex) of that part's version-2
    rows}}, read fresh in one query per table; an id that no longer exists is left out."""
    ids = list(postmortem_ids)
    payloads = {}
    for pm in apps.get_model("incidents", "Postmortem").objects.filter(pk__in=ids):
        payloads[pm.pk] = {part: [] for part in PARTS_V2.values()}
        payloads[pm.pk]["postmortem"].append(_row_v2(pm))
    for name in (*CHILD_MODELS, "Meeting", "PendingMark"):
        rows = apps.get_model("incidents", name).objects.filter(postmortem_id__in=ids)
        for row in rows.order_by("id"):
            payloads[row.postmortem_id][PARTS_V2[name]].append(_row_v2(row))
    attendees = (apps.get_model("incidents", "MeetingAttendee").objects
                 .filter(meeting__postmortem_id__in=ids).select_related("meeting").order_by("id"))
    for attendee in attendees:
        payloads[attendee.meeting.postmortem_id]["attendees"].append(_row_v2(attendee))
    return {pk: {part: _digest(rows) for part, rows in parts.items()}
            for pk, parts in payloads.items()}


def content_of_parts(parts: dict) -> str:
    """The version-2 content hash: SHA-256 (hex) of the sorted {part: hash} map."""
    return _digest(parts)


def postmortem_content_sha256(postmortem_id, apps=global_apps,
                              version: int = CURRENT_VERSION) -> str:
    """SHA-256 (hex) of one postmortem's canonical content in `version` (1 or 2);
    DoesNotExist when it is gone, ValueError for an unknown version."""
    if version not in VERSIONS:
        raise ValueError(f"unknown seal content version {version!r}")
    if version == 2:
        found = {pk: content_of_parts(parts)
                 for pk, parts in postmortem_part_sha256s([postmortem_id], apps).items()}
    else:
        found = postmortem_content_sha256s([postmortem_id], apps)
    if not found:
        raise apps.get_model("incidents", "Postmortem").DoesNotExist(postmortem_id)
    return next(iter(found.values()))


def amendment_content_sha256s(amendment_ids, apps=global_apps) -> dict:
    """{amendment id: SHA-256 (hex) of its stored columns}; a missing id is left out."""
    amendments = apps.get_model("incidents", "Amendment").objects.filter(pk__in=list(amendment_ids))
    return {amendment.pk: _digest({"amendment": _row(amendment)}) for amendment in amendments}


def amendment_content_sha256(amendment_id, apps=global_apps) -> str:
    """SHA-256 (hex) of one amendment's stored columns; DoesNotExist when it is gone."""
    found = amendment_content_sha256s([amendment_id], apps)
    if not found:
        raise apps.get_model("incidents", "Amendment").DoesNotExist(amendment_id)
    return next(iter(found.values()))


def chain_sha256(previous: str, kind: str, object_id, content_sha256: str) -> str:
    """The chain link: SHA-256 of "previous|kind|object id|content hash" ("" before the first)."""
    return hashlib.sha256(f"{previous}|{kind}|{object_id}|{content_sha256}".encode()).hexdigest()


def _append(kind: str, postmortem_id, amendment_id, content: str, apps=global_apps,
            version: int = 1, parts: dict | None = None):
    seal_model = apps.get_model("incidents", "Seal")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
    last = seal_model.objects.order_by("-id").values_list("chain_sha256", flat=True).first()
    object_id = amendment_id if kind == "amendment" else postmortem_id
    seal = seal_model.objects.create(
        kind=kind, postmortem_id=postmortem_id, amendment_id=amendment_id,
        content_sha256=content, chain_sha256=chain_sha256(last or "", kind, object_id, content),
        content_version=version, part_sha256s=parts or {},
    )
    if apps is global_apps:  # not from a migration's historical registry
        from incidents import postmortem_repo

        postmortem_repo.enqueue(seal)
    return seal


def seal_postmortem(postmortem_id, apps=global_apps, version: int = CURRENT_VERSION):
    """Append the seal of a just-finalized postmortem in content `version` (2 unless a
    test recreates an older archive); call inside its transaction. ValueError for an
    unknown version, DoesNotExist when the postmortem is gone."""
    if version == 2:
        found = postmortem_part_sha256s([postmortem_id], apps)
        if not found:
            raise apps.get_model("incidents", "Postmortem").DoesNotExist(postmortem_id)
        parts = found[postmortem_id]
        return _append("postmortem", postmortem_id, None, content_of_parts(parts), apps,
                       version=2, parts=parts)
    return _append("postmortem", postmortem_id, None,
                   postmortem_content_sha256(postmortem_id, apps, version), apps, version=1)


def seal_amendment(amendment, apps=global_apps):
    """Append the seal of a just-stored amendment; call inside its transaction."""
    return _append("amendment", amendment.postmortem_id, amendment.pk,
                   amendment_content_sha256(amendment.pk, apps), apps)


@dataclass
class VerifyReport:
    """What verify_log() found: `checked` seals, the chain `head` (last chain_sha256, ""
    when empty) and `problems`, one sentence each naming the record."""

    checked: int = 0
    head: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_log() -> VerifyReport:
    """Recompute every seal's content hash and chain link, in order; list every mismatch.

    Each postmortem seal is recomputed in its own content version (Seal.content_version);
    a version-2 mismatch names the parts that differ ("postmortem 7: its content changed
    after it was sealed at ... UTC, in its attendees, meetings (seal ...)"). Also reports
    final postmortems and amendments that have no seal. Reads only, in chunks of VERIFY_CHUNK seals.
    """
    from incidents.models import Amendment, Postmortem, Seal

    report = VerifyReport()
    previous = ""
    seals = Seal.objects.order_by("id")
    last_id = 0
    while chunk := list(seals.filter(id__gt=last_id)[:VERIFY_CHUNK]):
        last_id = chunk[-1].id
        postmortems = postmortem_content_sha256s(
            s.postmortem_id for s in chunk
            if s.kind == Seal.Kind.POSTMORTEM and s.content_version == 1)
        postmortem_parts = postmortem_part_sha256s(
            s.postmortem_id for s in chunk
            if s.kind == Seal.Kind.POSTMORTEM and s.content_version == 2)
        amendments = amendment_content_sha256s(
            s.amendment_id for s in chunk if s.kind == Seal.Kind.AMENDMENT)
        for seal in chunk:
            report.checked += 1
            if seal.kind == Seal.Kind.POSTMORTEM:
                label, object_id = f"postmortem {seal.postmortem_id}", seal.postmortem_id
                if seal.content_version == 2:
                    parts = postmortem_parts.get(seal.postmortem_id)
                    current = None if parts is None else content_of_parts(parts)
                elif seal.content_version == 1:
                    parts, current = None, postmortems.get(seal.postmortem_id)
                else:
                    report.problems.append(f"{label}: seal {seal.id} has unknown content "
                                           f"version {seal.content_version}")
                    parts, current = None, seal.content_sha256
            else:
                label, object_id = (f"amendment {seal.amendment_id} of postmortem "
                                    f"{seal.postmortem_id}"), seal.amendment_id
                current = amendments.get(seal.amendment_id)
            if current is None:
                report.problems.append(f"{label}: deleted after it was sealed (seal {seal.id})")
            elif current != seal.content_sha256:
                changed = ""
                if seal.kind == Seal.Kind.POSTMORTEM and parts is not None:
                    names = sorted(part for part, sha in parts.items()
                                   if seal.part_sha256s.get(part) != sha)
                    changed = f", in its {', '.join(names)}" if names else ""
                report.problems.append(
                    f"{label}: its content changed after it was sealed at "
                    f"{seal.sealed_utc:%Y-%m-%d %H:%M:%S} UTC{changed} (seal {seal.id}: stored "
                    f"{seal.content_sha256[:16]}…, now {current[:16]}…)")
            expected = chain_sha256(previous, seal.kind, object_id, seal.content_sha256)
            if expected != seal.chain_sha256:
                report.problems.append(
                    f"seal {seal.id} ({label}): the chain is broken here; the seal or the one "
                    "before it was edited or removed")
            previous = seal.chain_sha256
    report.head = previous
    sealed = Seal.objects.filter(kind=Seal.Kind.POSTMORTEM).values("postmortem_id")
    unsealed = (Postmortem.objects.filter(status=Postmortem.Status.FINAL)
                .exclude(pk__in=sealed).values_list("pk", flat=True))
    report.problems += [f"postmortem {pk}: final but never sealed" for pk in unsealed]
    sealed_amendments = Seal.objects.filter(amendment__isnull=False).values("amendment_id")
    report.problems += [f"amendment {a.pk} of postmortem {a.postmortem_id}: never sealed"
                        for a in Amendment.objects.exclude(pk__in=sealed_amendments)]
    return report


def chain_head() -> str:
    """The chain head: the newest seal's chain_sha256 (hex), "" before the first seal.

    What an answer cites to say which state of the log it read (docs/rules.md#mcp-provenance).
    """
    from incidents.models import Seal

    return Seal.objects.order_by("-id").values_list("chain_sha256", flat=True).first() or ""
