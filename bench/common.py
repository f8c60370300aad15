"""Helpers shared by the benchmarks: a separate PostgreSQL database per benchmark, timing.

Each benchmark sets DATABASE_URL to its own database on 127.0.0.1:5432 before Django
starts, so benchmark data never mixes with the test or demo databases.
"""
import os
import statistics
import sys
import time
from pathlib import Path

import psycopg

PROJECT_DIR = Path(__file__).resolve().parent.parent
SERVER = "postgresql://postgres@127.0.0.1:5432"


def use_database(name: str) -> None:
    """Point Django at database `name` (call before django.setup())."""
    sys.path.insert(0, str(PROJECT_DIR))
    os.environ["DATABASE_URL"] = f"{SERVER}/{name}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")


def ensure_database(name: str, reseed: bool) -> None:
    """Create database `name` if missing; drop it first when `reseed`."""
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and reseed:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
            exists = None
        if not exists:
            conn.execute(f"CREATE DATABASE {name}")


def timed(function, runs: int) -> list[float]:
    """Milliseconds of `runs` calls of `function`, after one warm-up call."""
    function()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def signed_in_client(username: str = "bench"):
    """(a Django test client signed in as `username`, that user); the user is created if missing."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    user, _ = get_user_model().objects.get_or_create(username=username)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    return client, user
