"""Django admin for runbooks: owners and review intervals; documents are edited on the
runbook's own page (which keeps revisions), so the admin shows them read-only."""
from django.contrib import admin

from incidents.visibility import HidesRestrictedPostmortemsAdmin
from runbooks.models import Runbook


@admin.register(Runbook)
class RunbookAdmin(HidesRestrictedPostmortemsAdmin, admin.ModelAdmin):
    list_display = ("key", "title", "perspective", "last_updated", "owner",
                    "review_interval_days")
    list_filter = ("perspective",)
    search_fields = ("key", "title")
    fields = ("key", "path", "title", "perspective", "tags", "depends_on", "key_files",
              "last_updated", "body", "owner", "review_interval_days", "postmortems")
    readonly_fields = ("key", "path", "title", "perspective", "tags", "depends_on",
                       "key_files", "last_updated", "body")
    filter_horizontal = ("postmortems",)

    def has_add_permission(self, request):
        return False
