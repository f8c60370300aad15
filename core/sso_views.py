"""The login page (with "Sign in with <provider>" when single sign-on is configured) and
the two single sign-on views: start (redirect to the provider) and callback (back from it).

Thin: the rules live in core.sso (docs/rules.md#sso-roles). Every refusal returns to the
login page with its sentence as an error message, and is logged on `scarlog.auth` as
`login_failed` (and signalled, so django-axes counts it against the address).
"""
import logging

import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import SuspiciousOperation
from django.http import Http404
from django.shortcuts import redirect
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from core import sso

logger = logging.getLogger("scarlog.auth")


class LoginView(auth_views.LoginView):
    """Django's login page, plus `sso_provider_name` ("" when single sign-on is off)."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        config = settings.SCARLOG_OIDC
        context["sso_provider_name"] = config.provider_name if config else ""
        return context


def _config():
    config = settings.SCARLOG_OIDC
    if config is None:
        raise Http404("Single sign-on is not configured.")
    return config


def _refuse(request, sentence: str, detail: str):
    """Back to the login page with `sentence`. The refusal is signalled as a failed sign-in
    under "sso:<provider username>" ("sso:" before the provider named anyone), so it counts
    towards the address's limit (core.login_throttle) but never locks a local username."""
    logger.warning(f"single sign-on refused: {detail}",
                   extra={"event": "sso_refused", "ip": request.META.get("REMOTE_ADDR", "")})
    if not getattr(request, "axes_locked_out", False):  # axes has counted and answers 429
        username = "sso:" + getattr(request, "scarlog_sso_username", "")
        user_login_failed.send(sender=__name__, credentials={"username": username},
                               request=request)
    messages.error(request, sentence)
    return redirect("login")


class SSOStartView(OIDCAuthenticationRequestView):
    """GET: remember state, nonce and PKCE verifier in the session and redirect to the
    provider's authorization endpoint; 404 when single sign-on is off."""

    def __init__(self, **kwargs):
        # Skip mozilla-django-oidc's reading of static endpoint settings (discovery instead).
        super(OIDCAuthenticationRequestView, self).__init__(**kwargs)

    def get_settings(self, attr, *args):
        if attr == "OIDC_RP_SCOPES":
            return settings.SCARLOG_OIDC.scopes
        return import_from_settings(attr, *args)

    def get(self, request):
        config = _config()
        try:
            metadata = sso.provider_metadata(config)
        except sso.ProviderUnavailable as exc:
            logger.error(f"single sign-on unavailable: {exc}")
            messages.error(request, sso.REFUSAL_UNAVAILABLE)
            return redirect("login")
        self.OIDC_OP_AUTH_ENDPOINT = metadata["authorization_endpoint"]
        self.OIDC_RP_CLIENT_ID = config.client_id
        return super().get(request)


class SSOCallbackView(OIDCAuthenticationCallbackView):
    """GET from the provider with code and state: sign the user in and go to the page asked
    for (the dashboard by default), or back to the login page with the refusal."""

    def get(self, request):
        _config()
        try:
            return super().get(request)
        except sso.SSORefused as exc:
            return _refuse(request, str(exc), str(exc))
        except SuspiciousOperation as exc:
            return _refuse(request, sso.REFUSAL_TAMPERED, str(exc))
        except (requests.RequestException, sso.ProviderUnavailable) as exc:
            logger.error(f"single sign-on unavailable: {exc}")
            messages.error(request, sso.REFUSAL_UNAVAILABLE)
            return redirect("login")

    def login_failure(self):
        return _refuse(self.request, sso.REFUSAL_CANCELLED,
                       self.request.GET.get("error", "no user")[:200])
