"""Django admin: drafts are editable; final postmortems and amendments are read-only."""
from django import forms
from django.contrib import admin
from django.db import transaction
from django.utils import timezone

from core.admin import ReadOnlyAdmin
from incidents import visibility
from incidents.gate import override_gate
from incidents.models import (
    ActionItem,
    Amendment,
    ContributingFactor,
    GateOverride,
    Postmortem,
    QuestionSet,
    Reference,
    ScanQuestion,
    Severity,
    TimelineEntry,
    TriggerCondition,
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


class PostmortemAdminForm(forms.ModelForm):
    """A draft in the admin: severity is one of the active levels, as on the pages."""

    class Meta:
        model = Postmortem
        # The admin passes its own field list (every editable field); this names the one
        # this form checks.
        fields = ("severity",)

    def clean_severity(self):
        from incidents.services import EventError, clean_severity

        try:
            return clean_severity(self.cleaned_data.get("severity", ""))
        except EventError as exc:
            raise forms.ValidationError(str(exc)) from exc


@admin.register(Postmortem)
class PostmortemAdmin(admin.ModelAdmin):
    def get_queryset(self, request):
        # Least privilege: an admin reads a restricted postmortem only as a member
        # (docs/rules.md#private-postmortems).
        return super().get_queryset(request).exclude(pk__in=visibility.hidden_ids(request.user))

    form = PostmortemAdminForm
    list_display = ("title", "status", "severity", "template", "root_cause", "origin",
                    "created_utc")
    list_filter = ("status", "severity", "template", "root_cause", "origin")
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
    def get_queryset(self, request):
        return super().get_queryset(request).exclude(
            postmortem_id__in=visibility.hidden_ids(request.user))

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
    def get_queryset(self, request):
        return super().get_queryset(request).exclude(
            postmortem_id__in=visibility.hidden_ids(request.user))

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


# --- vocabularies kept as data (docs/rules.md#trigger-conditions, #severity, #scan-sets) ---

class RetireInsteadOfDeleteAdmin(admin.ModelAdmin):
    """A vocabulary row is retired (its "retired (UTC)" time set), never deleted: records
    that used it keep pointing at it."""

    actions = ["retire", "bring_back"]

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Retire the selected rows (old records keep them)")
    def retire(self, request, queryset):
        queryset.filter(retired_utc__isnull=True).update(retired_utc=timezone.now())

    @admin.action(description="Bring the selected rows back into use")
    def bring_back(self, request, queryset):
        queryset.update(retired_utc=None)


@admin.register(TriggerCondition)
class TriggerConditionAdmin(RetireInsteadOfDeleteAdmin):
    list_display = ("label", "slug", "position", "requires_reason", "retired_utc")
    list_filter = ("requires_reason", ("retired_utc", admin.EmptyFieldListFilter))
    fields = ("label", "slug", "position", "requires_reason", "retired_utc")

    def get_readonly_fields(self, request, obj=None):
        # The key is stored on records: it never changes once it exists.
        return ("slug",) if obj is not None else ()


@admin.register(Severity)
class SeverityAdmin(RetireInsteadOfDeleteAdmin):
    list_display = ("code", "label", "rank", "retired_utc")
    fields = ("code", "label", "rank", "description", "retired_utc")

    def get_readonly_fields(self, request, obj=None):
        return ("code",) if obj is not None else ()


class ScanQuestionInline(admin.StackedInline):
    model = ScanQuestion
    extra = 0
    fields = ("number", "slug", "name", "question", "factor", "failure_answer", "retired_utc")
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return ("slug",) if obj is not None and obj.questions.exists() else ()


@admin.register(QuestionSet)
class QuestionSetAdmin(RetireInsteadOfDeleteAdmin):
    """A set of scan questions; its questions are edited on the same page. Marking a set
    the default unmarks the previous default in the same transaction."""

    list_display = ("name", "slug", "is_default", "retired_utc")
    fields = ("name", "slug", "description", "is_default", "retired_utc")
    inlines = [ScanQuestionInline]

    @admin.action(description="Retire the selected sets (not the default one)")
    def retire(self, request, queryset):
        if queryset.filter(is_default=True).exists():
            self.message_user(request, "The default set cannot be retired; mark another set "
                                       "the default first.", level="error")
            return
        super().retire(request, queryset)

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            if obj.is_default:
                QuestionSet.objects.filter(is_default=True).exclude(pk=obj.pk).update(
                    is_default=False)
            super().save_model(request, obj, form, change)


@admin.register(ScanQuestion)
class ScanQuestionAdmin(RetireInsteadOfDeleteAdmin):
    """Rewording a question changes what new answers see; answers given before keep
    the wording they were answered against."""

    list_display = ("number", "name", "question_set", "failure_answer", "retired_utc")
    list_filter = ("question_set", ("retired_utc", admin.EmptyFieldListFilter))
    search_fields = ("name", "question", "slug")
    fields = ("question_set", "number", "slug", "name", "question", "factor",
              "failure_answer", "retired_utc")

    def get_readonly_fields(self, request, obj=None):
        return ("question_set", "slug") if obj is not None else ()
