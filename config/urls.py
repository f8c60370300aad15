"""Top-level URLs: login/logout, the admin, and each app's namespaced URLs."""
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from core import views as core_views
from incidents.views import api
from runbooks import views as runbook_views

handler400 = "core.errors.handler400"
handler500 = "config.errors.server_error"

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/gate/<str:domain>", api.gate, name="api_gate"),
    path("api/events", api.events, name="api_events"),
    path("api/runbooks/<str:key>/go-no-go", runbook_views.go_no_go, name="api_go_no_go"),
    path("healthz", core_views.healthz, name="healthz"),
    path("favicon.ico", core_views.favicon, name="favicon"),
    path("costs/", include("costlog.urls")),
    path("webhooks/", include("core.webhooks.urls")),
    path("runbooks/", include("runbooks.urls")),
    path("", include("knowledge.urls")),
    path("", include("incidents.urls")),
]
