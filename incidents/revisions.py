"""Autosaves with a version check, so three people can fill one draft at once.

Every autosaved input of a draft (a scalar field such as "summary", or one row such as
"factors:12") has a version: the number of saves recorded for it in FieldRevision. The
page sends the version its value was based on. A save based on an older version, when a
newer one came from another page, is refused with EditConflict (HTTP 409): the form then
shows the other person's value beside yours with "keep mine / keep theirs". Nothing is
lost: every accepted save is appended to the revision history (append-only), and a
refused save leaves your text in your form until you choose.

Issue 3 ("Three people edit at once"), 001_60b217100959449d.txt (the 30-minute meeting).
"""
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max

from incidents import fields
from incidents.models import FieldRevision, Postmortem
from incidents.services import FieldError, require_draft

# The template fields whose inputs autosave, so the page can show their history.
HISTORY_FIELDS = frozenset(field.key for field in fields.REGISTRY if field.history)


class EditConflict(Exception):
    """A save was based on version `base_version` but `theirs` (another page's save) is newer.

    `theirs` is the newest FieldRevision of the key; `current_version` its version.
    """

    def __init__(self, key: str, base_version: int, theirs: FieldRevision):
        self.key = key
        self.base_version = base_version
        self.theirs = theirs
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
    text = (raw or "").strip() if isinstance(raw, str) else ""
    if not text.isdigit():
        raise FieldError("base_version", "base_version: the page did not say which version it "
                                         f"edited ({raw!r}); reload the page.")
    return int(text)


def current_versions(postmortem: Postmortem) -> dict[str, int]:
    """{key: newest version} for every input of `postmortem` saved at least once (one query)."""
    rows = (FieldRevision.objects.filter(postmortem=postmortem).values("key")
            .annotate(newest=Max("version")))
    return {row["key"]: row["newest"] for row in rows}


def save_with_revision(postmortem: Postmortem, field: str, key: str, values: dict,
                       base_version: int, editor: str, user,
                       write: Callable[[Postmortem], None], *, locked: bool = False) -> Saved:
    """Check the version of `key`, call `write(locked_postmortem)`, append the revision.

    `values` (JSON-able) is what the page saved; `editor` the page's id (X-Scarlog-Editor;
    "" counts every newer save as someone else's). Saving exactly the newest values again
    writes nothing and returns the current version. Raises EditConflict when a newer
    version came from another page with different values, ImmutableRecordError when the
    postmortem is final; `write` may raise its own errors, which roll everything back.
    The postmortem row lock serialises saves to one draft, so versions never collide;
    `write` gets the locked row and may save its fields with save_locked_draft().

    `locked`: True when the caller read `postmortem` with select_for_update() inside the
    transaction.atomic() block it calls this from (the row is then not read again;
    RuntimeError outside a transaction). Otherwise the row is locked here, in a
    transaction of its own.
    """
    if not locked:
        with transaction.atomic():
            row = Postmortem.objects.select_for_update().get(pk=postmortem.pk)
            return save_with_revision(row, field, key, values, base_version, editor, user,
                                      write, locked=True)
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("save_with_revision(locked=True) runs inside the transaction that "
                           "locked the postmortem row.")
    require_draft(postmortem)
    revisions = FieldRevision.objects.filter(postmortem=postmortem, key=key)
    newest = revisions.order_by("-version").only("version", "values").first()
    current = newest.version if newest else 0
    if newest is not None and newest.values == values:
        # The same values again (a blur after typing): no change.
        return Saved(key, current)
    if base_version > current:
        raise FieldError("base_version", f"base_version: {base_version} is newer than the "
                                         f"stored version {current} of {key}; reload the page.")
    if base_version < current:
        newer = revisions.filter(version__gt=base_version)
        if editor:
            newer = newer.exclude(editor=editor)
        if newer.exists():
            raise EditConflict(key, base_version,
                               revisions.select_related("author").get(pk=newest.pk))
    write(postmortem)
    FieldRevision.objects.create(postmortem=postmortem, field=field, key=key,
                                 version=current + 1, values=values, editor=editor[:40],
                                 author=user)
    return Saved(key, current + 1)


def history(postmortem: Postmortem, field: str) -> list[FieldRevision]:
    """Every revision of the inputs of template field `field`, newest first, with authors."""
    return list(FieldRevision.objects.filter(postmortem=postmortem, field=field)
                .select_related("author").order_by("-saved_utc", "-id"))
