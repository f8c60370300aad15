"""The admin site for the admin role only (core.roles): users, API tokens, taxonomies."""
from django.contrib.admin import AdminSite


class ScarlogAdminSite(AdminSite):
    """Django's admin, open to active superusers only (the admin role), not to all staff."""

    site_header = "Scarlog administration"
    site_title = "Scarlog admin"

    def has_permission(self, request):
        return request.user.is_active and request.user.is_superuser
