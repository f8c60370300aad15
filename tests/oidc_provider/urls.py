"""The provider's URLs: OAuth2/OIDC under /o/ (issuer http://127.0.0.1:PORT/o), its login."""
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("login/", auth_views.LoginView.as_view(), name="login"),
]
