"""API tokens for machine clients (CI calling the planning gate).

A token is "scl_" + 40 URL-safe characters, shown once at creation; only its SHA-256 is
stored (ApiToken.key_sha256). Requests send `Authorization: Bearer <token>`.
authenticate() returns the ApiToken or raises TokenError with the reason (missing,
unknown, revoked, or lacking the scope).
"""
import hashlib
import secrets

from django.http import JsonResponse
from django.utils import timezone

from core.models import ApiToken

PREFIX = "scl_"
SCOPES = ("gate:read", "events:write", "docs:read")


class TokenError(Exception):
    """The request's token does not allow the call; the message says why.

    status: 401 (no valid token) or 403 (a valid token without the scope).
    """

    def __init__(self, message: str, status: int = 401):
        self.status = status
        super().__init__(message)


def refusal_response(exc: TokenError) -> JsonResponse:
    """The JSON answer to a refused token: {"error": why}, 401 with a Bearer challenge or 403."""
    response = JsonResponse({"error": str(exc)}, status=exc.status)
    if exc.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="scarlog"'
    return response


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_token(name: str, user, scopes: list[str]) -> tuple[ApiToken, str]:
    """A new token for `user` with `scopes`; returns (row, the token text to show once)."""
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown or not scopes:
        raise ValueError(f"Scopes must be some of {', '.join(SCOPES)}; got {scopes!r}.")
    key = PREFIX + secrets.token_urlsafe(30)
    token = ApiToken.objects.create(name=name, user=user, prefix=key[:10],
                                    key_sha256=_digest(key), scopes=list(scopes))
    return token, key


def authenticate(request, scope: str) -> ApiToken:
    """The ApiToken of `request`'s bearer token if it is live and has `scope`; TokenError else."""
    header = request.headers.get("Authorization", "")
    kind, _, key = header.partition(" ")
    if kind != "Bearer" or not key.startswith(PREFIX):
        raise TokenError("Send an API token as 'Authorization: Bearer scl_…'.")
    token = ApiToken.objects.filter(key_sha256=_digest(key.strip())).select_related("user").first()
    if token is None:
        raise TokenError("Unknown API token.")
    if token.revoked_utc is not None:
        raise TokenError(f"API token {token.prefix}… was revoked.")
    if scope not in token.scopes:
        raise TokenError(f"API token {token.prefix}… lacks the {scope} scope.", status=403)
    ApiToken.objects.filter(pk=token.pk).update(last_used_utc=timezone.now())
    return token
