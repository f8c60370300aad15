"""Shared fixtures: personas, a CSRF-enforcing client, complete drafts, seed data paths.

Tests run on PostgreSQL (config.test_settings) with real connections.
"""
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pgtrigger
import pytest
from django.contrib.auth import get_user_model
from django.test import Client, TransactionTestCase

from core import roles
from costlog.import_export import import_costlog
from costlog.models import APPEND_ONLY_TRIGGERS, RootPattern
from costlog.seed import seed_root_patterns
from incidents.failure_modes import FAILURE_MODES
from incidents.models import (
    IMMUTABILITY_TRIGGERS,
    ContributingFactor,
    Postmortem,
    Reference,
    ScanAnswer,
    TimelineEntry,
)

# Playwright's sync API runs an event loop in the test thread; the ORM calls made by the
# same tests are still synchronous, so Django's async-safety guard must stand aside.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PROJECT_DIR = Path(__file__).resolve().parent.parent
SHARED_DATA = PROJECT_DIR.parent / "shared" / "data"
DEMO_DATA = PROJECT_DIR / "incidents" / "demo_data"

_original_fixture_teardown = TransactionTestCase._fixture_teardown


def _fixture_teardown_past_immutability(self):
    """Empty the tables after a transactional test although they hold final records.

    Django flushes with TRUNCATE, which the immutability and append-only triggers refuse;
    only test teardown may pass them, through django-pgtrigger's per-transaction ignore.
    """
    with pgtrigger.ignore(*IMMUTABILITY_TRIGGERS, *APPEND_ONLY_TRIGGERS):
        _original_fixture_teardown(self)


TransactionTestCase._fixture_teardown = _fixture_teardown_past_immutability


class CsrfClient(Client):
    """A test client that enforces CSRF like a browser and sends htmx requests on demand.

    post(..., htmx=True) adds the HX-Request header; every POST carries the CSRF token
    from the cookie in X-CSRFToken, as base.html's hx-headers does.
    """

    def __init__(self, **kwargs):
        super().__init__(enforce_csrf_checks=True, **kwargs)

    def csrf_token(self) -> str:
        if "csrftoken" not in self.cookies:
            self.get("/accounts/login/")
        return self.cookies["csrftoken"].value

    def post(self, path, data=None, htmx=False, headers=None, **extra):
        headers = {"X-CSRFToken": self.csrf_token(), **(headers or {})}
        if htmx:
            headers["HX-Request"] = "true"
        return super().post(path, data or {}, headers=headers, **extra)


def make_user(username: str, role: str = roles.EDITOR, **fields):
    """A user with `role` (core.roles; editor by default, since most tests write)."""
    user = get_user_model().objects.create_user(username, **fields)
    roles.set_role(user, role)
    return user


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with an empty per-process cache (cached cost totals hold rows of
    the test that computed them)."""
    from django.core.cache import cache
    cache.clear()


@pytest.fixture
def alice(db):
    """The operator who writes postmortems (an editor)."""
    return make_user("alice", password="alice-password-1")


@pytest.fixture
def bob(db):
    """A teammate (code owner) who also edits."""
    return make_user("bob", password="bob-password-1")


@pytest.fixture
def alice_client(alice):
    client = CsrfClient()
    client.force_login(alice)
    return client


@pytest.fixture
def anonymous_client(db):
    return CsrfClient()


def answer_whole_scan(pm: Postmortem, answer: str = "na") -> None:
    """Answer all twenty failure-mode questions of a draft (`answer`: yes, no or na)."""
    ScanAnswer.objects.bulk_create(
        ScanAnswer(postmortem=pm, position=mode.number, mode=mode.slug, answer=answer)
        for mode in FAILURE_MODES
    )


def fill_complete_draft(pm: Postmortem) -> Postmortem:
    """Give a draft a valid value for each of the seven fields (structural factors) and
    answer its whole scan "not applicable"; returns it re-read."""
    start = datetime(2026, 3, 2, 13, 40, tzinfo=UTC)
    pm.summary = "Position in SYNTHETIC_A was not closed on thesis invalidation; loss 1.4%."
    pm.root_cause = "correctness"
    pm.fix_commit_sha = "3f9c2ab"
    pm.fix_description = "Wired the invalidation signal to an automatic exit."
    pm.prevention = "An invalidation monitor emits a metric; an alert fires on expiry."
    pm.save()
    TimelineEntry.objects.bulk_create(
        TimelineEntry(postmortem=pm, position=n, utc=start + timedelta(minutes=10 * n),
                      event=f"Event {n}", trace_id="tr-5f2a9c")
        for n in range(1, 6)
    )
    ContributingFactor.objects.bulk_create(
        ContributingFactor(postmortem=pm, position=n, text=text, substitution="structural")
        for n, text in enumerate(["No invalidation monitor", "Signal not wired to exit",
                                  "Drawdown alert only at session end"], start=1)
    )
    answer_whole_scan(pm)
    Reference.objects.bulk_create([
        Reference(postmortem=pm, position=1, kind="trace_id", value="tr-5f2a9c"),
        Reference(postmortem=pm, position=2, kind="commit", value="3f9c2ab"),
        Reference(postmortem=pm, position=3, kind="pr", value="https://git.example.com/pr/12"),
    ])
    return Postmortem.objects.get(pk=pm.pk)


@pytest.fixture
def complete_draft(alice):
    """A draft whose seven fields all satisfy the template."""
    return fill_complete_draft(Postmortem.objects.create(created_by=alice))


@pytest.fixture
def final_postmortem(complete_draft, alice):
    """A finalized postmortem (through the same service the Finalize button calls)."""
    from incidents.services import finalize

    return finalize(complete_draft, alice)


@pytest.fixture
def root_patterns(db) -> dict[str, RootPattern]:
    """The seeded root-pattern taxonomy by name (re-seeded: a transactional test's flush
    empties the table that migration 0002 filled)."""
    seed_root_patterns(RootPattern)
    return {pattern.name: pattern for pattern in RootPattern.objects.all()}


@pytest.fixture
def real_cost_log(root_patterns):
    """SHARED_DATA's MISHAP_COST_LOG.md imported; returns its text.

    Format: docs/rules.md#cost-markdown.
    """
    text = (SHARED_DATA / "MISHAP_COST_LOG.md").read_text(encoding="utf-8")
    import_costlog(text)
    return text


@pytest.fixture
def real_postmortems(db):
    """SHARED_DATA's postmortems.jsonl and amendments.jsonl imported (legacy records).

    Format: docs/rules.md#final-log.
    """
    from incidents.jsonl import import_log
    import_log(SHARED_DATA / "postmortems.jsonl", SHARED_DATA / "amendments.jsonl")
    return {str(pm.pk): pm for pm in Postmortem.objects.all()}


@pytest.fixture
def real_knowledge(db):
    """SHARED_DATA's ai-knowledge-base.yaml and policies.md imported; returns both texts.

    Formats: docs/rules.md#kb-schema and docs/rules.md#kb-policies-file.
    """
    from knowledge.kb_yaml import import_yaml
    from knowledge.policies_md import import_policies
    yaml_text = (SHARED_DATA / "ai-knowledge-base.yaml").read_text(encoding="utf-8")
    policies_text = (SHARED_DATA / "policies.md").read_text(encoding="utf-8")
    import_yaml(yaml_text)
    import_policies(policies_text)
    return yaml_text, policies_text


@pytest.fixture
def real_runbooks(db):
    """SHARED_DATA's docs/v2 imported (six runbooks and INDEX.md); returns the result.

    Formats: docs/rules.md#runbook-frontmatter and docs/rules.md#runbook-index.
    """
    from runbooks.docs_io import import_runbooks
    return import_runbooks(SHARED_DATA / "docs" / "v2")
