"""Common fixtures: personas, a CSRF-enforcing client, complete drafts, seed data paths.

Tests run on PostgreSQL (config.test_settings) with real connections.
"""
import json
import os
import secrets
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client, TransactionTestCase

from core import roles
from costlog.import_export import import_costlog
from costlog.models import RootPattern
from costlog.seed import seed_root_patterns
from incidents.failure_modes import FAILURE_MODES
from incidents.models import (
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
TEST_DATA = PROJECT_DIR / "tests" / "data"
DEMO_DATA = PROJECT_DIR / "incidents" / "demo_data"

# What the clock says in tests that travel in time (time-machine): a Monday noon UTC, a week
# after the event most tests record (2026-03-02 15:47 UTC) and before their fixed due dates.
NOW = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)

_original_fixture_teardown = TransactionTestCase._fixture_teardown


@contextmanager
def past_the_guards():
    """A cursor of the test connection (a superuser) for which no trigger fires: the
    session_replication_role replica skips them all, the database guards included.

    Only a superuser may set it (the runtime role cannot; tests/test_db_guards.py), so this
    is the owner's way past the guards, for test teardown and set-up only.
    """
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            yield cursor
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")


def _fixture_teardown_past_immutability(self):
    """Empty the tables after a transactional test although they hold final records.

    Django flushes with TRUNCATE, which the database guards refuse for every role
    (docs/rules.md#database-guards); teardown passes them as the superuser it connects as.
    """
    with past_the_guards():
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


@pytest.fixture(scope="session", autouse=True)
def run_own_redis_keys():
    """This run's worker heartbeat key (the Celery queue is this run's by config.test_settings);
    at the end, this run's queue, heartbeat and unacknowledged tasks (those of a worker the
    tests killed) are removed from the Redis database other runs share."""
    import redis

    from core import health

    default_key = health.HEARTBEAT_KEY
    health.HEARTBEAT_KEY = f"{default_key}:{settings.SCARLOG_TEST_RUN_ID}"
    yield
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete(health.HEARTBEAT_KEY, *broker.scan_iter(match=f"*{queue}*"))
    for tag, held in broker.hscan_iter("unacked"):  # kombu: [message, exchange, routing key]
        if json.loads(held)[2] == queue:
            broker.hdel("unacked", tag)
            broker.zrem("unacked_index", tag)
    health.HEARTBEAT_KEY = default_key


@pytest.fixture
def frozen_time():
    """The clock stands at NOW for the whole test, in every thread (the live server's too);
    yields time-machine's coordinates: shift(timedelta) or move_to(moment) moves it."""
    with time_machine.travel(NOW, tick=False) as clock:
        yield clock


CHROMIUM = "/usr/bin/chromium"
# How long a browser action or expectation may wait for its element or text: a failure
# guard only (each waits for its own signal and goes on the moment it comes).
BROWSER_WAIT_GUARD_MS = 30_000
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium (Debian's /usr/bin/chromium) for the whole run, started by the
    first browser test; every test opens its own context (browser_context), so tests share
    no cookies, storage or pages, only the process."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=BROWSER_WAIT_GUARD_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def browser_context(browser, live_server, now: datetime | None = None):
    """A new browser context on the live server (1366×900). `now`: the moment the pages'
    clock (Date.now(), new Date()) stands at; pass NOW when the test runs under frozen_time,
    so the page's countdowns and timers read the server's time. Timers keep running."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(BROWSER_WAIT_GUARD_MS)
    if now is not None:
        context.clock.set_fixed_time(now)
    return context


@contextmanager
def signed_in_drafts(browser, live_server, now: datetime | None = None):
    """Yields open_page(name, pm): a new page signed in as `name` (password
    "<name>-password-1") through the login form, on the draft of `pm`; every page's
    context is closed afterwards. `now` as in browser_context."""
    from playwright.sync_api import expect

    contexts = []

    def open_page(name: str, pm):
        context = browser_context(browser, live_server, now=now)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"/postmortems/{pm.pk}/")
        page.get_by_label("Username").fill(name)
        page.get_by_label("Password").fill(f"{name}-password-1")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Postmortem Draft")).to_be_visible()
        return page

    try:
        yield open_page
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def runtime_conn(db):
    """An autocommit psycopg connection as a fresh runtime role made by `db_roles`."""
    role = f"scarlog_rt_{secrets.token_hex(4)}"
    password = secrets.token_hex(12)
    with connection.cursor() as cur:
        cur.execute("SELECT current_user")
        owner = cur.fetchone()[0]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SCARLOG_TEST_RT_PW", password)
        call_command("db_roles", owner=owner, runtime=role, password_env="SCARLOG_TEST_RT_PW")
    s = connection.settings_dict
    conn = psycopg.connect(host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432,
                           dbname=s["NAME"], user=role, password=password, autocommit=True)
    try:
        yield conn
    finally:
        conn.close()
        with connection.cursor() as cur:
            cur.execute(f'DROP OWNED BY "{role}"')
            cur.execute(f'DROP ROLE "{role}"')


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with an empty per-process cache (cached cost totals hold rows of
    the test that computed them)."""
    from django.core.cache import caches
    caches["default"].clear()
    caches["insights"].clear()  # locmem in config.test_settings


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


@pytest.fixture(autouse=True)
def seeded_vocabularies(request):
    """The vocabularies migration 0019 loads (triggers, severities, the default question
    set), re-created for a test that uses the database: a transactional test's flush
    empties those tables for the tests after it."""
    names = request.fixturenames
    if not ({"db", "transactional_db", "live_server"} & set(names)
            or request.node.get_closest_marker("django_db")):
        return
    if "transactional_db" in names or "live_server" in names:
        request.getfixturevalue("transactional_db")
    else:
        request.getfixturevalue("db")
    from incidents.models import ScanQuestion
    if ScanQuestion.objects.count() < len(FAILURE_MODES):
        from incidents.vocabulary import seed_defaults
        seed_defaults()


def answer_whole_scan(pm: Postmortem, answer: str = "na") -> None:
    """Answer every question of a draft's scan (the default set's twenty unless it has its
    own set; `answer`: yes, no or na), each linked to its question row."""
    from incidents.vocabulary import scan_questions
    ScanAnswer.objects.bulk_create(
        ScanAnswer(postmortem=pm, position=question.number, mode=question.slug,
                   question=question, question_name=question.name,
                   question_text=question.question, answer=answer)
        for question in scan_questions(pm)
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
    """tests/data/MISHAP_COST_LOG.md imported; returns its text."""
    text = (TEST_DATA / "MISHAP_COST_LOG.md").read_text(encoding="utf-8")
    import_costlog(text)
    return text


@pytest.fixture
def real_postmortems(db):
    """tests/data/postmortems.jsonl and amendments.jsonl imported (legacy records)."""
    from incidents.jsonl import import_log
    import_log(TEST_DATA / "postmortems.jsonl", TEST_DATA / "amendments.jsonl")
    return {str(pm.pk): pm for pm in Postmortem.objects.all()}


@pytest.fixture
def real_knowledge(db):
    """tests/data/ai-knowledge-base.yaml and policies.md imported; returns both texts."""
    from knowledge.kb_yaml import import_yaml
    from knowledge.policies_md import import_policies
    yaml_text = (TEST_DATA / "ai-knowledge-base.yaml").read_text(encoding="utf-8")
    policies_text = (TEST_DATA / "policies.md").read_text(encoding="utf-8")
    import_yaml(yaml_text)
    import_policies(policies_text)
    return yaml_text, policies_text


@pytest.fixture
def real_runbooks(db):
    """tests/data/docs/v2 imported (six runbooks and INDEX.md); returns the result."""
    from runbooks.docs_io import import_runbooks
    return import_runbooks(TEST_DATA / "docs" / "v2")
