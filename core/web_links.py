"""The one rule for a link Scarlog stores or shows as a link: an absolute http(s) URL.

A link (a fix's ticket link, a PR or other reference, a CI run link) must start with
http:// or https:// (any case), name a host, and hold no space or control character.
So `javascript:`, `data:`, `vbscript:`, `file:`, a protocol-relative `//host` and the
usual disguises (leading spaces, `java\\tscript:`, entities such as `&#106;avascript:`,
mixed case) are all refused: none of them starts with http(s):// once nothing is
stripped. Forms refuse such a value naming the field (validate_web_link); the JSON-lines
reader refuses it naming the line and key (incidents.jsonl.records); templates link
a stored value only when it passes (the `web_link` filter of core.templatetags.links).

Rule: docs/rules.md#input-links.
"""
import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

SCHEMES = ("http", "https")
_PREFIX = re.compile(r"https?://", re.IGNORECASE)
# Whitespace, C0 and C1 controls, DEL, and the invisible format characters browsers drop.
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060\ufeff]")


def link_problem(value: str) -> str | None:
    """None when `value` (text) is an absolute http(s) URL with a host; otherwise the
    reason, a phrase that follows the field's name ("is not an http(s) link …")."""
    if not isinstance(value, str):
        return "must be text"
    if _SPACE_OR_CONTROL.search(value):
        return "contains a space or control character; a link has none"
    if not _PREFIX.match(value):
        return "is not an http(s) link; it must start with http:// or https://"
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 (a malformed port raises ValueError here)
    except ValueError:
        return "is not a well-formed URL"
    if parts.scheme.lower() not in SCHEMES or not host:
        return "has no host after http(s)://"
    return None


def is_web_link(value) -> bool:
    """True when `value` passes link_problem()."""
    return link_problem(value) is None


def validate_web_link(value: str) -> None:
    """Django validator: raises ValidationError with link_problem()'s reason. Forms run it
    only on non-empty values (a draft may leave a link empty)."""
    problem = link_problem(value)
    if problem is not None:
        raise ValidationError(f"This link {problem}.", code="web_link")
