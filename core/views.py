"""Views every deployment has: the health report for load balancers and monitors, and
/favicon.ico (asked for by browsers on pages that name no icon, such as Django's admin)."""
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from core import health


@login_not_required
@require_GET
def healthz(request):
    """GET /healthz: database, Redis and worker-heartbeat state; 200 when all are ok, else 503.

    No login and no secrets in the answer (core.health.health).
    """
    report = health.health()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


@login_not_required
@require_GET
def favicon(request):
    """GET /favicon.ico: a permanent redirect (301) to the static favicon.svg; no login, as
    a browser asks for it before anyone signs in."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))
