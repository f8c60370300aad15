"""The one way a page refuses bad input: 400 with templates/400.html, which autoescapes.

A view never builds an HTML error from an f-string: whatever the visitor sent (a filter
value, a page number) reaches the page only through the template's autoescaping, and is
quoted at most core.record_types.SHOWN_CHARACTERS long (shown()).

Rule: docs/rules.md#input-refusals.
"""
from collections.abc import Iterable

from django.http import HttpResponse
from django.shortcuts import render


def bad_request(request, field: str, message: str, allowed: Iterable[str] = ()) -> HttpResponse:
    """A 400 page naming the query or form `field` at fault, the `message` (plain text,
    escaped by the template) and the `allowed` values when the field has a closed list."""
    return render(request, "400.html",
                  {"field": field, "message": message, "allowed": list(allowed)}, status=400)


def handler400(request, exception=None) -> HttpResponse:
    """Django's handler400 (a SuspiciousOperation, a malformed request): the same page,
    without the exception's text (it may quote the request)."""
    return bad_request(request, "request", "The request could not be understood.")
