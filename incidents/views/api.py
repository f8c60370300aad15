"""JSON endpoints for machine clients, authenticated with API tokens (not sessions).

GET /api/gate/<domain>[?allow_unknown=1]: the planning gate's answer
(incidents.gate.GateResult.as_dict()), 200 whether open or closed; 404
{"error", "field": "domain", "known_domains": [...]} for a domain no postmortem is
classified in unless allow_unknown=1 (docs/rules.md#gate-unknown-domain); 400 for a
malformed domain or allow_unknown value, 401 without a valid token, 403 when the token
(or its user's role) lacks the gate:read scope (docs/rules.md#token-scopes).

POST /api/events: a monitoring system opens a draft postmortem from an event
(incidents.events): 201 with the draft, 200 with the draft already opened for the same
event, 200 with "no postmortem needed" and the computed percentages when drawdown
figures are under threshold, 400 naming the field of a bad payload ({"error": the located
message, "field": the RecordError's key}); scope events:write.
Token-authenticated, so exempt from CSRF (a browser never sends the bearer token).

"""

from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from core.api_tokens import TokenError, authenticate, refusal_response
from core.site_url import absolute_url
from core.validation import RecordError, load_json
from incidents.events import open_from_event, parse_event
from incidents.gate import UnknownDomainError, answer_gate
from incidents.services import DomainError
from incidents.visibility import can_see

MAX_EVENT_BYTES = 64 * 1024
# ?allow_unknown= values (the CLI's --allow-unknown); any other value is refused.
FLAG_VALUES = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


@login_not_required
@require_GET
def gate(request, domain):
    """The planning gate for `domain`, for CI."""
    try:
        token = authenticate(request, "gate:read")
    except TokenError as exc:
        return refusal_response(exc)
    flag = request.GET.get("allow_unknown", "0").strip().lower()
    if flag not in FLAG_VALUES:
        return JsonResponse({"error": "allow_unknown: use 1 (allow) or 0 (refuse unknown "
                                      "domains, the default).", "field": "allow_unknown"},
                            status=400)
    try:
        result = answer_gate(domain, allow_unknown=FLAG_VALUES[flag], user=token.user)
    except UnknownDomainError as exc:
        return JsonResponse({"error": str(exc), "field": exc.field,
                             "known_domains": exc.known_domains}, status=404)
    except DomainError as exc:
        return JsonResponse({"error": str(exc), "field": "domain"}, status=400)
    return JsonResponse(result.as_dict())


@csrf_exempt
@login_not_required
@require_POST
def events(request):
    """Open a draft postmortem from a monitor's event (see the module docstring)."""
    try:
        token = authenticate(request, "events:write")
    except TokenError as exc:
        return refusal_response(exc)
    if len(request.body) > MAX_EVENT_BYTES:
        return JsonResponse({"error": f"The body is over {MAX_EVENT_BYTES} bytes.",
                             "field": "body"}, status=400)
    try:
        payload = load_json(request.body)
    except RecordError as exc:
        return JsonResponse({"error": f"The body is not usable JSON: {exc.message}.",
                             "field": "body"},
                            status=400)
    try:
        event = parse_event(payload)
    except RecordError as exc:
        return JsonResponse({"error": exc.located(), "field": exc.key}, status=400)
    outcome = open_from_event(event, token.user)
    answer = {}
    if outcome.drawdown is not None:
        answer["drawdown"] = outcome.drawdown.as_json()
    if outcome.postmortem is None:
        return JsonResponse({"decision": "no postmortem needed", **answer})
    pm = outcome.postmortem
    if not can_see(token.user, pm):
        # The event's draft is restricted and the token's user is not a member: it exists
        # but is not named (docs/rules.md#private-postmortems).
        answer["postmortem"] = {"restricted": "1 restricted postmortem"}
        answer["decision"] = "postmortem already open"
        return JsonResponse(answer, status=200)
    answer["postmortem"] = {
        "id": str(pm.pk),
        "url": absolute_url(request, reverse("incidents:postmortem_detail", args=[pm.pk])),
        "trigger": pm.trigger,
        "occurred_utc": pm.occurred_utc.isoformat(),
        "meeting_deadline_utc": pm.meeting_deadline_utc.isoformat(),
    }
    answer["decision"] = "postmortem opened" if outcome.created else "postmortem already open"
    return JsonResponse(answer, status=201 if outcome.created else 200)
