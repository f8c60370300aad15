"""Views every deployment has: the health report for load balancers and monitors."""
from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
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
