"""The admin pieces every app uses: the read-only admin base, API tokens, single sign-on
identities and webhooks."""
from django import forms
from django.contrib import admin
from django.utils import timezone

from core.models import ApiToken, OIDCIdentity, WebhookDelivery, WebhookSubscription
from core.webhooks.subscriptions import url_problem


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shows append-only or history rows without offering to add, change or delete them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created with `manage.py create_api_token`; here they are listed and revoked."""

    list_display = ("name", "prefix", "user", "scopes", "created_utc", "last_used_utc",
                    "revoked_utc")
    readonly_fields = ("name", "prefix", "user", "key_sha256", "scopes", "created_utc",
                       "last_used_utc")
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        queryset.filter(revoked_utc__isnull=True).update(revoked_utc=timezone.now())


@admin.register(OIDCIdentity)
class OIDCIdentityAdmin(admin.ModelAdmin):
    """Who signs in through single sign-on (made on first sign-in, core.sso). Listed, not
    edited: disable the user to refuse them (docs/rules.md#sso-roles)."""

    list_display = ("user", "subject", "issuer", "created_utc", "last_login_utc")
    search_fields = ("user__username", "subject")
    readonly_fields = ("user", "issuer", "subject", "created_utc", "last_login_utc")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class WebhookSubscriptionAdminForm(forms.ModelForm):
    """The admin's change form, refusing a URL the link rule refuses (docs/rules.md#input-links)."""

    class Meta:
        model = WebhookSubscription
        fields = ["name", "url", "format", "event_types", "active"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        if (problem := url_problem(url)) is not None:
            raise forms.ValidationError(f"URL {problem}.")
        return url


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    """Subscriptions are added on the Webhooks page (which shows the new secret once); here
    they are listed and changed. None is deleted: its deliveries are an audit record."""

    form = WebhookSubscriptionAdminForm
    list_display = ("name", "url", "format", "active", "created_utc", "disabled_utc")
    list_filter = ("active", "format")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """The delivery log, read only (docs/rules.md#webhook-guards); redeliver from the
    Webhooks page's delivery log."""

    list_display = ("created_utc", "subscription", "event_type", "status", "response_code",
                    "attempts", "last_attempt_utc", "next_attempt_utc")
    list_filter = ("status", "event_type")
