"""API tokens for machine clients (CI calling the planning gate).

A token is "scl_" + 40 URL-safe characters, shown once at creation; only its SHA-256 is
stored (ApiToken.key_sha256). Requests send `Authorization: Bearer <token>`.
authenticate() returns the ApiToken or raises TokenError with the reason (missing,
unknown, revoked, its user deactivated, the token lacking the scope, or the user's
current role not allowing it). A token never does more than its user's role allows
right now: ROLE_SCOPES (docs/rules.md#token-scopes).
"""
import hashlib
import secrets

from django.http import JsonResponse
from django.utils import timezone

from core.models import ApiToken
from core.roles import ADMIN, EDITOR, VIEWER, in_editors, remember_role, role_of

PREFIX = "scl_"
SCOPES = ("gate:read", "events:write", "docs:read", "mcp:read")
READ_SCOPES = frozenset({"gate:read", "docs:read", "mcp:read"})
# The scopes a token may use, by its user's current role (docs/rules.md#token-scopes):
# viewers read only; writing events needs an editor or admin. Read at every request, so
# a role change or deactivation takes effect on the token's next call.
ROLE_SCOPES = {
    VIEWER: READ_SCOPES,
    EDITOR: frozenset(SCOPES),
    ADMIN: frozenset(SCOPES),
}


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


def roles_allowing(scope: str) -> list[str]:
    """The roles whose tokens may use `scope`, in ROLES order (for refusal messages)."""
    return [role for role in (VIEWER, EDITOR, ADMIN) if scope in ROLE_SCOPES[role]]


def authenticate(request, scope: str) -> ApiToken:
    """The ApiToken of `request`'s bearer token if it may use `scope` now; TokenError else.

    401: no, unknown or revoked token, or its user is deactivated. 403: the token lacks
    `scope`, or its user's current role does not allow it (the message names the role).
    See docs/rules.md#token-scopes.
    """
    header = request.headers.get("Authorization", "")
    kind, _, key = header.partition(" ")
    if kind != "Bearer" or not key.startswith(PREFIX):
        raise TokenError("Send an API token as 'Authorization: Bearer scl_…'.")
    token = (ApiToken.objects.filter(key_sha256=_digest(key.strip())).select_related("user")
             .annotate(user_in_editors=in_editors("user_id")).first())
    if token is None:
        raise TokenError("Unknown API token.")
    remember_role(token.user, token.user_in_editors)
    if token.revoked_utc is not None:
        raise TokenError(f"API token {token.prefix}… was revoked.")
    if not token.user.is_active:
        raise TokenError(f"API token {token.prefix}… belongs to a deactivated user.")
    if scope not in token.scopes:
        raise TokenError(f"API token {token.prefix}… lacks the {scope} scope.", status=403)
    role = role_of(token.user)
    if scope not in ROLE_SCOPES[role]:
        raise TokenError(
            f"API token {token.prefix}… has the {scope} scope, but its user "
            f"{token.user.get_username()!r} has the {role} role: {scope} needs the "
            f"{' or '.join(roles_allowing(scope))} role.", status=403)
    ApiToken.objects.filter(pk=token.pk).update(last_used_utc=timezone.now())
    return token
