"""The one way Scarlog turns user Markdown into HTML: Markdown, then nh3 sanitizing.

Scripts, event-handler attributes, style and `javascript:` URLs never survive; links get
rel="noopener noreferrer". Beyond nh3's scheme check, an href that would read as a scheme
other than http, https or mailto once spaces, controls and U+FFFD are taken out (Markdown
turns a tab inside `java\tscript:` into spaces, the HTML parser a NUL into U+FFFD, and nh3
then sees a relative URL) is dropped too, so no stored text becomes a link that only
looks harmless to the sanitizer (docs/rules.md#input-links). Use render_markdown() (or
the |markdown template filter) for every Markdown field.
"""
import re

import markdown as markdown_lib
import nh3
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "strong", "table", "tbody", "td",
    "th", "thead", "tr", "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "td": {"align"}, "th": {"align"}}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
_HIDDEN = re.compile(r"[\s\x00-\x1f\x7f-\x9f\ufffd\u200b-\u200f\u2028-\u202e\u2060\ufeff]")


def _href_filter(element: str, attribute: str, value: str) -> str | None:
    """nh3's attribute filter: None (drop) for an href whose squeezed form names a scheme
    outside ALLOWED_URL_SCHEMES, or a protocol-relative `//host` (docs/rules.md#input-links);
    relative paths, fragments and queries stay."""
    if attribute != "href":
        return value
    squeezed = _HIDDEN.sub("", value).lower()
    if squeezed.startswith(("//", "/\\", "\\")):
        return None  # protocol-relative: another host, as the link fields refuse it too
    head = re.split(r"[/?#]", squeezed, maxsplit=1)[0]
    if ":" in head and head.split(":", 1)[0] not in ALLOWED_URL_SCHEMES:
        return None
    return value


def render_markdown(text: str) -> SafeString:
    """Render Markdown `text` to sanitized HTML, safe to insert into a page."""
    html = markdown_lib.markdown(text, extensions=["tables", "fenced_code", "sane_lists"])
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer",
        attribute_filter=_href_filter,
    )
    return mark_safe(cleaned)
