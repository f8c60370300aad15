"""The admin pieces every app uses: the read-only admin base, and API tokens."""
from django.contrib import admin
from django.utils import timezone

from core.models import ApiToken


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
