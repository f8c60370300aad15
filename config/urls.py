"""Top-level URLs: login/logout, the admin, and each app's namespaced URLs."""
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path, re_path

from core import sso_views
from core import views as core_views
from incidents.views import api
from knowledge.mcp.http import mcp_endpoint
from runbooks import views as runbook_views

handler400 = "core.errors.handler400"
handler500 = "config.errors.server_error"

urlpatterns = [
    path("accounts/login/", sso_views.LoginView.as_view(), name="login"),
    # Single sign-on (core.sso): 404 unless SCARLOG_OIDC_ISSUER is configured.
    path("accounts/sso/start/", login_not_required(sso_views.SSOStartView.as_view()),
         name="oidc_start"),
    path("accounts/sso/callback/", login_not_required(sso_views.SSOCallbackView.as_view()),
         name="oidc_callback"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/gate/<str:domain>", api.gate, name="api_gate"),
    path("api/events", api.events, name="api_events"),
    path("api/runbooks/<str:key>/go-no-go", runbook_views.go_no_go, name="api_go_no_go"),
    # The MCP server for remote agents (knowledge/mcp/http.py), with or without the slash.
    re_path(r"^mcp/?$", mcp_endpoint, name="mcp"),
    path("healthz", core_views.healthz, name="healthz"),
    path("favicon.ico", core_views.favicon, name="favicon"),
    path("costs/", include("costlog.urls")),
    path("webhooks/", include("core.webhooks.urls")),
    path("runbooks/", include("runbooks.urls")),
    path("", include("knowledge.urls")),
    path("", include("incidents.urls")),
]
