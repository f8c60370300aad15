"""Benchmark: the cost totals page at 1,000,000 mishap entries, beside its bare SQL.

Run from the project directory (PostgreSQL on 127.0.0.1:5432, as for the tests):

    .venv/bin/python bench/costlog_totals.py [--entries 1000000] [--runs 30] [--reseed]

It seeds a separate database `scarlog_bench` once (entries spread over five years,
realistic titles and costs, 5% near-misses, 30% with two root patterns, 1% corrected;
the PostgreSQL triggers run as in production), then for each period prints the totals
page's median and p95 time (Django test client, signed in, whole request and render)
beside the median time of the same SQL run bare, in the same run. "12m" is the page as it
opens (the last 12 months). Target (issue 5): page within 1.5x of the bare SQL and under
300 ms. The page's per-process cache is cleared before each request, so the figures are
for computing the totals. Figures are printed, never asserted.
"""
import argparse
import time

from common import ensure_database, median, p95, signed_in_client, timed, use_database
from sql import SEED_CORRECTIONS_SQL, SEED_ENTRIES_SQL, SEED_PATTERNS_SQL, TITLES

BENCH_DATABASE = "scarlog_bench"
use_database(BENCH_DATABASE)

import django  # noqa: E402 (after use_database(): DATABASE_URL must be set before Django starts)


def seed(entries: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    from costlog.models import MishapEntry, RootPattern

    call_command("migrate", verbosity=0)
    stored = MishapEntry.objects.count()
    if stored >= entries:
        print(f"Using the {stored:,} entries already in {BENCH_DATABASE} (--reseed to rebuild).")
        return
    if stored:
        raise SystemExit(f"{BENCH_DATABASE} holds {stored:,} entries, fewer than asked; "
                         "run with --reseed.")
    patterns = list(RootPattern.objects.order_by("id").values_list("id", flat=True))[:6]
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(SEED_ENTRIES_SQL, {"titles": TITLES, "count": entries})
        # Fresh statistics, so the copy_entry_figures trigger looks entries up by index.
        cursor.execute("ANALYZE costlog_mishapentry")
        cursor.execute("SELECT min(id), max(id) FROM costlog_mishapentry")
        first, last = cursor.fetchone()
        for after in range(first - 1, last, 100_000):
            cursor.execute(SEED_PATTERNS_SQL, {"patterns": patterns, "after": after})
        cursor.execute(SEED_CORRECTIONS_SQL)
        # What autovacuum does some time after a bulk load: statistics and visibility map.
        cursor.execute("VACUUM ANALYZE")
    seconds = time.perf_counter() - started
    print(f"Seeded {MishapEntry.objects.count():,} entries in {seconds:.0f} s.")


def measure(runs: int) -> None:
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from costlog import services

    client, _ = signed_in_client()
    print(f"\n{'period':<10} {'page median':>12} {'page p95':>10} {'SQL median':>11} "
          f"{'ratio':>6} {'queries':>8}")
    for key in ("12m", "all", "2025-Q3", "2025-07"):
        period = services.parse_period(key)
        with CaptureQueriesContext(connection) as captured:
            services.totals_by_pattern(period, "")
        statements = [query["sql"] for query in captured.captured_queries]

        def bare_sql(statements=statements):
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)
                    cursor.fetchall()

        def page(key=key):
            cache.clear()  # measure computing the totals, not the per-process cache
            response = client.get("/costs/", {"period": key})
            if response.status_code != 200:
                raise SystemExit(f"/costs/?period={key} answered {response.status_code}")

        sql_ms = median(timed(bare_sql, runs))
        page_samples = timed(page, runs)
        with CaptureQueriesContext(connection) as captured:
            page()
        page_ms = median(page_samples)
        print(f"{key:<10} {page_ms:>10.1f}ms {p95(page_samples):>8.1f}ms {sql_ms:>9.1f}ms "
              f"{page_ms / sql_ms:>5.2f}x {len(captured.captured_queries):>8}")
    print("\nTarget: page median within 1.5x of the SQL it runs, and under 300 ms.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--reseed", action="store_true", help="drop and rebuild the bench database")
    args = parser.parse_args()
    ensure_database(BENCH_DATABASE, args.reseed)
    django.setup()
    seed(args.entries)
    measure(args.runs)


if __name__ == "__main__":
    main()
