"""The one way a page refuses bad input: 400 with templates/400.html, which autoescapes.

A view never builds an HTML error from an f-string: whatever the visitor sent (a filter
value, a page number) reaches the page only through the template's autoescaping, and is
quoted at most core.record_types.SHOWN_CHARACTERS long (shown()).

Rule: docs/rules.md#input-refusals.
"""
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render


def bad_request(request, field: str, message: str, allowed: Iterable[str] = ()) -> HttpResponse:
    """A 400 page naming the query or form `field` at fault, the `message` (plain text,
    escaped by the template) and the `allowed` values when the field has a closed list."""
    return render(request, "400.html",
                  {"field": field, "message": message, "allowed": list(allowed)}, status=400)


def handler400(request, exception=None) -> HttpResponse:
    """Django's handler400 (a SuspiciousOperation, a malformed request): the same page,
    without the exception's text (it may quote the request). A body over
    DATA_UPLOAD_MAX_MEMORY_SIZE or with more than DATA_UPLOAD_MAX_NUMBER_FIELDS fields is
    413 saying the limit (docs/rules.md#limits-request-body); the API answers JSON with
    `field: "body"`. Nothing of the request was read into the database."""
    if isinstance(exception, RequestDataTooBig):
        status, field = 413, "body"
        message = (f"The request is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes, "
                   "the most Scarlog reads; nothing was saved. Shorten the text or import "
                   "it as a file.")
    elif isinstance(exception, TooManyFieldsSent):
        status, field = 413, "body"
        message = (f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,} "
                   "fields, the most Scarlog reads; nothing was saved.")
    else:
        status, field = 400, "request"
        message = "The request could not be read; nothing was saved."
    if request.path.startswith("/api/"):
        return JsonResponse({"error": message, "field": field}, status=status)
    response = bad_request(request, field, message)
    response.status_code = status
    return response
