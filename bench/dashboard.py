"""Benchmark: the dashboard (home page) and the planning gate at 100,000 postmortems and
500,000 action items.

Run from the project directory (PostgreSQL on 127.0.0.1:5432, as for the tests):

    .venv/bin/python bench/dashboard.py [--postmortems 100000] [--items 500000] [--runs 30] [--reseed]

It seeds a separate database `scarlog_bench_dashboard` once: final postmortems over five
years in 20 domains, 50 owners, items of every type with 20% still open (a third of those
overdue). Then it prints the median and p95 time and the query count of the dashboard
(unfiltered and with each filter) and of the gate API for one domain. Figures are printed,
never asserted.
"""
import argparse
import time

from common import ensure_database, median, p95, signed_in_client, timed, use_database

BENCH_DATABASE = "scarlog_bench_dashboard"
use_database(BENCH_DATABASE)

import django  # after use_database(): DATABASE_URL must be set before Django starts

SEED_USERS_SQL = """
INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,
    is_staff, is_active, date_joined)
SELECT '!', false, 'owner' || n, '', '', '', false, true, now() FROM generate_series(1, 50) AS n
ON CONFLICT (username) DO NOTHING
"""

SEED_POSTMORTEMS_SQL = """
INSERT INTO incidents_postmortem (id, created_utc, status, origin, summary, root_cause,
    fix_commit_sha, fix_description, fix_ticket_link, prevention, updated_utc, finalized_utc)
SELECT gen_random_uuid(), ts, 'final', 'import',
    'Run ' || n || ' lost its pod when the launcher died during a heartbeat blip.',
    (ARRAY['cost','correctness','compliance','security','operational'])[1 + n %% 5],
    '3f9c2ab', 'Watchdog added', '', 'A separate watchdog watches long runs.', ts, ts
FROM (SELECT n, timestamptz '2021-11-20' + (n::float / %(count)s) * interval '1826 days' AS ts
      FROM generate_series(1, %(count)s) AS n) AS s
"""

SEED_CLASSIFICATIONS_SQL = """
INSERT INTO incidents_classification (postmortem_id, domain, tags, set_utc)
SELECT id, 'domain-' || (abs(hashtext(id::text)) %% 20), '[]', created_utc FROM incidents_postmortem
"""

SEED_ITEMS_SQL = """
INSERT INTO incidents_actionitem (postmortem_id, kind, description, owner_id, due_date, status,
    drop_reason, evidence, created_utc, updated_utc)
SELECT pm.id, (ARRAY['rule','hook','test','criterion','memory'])[1 + k %% 5],
    'Ship the fix for run ' || k, owners.ids[1 + k %% 50],
    CASE WHEN k %% 15 = 0 THEN current_date - (k %% 30) - 1 ELSE current_date + (k %% 60) END,
    CASE WHEN k %% 5 = 0 THEN 'open' WHEN k %% 97 = 0 THEN 'dropped' ELSE 'shipped' END,
    CASE WHEN k %% 5 <> 0 AND k %% 97 = 0 THEN 'Superseded' ELSE '' END,
    CASE WHEN k %% 5 = 0 OR k %% 97 = 0 THEN '{}'::jsonb
         ELSE '{"rules_file": "rules/x.md", "hook_file": "hooks/x.py", "commit_sha": "3f9c2ab"}'::jsonb END,
    now(), now()
FROM (SELECT k, 1 + (k - 1) %% %(postmortems)s AS pm_n FROM generate_series(1, %(items)s) AS k) AS s
JOIN (SELECT id, row_number() OVER (ORDER BY created_utc) AS pm_n FROM incidents_postmortem) AS pm
    USING (pm_n)
CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids FROM auth_user WHERE username LIKE 'owner%%')
    AS owners
"""


def seed(postmortems: int, items: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    from incidents.models import ActionItem, Postmortem

    call_command("migrate", verbosity=0)
    stored = Postmortem.objects.count()
    if stored:
        print(f"Using the {stored:,} postmortems and {ActionItem.objects.count():,} action "
              f"items already in {BENCH_DATABASE} (--reseed to rebuild).")
        return
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(SEED_USERS_SQL, {})
        cursor.execute(SEED_POSTMORTEMS_SQL, {"count": postmortems})
        cursor.execute(SEED_CLASSIFICATIONS_SQL, {})
        cursor.execute(SEED_ITEMS_SQL, {"postmortems": postmortems, "items": items})
        cursor.execute("VACUUM ANALYZE")
    print(f"Seeded {postmortems:,} postmortems and {items:,} action items in "
          f"{time.perf_counter() - started:.0f} s.")


CASES = [
    ("dashboard", "/", {}),
    ("dashboard, by domain", "/", {"group": "domain"}),
    ("dashboard, owner7", "/", {"owner": "owner7"}),
    ("dashboard, overdue", "/", {"overdue": "1"}),
    ("dashboard, domain-3 tests", "/", {"domain": "domain-3", "type": "test"}),
]


def measure(runs: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from incidents.api_tokens import create_token

    client, user = signed_in_client()
    _, key = create_token("bench", user, ["gate:read"])
    cases = [*CASES, ("gate API, domain-3", "/api/gate/domain-3", {})]
    print(f"\n{'page':<28} {'median':>9} {'p95':>9} {'queries':>8}")
    for name, url, params in cases:
        headers = {"Authorization": f"Bearer {key}"} if url.startswith("/api/") else {}

        def page(url=url, params=params, headers=headers):
            response = client.get(url, params, headers=headers)
            if response.status_code != 200:
                raise SystemExit(f"{url} {params} answered {response.status_code}")

        samples = timed(page, runs)
        with CaptureQueriesContext(connection) as captured:
            page()
        print(f"{name:<28} {median(samples):>7.1f}ms {p95(samples):>7.1f}ms "
              f"{len(captured.captured_queries):>8}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postmortems", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--reseed", action="store_true", help="drop and rebuild the bench database")
    args = parser.parse_args()
    ensure_database(BENCH_DATABASE, args.reseed)
    django.setup()
    seed(args.postmortems, args.items)
    measure(args.runs)


if __name__ == "__main__":
    main()
