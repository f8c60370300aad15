"""Error pages: 503 when the database is unreachable, 500 otherwise (400 and 413 are
core.errors.handler400).

Both pages extend templates/standalone.html (no base.html, no context processors):
they must render without the database. They carry the request id (config logging, X-Request-ID) so a
user's report can be matched to the JSON log line.
"""
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.template import loader
from django_guid import get_guid

# Seconds a client should wait before retrying when the database is unreachable.
RETRY_AFTER_SECONDS = 30


def server_error(request) -> HttpResponse:
    """handler500: 503 + Retry-After for a lost database connection (OperationalError or
    InterfaceError, e.g. PostgreSQL restarted mid-request), else Django's usual 500.

    Django calls this while handling the exception, so sys.exc_info() names it. The
    request's transaction, if any, was never committed, so nothing of it is stored.
    """
    exception = sys.exc_info()[1]
    context = {"request_id": get_guid() or ""}
    if isinstance(exception, (OperationalError, InterfaceError)):
        body = loader.get_template("503.html").render(context)
        return HttpResponse(body, status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    return HttpResponse(loader.get_template("500.html").render(context), status=500)
