"""Django admin for the cost log: root patterns are editable; rates and entries read-only.

Entries, their pattern links and resource rows, and rates are append-only (PostgreSQL
refuses changes); they are added through the cost log pages or import_costlog.
"""
from django.contrib import admin

from core.admin import ReadOnlyAdmin
from costlog.models import MishapEntry, ResourceRate, RootPattern
from incidents import visibility


@admin.register(RootPattern)
class RootPatternAdmin(admin.ModelAdmin):
    """The editable taxonomy. A pattern used by an entry cannot be deleted (PROTECT)."""

    list_display = ("name", "description")
    search_fields = ("name",)


@admin.register(ResourceRate)
class ResourceRateAdmin(ReadOnlyAdmin):
    list_display = ("resource", "usd", "unit", "effective_date", "created_utc")
    list_filter = ("resource",)


@admin.register(MishapEntry)
class MishapEntryAdmin(ReadOnlyAdmin):
    list_display = ("occurred_utc", "title", "cost_low_usd", "cost_high_usd", "near_miss",
                    "corrects")
    search_fields = ("title",)
    date_hierarchy = "occurred_utc"

    def get_fields(self, request, obj=None):
        # An entry linked to a postmortem the admin may not read does not name it
        # (docs/rules.md#private-postmortems).
        fields = super().get_fields(request, obj)
        if obj is not None and obj.postmortem_id in visibility.hidden_ids(request.user):
            fields = [name for name in fields if name not in ("postmortem", "correction_reason")]
        return fields
