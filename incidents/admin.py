"""Django admin: drafts are editable; final postmortems and amendments are read-only."""
from django import forms
from django.contrib import admin
from django.utils import timezone

from core.admin import ReadOnlyAdmin
from incidents.gate import override_gate
from incidents.models import (
    ActionItem,
    Amendment,
    ContributingFactor,
    GateOverride,
    Postmortem,
    Reference,
    TimelineEntry,
)


class FrozenWhenFinalInline(admin.TabularInline):
    """Rows of a postmortem: editable while it is a draft, read-only once final."""

    extra = 0

    def _parent_final(self, obj) -> bool:
        return obj is not None and obj.is_final

    def has_add_permission(self, request, obj=None):
        return not self._parent_final(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not self._parent_final(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not self._parent_final(obj) and super().has_delete_permission(request, obj)


class TimelineEntryInline(FrozenWhenFinalInline):
    model = TimelineEntry


class ContributingFactorInline(FrozenWhenFinalInline):
    model = ContributingFactor


class ReferenceInline(FrozenWhenFinalInline):
    model = Reference


@admin.register(Postmortem)
class PostmortemAdmin(admin.ModelAdmin):
    list_display = ("title", "status", "template", "root_cause", "origin", "created_utc")
    list_filter = ("status", "template", "root_cause", "origin")
    search_fields = ("summary", "prevention", "fix_description")
    readonly_fields = ("id", "created_utc", "updated_utc", "finalized_utc", "finalized_by",
                       "status", "origin", "created_by")
    inlines = [TimelineEntryInline, ContributingFactorInline, ReferenceInline]

    def get_readonly_fields(self, request, obj=None):
        # The template is chosen when the draft is created and never changes.
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "template") if obj is not None else fields

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_final:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_final:
            return False
        return super().has_delete_permission(request, obj)


@admin.register(Amendment)
class AmendmentAdmin(admin.ModelAdmin):
    list_display = ("postmortem", "amended_utc", "section", "author")
    readonly_fields = ("amended_utc", "author")

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Only final postmortems are amended; a draft is edited instead.
        if db_field.name == "postmortem":
            kwargs["queryset"] = Postmortem.objects.filter(status=Postmortem.Status.FINAL)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        obj.author = request.user
        super().save_model(request, obj, form, change)


@admin.register(ActionItem)
class ActionItemAdmin(ReadOnlyAdmin):
    """Read-only here: items change through the postmortem page, which records history."""

    list_display = ("description", "kind", "owner", "due_date", "status")
    list_filter = ("kind", "status")
    search_fields = ("description",)


class GateOverrideForm(forms.ModelForm):
    """Refuses a past end time here, as a form error, rather than failing on save."""

    class Meta:
        model = GateOverride
        fields = ("domain", "reason", "until_utc")

    def clean_until_utc(self):
        until = self.cleaned_data["until_utc"]
        if until <= timezone.now():
            raise forms.ValidationError("Give a future time: an override ends by itself.")
        return until


@admin.register(GateOverride)
class GateOverrideAdmin(admin.ModelAdmin):
    """Record a planning-gate override (who is you; why and until when are required).

    Overrides are records: they cannot be changed or deleted, only left to expire.
    """

    list_display = ("domain", "until_utc", "created_by", "reason", "created_utc")
    fields = ("domain", "reason", "until_utc")
    form = GateOverrideForm

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        saved = override_gate(obj.domain, obj.reason, obj.until_utc, request.user)
        obj.pk, obj.created_by, obj.created_utc = saved.pk, saved.created_by, saved.created_utc
