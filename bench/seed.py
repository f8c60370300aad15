"""The benchmark data generator and preparation, run by bench/run.py once per database.

    python bench/seed.py POSTMORTEMS ITEMS COSTS   (environment from bench/run.py)

Seeds the database once (skipped when it already holds postmortems and entries; the
SQL and what it writes are in bench/sql.py): final postmortems with timeline entries,
contributing factors and references, action items, mishap entries, and the real
knowledge base, policies and runbooks of SHARED_DATA (formats: docs/rules.md#kb-schema,
docs/rules.md#kb-policies-file, docs/rules.md#runbook-frontmatter). Then prepares a run:
the user `bench` (editor), a gate:read token, 20 fresh drafts for the autosave clients, the
static files, and the query count of each page. Prints one JSON object on stdout.
"""
import json
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
SHARED_DATA = PROJECT_DIR.parent / "shared" / "data"
sys.path.insert(0, str(PROJECT_DIR))

import django  # noqa: E402
import sql  # noqa: E402
from cases import CASES, fill  # noqa: E402


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def seed(postmortems: int, items: int, costs: int) -> None:
    from django.core.management import call_command
    from django.db import connection, transaction

    from core.search_vector import CONFIG, document_sql
    from costlog.models import MishapEntry, RootPattern
    from incidents.models import ContributingFactor, Postmortem, TimelineEntry
    from knowledge.kb_yaml import import_yaml
    from knowledge.models import KnowledgeEntry
    from knowledge.policies_md import import_policies
    from runbooks.docs_io import import_runbooks

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        if not Postmortem.objects.exists():
            # The rows are consistent by construction: skip the per-row immutability and
            # foreign-key triggers while loading them (a superuser's bulk load), then
            # restore them before the UPDATE that finalizes and before the cost log,
            # whose triggers copy figures into the totals tables.
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(sql.SEED_USERS_SQL)
            cursor.execute(sql.SEED_POSTMORTEMS_SQL,
                           {"summaries": sql.SUMMARIES, "fixes": sql.FIXES,
                            "count": postmortems})
            cursor.execute(sql.SEED_CHILDREN_SQL, {"events": sql.EVENTS, "factors": sql.FACTORS})
            cursor.execute(sql.SEED_ITEMS_SQL, {"postmortems": postmortems, "items": items})
            # The rows' search vectors, which their triggers (off here) would have written;
            # the postmortems' own are written by the trigger of the finalizing UPDATE.
            for model in (TimelineEntry, ContributingFactor):
                cursor.execute(f"UPDATE {model._meta.db_table} SET search_vector = "
                               f"to_tsvector('{CONFIG}'::regconfig, "
                               f"{document_sql(model.search_columns)})")
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")
            cursor.execute(sql.FINALIZE_SQL)
            # The insights rollups of the items loaded with their triggers off, from the
            # raw rows (the function knowledge 0006 made for its migration's backfill).
            cursor.execute("SELECT scarlog_insights_backfill_items()")
            log(f"  seeded {postmortems:,} postmortems, {items:,} action items")
    with transaction.atomic(), connection.cursor() as cursor:
        if not MishapEntry.objects.exists():
            # Check foreign keys per statement: millions of deferred checks queued until
            # COMMIT slow down far more than linearly.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            patterns = list(RootPattern.objects.order_by("id").values_list("id", flat=True))[:6]
            cursor.execute(sql.SEED_ENTRIES_SQL, {"titles": sql.TITLES, "count": costs})
            cursor.execute("ANALYZE costlog_mishapentry")
            cursor.execute("SELECT min(id), max(id) FROM costlog_mishapentry")
            first, last = cursor.fetchone()
            for after in range(first - 1, last, 100_000):
                cursor.execute(sql.SEED_PATTERNS_SQL, {"patterns": patterns, "after": after})
            cursor.execute(sql.SEED_CORRECTIONS_SQL)
            # Kept by the triggers while loading; filled again from the raw rows, as a check
            # costs as much as the fill.
            cursor.execute("SELECT scarlog_insights_backfill_cost()")
            log(f"  seeded {costs:,} mishap entries")
    with connection.cursor() as cursor:
        if not KnowledgeEntry.objects.exists():
            import_yaml((SHARED_DATA / "ai-knowledge-base.yaml").read_text(encoding="utf-8"))
            import_policies((SHARED_DATA / "policies.md").read_text(encoding="utf-8"))
            import_runbooks(SHARED_DATA / "docs" / "v2")
            for entry, pm in zip(KnowledgeEntry.objects.all()[:5],
                                 Postmortem.objects.order_by("created_utc")[:5], strict=False):
                entry.postmortems.add(pm)
        cursor.execute("VACUUM ANALYZE")  # what autovacuum does some time after a bulk load
    log(f"  data ready in {time.perf_counter() - started:.0f} s")


def prepare() -> dict:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from core import roles
    from core.api_tokens import create_token
    from incidents import live, seals, services
    from incidents.models import Postmortem, Seal

    call_command("collectstatic", verbosity=0, interactive=False)
    user, _ = get_user_model().objects.get_or_create(username="bench")
    roles.set_role(user, roles.EDITOR)
    _, token = create_token("bench", user, ["gate:read"])
    occurred = datetime.now(UTC) - timedelta(hours=2)
    drafts = [str(services.create_draft(user, occurred_utc=occurred, trigger="provider_outage").pk)
              for _ in range(20)]
    finals = [str(pk) for pk in Postmortem.objects.filter(status="final")
              .order_by("?").values_list("pk", flat=True)[:200]]
    # The seed writes its finals by SQL, without the seal that finalizing writes; the page
    # keeps a sealed record's body (incidents.record_body), so the pages served get theirs.
    sealed = set(Seal.objects.filter(postmortem_id__in=finals, kind=Seal.Kind.POSTMORTEM)
                 .values_list("postmortem_id", flat=True))
    with transaction.atomic():
        for pk in finals:
            if uuid.UUID(pk) not in sealed:
                seals.seal_postmortem(uuid.UUID(pk))
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    # The live poll's page ids, signed for the bench user on each draft (as a page gets).
    pages = {draft: {c: live.page_token(draft, user.pk, f"page{c}") for c in "abc"}
             for draft in drafts}
    values = {"final": finals[0], "draft": drafts[0], "version": 0,
              **{f"page{c}": token for c, token in pages[drafts[0]].items()}}
    queries = {}
    for case in CASES:
        method, path, data = fill(case, values)
        path = path.split("\n")[0]  # a case cycling several paths: count the first
        headers = {"Authorization": f"Bearer {token}"} if case.token else {}
        with CaptureQueriesContext(connection) as captured:
            if method == "POST":
                response = client.post(path, data, headers={"HX-Request": "true", **headers})
            else:
                response = client.get(path, headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"{case.name}: {method} {path} answered {response.status_code}")
        queries[case.name] = len(captured.captured_queries)
    # The query-count autosave used drafts[0]; the load starts each draft at its version.
    versions = {drafts[0]: 1}
    return {"session_cookie": settings.SESSION_COOKIE_NAME, "session": session, "token": token,
            "drafts": drafts, "pages": pages, "versions": versions, "finals": finals,
            "queries": queries,
            "postmortems": Postmortem.objects.filter(status="final").count()}


def main() -> None:
    postmortems, items, costs = (int(arg) for arg in sys.argv[1:4])
    django.setup()
    seed(postmortems, items, costs)
    print(json.dumps(prepare()))


if __name__ == "__main__":
    main()
