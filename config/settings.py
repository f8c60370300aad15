"""Scarlog settings, read from environment variables (listed in .env.example).

SCARLOG_ENV selects the profile: `development` (default; the one-command demo on an
embedded SQLite file) or `production` (secret key and hosts required, HTTPS-only cookies,
HSTS). DATABASE_URL selects the database: unset means the embedded SQLite file under
var/; `postgres://…` means PostgreSQL through psycopg 3, where every guarantee
(immutability triggers, constraints) is enforced.
"""
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django_guid.integrations import CeleryIntegration

from config.env import (
    env_bool,
    env_int,
    env_list,
    env_mapping,
    env_required,
    env_site_url,
    env_str,
)
from core.sso_config import oidc_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("SCARLOG_VAR_DIR", str(BASE_DIR / "var")))

SCARLOG_ENV = env_str("SCARLOG_ENV", "development")
if SCARLOG_ENV not in ("development", "production"):
    raise ImproperlyConfigured(
        f"SCARLOG_ENV={SCARLOG_ENV!r}; use 'development' or 'production'."
    )
PRODUCTION = SCARLOG_ENV == "production"


def _development_secret_key() -> str:
    """A per-checkout random key kept in var/ so demo sessions survive a restart."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key_file = VAR_DIR / "development_secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50), encoding="utf-8")
    return key_file.read_text(encoding="utf-8").strip()


if PRODUCTION:
    SECRET_KEY = env_required("SECRET_KEY")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS is required when SCARLOG_ENV=production.")
    DEBUG = False
else:
    SECRET_KEY = env_str("SECRET_KEY") or _development_secret_key()
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
    DEBUG = env_bool("DEBUG", True)

CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "config.apps.ScarlogAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "csp",
    "axes",
    "django_guid",
    "pgtrigger",
    # Scarlog's apps, each after the ones it builds on (core < incidents < costlog <
    # runbooks < knowledge); `manage.py demo` loads their demo data in this order.
    "core",
    "incidents",
    "costlog",
    "runbooks",
    "knowledge",
]

MIDDLEWARE = [
    # Before django-guid: a client's X-Request-ID is kept only when short and safe.
    "core.middleware.RequestIdMiddleware",
    # First: every log line of the request, even from other middleware, has its id.
    "django_guid.middleware.guid_middleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Signed-in pages: Cache-Control: private, no-store (core.middleware).
    "core.middleware.PrivateNoStoreMiddleware",
    # Every page needs a login unless its view is marked @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # A NUL in a query parameter is a 400 naming it, never a database error (core.middleware).
    "core.middleware.QueryGuardMiddleware",
    # A URL naming a postmortem the user may not read is a 404 (incidents.visibility).
    "incidents.visibility.VisibilityMiddleware",
    # Viewers read only: a signed-in viewer's POST is refused with 403 (core.roles).
    "core.roles.RoleMiddleware",
    # The page behind a request (X-Scarlog-Editor), named on the live feed's changes.
    "incidents.live_feed.PageEditorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: it reads the outcome of authentication (django-axes' lockout).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                # csp_nonce for <script nonce=…> and django-htmx's {% htmx_script %}.
                "config.context_processors.csp_nonce",
                "core.roles.role_context",
            ],
        },
    },
]

_database_url = env_str("DATABASE_URL")
if _database_url:
    if not _database_url.startswith(("postgres://", "postgresql://")):
        raise ImproperlyConfigured(
            "DATABASE_URL must be a postgres:// URL; unset it for the embedded SQLite demo."
        )
    DATABASES = {
        "default": dj_database_url.parse(
            _database_url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60)
        )
    }
    # No JIT compilation: at 100,000 postmortems PostgreSQL's JIT spent 6.9 s of a 10 s
    # filtered list compiling a plan that runs in milliseconds (bench/README.md, issue 23).
    # The app's queries are short OLTP reads; JIT only pays off for long analytic scans.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
    # The role's password kept apart from the URL (DATABASE_PASSWORD_FILE: a Docker secret),
    # so each container holds only its own role's password.
    _database_password = env_str("DATABASE_PASSWORD", "")
    if _database_password:
        DATABASES["default"]["PASSWORD"] = _database_password
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "scarlog.sqlite3",
            # The demo's page polls while it saves: readers never block the writer (WAL),
            # and a write transaction takes its lock up front and waits for another
            # (IMMEDIATE, up to 20 s) instead of failing with "database is locked".
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20,
                        "init_command": "PRAGMA journal_mode=WAL;"},
        }
    }
    # The demo database builds the cost log's covering indexes without their INCLUDE
    # columns; they only speed up totals, which the demo's few rows do not need.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Each web process keeps its own small cache (cost totals, keyed so that they are never
# stale: costlog.services.cached_totals_by_pattern). Nothing depends on it being shared,
# so the web keeps working when Redis is down.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                      "LOCATION": "scarlog"}}
# The precomputed insights (docs/rules.md#insights-precomputed): shared by every web process
# in Redis when SCARLOG_INSIGHTS_REDIS_URL is set (a cold computation at 100,000 postmortems
# takes seconds, so one process computes for all), else kept by each process. Keys name the
# database instance and its generation, so a shared cache never serves another's figures.
_insights_redis = env_str("SCARLOG_INSIGHTS_REDIS_URL", "")
CACHES["insights"] = (
    {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _insights_redis,
     "KEY_PREFIX": "scarlog"}
    if _insights_redis else
    {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "insights"})

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"

# Login brute force (django-axes): 5 failed sign-ins for one username from one IP lock that
# pair out for 15 minutes, and 20 from one IP lock that IP out. Every attempt, failure and
# logout is a database row (admin: Axes) and a log line; core.auth_events logs sign-ins and
# sign-outs as well.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend that reads the role with the user (one query per request, not two).
    "core.roles.RoleModelBackend",
]
AXES_FAILURE_LIMIT = 5
# On top: 20 failures from one IP over any usernames within the cool-off lock that IP out
# for every account (password spraying; core.login_throttle.TwoLimitHandler). 20 leaves
# room for a team behind one NAT address mistyping, and caps a sprayer at 20 guesses per
# 15 minutes per address instead of 4 per account.
AXES_HANDLER = "core.login_throttle.TwoLimitHandler"
# The username an attempt is logged under is bounded and NUL-free (docs/rules.md#limits-text).
AXES_USERNAME_CALLABLE = "core.login_throttle.attempt_username"
SCARLOG_LOGIN_IP_FAILURE_LIMIT = 20
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Behind a reverse proxy, set AXES_IPWARE_PROXY_COUNT to the number of proxies so the client
# address comes from X-Forwarded-For; 0 (the default) trusts REMOTE_ADDR only.
AXES_IPWARE_PROXY_COUNT = env_int("AXES_IPWARE_PROXY_COUNT", 0)
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if AXES_IPWARE_PROXY_COUNT else ["REMOTE_ADDR"]
)
LOGIN_REDIRECT_URL = "incidents:dashboard"
LOGOUT_REDIRECT_URL = "login"

# Webhooks may reach loopback and private networks (127/8, 10/8, 172.16/12, 192.168/16,
# fc00::/7, 100.64/10) only when this is on: off by default, on for the embedded SQLite
# demo. Link-local and metadata addresses are refused always (docs/rules.md#webhook-targets).
SCARLOG_WEBHOOKS_ALLOW_PRIVATE = env_bool("SCARLOG_WEBHOOKS_ALLOW_PRIVATE",
                                          not PRODUCTION and not _database_url)

# Single sign-on through OpenID Connect (core.sso, mozilla-django-oidc): off unless
# SCARLOG_OIDC_ISSUER (or SCARLOG_OIDC_DISCOVERY_URL) is set; then the client id and secret
# and the role map are required (core.sso_config names what is missing). Local accounts
# keep signing in with their password.
SCARLOG_OIDC = oidc_config(
    issuer=env_str("SCARLOG_OIDC_ISSUER", ""),
    discovery_url=env_str("SCARLOG_OIDC_DISCOVERY_URL", ""),
    client_id=env_str("SCARLOG_OIDC_CLIENT_ID", ""),
    client_secret=env_str("SCARLOG_OIDC_CLIENT_SECRET", ""),
    role_claim=env_str("SCARLOG_OIDC_ROLE_CLAIM", "scarlog_role"),
    role_map=env_str("SCARLOG_OIDC_ROLE_MAP", ""),
    provider_name=env_str("SCARLOG_OIDC_PROVIDER_NAME", "single sign-on"),
    scopes=env_str("SCARLOG_OIDC_SCOPES", "openid email profile"),
)
if SCARLOG_OIDC is not None:
    AUTHENTICATION_BACKENDS.append("core.sso.ScarlogOIDCBackend")
# mozilla-django-oidc's fixed choices: RS256 ID tokens checked against the provider's JWKS,
# a nonce and PKCE (S256) on every request, the callback and failure pages by URL name.
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_USE_NONCE = True
OIDC_USE_PKCE = True
OIDC_TIMEOUT = 10
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_callback"
LOGIN_REDIRECT_URL_FAILURE = "login"

LANGUAGE_CODE = "en-us"
# Storage and display are UTC everywhere; pages print the zone beside every time.
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# Request bodies (docs/rules.md#limits-request-body): 4 MiB holds the longest text a form
# takes (a 200,000-character runbook body: 2.4 MB even as percent-encoded 4-byte characters);
# a larger body, or more fields, is answered 413 by core.errors.handler400.
DATA_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Sessions last at most 12 hours; in production every cookie is HTTPS-only and host-bound.
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 60 * 60)
if SESSION_COOKIE_AGE > 12 * 60 * 60:
    raise ImproperlyConfigured("SESSION_COOKIE_AGE may be at most 43200 seconds (12 hours).")
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): scripts only from this origin and carrying the
# request's nonce; no inline style, no plugins, no <base>, never framed. htmx's own
# indicator <style> is switched off in base.html's htmx-config, so nothing inline is needed.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
    },
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 365 * 24 * 60 * 60
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Celery: broker and result backend are Redis (docker-compose service `redis`).
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = REDIS_URL
# Presence on a live draft (incidents.live): shared by every web process, so in Redis,
# not the per-process cache; entries expire within seconds, nothing there is a record.
SCARLOG_LIVE_REDIS_URL = REDIS_URL
SCARLOG_LIVE_KEY_PREFIX = "scarlog:live:"
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE = {
    # Owners get at most one digest a day (incidents.tasks); hourly runs catch up after downtime.
    "action-item-digests": {"task": "incidents.tasks.send_action_item_digests",
                            "schedule": 60 * 60},
    # Meeting reminders are rows in PostgreSQL; one sweep a minute sends what is due
    # (incidents.reminders). A task lost with Redis is replaced by the next minute's.
    "reminder-sweep": {"task": "incidents.tasks.sweep_reminders", "schedule": 60,
                       "options": {"expires": 55}},
    # Sealed records still to be committed to SCARLOG_POSTMORTEM_REPO (outbox rows); the
    # task is also queued at each seal's commit, this sweep catches what Redis lost.
    "postmortem-repo-sweep": {"task": "incidents.tasks.commit_postmortem_records",
                              "schedule": 60, "options": {"expires": 55}},
    # Every night at 02:30 UTC, shipped evidence is re-checked against its repository; what
    # no longer holds re-opens its item and closes the planning gate again.
    "evidence-reverification": {"task": "incidents.tasks.reverify_shipped_evidence",
                                "schedule": crontab(hour=2, minute=30)},
    # Webhook deliveries whose retry is due (core.webhooks.sender), and any whose task Redis
    # lost: the outbox rows are in PostgreSQL.
    "webhook-sweep": {"task": "core.webhooks.tasks.sweep_webhooks", "schedule": 60,
                      "options": {"expires": 55}},
    # Stale runbooks remind their owner once per version (runbooks.tasks).
    "stale-runbooks": {"task": "runbooks.tasks.remind_stale_runbooks", "schedule": 6 * 60 * 60},
}
CELERY_BEAT_SCHEDULE_FILENAME = env_str(
    "CELERY_BEAT_SCHEDULE_FILENAME", str(VAR_DIR / "celerybeat-schedule")
)

# Email (action item digests): the console by default, SMTP when EMAIL_HOST is set.
EMAIL_HOST = env_str("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
elif env_str("EMAIL_FILE_PATH", ""):
    # Each email written as a file under EMAIL_FILE_PATH (staging, and the worker tests).
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", "")
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "scarlog@localhost")
# The address people open Scarlog at, for links in emails and API answers (http or https).
# Development defaults to the demo's runserver address; production has no default, and
# `manage.py check --deploy` warns while it is unset (config.checks).
# `manage.py demo` writes the address it serves at to var/demo_site_url (core.site_url), so
# the demo's other processes (send_due_reminders, a worker) link to that port too.
DEMO_SITE_URL_FILE = VAR_DIR / "demo_site_url"


def _development_site_url() -> str:
    if DEMO_SITE_URL_FILE.exists():
        return DEMO_SITE_URL_FILE.read_text(encoding="utf-8").strip()
    return "http://127.0.0.1:8000"


SCARLOG_SITE_URL = env_site_url("SCARLOG_SITE_URL", "" if PRODUCTION else _development_site_url())
# Local git clones that shipping evidence is checked against: "name=/path,other=/path".
SCARLOG_GIT_REPOS = env_mapping("SCARLOG_GIT_REPOS")
# A local git clone whose postmortems/ directory receives each finalized postmortem and
# amendment as a commit (incidents.postmortem_repo); "" = off. Pushing is left to the operator.
SCARLOG_POSTMORTEM_REPO = env_str("SCARLOG_POSTMORTEM_REPO", "")
# The author (and committer) of those commits, "Name <email>".
SCARLOG_POSTMORTEM_REPO_AUTHOR = env_str("SCARLOG_POSTMORTEM_REPO_AUTHOR",
                                         "Scarlog <scarlog@localhost>")

# Logs: one JSON object per line on stderr (LOG_FORMAT=json, the production default) or
# plain text (LOG_FORMAT=text, the development default). Every line carries `request_id`:
# django-guid takes it from the request's X-Request-ID header when it is 1-64 safe
# characters (core.middleware.RequestIdMiddleware drops any other), or makes one, returns it
# in the response's X-Request-ID, and hands it on to the Celery tasks a request sends.
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "VALIDATE_GUID": False,
    "INTEGRATIONS": [CeleryIntegration(use_django_logging=True, log_parent=True)],
}
LOG_FORMAT = env_str("LOG_FORMAT", "json" if PRODUCTION else "text")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}; use 'json' or 'text'.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {
            "()": "django_guid.log_filters.CorrelationId",
            "correlation_id_field": "request_id",
        },
    },
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",
        },
        "text": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": LOG_FORMAT,
        },
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # django-guid says at INFO level on every request that it made an id; not news.
    # django-axes narrates each successful sign-in at INFO; scarlog.auth already logs it.
    "loggers": {"django_guid": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
