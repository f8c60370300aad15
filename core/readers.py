"""Who may read the agent-facing documents (knowledge YAML, policies file, go/no-go).

A signed-in person may, through their session; a machine client may with an API token
that has the docs:read scope (`Authorization: Bearer scl_…`). Anyone else gets 401 (no
or bad token) or 403 (a token without the scope), never the document.
"""
from django.http import JsonResponse

from core.api_tokens import TokenError, authenticate, refusal_response

SCOPE = "docs:read"


def reader(request):
    """The user reading the documents: the signed-in user, else the docs:read token's user
    (call after refusal() returned None). Raises TokenError without either."""
    if request.user.is_authenticated:
        return request.user
    return authenticate(request, SCOPE).user


def refusal(request) -> JsonResponse | None:
    """None when `request` may read the documents, else the JSON refusal to return."""
    if request.user.is_authenticated:
        return None
    try:
        authenticate(request, SCOPE)
    except TokenError as exc:
        return refusal_response(exc)
    return None
