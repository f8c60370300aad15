"""Health of a running Scarlog: the database, Redis, and the Celery worker's heartbeat.

The worker proves it is alive by running the reminder sweep, which Celery beat sends
every minute: each sweep writes the time (UTC) to the Redis key HEARTBEAT_KEY. A
heartbeat older than HEARTBEAT_MAX_AGE_SECONDS (three missed sweeps) or none at all
means no worker (or no beat) is running. Issue 7 ("/healthz reports database, Redis and
worker-heartbeat state").
"""
from datetime import UTC, datetime

import redis
from django.conf import settings
from django.db import DatabaseError, connection

HEARTBEAT_KEY = "scarlog:worker-heartbeat"
HEARTBEAT_MAX_AGE_SECONDS = 180
REDIS_TIMEOUT_SECONDS = 1


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                                socket_timeout=REDIS_TIMEOUT_SECONDS)


def record_heartbeat(now: datetime | None = None) -> None:
    """Write the worker's heartbeat (now, UTC, ISO 8601) to Redis; kept for a day.

    Raises redis.RedisError when Redis cannot be reached.
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    _redis().set(HEARTBEAT_KEY, moment.isoformat(), ex=24 * 3600)


def check_database() -> dict:
    """{"ok": True} when `SELECT 1` answers, else {"ok": False, "error": "<message>"}."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}".strip()}
    return {"ok": True}


def check_redis_and_worker(now: datetime | None = None) -> tuple[dict, dict]:
    """(redis state, worker state). Redis: {"ok"} or {"ok": False, "error"}. Worker:
    {"ok", "last_heartbeat_utc", "age_seconds"} or {"ok": False, "error"} when there is
    no heartbeat (or Redis cannot tell)."""
    try:
        client = _redis()
        client.ping()
        raw = client.get(HEARTBEAT_KEY)
    except redis.RedisError as exc:
        error = f"{type(exc).__name__}: {exc}"
        return ({"ok": False, "error": error},
                {"ok": False, "error": "unknown: Redis, which holds the heartbeat, is down"})
    if raw is None:
        return {"ok": True}, {"ok": False, "error": "no heartbeat: no worker has run the "
                                                     "reminder sweep in the last day"}
    last = datetime.fromisoformat(raw.decode())
    age = int(((now or datetime.now(UTC)) - last).total_seconds())
    worker = {"ok": age <= HEARTBEAT_MAX_AGE_SECONDS, "last_heartbeat_utc": last.isoformat(),
              "age_seconds": age}
    if not worker["ok"]:
        worker["error"] = (f"the last heartbeat is {age} s old (more than "
                           f"{HEARTBEAT_MAX_AGE_SECONDS} s): is the worker or beat stopped?")
    return {"ok": True}, worker


def health(now: datetime | None = None) -> dict:
    """{"status": "ok" | "failing", "database": …, "redis": …, "worker": …}."""
    redis_state, worker_state = check_redis_and_worker(now)
    report = {"database": check_database(), "redis": redis_state, "worker": worker_state}
    report["status"] = "ok" if all(part["ok"] for part in report.values()) else "failing"
    return {"status": report.pop("status"), **report}
