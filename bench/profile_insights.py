"""In-process timings of the insights page (issue 21): cold (figures recomputed) and warm
(served from the precomputed cache), and a cProfile of one warm request.

    .venv/bin/python bench/profile_insights.py [--database scarlog_bench_100k] [--runs 10]
                                               [--profile] [--warm-only] [--path /insights/]
                                               [--redis-db 14]
    .venv/bin/python bench/profile_insights.py --compute [--domain domain-3] [--runs 5]

--compute times one cold insights.compute (every final postmortem, then one domain),
nothing cached, with a breakdown by query; after a change this is what the next request
pays on top of a warm one (docs/rules.md#insights-precomputed).

Runs the production settings in-process (DEBUG off) against a seeded bench database
(bench/seed.py); prints median and p95 in ms. Figures only, never asserted.
"""
import argparse
import cProfile
import os
import pstats
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH_DIR), str(BENCH_DIR.parent)]

from run import server_env  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="scarlog_bench_100k")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--path", default="/insights/")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--redis-db", type=int, default=14)
    parser.add_argument("--compute", action="store_true",
                        help="time cold insights.compute calls only (all, then --domain)")
    parser.add_argument("--domain", default="domain-3")
    parser.add_argument("--warm-only", action="store_true",
                        help="skip the cold timings (minutes each at 100k)")
    args = parser.parse_args()
    os.environ.update(server_env(args.database, tempfile.mkdtemp(prefix="scarlog-prof-"),
                                 args.redis_db))
    import django
    django.setup()
    from django.core.cache import caches
    from django.core.management import call_command

    call_command("collectstatic", verbosity=0, interactive=False)

    from common import median, p95, signed_in_client, timed

    from knowledge import insights

    client, user = signed_in_client()

    def warm():
        response = client.get(args.path)
        assert response.status_code == 200, response.status_code

    def cold():
        caches["insights"].clear()
        warm()

    if args.compute:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext
        for filters in (insights.Filters(), insights.Filters(domain=args.domain)):
            samples = timed(lambda f=filters: insights.compute(f, datetime.now(UTC), user),
                            args.runs)
            with CaptureQueriesContext(connection) as captured:
                insights.compute(filters, datetime.now(UTC), user)
            sql_ms = sum(float(q["time"]) for q in captured.captured_queries) * 1000
            print(f"{args.database} compute {filters}: median {median(samples):.1f} ms, "
                  f"p95 {p95(samples):.1f} ms over {args.runs}; last run "
                  f"{len(captured.captured_queries)} queries, {sql_ms:.0f} ms in SQL")
            for query in sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[:4]:
                print(f"    {float(query['time']) * 1000:7.0f} ms  {query['sql'][:110]!r}")
        return

    if args.profile:
        warm()
        profiler = cProfile.Profile()
        profiler.enable()
        warm()
        profiler.disable()
        stats = pstats.Stats(profiler).sort_stats("cumulative")
        stats.print_stats(40)
        stats.sort_stats("tottime").print_stats(15)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext
        with CaptureQueriesContext(connection) as captured:
            warm()
        for query in captured.captured_queries:
            print(query["time"], query["sql"][:160])
        return
    cases = [("warm page", warm)] if args.warm_only else [("cold page", cold), ("warm page", warm)]
    for name, function in cases:
        samples = timed(function, args.runs)
        print(f"{args.database} {args.path} {name}: median {median(samples):.1f} ms, "
              f"p95 {p95(samples):.1f} ms over {args.runs}")


if __name__ == "__main__":
    main()
