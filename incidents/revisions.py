"""Autosaves with a version check, so three people can fill one draft at once.

Every autosaved input of a draft (a scalar field such as "summary", or one row such as
"factors:12") has a version: the number of saves recorded for it in FieldRevision. The
page sends the version its value was based on. A save based on an older version, when a
newer one came from another page, is refused with EditConflict (HTTP 409): the form then
shows the other person's value beside yours with "keep mine / keep theirs". Nothing is
lost: every accepted save is appended to the revision history (append-only), and a
refused save leaves your text in your form until you choose.

Rule: docs/rules.md#autosave-versions (three people edit at once in the 30-minute meeting).
"""
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max

from core.limits import whole_number
from core.record_types import shown
from incidents import fields, live_feed
from incidents.models import FieldRevision, Postmortem
from incidents.services import FieldError, require_draft

# The template fields whose inputs autosave, so the page can show their history.
HISTORY_FIELDS = frozenset(field.key for field in fields.REGISTRY if field.history)


class EditConflict(Exception):
    """A save was based on version `base_version` but `theirs` (another page's save) is newer.

    `theirs` is the newest FieldRevision of the key; `current_version` its version;
    `base_values` the values of version `base_version` (what this page started from), or
    None when that version is unknown (0: never saved).
    """

    def __init__(self, key: str, base_version: int, theirs: FieldRevision,
                 base_values: dict | None = None):
        self.key = key
        self.base_version = base_version
        self.theirs = theirs
        self.base_values = base_values
        self.current_version = theirs.version
        author = theirs.author.get_username() if theirs.author else "someone"
        super().__init__(f"{key}: {author} saved version {theirs.version} after the version "
                         f"{base_version} you were editing.")


@dataclass(frozen=True)
class Saved:
    """An accepted save: the key and its new version."""

    key: str
    version: int


def parse_base_version(raw) -> int:
    """The `base_version` a page sent: an integer ≥ 0. Raises FieldError naming base_version."""
    number = whole_number(raw) if isinstance(raw, str) else None
    if number is None:
        raise FieldError("base_version", "base_version: the page did not say which version it "
                                         f"edited ({shown(raw)}); reload the page.")
    return number


def current_versions(postmortem: Postmortem) -> dict[str, int]:
    """{key: newest version} for every input of `postmortem` saved at least once (one query)."""
    rows = (FieldRevision.objects.filter(postmortem=postmortem).values("key")
            .annotate(newest=Max("version")))
    return {row["key"]: row["newest"] for row in rows}


class StaleBaseVersion(FieldError):
    """The page's `base_version` is ahead of the stored version (a page from another
    database, or a forged request); the page should reload."""


@dataclass(frozen=True)
class VersionCheck:
    """check_version's answer: `current` is the stored version of `key`; `unchanged` when
    the values equal its newest revision's (nothing to write; the version stays)."""

    key: str
    current: int
    unchanged: bool

    @property
    def saved(self) -> Saved:
        """The Saved an unchanged save answers (the current version)."""
        return Saved(self.key, self.current)


def check_version(postmortem: Postmortem, key: str, values: dict, base_version: int,
                  editor: str) -> VersionCheck:
    """Check a save of `values` to `key` based on `base_version` (docs/rules.md#autosave-versions).

    Call inside the transaction that locked `postmortem` (SELECT ... FOR UPDATE), then
    write, then record_revision(): the lock serialises saves to one draft, so versions
    never collide. `editor` is the page's id (X-Scarlog-Editor; "" counts every newer save
    as someone else's). One query, two when there is a conflict.

    Raises EditConflict when a newer version came from another page with different values,
    StaleBaseVersion when `base_version` is ahead of the stored one, ImmutableRecordError
    when the postmortem is final, RuntimeError outside a transaction.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("check_version runs inside the transaction that locked the "
                           "postmortem row.")
    require_draft(postmortem)
    revisions = FieldRevision.objects.filter(postmortem=postmortem, key=key)
    newest = revisions.order_by("-version").only("version", "values").first()
    current = newest.version if newest else 0
    if newest is not None and newest.values == values:
        # The same values again (a blur after typing): no change.
        return VersionCheck(key, current, unchanged=True)
    if base_version > current:
        raise StaleBaseVersion("base_version", f"base_version: {base_version} is newer than "
                                               f"the stored version {current} of {key}; "
                                               "reload the page.")
    if base_version < current:
        newer = revisions.filter(version__gt=base_version)
        if editor:
            newer = newer.exclude(editor=editor)
        if newer.exists():
            base = (revisions.filter(version=base_version).values_list("values", flat=True)
                    .first()) if base_version else None
            raise EditConflict(key, base_version,
                               revisions.select_related("author").get(pk=newest.pk), base)
    return VersionCheck(key, current, unchanged=False)


def keep_mine(conflict: EditConflict, mine: dict) -> dict:
    """The values "Keep mine" saves, merged cell by cell (docs/rules.md#autosave-keep-mine).

    `mine`: input name → the value this page sent. A cell this page changed from the
    version it started from keeps this page's value; a cell it left alone takes the other
    person's, so keeping mine never reverts their edits to the row's other cells. When
    the starting version is unknown, every cell is mine.
    """
    base, theirs = conflict.base_values, conflict.theirs.values
    if base is None:
        return dict(mine)
    return {name: value if value != base.get(name, "") else theirs.get(name, "")
            for name, value in mine.items()}


def record_revision(postmortem: Postmortem, field: str, checked: VersionCheck, values: dict,
                    editor: str, user) -> Saved:
    """Append the revision of a save check_version accepted (and the caller wrote), in the
    same transaction: version `checked.current + 1` of template field `field`."""
    FieldRevision.objects.create(postmortem=postmortem, field=field, key=checked.key,
                                 version=checked.current + 1, values=values,
                                 editor=editor[:40], author=user)
    live_feed.record_change(postmortem.pk, field, locked=True,  # check_version's lock
                            editor=editor[:40])
    return Saved(checked.key, checked.current + 1)


def history(postmortem: Postmortem, field: str) -> list[FieldRevision]:
    """Every revision of the inputs of template field `field`, newest first, with authors."""
    return list(FieldRevision.objects.filter(postmortem=postmortem, field=field)
                .select_related("author").order_by("-saved_utc", "-id"))
