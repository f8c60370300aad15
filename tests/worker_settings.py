"""Settings of the Celery worker that tests/test_reminder_worker.py starts as a process.

The real settings (database and broker from DATABASE_URL / REDIS_URL, which the test
points at its test database and broker), with the email backend the test chooses.
"""
import os

from config.settings import *

EMAIL_BACKEND = os.environ["TEST_EMAIL_BACKEND"]
EMAIL_FILE_PATH = os.environ["EMAIL_FILE_PATH"]
