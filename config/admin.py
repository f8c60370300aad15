"""The admin site for the admin role only (core.roles): users, API tokens, taxonomies."""
import functools

from django.contrib.admin import AdminSite

from core.errors import bad_request


class ScarlogAdminSite(AdminSite):
    """Django's admin, open to active superusers only (the admin role), not to all staff."""

    site_header = "Scarlog administration"
    site_title = "Scarlog admin"

    def has_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def admin_view(self, view, cacheable=False):
        """Django's wrapper, plus: an empty ?_to_field= is refused with 400 (Django would
        look up a field named "" and answer 500); docs/rules.md#input-refusals."""
        wrapped = super().admin_view(view, cacheable)

        @functools.wraps(wrapped)
        def guarded(request, *args, **kwargs):
            if request.GET.get("_to_field", None) == "" or request.POST.get("_to_field") == "":
                return bad_request(request, "_to_field", "is empty; leave it out.")
            return wrapped(request, *args, **kwargs)
        return guarded
