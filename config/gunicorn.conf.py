"""gunicorn settings for production (docker-compose's web service).

Access log lines are JSON like the application's (config.settings LOGGING), with the
request id django-guid returns in X-Request-ID, so one request's lines can be joined.
PORT (default 8000) and WEB_CONCURRENCY (workers, default 3) come from the environment.
"""
import json
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
accesslog = "-"
access_log_format = json.dumps({
    "time": "%(t)s", "level": "INFO", "logger": "gunicorn.access",
    "request_id": "%({x-request-id}o)s", "method": "%(m)s", "path": "%(U)s",
    "status": "%(s)s", "duration_ms": "%(M)s", "bytes": "%(B)s", "remote": "%(h)s",
})
