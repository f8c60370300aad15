"""A runbook body as sanitized HTML: relative links to other runbooks lead to their pages,
task-list items show as boxes. The Markdown still goes through the one sanitizing
renderer (core.markdown.render_markdown), after these rewrites."""
import posixpath
import re

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from core.markdown import render_markdown

LINK_RE = re.compile(r"\]\((?P<target>[^)\s]+\.md)(?P<anchor>#[^)\s]*)?\)")
LEADING_H1 = re.compile(r"\A\s*#[ \t]+(?P<text>[^\n]*?)[ \t#]*(?:\n|\Z)")


def without_title_heading(body: str, title: str) -> str:
    """`body` without its opening "# heading" when that heading is the runbook's `title`
    (the page shows the title once, as its own heading; the stored file is unchanged)."""
    match = LEADING_H1.match(body)
    if match and " ".join(match["text"].split()).casefold() == " ".join(title.split()).casefold():
        return body[match.end():]
    return body


def render_runbook(body: str, path: str, keys_by_path: dict[str, str],
                   title: str = "") -> SafeString:
    """HTML of a runbook `body` stored at `path` ("ops/01-daily-operations.md");
    `keys_by_path` maps every runbook path to its id, to resolve relative links. An
    opening "# heading" equal to `title` is left out (the page's own heading shows it)."""
    folder = posixpath.dirname(path)
    body = without_title_heading(body, title) if title else body

    def relink(match: re.Match) -> str:
        target = match["target"]
        if "://" in target or target.startswith("/"):
            return match.group(0)
        resolved = posixpath.normpath(posixpath.join(folder, target))
        key = keys_by_path.get(resolved)
        if key is None:
            return match.group(0)
        return f"]({reverse('runbooks:detail', args=[key])}{match['anchor'] or ''})"

    html = str(render_markdown(LINK_RE.sub(relink, body)))
    html = html.replace("<li>[ ] ", '<li class="task">☐ ').replace(
        "<li>[x] ", '<li class="task">☑ ').replace("<li>[X] ", '<li class="task">☑ ')
    return mark_safe(html)
