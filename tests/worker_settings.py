"""Settings of the Celery worker that tests/test_reminder_worker.py starts as a process.

The real settings (database and broker from DATABASE_URL / REDIS_URL, which the test
points at its test database and broker), with the email backend the test chooses, and the
test run's own queue and heartbeat key, so it takes only this run's tasks.
"""
import os

import core.health
from config.settings import *

EMAIL_BACKEND = os.environ["TEST_EMAIL_BACKEND"]
EMAIL_FILE_PATH = os.environ["EMAIL_FILE_PATH"]
CELERY_TASK_DEFAULT_QUEUE = os.environ["TEST_CELERY_QUEUE"]
core.health.HEARTBEAT_KEY = os.environ["TEST_HEARTBEAT_KEY"]

# The tests' webhook receivers listen on loopback (docs/rules.md#webhook-targets).
SCARLOG_WEBHOOKS_ALLOW_PRIVATE = True
