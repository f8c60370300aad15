"""GET /healthz (issue 7): database, Redis and the worker's heartbeat, on the real
PostgreSQL and Redis; 200 when all are ok, 503 naming what is not."""
from datetime import timedelta

import pytest
from django.test import override_settings

from core import health
from tests.conftest import NOW

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_time")]


@pytest.fixture(autouse=True)
def no_heartbeat():
    """Each test starts without a heartbeat in the test Redis database, and leaves none."""
    health._redis().delete(health.HEARTBEAT_KEY)
    yield
    health._redis().delete(health.HEARTBEAT_KEY)


def test_everything_up_answers_200_without_a_login(anonymous_client):
    health.record_heartbeat(NOW - timedelta(seconds=30))
    response = anonymous_client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == {"ok": True} and body["redis"] == {"ok": True}
    assert body["worker"] == {"ok": True, "age_seconds": 30,
                              "last_heartbeat_utc": "2026-03-09T11:59:30+00:00"}


def test_no_worker_heartbeat_is_a_503_saying_so(anonymous_client):
    response = anonymous_client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failing" and body["database"]["ok"] and body["redis"]["ok"]
    assert body["worker"] == {"ok": False, "error": "no heartbeat: no worker has run the "
                                                    "reminder sweep in the last day"}


def test_a_stale_heartbeat_is_a_503_with_its_age(anonymous_client):
    health.record_heartbeat(NOW - timedelta(minutes=10))
    body = anonymous_client.get("/healthz").json()
    assert body["worker"]["ok"] is False
    assert body["worker"]["age_seconds"] == 600
    assert body["worker"]["error"] == ("the last heartbeat is 600 s old (more than 180 s): "
                                       "is the worker or beat stopped?")


def test_redis_down_is_a_503_naming_redis_and_the_database_still_answers(anonymous_client):
    with override_settings(REDIS_URL="redis://127.0.0.1:1/15"):
        response = anonymous_client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == {"ok": True}
    assert body["redis"]["ok"] is False and body["redis"]["error"].startswith("ConnectionError")
    assert body["worker"]["error"] == "unknown: Redis, which holds the heartbeat, is down"


def test_healthz_only_reads(anonymous_client):
    assert anonymous_client.post("/healthz").status_code == 405
