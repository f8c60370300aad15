"""JSON endpoints for machine clients, authenticated with API tokens (not sessions).

GET /api/gate/<domain>: the planning gate's answer (incidents.gate.GateResult.as_dict()),
200 whether open or closed; 400 for a malformed domain, 401 without a valid token, 403
when the token lacks the gate:read scope.
"""
from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from incidents.api_tokens import TokenError, authenticate
from incidents.gate import check_gate
from incidents.services import ClassificationError


@login_not_required
@require_GET
def gate(request, domain):
    """The planning gate for `domain`, for CI."""
    try:
        authenticate(request, "gate:read")
    except TokenError as exc:
        response = JsonResponse({"error": str(exc)}, status=exc.status)
        if exc.status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="scarlog"'
        return response
    try:
        result = check_gate(domain)
    except ClassificationError as exc:
        return JsonResponse({"error": str(exc), "field": "domain"}, status=400)
    return JsonResponse(result.as_dict())
