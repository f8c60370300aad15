"""Single sign-on through an OpenID Connect provider (mozilla-django-oidc's code flow).

Off unless configured (core.sso_config, settings.SCARLOG_OIDC). The login page then offers
"Sign in with <provider>"; local accounts keep signing in with their password (the demo,
break-glass). On every sign-in (docs/rules.md#sso-roles):

- the ID token must be RS256-signed by a key of the provider's JWKS, name this client as
  its audience and the provider as its issuer, and carry the nonce of this browser's
  request (state and PKCE are checked too); the userinfo answer must be for the same `sub`;
- the role comes from the configured claim, mapped by SCARLOG_OIDC_ROLE_MAP; a token whose
  claim maps to no role is refused (no default role), and the role is set again on each
  sign-in, so a change at the provider counts from the next one;
- users are matched on (issuer, sub) only (core.models.OIDCIdentity); the first sign-in
  creates the user, named after preferred_username or email, sanitized and made unique;
- a user disabled in Scarlog (is_active false) is refused.

Each refusal is a SSORefused with the sentence the login page shows.
"""
import logging
import re
import threading
import unicodedata

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.utils import timezone
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from core.role_names import ADMIN, EDITOR, VIEWER

logger = logging.getLogger("scarlog.auth")

REQUIRED_METADATA = ("issuer", "authorization_endpoint", "token_endpoint",
                     "userinfo_endpoint", "jwks_uri")
SIGN_ALGO = "RS256"
# Highest first: when the claim holds several mapped values, the highest role wins.
ROLE_ORDER = (ADMIN, EDITOR, VIEWER)
USERNAME_LENGTH = 150
_UNSAFE_USERNAME = re.compile(r"[^\w.@+-]", re.ASCII)

_metadata_cache: dict[tuple[str, str], dict] = {}
_metadata_lock = threading.Lock()


class ProviderUnavailable(Exception):
    """The provider's discovery document could not be read or is not usable."""


class SSORefused(Exception):
    """A sign-in refused; str() is the sentence shown on the login page."""


def refusal_no_role(config) -> str:
    return (f"Sign-in refused: your {config.provider_name} account has no Scarlog role "
            f"(its {config.role_claim!r} claim maps to none). Ask your identity provider's "
            "administrator to grant one.")


REFUSAL_DISABLED = ("Sign-in refused: your Scarlog account is disabled. "
                    "Ask a Scarlog admin to re-enable it.")
REFUSAL_TAMPERED = ("Sign-in refused: the answer from the identity provider does not match "
                    "the sign-in this browser started (state, nonce or token check failed). "
                    "Start again.")
REFUSAL_UNAVAILABLE = ("Single sign-on is unavailable: the identity provider did not answer "
                       "as expected. Try again later, or sign in with a local account.")
REFUSAL_CANCELLED = "Sign-in with the identity provider was cancelled or failed. Start again."


def provider_metadata(config) -> dict:
    """The provider's discovery document (a dict with REQUIRED_METADATA), read once per
    process for each (config.discovery_url, config.issuer) pair, so a document checked
    against one issuer is never handed out for another. Raises ProviderUnavailable when
    it cannot be read, lacks an endpoint, or names another issuer than
    SCARLOG_OIDC_ISSUER."""
    with _metadata_lock:
        key = (config.discovery_url, config.issuer or "")
        cached = _metadata_cache.get(key)
        if cached is not None:
            return cached
        try:
            response = requests.get(config.discovery_url, timeout=settings.OIDC_TIMEOUT)
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise ProviderUnavailable(
                f"{config.discovery_url} could not be read: {exc}") from exc
        if not isinstance(document, dict):
            raise ProviderUnavailable(f"{config.discovery_url} is not a JSON object.")
        missing = [key for key in REQUIRED_METADATA if not isinstance(document.get(key), str)]
        if missing:
            raise ProviderUnavailable(f"{config.discovery_url} lacks {', '.join(missing)}.")
        if config.issuer and document["issuer"].rstrip("/") != config.issuer:
            raise ProviderUnavailable(
                f"{config.discovery_url} names issuer {document['issuer']!r}, "
                f"not SCARLOG_OIDC_ISSUER={config.issuer!r}.")
        _metadata_cache[key] = document
        return document


def role_from_claims(claims: dict, config) -> str | None:
    """The Scarlog role for `claims` (the userinfo answer): the configured claim is a string
    or a list of strings; each value is looked up in config.role_map and the highest role
    found wins. None when the claim is missing or no value maps (the sign-in is refused).
    docs/rules.md#sso-roles"""
    value = claims.get(config.role_claim)
    values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    roles = {config.role_map[item] for item in values
             if isinstance(item, str) and item in config.role_map}
    return next((role for role in ROLE_ORDER if role in roles), None)


def username_base(claims: dict) -> str:
    """A username from `claims`: preferred_username, else the email's part before "@",
    NFKC-normalized, with every character other than ASCII letters, digits and . @ + - _
    replaced by "-", cut to USERNAME_LENGTH - 8 (room for a "-N" suffix); "sso-user" when
    nothing usable is left. docs/rules.md#sso-roles"""
    raw = claims.get("preferred_username")
    if not isinstance(raw, str) or not raw.strip():
        email = claims.get("email")
        raw = email.split("@", 1)[0] if isinstance(email, str) else ""
    name = _UNSAFE_USERNAME.sub("-", unicodedata.normalize("NFKC", raw)).strip(".-")
    name = name[:USERNAME_LENGTH - 8].strip(".-")
    return name or "sso-user"


def unique_username(claims: dict) -> str:
    """username_base(claims), or with "-2", "-3", … appended until no user has it
    (compared case-insensitively)."""
    users = get_user_model().objects
    base = username_base(claims)
    candidate, number = base, 1
    while users.filter(username__iexact=candidate).exists():
        number += 1
        candidate = f"{base}-{number}"
    return candidate


class ScarlogOIDCBackend(OIDCAuthenticationBackend):
    """The authentication backend of single sign-on (see the module docstring).

    Acts only for the callback view's call (which passes `nonce`); a password sign-in never
    reaches the provider. Returns the user, or raises SSORefused / SuspiciousOperation /
    requests.RequestException / ProviderUnavailable, which the callback view turns into
    the login page's message.
    """

    def __init__(self, *args, **kwargs):
        # mozilla-django-oidc reads its endpoints here; Scarlog reads them from discovery
        # when a sign-in comes back, so local sign-ins never depend on the provider.
        self.UserModel = get_user_model()

    def authenticate(self, request, **kwargs):
        config = settings.SCARLOG_OIDC
        if request is None or config is None or "nonce" not in kwargs:
            return None
        metadata = provider_metadata(config)
        self.config, self.metadata = config, metadata
        self.OIDC_OP_TOKEN_ENDPOINT = metadata["token_endpoint"]
        self.OIDC_OP_USER_ENDPOINT = metadata["userinfo_endpoint"]
        self.OIDC_OP_JWKS_ENDPOINT = metadata["jwks_uri"]
        self.OIDC_RP_CLIENT_ID = config.client_id
        self.OIDC_RP_CLIENT_SECRET = config.client_secret
        self.OIDC_RP_SIGN_ALGO = SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None
        self.refusal = None
        user = super().authenticate(request, **kwargs)
        if self.refusal is not None:
            raise SSORefused(self.refusal)
        return user

    def verify_token(self, token, **kwargs):
        """The ID token's claims, after mozilla-django-oidc's signature and nonce checks and
        Scarlog's issuer and audience checks; SuspiciousOperation otherwise."""
        try:
            payload = super().verify_token(token, **kwargs)
        except jwt.InvalidTokenError as exc:
            raise SuspiciousOperation(f"ID token refused: {exc}") from exc
        if payload.get("iss") != self.metadata["issuer"]:
            raise SuspiciousOperation(f"ID token issuer {payload.get('iss')!r} is not "
                                      f"{self.metadata['issuer']!r}.")
        audience = payload.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience or []
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("ID token is not for this client (aud).")
        if not isinstance(payload.get("sub"), str) or not payload["sub"]:
            raise SuspiciousOperation("ID token has no sub.")
        self.id_token_subject = payload["sub"]
        return payload

    def get_userinfo(self, access_token, id_token, payload):
        claims = super().get_userinfo(access_token, id_token, payload)
        if not isinstance(claims, dict) or claims.get("sub") != self.id_token_subject:
            raise SuspiciousOperation("userinfo answered for another subject than the ID token.")
        return claims

    def verify_claims(self, claims):
        name = claims.get("preferred_username") or claims.get("email") or claims["sub"]
        self.request.scarlog_sso_username = str(name)[:100]
        self.role = role_from_claims(claims, self.config)
        if self.role is None:
            self.refusal = refusal_no_role(self.config)
            return False
        return True

    def filter_users_by_claims(self, claims):
        return self.UserModel.objects.filter(oidc_identity__issuer=self.metadata["issuer"],
                                             oidc_identity__subject=claims["sub"])

    def get_or_create_user(self, access_token, id_token, payload):
        with transaction.atomic():
            return super().get_or_create_user(access_token, id_token, payload)

    def update_user(self, user, claims):
        from core.roles import set_role

        if not user.is_active:
            self.refusal = REFUSAL_DISABLED
            raise SuspiciousOperation(f"user {user.pk} is disabled in Scarlog")
        set_role(user, self.role)
        user.oidc_identity.last_login_utc = timezone.now()
        user.oidc_identity.save(update_fields=["last_login_utc"])
        return user

    def create_user(self, claims):
        from core.models import OIDCIdentity
        from core.roles import set_role

        email = claims.get("email")
        email = email[:254] if isinstance(email, str) and "@" in email else ""
        user = self.UserModel.objects.create_user(unique_username(claims), email=email)
        OIDCIdentity.objects.create(user=user, issuer=self.metadata["issuer"],
                                    subject=claims["sub"])
        set_role(user, self.role)
        logger.info("single sign-on created a user",
                    extra={"event": "sso_user_created", "username": user.get_username(),
                           "ip": self.request.META.get("REMOTE_ADDR", "")})
        return user
