"""Response hygiene middleware: no caching of signed-in pages; safe client request ids.

- PrivateNoStoreMiddleware: responses to a signed-in user carry
  `Cache-Control: private, no-store` (no shared or browser cache keeps a page with
  postmortem content). Static files (served by WhiteNoise before this runs) and /healthz
  are left alone.
- RequestIdMiddleware: a client's X-Request-ID is accepted only when it matches
  SAFE_REQUEST_ID (1–64 of A-Z a-z 0-9 . _ -); otherwise it is dropped before django-guid
  reads it, so django-guid makes a fresh id, returns it and puts it on every log line.
  django-guid's own VALIDATE_GUID accepts only UUIDs (it would replace ids like
  "deploy-check-1" that CI systems send) and has no hook for another validator, hence
  this. Place it first, before django_guid.middleware.guid_middleware.
- QueryGuardMiddleware: a query parameter (name or value) holding a NUL character is
  refused with 400 naming it (core.errors), before any view hands it to PostgreSQL, which
  cannot store or compare NUL; docs/rules.md#input-refusals.
"""
import logging
import re

from django.conf import settings
from django.http import QueryDict

from core.errors import answer_form, bad_request
from core.record_types import shown

SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
REQUEST_ID_META = "HTTP_X_REQUEST_ID"
NO_CACHE_PATHS = ("/healthz",)

logger = logging.getLogger("scarlog.request")


class RequestIdMiddleware:
    """Drop an unsafe client X-Request-ID so that django-guid replaces it (module docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.META.get(REQUEST_ID_META)
        refused = given is not None and not SAFE_REQUEST_ID.fullmatch(given)
        if refused:
            del request.META[REQUEST_ID_META]
        response = self.get_response(request)
        if refused:
            # Logged after django-guid set the new id, so this line carries it.
            logger.warning("client X-Request-ID refused (%d characters, not 1-64 of "
                           "A-Z a-z 0-9 . _ -); replaced by a new id", len(given))
        return response


class PrivateNoStoreMiddleware:
    """`Cache-Control: private, no-store` on every response to a signed-in user.

    Place after AuthenticationMiddleware.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(NO_CACHE_PATHS) or request.path.startswith(
                "/" + settings.STATIC_URL.lstrip("/")):
            return response
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response["Cache-Control"] = "private, no-store"
        return response


class QueryGuardMiddleware:
    """400 for a NUL in a path argument or in a query parameter's name or value (module
    docstring).

    It answers in process_view, after LoginRequiredMiddleware (an anonymous visitor is
    still sent to the login page): the shared 400 page for pages, plain text for the views
    open without a session (token APIs and agent documents, whose clients read text).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # A NUL in the path reaches the view as an argument (an id, a key, a domain).
        for name, value in view_kwargs.items():
            if isinstance(value, str) and "\x00" in value:
                return self._refuse(request, view_func, name)
        # The query as sent, parsed apart from request.GET (which views and tests may wrap).
        query = QueryDict(request.META.get("QUERY_STRING", ""))
        for name, values in query.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                return self._refuse(request, view_func, name)
        return None

    @staticmethod
    def _refuse(request, view_func, name: str):
        """The 400 naming `name`, in the form the view's clients read."""
        field = shown(name.replace("\x00", "\\0")).strip("'")
        message = "contains a NUL character; remove it."
        if answer_form(request) == "page" and getattr(view_func, "login_required", True) is False:
            return bad_request(request, field, message, form="text")
        return bad_request(request, field, message)
