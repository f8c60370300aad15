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
"""
import logging
import re

from django.conf import settings

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
