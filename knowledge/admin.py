"""Django admin for knowledge-base entries and policies (editing beside the YAML/Markdown
import). Links to postmortems are edited here or from either page."""
from django.contrib import admin

from incidents.visibility import HidesRestrictedPostmortemsAdmin
from knowledge.models import KnowledgeEntry, Policy, PolicyOrigin


@admin.register(KnowledgeEntry)
class KnowledgeEntryAdmin(HidesRestrictedPostmortemsAdmin, admin.ModelAdmin):
    list_display = ("key", "name", "kind", "severity", "category")
    list_filter = ("kind", "severity", "category")
    search_fields = ("key", "name", "description")
    filter_horizontal = ("postmortems",)


class PolicyOriginInline(admin.TabularInline):
    model = PolicyOrigin
    extra = 0


@admin.register(Policy)
class PolicyAdmin(HidesRestrictedPostmortemsAdmin, admin.ModelAdmin):
    list_display = ("number", "title")
    search_fields = ("title", "body")
    inlines = (PolicyOriginInline,)
    filter_horizontal = ("postmortems",)
