"""A demo-like site for page-wide tests: the `manage.py demo` data (every app's demo.load),
plus what the demo lacks so each kind of page has something on it: a draft with a
meeting, action items open and shipped with evidence, a checklist run, a viewer, an
editor and an admin. `site()` returns the objects that fill the URLconf's converters."""
from dataclasses import dataclass, field
from datetime import date
from io import StringIO

from core import roles
from core.management.commands.demo import demo_modules
from costlog.models import MishapEntry, RootPattern
from costlog.seed import seed_root_patterns
from incidents import action_items, services
from incidents.models import ActionItem, Postmortem
from knowledge.models import KnowledgeEntry, Policy
from runbooks.models import Runbook
from runbooks.services import start_run
from tests.conftest import make_user

PASSWORDS = {"ada-admin": "ada-admin-password-1", "eddie-editor": "eddie-editor-password-1",
             "vera-viewer": "vera-viewer-password-1"}


@dataclass
class Site:
    admin: object
    editor: object
    viewer: object
    draft: Postmortem
    final: Postmortem
    runbook: Runbook
    run: object
    entry: MishapEntry
    knowledge: KnowledgeEntry
    policy: Policy
    users: dict = field(default_factory=dict)


def site() -> Site:
    """Load the demo into the (empty) test database and return its pages' objects."""
    seed_root_patterns(RootPattern)
    admin = make_user("ada-admin", role=roles.ADMIN, password=PASSWORDS["ada-admin"])
    editor = make_user("eddie-editor", password=PASSWORDS["eddie-editor"])
    viewer = make_user("vera-viewer", role=roles.VIEWER, password=PASSWORDS["vera-viewer"])
    for module in demo_modules():
        module.load(admin, StringIO())
    draft = Postmortem.objects.filter(finalized_utc__isnull=True).get()
    final = Postmortem.objects.get(pk="c3e8b7a2-6d45-4f10-a2b9-8e7c6d5b0d04")
    services.set_domain(final, "cloud-training", admin)
    action_items.add_item(final, ActionItem.Kind.RULE, "Cap position size per symbol", editor,
                          date(2026, 12, 20), admin)
    shipped = action_items.add_item(final, ActionItem.Kind.HOOK, "Pre-trade concentration hook",
                                    editor, date(2026, 12, 10), admin)
    action_items.ship_item(shipped, {"hook_file": "hooks/concentration.py",
                                     "commit_sha": "3f9c2ab41d"}, admin)
    runbook = Runbook.objects.get(key="ops-05")
    run = start_run(runbook, admin)
    return Site(admin=admin, editor=editor, viewer=viewer, draft=draft, final=final,
                runbook=runbook, run=run,
                entry=MishapEntry.objects.order_by("pk").first(),
                knowledge=KnowledgeEntry.objects.order_by("position").first(),
                policy=Policy.objects.order_by("number").first(),
                users={"admin": admin, "editor": editor, "viewer": viewer})
