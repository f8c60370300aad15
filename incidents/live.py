"""Presence on a live draft and the facilitator's current field (docs/rules.md#live-feed).

The change feed itself is incidents.live_feed. Presence (who has the draft open, their
meeting role, the field they are in) lives in Redis, not PostgreSQL: one hash per draft,
one entry per open page, each entry lapsing PRESENCE_TTL_SECONDS after its page's last
heartbeat (the poll is the heartbeat), or at once when the page leaves (pagehide sends a
leave). The page id is issued by the server, signed for one user and one postmortem
(page_token / page_of), so nobody can heartbeat or leave under another page; presence
is shown one line per person, never with page ids. Redis being unreachable raises redis.RedisError:
the poll answers 503 and the page says live updates are down (docs/rules.md#live-down);
autosave does not depend on it. Next field: docs/rules.md#live-next-field.
"""
import json
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from django.core import signing
from django.db import transaction

from incidents import template_rules
from incidents.live_feed import record_change
from incidents.models import Meeting, Postmortem
from incidents.services import FieldError, require_draft

PRESENCE_TTL_SECONDS = 8     # an entry lives this long after its page's last heartbeat
POLL_INTERVAL_MS = 1000      # how often a page polls (and so heartbeats)
PAGE_TOKEN_MAX_AGE_SECONDS = 24 * 3600   # a page open longer reloads to poll again
# The field a presence line names, by key (the template's fields and the scan).
PRESENCE_LABELS = {**template_rules.FIELD_LABELS, **dict(template_rules.RECORD_CHECKS[:1])}

_client = None


class NextFieldError(FieldError):
    """Next field was refused; `field` names the input at fault ("facilitator", "field",
    "meeting")."""


def _redis() -> redis.Redis:
    """The Redis client of settings.SCARLOG_LIVE_REDIS_URL (one pool per process)."""
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.SCARLOG_LIVE_REDIS_URL, socket_timeout=2,
                                       socket_connect_timeout=2)
    return _client


def _key(kind: str, postmortem_id) -> str:
    return f"{settings.SCARLOG_LIVE_KEY_PREFIX}{kind}:{postmortem_id}"


# ---- presence -------------------------------------------------------------------------

class PageIdError(ValueError):
    """A page id (the `editor` a poll or leave sends) not signed for this user and
    postmortem, malformed, or older than PAGE_TOKEN_MAX_AGE_SECONDS."""


def _signer(postmortem_id, user_id) -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=f"scarlog.live.page:{postmortem_id}:{user_id}")


def page_token(postmortem_id, user_id: int, page: str) -> str:
    """The signed id the server gives the page `page` (its hex editor id) of user
    `user_id` on postmortem `postmortem_id`; the poll and leave send it back.
    docs/rules.md#live-feed"""
    return _signer(postmortem_id, user_id).sign(page)


def page_of(token: str, postmortem_id, user_id: int) -> str:
    """The page id inside `token` when it was signed for `user_id` on `postmortem_id`
    within PAGE_TOKEN_MAX_AGE_SECONDS; raises PageIdError otherwise (forged, another
    user's, another postmortem's, expired). docs/rules.md#live-feed"""
    try:
        page = _signer(postmortem_id, user_id).unsign(token, max_age=PAGE_TOKEN_MAX_AGE_SECONDS)
    except signing.BadSignature as exc:
        raise PageIdError("editor: this page's id is not valid for you on this draft; "
                          "reload the page.") from exc
    if not page or len(page) > 40 or not page.isalnum():
        raise PageIdError("editor: this page's id is malformed; reload the page.")
    return page


def meeting_roles(meeting: Meeting | None) -> dict[str, str]:
    """{user id (str): role in the meeting} for `meeting` (facilitator first; {} for none)."""
    if meeting is None:
        return {}
    roles = {str(a.user_id): a.get_role_display() for a in meeting.attendees.all()}
    roles[str(meeting.facilitator_id)] = "Facilitator"
    return roles


def store_roles(postmortem_id, roles: dict[str, str]) -> None:
    """Keep the meeting roles of the draft's latest meeting for presence (a page render
    stores them; the poll reads them without a database query). Raises redis.RedisError."""
    key = _key("roles", postmortem_id)
    pipe = _redis().pipeline(transaction=True)
    pipe.delete(key)
    if roles:
        pipe.hset(key, mapping=roles)
    pipe.expire(key, 24 * 3600)
    pipe.execute()


@dataclass(frozen=True)
class Present:
    """One person present (their open pages grouped): `editor` the id of their page shown
    (the one in a field, most recent first), `name` the username, `role` the meeting role
    ("Not an attendee" when none), `viewer` when read-only, `field` the field key that
    page is in ("" when none), `expires` when its entry lapses (seconds since the epoch,
    UTC). Page ids never leave the server (as_json)."""

    editor: str
    user_id: int
    name: str
    role: str
    viewer: bool
    field: str
    expires: float

    def as_json(self, me_user_id: int) -> dict:
        """{"name", "role", "viewer", "field", "label", "me"}: `label` the field's label
        ("" when none), `me` when this is the user `me_user_id`. No page ids."""
        return {"name": self.name, "role": self.role, "viewer": self.viewer,
                "field": self.field, "label": PRESENCE_LABELS.get(self.field, ""),
                "me": self.user_id == me_user_id}


def heartbeat(postmortem_id, editor: str, user, field: str, viewer: bool) -> list[Present]:
    """Record that page `editor` of `user` has the draft open, in `field` (a field key or
    ""), and return everyone present, one per person, by name (expired entries removed).

    One Redis round trip (a pipeline), two when entries expired. Time is time.time(), so
    tests move it with time-machine. Raises redis.RedisError when Redis is unreachable.
    """
    now = time.time()
    key = _key("presence", postmortem_id)
    entry = {"user_id": user.pk, "name": user.get_username(), "viewer": viewer,
             "field": field[:40], "expires": now + PRESENCE_TTL_SECONDS}
    pipe = _redis().pipeline(transaction=False)
    pipe.hset(key, editor[:40], json.dumps(entry))
    pipe.expire(key, PRESENCE_TTL_SECONDS * 4)
    pipe.hgetall(key)
    pipe.hgetall(_key("roles", postmortem_id))
    _, _, entries, roles = pipe.execute()
    return _present(key, entries, roles, now)


def present(postmortem_id) -> list[Present]:
    """Everyone present on the draft now (no heartbeat). Raises redis.RedisError."""
    key = _key("presence", postmortem_id)
    pipe = _redis().pipeline(transaction=False)
    pipe.hgetall(key)
    pipe.hgetall(_key("roles", postmortem_id))
    entries, roles = pipe.execute()
    return _present(key, entries, roles, time.time())


def leave(postmortem_id, editor: str) -> None:
    """Remove page `editor` from the draft's presence. Raises redis.RedisError."""
    _redis().hdel(_key("presence", postmortem_id), editor[:40])


def _present(key: str, entries: dict, roles: dict, now: float) -> list[Present]:
    roles = {k.decode(): v.decode() for k, v in roles.items()}
    alive, expired = {}, []
    for editor, raw in entries.items():
        data = json.loads(raw)
        if data["expires"] <= now:
            expired.append(editor)
            continue
        page = Present(editor.decode(), data["user_id"], data["name"],
                       roles.get(str(data["user_id"]), "Not an attendee"),
                       data["viewer"], data["field"], data["expires"])
        shown = alive.get(page.user_id)
        # One line per person: the page in a field wins, then the latest heartbeat.
        if shown is None or (bool(page.field), page.expires) > (bool(shown.field), shown.expires):
            alive[page.user_id] = page
    if expired:
        _redis().hdel(key, *expired)
    return sorted(alive.values(), key=lambda p: (p.name, p.user_id))


# ---- the facilitator's current field ----------------------------------------------------

def agenda_keys(postmortem: Postmortem) -> list[str]:
    """The fields the facilitator reads aloud, in the page's order: the template's fields
    (incidents.template_rules.progress_keys)."""
    return template_rules.progress_keys(postmortem)


@transaction.atomic
def next_field(meeting: Meeting, by, field: str = "") -> Meeting:
    """The facilitator `by` moves the meeting to `field` (a key of agenda_keys), or, when
    `field` is "", to the field after the current one (the first when none; the last
    stays). Stored on the meeting (late joiners see it) with a "meeting" change in the
    feed. Raises NextFieldError naming "facilitator" (someone else), "meeting" (not
    started, or ended) or "field" (not a field of the agenda); ImmutableRecordError for
    a final postmortem. Rule: docs/rules.md#live-next-field.
    """
    meeting = (Meeting.objects.select_for_update().select_related("postmortem", "facilitator")
               .get(pk=meeting.pk))
    require_draft(meeting.postmortem)
    if by is None or by.pk != meeting.facilitator_id:
        raise NextFieldError("facilitator", f"Only {meeting.facilitator.get_username()}, the "
                                            "facilitator, can move the meeting to the next field.")
    if meeting.started_utc is None or meeting.ended_utc is not None:
        raise NextFieldError("meeting", "Next field: the meeting is not in progress.")
    keys = agenda_keys(meeting.postmortem)
    if field:
        if field not in keys:
            raise NextFieldError("field", f"Field: {field[:40]!r} is not a field of the agenda.")
        chosen = field
    elif meeting.current_field in keys:
        chosen = keys[min(keys.index(meeting.current_field) + 1, len(keys) - 1)]
    else:
        chosen = keys[0]
    meeting.current_field = chosen
    meeting.save(update_fields=["current_field"])
    record_change(meeting.postmortem_id, "meeting")
    return meeting
