"""The site every rendered-form test signs into: a crawl of every page as an admin, and the
forms each page renders (tests/test_rendered_forms.py compares them with its registry)."""
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urljoin, urlsplit

from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404

from core import roles
from incidents import action_items, meetings
from tests.conftest import NOW, make_user

# Links the crawl does not follow: Django's own admin (its forms are Django's, tested
# upstream), and downloads that are not HTML pages.
SKIPPED_PREFIXES = ("/admin/", "/static/")


@dataclass(frozen=True)
class RenderedForm:
    """A <form method=post> a page renders: the page's URL name and its action's URL name."""

    page: str
    action: str


def url_name(path: str) -> str:
    """'incidents:postmortem_detail' for a path of this site."""
    match = resolve(urlsplit(path).path)
    return match.view_name


def every_url_name(resolver=None, namespace="") -> set[str]:
    """Every named URL of the URLconf, outside Django's admin."""
    names = set()
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin":
                continue
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            names |= every_url_name(entry, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            names.add(f"{namespace}{entry.name}")
    return names


def build_site(alice, bob):
    """A draft with a meeting and open action items, a final record, the seed's cost log,
    knowledge and runbooks; returns (admin, draft, final)."""
    from incidents.models import Postmortem
    from incidents.services import finalize, set_domain
    from tests.conftest import fill_complete_draft

    admin = make_user("root", role=roles.ADMIN, password="root-password-1")
    from django.contrib.auth.models import Group
    admin.groups.add(Group.objects.create(name="Security"))  # renders "Who can read this"
    draft = Postmortem.objects.create(created_by=alice, occurred_utc=NOW - timedelta(hours=3),
                                      trigger="provider_outage")
    meetings.schedule_meeting(draft, NOW + timedelta(hours=1), alice, [
        meetings.AttendeeInput(alice, "operator"), meetings.AttendeeInput(bob, "code_owner")])
    final = finalize(fill_complete_draft(Postmortem.objects.create(created_by=alice)), alice)
    set_domain(final, "trading", user=alice)
    item = action_items.add_item(final, "memory", "Memory file records the limit", alice,
                                 date(2026, 3, 20), user=alice)
    action_items.start_item(item, alice)
    action_items.add_item(final, "rule", "Rule against hand-copied lists", alice,
                          date(2026, 3, 21), user=alice)
    from runbooks.models import Runbook
    from runbooks.services import save_with_revision, start_run
    stale = Runbook.objects.order_by("key").first()
    stale.last_updated = date(2025, 1, 2)
    save_with_revision(stale, author=alice, note="reviewed long ago")
    start_run(next(runbook for runbook in Runbook.objects.order_by("key")
                   if "- [ ]" in runbook.body), alice)
    return admin, draft, final


def crawl(app, user, start=("/",), limit=400):
    """GET every page reachable by links from `start` as `user`; returns
    {path: response} of the HTML pages (200) visited."""
    seen, queue, pages = set(), list(start), {}
    while queue and len(seen) < limit:
        path = queue.pop(0)
        if path in seen or path.startswith(SKIPPED_PREFIXES):
            continue
        seen.add(path)
        try:
            url_name(path)
        except Resolver404:
            continue
        response = app.get(path, user=user, expect_errors=True)
        if response.status_int != 200 or "html" not in response.content_type:
            continue
        pages[path] = response
        for link in response.html.find_all("a", href=True):
            target = urljoin(path, link["href"])
            parts = urlsplit(target)
            if parts.netloc and parts.netloc not in ("testserver", "localhost"):
                continue
            next_path = parts.path + (f"?{parts.query}" if parts.query else "")
            if next_path not in seen and not parts.path.startswith(SKIPPED_PREFIXES):
                queue.append(next_path)
    return pages


def rendered_forms(path: str, response) -> set[RenderedForm]:
    """The POST forms of one page, by the page's and the action's URL names."""
    found = set()
    page = url_name(path)
    for form in response.html.find_all("form"):
        if (form.get("method") or "get").lower() != "post":
            continue
        action = form.get("action") or path
        found.add(RenderedForm(page, url_name(urljoin(path, action))))
    return found
