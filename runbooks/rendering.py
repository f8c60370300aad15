"""A runbook body as sanitized HTML: relative links to other runbooks lead to their pages,
task-list items show as boxes. The Markdown still goes through the one sanitizing
renderer (core.markdown.render_markdown), after these rewrites."""
import posixpath
import re

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from core.markdown import render_markdown

LINK_RE = re.compile(r"\]\((?P<target>[^)\s]+\.md)(?P<anchor>#[^)\s]*)?\)")


def render_runbook(body: str, path: str, keys_by_path: dict[str, str]) -> SafeString:
    """HTML of a runbook `body` stored at `path` ("ops/01-daily-operations.md");
    `keys_by_path` maps every runbook path to its id, to resolve relative links."""
    folder = posixpath.dirname(path)

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
