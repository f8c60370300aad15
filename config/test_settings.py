"""Settings for the test suite: the real settings pointed at PostgreSQL and Redis on localhost.

The suite runs on PostgreSQL only (immutability is enforced there); a DATABASE_URL that
points elsewhere raises ImproperlyConfigured. Override DATABASE_URL / REDIS_URL to test
against other servers.
"""
import os
import uuid

from django.core.exceptions import ImproperlyConfigured

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/scarlog")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("SCARLOG_ENV", "development")

from config.settings import *
from config.settings import DATABASES

if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("The test suite runs on PostgreSQL; set DATABASE_URL=postgres://…")

# Every run creates its own test database, so two runs on one server never share one. The
# same id names the run's Celery queue and its Redis keys (tests/conftest.py), so two runs on
# one Redis (db 15) never take each other's tasks or read each other's worker heartbeat.
SCARLOG_TEST_RUN_ID = uuid.uuid4().hex[:12]
DATABASES["default"]["TEST"] = {"NAME": f"test_scarlog_{SCARLOG_TEST_RUN_ID}"}
CELERY_TASK_DEFAULT_QUEUE = f"scarlog-test-{SCARLOG_TEST_RUN_ID}"
SCARLOG_LIVE_KEY_PREFIX = f"scarlog-test-{SCARLOG_TEST_RUN_ID}:live:"

# Hashing passwords slowly proves nothing in tests and costs seconds per login.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The live server serves static files from the app finders; no collectstatic before tests.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True

# The precomputed insights stay in this process during tests (never a shared Redis).
CACHES = {**CACHES, "insights": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                 "LOCATION": "insights"}}

# The tests' webhook receivers listen on loopback (docs/rules.md#webhook-targets).
SCARLOG_WEBHOOKS_ALLOW_PRIVATE = True
