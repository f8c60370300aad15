"""The one way a page refuses bad input: 400 with templates/400.html, which autoescapes.

A view never builds an HTML error from an f-string: whatever the visitor sent (a filter
value, a page number) reaches the page only through the template's autoescaping, and is
quoted at most core.record_types.SHOWN_CHARACTERS long (shown()).

Rule: docs/rules.md#input-refusals.
"""
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import render

# Paths whose answers are JSON, and downloads whose clients (a script, a spreadsheet) read
# text: a refusal comes in the same form as the answer would have.
JSON_PATHS = ("/api/", "/healthz")
JSON_SUFFIXES = (".json",)
TEXT_SUFFIXES = (".csv", ".yaml", ".md", ".ics", ".jsonl", ".txt")


def answer_form(request) -> str:
    """"json", "text" or "page": the form a refusal of `request` takes, the form its
    answer would have had (docs/rules.md#input-refusals)."""
    path = request.path
    if path.startswith(JSON_PATHS) or path.endswith(JSON_SUFFIXES):
        return "json"
    if path.endswith(TEXT_SUFFIXES):
        return "text"
    return "page"


def bad_request(request, field: str, message: str, allowed: Iterable[str] = (),
                form: str | None = None) -> HttpResponse:
    """A 400 naming the query or form `field` at fault, the `message` (plain text) and the
    `allowed` values when the field has a closed list; in the form of the answer the
    request asked for (`form`, else answer_form(request)): JSON {"error", "field",
    "allowed"} for JSON endpoints, plain text for downloads, else templates/400.html
    (escaped by the template). docs/rules.md#input-refusals"""
    allowed = list(allowed)
    form = form or answer_form(request)
    if form == "json":
        body = {"error": f"{field}: {message}", "field": field}
        return JsonResponse({**body, "allowed": allowed} if allowed else body, status=400)
    if form == "text":
        accepted = f" {field} takes one of: {', '.join(allowed)}." if allowed else ""
        return HttpResponseBadRequest(f"{field}: {message}{accepted}\n",
                                      content_type="text/plain; charset=utf-8")
    return render(request, "400.html",
                  {"field": field, "message": message, "allowed": allowed}, status=400)


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
    if answer_form(request) == "json":
        return JsonResponse({"error": message, "field": field}, status=status)
    response = bad_request(request, field, message)
    response.status_code = status
    return response
