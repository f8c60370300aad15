"""Error pages: 503 when the database is unreachable, 500 otherwise; 413 for a request
body over the upload limits, 400 for another malformed request.

Both pages extend templates/standalone.html (no base.html, no context processors):
they must render without the database. They carry the request id (config logging, X-Request-ID) so a
user's report can be matched to the JSON log line.
"""
import sys

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
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


def bad_request(request, exception) -> HttpResponse:
    """handler400: a body over DATA_UPLOAD_MAX_MEMORY_SIZE or with more than
    DATA_UPLOAD_MAX_NUMBER_FIELDS fields is answered 413 saying the limit; any other
    malformed request 400. JSON for the API (`field: "body"`), an escaped page otherwise.
    Nothing of the request was read into the database. docs/rules.md#limits-request-body
    """
    if isinstance(exception, RequestDataTooBig):
        status = 413
        message = (f"The request is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes, "
                   "the most Scarlog reads; nothing was saved. Shorten the text or import "
                   "it as a file.")
    elif isinstance(exception, TooManyFieldsSent):
        status = 413
        message = (f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,} "
                   "fields, the most Scarlog reads; nothing was saved.")
    else:
        status, message = 400, "The request could not be read; nothing was saved."
    if request.path.startswith("/api/"):
        return JsonResponse({"error": message, "field": "body"}, status=status)
    body = loader.get_template("400.html").render({"message": message,
                                                   "request_id": get_guid() or ""})
    return HttpResponse(body, status=status)
