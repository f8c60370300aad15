"""Reminder guarantees with a real Celery worker process, Redis broker and PostgreSQL.

The worker runs `celery -A config worker` against the test database (committed data:
transactional tests) and the test broker (REDIS_URL of config.test_settings), taking this
run's queue only, writing emails as files so the test can count what was sent. Every wait
ends on a signal (the worker's "ready." line, a task's result, a marker file, a row);
WAIT_GUARD_SECONDS only fails a test whose signal never comes.
"""
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
import time_machine
from django.conf import settings
from django.db import connection

from config.celery import app
from core import health
from incidents import services
from incidents.models import Reminder
from incidents.tasks import sweep_reminders

PROJECT_DIR = Path(__file__).resolve().parent.parent
CELERY = str(Path(sys.executable).with_name("celery"))
WAIT_GUARD_SECONDS = 120

pytestmark = pytest.mark.django_db(transaction=True)


def database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


def start_worker(mail_dir: Path, backend: str, log: Path) -> subprocess.Popen:
    """A worker process on this run's queue; returns once it logs that it is ready."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="tests.worker_settings",
               DATABASE_URL=database_url(), REDIS_URL=settings.CELERY_BROKER_URL,
               EMAIL_FILE_PATH=str(mail_dir), TEST_EMAIL_BACKEND=backend,
               TEST_CELERY_QUEUE=settings.CELERY_TASK_DEFAULT_QUEUE,
               TEST_HEARTBEAT_KEY=health.HEARTBEAT_KEY)
    env.pop("EMAIL_HOST", None)
    process = subprocess.Popen(
        [CELERY, "-A", "config", "worker", "--pool=solo", "--without-gossip",
         "--without-mingle", "--without-heartbeat", "-l", "info"],
        cwd=PROJECT_DIR, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + WAIT_GUARD_SECONDS
    while "ready." not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the Celery worker did not start:\n{log.read_text()}")
        time.sleep(0.2)
    return process


def stop(process: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        process.wait(timeout=30)


def wait_until(condition, seconds=WAIT_GUARD_SECONDS, what="condition"):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def sent_message_ids(mail_dir: Path) -> list[str]:
    ids = []
    for path in mail_dir.glob("*.log"):
        ids += [line.split(":", 1)[1].strip() for line in path.read_text().splitlines()
                if line.startswith("Message-ID:")]
    return ids


@pytest.fixture
def due_reminders(django_user_model):
    """Three drafts whose events were 4 days ago, each started an hour after its event
    (not retrospective): 6 reminders due (schedule + deadline).

    The worker is another process and sweeps at the machine's clock, which time-machine
    cannot move; 4 days back, every reminder is due by days, not by a window. Only the
    drafts' creation travels back (in this process)."""
    owner = django_user_model.objects.create_user("owner", "owner@example.com", "pw-123456789")
    occurred = datetime.now(UTC) - timedelta(days=4)
    for n in range(3):
        with time_machine.travel(occurred + timedelta(hours=1), tick=False):
            services.create_draft(owner, occurred_utc=occurred + timedelta(minutes=n),
                                  trigger="provider_outage")
    app.control.purge()
    return Reminder.objects.filter(state="pending").count()


def all_sent():
    return not Reminder.objects.filter(state="pending").exists()


def test_the_worker_sends_every_due_reminder_once(due_reminders, tmp_path):
    assert due_reminders == 6
    worker = start_worker(tmp_path, "django.core.mail.backends.filebased.EmailBackend",
                          tmp_path / "worker.log")
    try:
        started = datetime.now(UTC)
        first = sweep_reminders.delay().get(timeout=WAIT_GUARD_SECONDS)
        second = sweep_reminders.delay().get(timeout=WAIT_GUARD_SECONDS)
        finished = datetime.now(UTC)
    finally:
        stop(worker)
    assert first == {"sent": 6, "skipped": 0, "failed": 0, "retry": 0}
    assert second == {"sent": 0, "skipped": 0, "failed": 0, "retry": 0}  # nothing sent twice
    assert set(Reminder.objects.values_list("state", flat=True)) == {"sent"}
    ids = sent_message_ids(tmp_path)
    assert len(ids) == 6 and len(set(ids)) == 6
    # The sweeps were the worker's heartbeat: /healthz sees it alive, written by this worker.
    worker_state = health.check_redis_and_worker(now=finished)[1]
    assert worker_state["ok"]
    assert started <= datetime.fromisoformat(worker_state["last_heartbeat_utc"]) <= finished


def test_a_worker_killed_mid_sweep_loses_nothing_and_sends_nothing_twice(due_reminders, tmp_path):
    os.mkfifo(tmp_path / "release")  # the hanging backend waits on it; nobody releases it
    hanging = start_worker(tmp_path, "tests.mail_backends.HangingBackend",
                           tmp_path / "hanging.log")
    try:
        sweep_reminders.delay()
        wait_until((tmp_path / "sending").exists, what="the worker to start sending")
    finally:
        stop(hanging, signal.SIGKILL)
    # The killed worker's transaction is rolled back: its reminder is pending again.
    wait_until(lambda: Reminder.objects.filter(state="pending").count() == 6,
               what="PostgreSQL to roll back the killed worker's claim")
    assert sent_message_ids(tmp_path) == []

    worker = start_worker(tmp_path, "django.core.mail.backends.filebased.EmailBackend",
                          tmp_path / "worker.log")
    try:
        next_tick = sweep_reminders.delay().get(timeout=WAIT_GUARD_SECONDS)
    finally:
        stop(worker)
    assert next_tick["sent"] == 6 and all_sent()
    ids = sent_message_ids(tmp_path)
    assert len(ids) == 6 and len(set(ids)) == 6


def test_a_sweep_lost_with_redis_is_replaced_by_the_next_one(due_reminders, tmp_path):
    # No worker yet: the task waits in Redis, which then loses it (this Redis keeps
    # nothing on disk, so a restart empties it; deleting this run's queue does the same to
    # the test broker without touching what other runs keep there).
    sweep_reminders.delay()
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    assert broker.delete(settings.CELERY_TASK_DEFAULT_QUEUE) == 1  # the task was waiting there
    worker = start_worker(tmp_path, "django.core.mail.backends.filebased.EmailBackend",
                          tmp_path / "worker.log")
    try:
        # The worker takes one task at a time, in queue order: a task sent now comes back
        # only after anything queued before it has run.
        sentinel = app.send_task("celery.accumulate", args=["after the lost sweep"])
        assert sentinel.get(timeout=WAIT_GUARD_SECONDS) == ["after the lost sweep"]
        assert Reminder.objects.filter(state="pending").count() == 6  # the lost task never ran
        next_tick = sweep_reminders.delay().get(timeout=WAIT_GUARD_SECONDS)
    finally:
        stop(worker)
    assert next_tick["sent"] == 6 and all_sent()
    assert len(sent_message_ids(tmp_path)) == 6


def test_beat_sweeps_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["reminder-sweep"]
    assert entry["task"] == "incidents.tasks.sweep_reminders"
    assert entry["schedule"] == 60
