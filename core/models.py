"""Models every app uses: API tokens for machine clients (docs/rules.md#token-scopes)."""
from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiToken(models.Model):
    """A token for machine clients (CI calling the planning gate): only its SHA-256 is stored.

    The token is shown once when created (core.api_tokens.create_token). `scopes` lists
    what it may do ("gate:read"); revoked_utc ends it.
    """

    name = models.CharField(max_length=100)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    prefix = models.CharField(max_length=12, help_text="The first characters, to recognise it.")
    key_sha256 = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_utc = models.DateTimeField(default=timezone.now)
    revoked_utc = models.DateTimeField(null=True, blank=True)
    last_used_utc = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The table was created by the incidents app; the model moved here without a
        # data migration (core/migrations/0001_initial.py).
        db_table = "incidents_apitoken"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"




class OIDCIdentity(models.Model):
    """The single sign-on identity a user signs in with: the provider's `issuer` URL and its
    `subject` (the ID token's `sub`). Sign-ins are matched on this pair only, never on a
    username or email, so a provider account cannot take over a local one
    (core.sso; docs/rules.md#sso-roles)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="oidc_identity")
    issuer = models.CharField(max_length=500)
    subject = models.CharField(max_length=255)
    created_utc = models.DateTimeField(default=timezone.now)
    last_login_utc = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"],
                                               name="oidc_identity_issuer_subject_unique")]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"


# The webhook models live with their package; importing them here registers them in core.
from core.webhooks.models import (  # noqa: E402
    WebhookDelivery,
    WebhookEventOnce,
    WebhookSubscription,
)

__all__ = ["ApiToken", "OIDCIdentity", "WebhookDelivery", "WebhookEventOnce",
           "WebhookSubscription"]
