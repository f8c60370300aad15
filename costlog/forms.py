"""Forms of the cost log: a mishap entry (with its resource rows), a correction, a rate.

The forms parse input; the rules (pricing, ranges, near-miss at $0) live in
costlog.services, whose CostEntryError is put back onto the field it names.
"""
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from django import forms

from core import units
from core.forms import InRangeDateField, USDField
from core.limits import LONG_TEXT, SHORT_TEXT, OutOfRange, utc_in_range
from costlog import services
from costlog.markdown_format import ZONES
from costlog.models import ResourceRate, RootPattern
from incidents import visibility
from incidents.models import Postmortem

LINES_HELP = "One per line."


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class MishapEntryForm(forms.Form):
    """A mishap entry as a person logs it: local time and zone, text, patterns, cost."""

    occurred_date = InRangeDateField(label="Date",
                                     widget=forms.DateInput(attrs={"type": "date"}))
    occurred_time = forms.TimeField(label="Time", widget=forms.TimeInput(attrs={"type": "time"}))
    logged_zone = forms.ChoiceField(label="Zone", choices=[(z, z) for z in ZONES], initial="UTC")
    title = forms.CharField(max_length=300)
    what_happened = forms.CharField(max_length=LONG_TEXT,
                                    widget=forms.Textarea(attrs={"rows": 3}))
    root_cause = forms.CharField(max_length=LONG_TEXT, widget=forms.Textarea(attrs={"rows": 2}))
    root_cause_items = forms.CharField(
        label="Cascading failures", required=False, help_text=LINES_HELP, max_length=LONG_TEXT,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    patterns = forms.ModelMultipleChoiceField(
        label="Root pattern", queryset=RootPattern.objects.all(),
        widget=forms.CheckboxSelectMultiple,
    )
    resources_affected = forms.CharField(
        label="Resources affected", required=False, max_length=2000,
        help_text="As you would write it; left empty, the resource rows are listed.",
    )
    duration = forms.CharField(
        required=False, max_length=200, help_text='E.g. "~20 minutes before user caught it".'
    )
    # Amounts read like every USD input ('78,947', '$5.50'; docs/rules.md#input-money-durations).
    cost_low_usd = USDField(label="Estimated cost, low (USD)", required=False, max_digits=14,
                            decimal_places=2)
    cost_high_usd = USDField(label="Estimated cost, high (USD)", required=False, max_digits=14,
                             decimal_places=2, help_text="Leave empty for a single figure.")
    cost_approximate = forms.BooleanField(label='Approximate ("~")', required=False)
    cost_note = forms.CharField(label="Cost note", required=False, max_length=200,
                                help_text='E.g. "wasted training jobs".')
    near_miss = forms.BooleanField(label="Near-miss ($0: caught before it cost anything)",
                                   required=False)
    prevention_items = forms.CharField(
        label="Prevention", help_text=LINES_HELP, max_length=LONG_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    postmortem = forms.CharField(label="Postmortem id", required=False, max_length=36,
                                 help_text="Optional: the postmortem this mishap belongs to.")

    def __init__(self, *args, user=None, **kwargs):
        # The signed-in user: a restricted postmortem they may not read is refused as a
        # missing one (docs/rules.md#private-postmortems).
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_postmortem(self) -> Postmortem | None:
        text = self.cleaned_data["postmortem"].strip()
        if not text:
            return None
        try:
            return visibility.visible_postmortems(self.user).get(pk=uuid.UUID(text))
        except (ValueError, Postmortem.DoesNotExist) as exc:
            raise forms.ValidationError(f"{text!r} is not the id of a postmortem.") from exc

    def clean(self):
        """The date, time and zone together must fall in the accepted range in UTC
        (docs/rules.md#limits-time-range): 2099-12-31 23:30 in New York is 2100 in UTC."""
        cleaned = super().clean()
        try:
            self.occurred_utc()
        except OutOfRange as exc:
            self.add_error("occurred_date", f"Date and time in {cleaned['logged_zone']} {exc}")
        return cleaned

    def occurred_utc(self) -> datetime | None:
        """The entry's time in UTC from date, time and zone; None while any is invalid.
        Raises OutOfRange when it lies outside the accepted range in UTC."""
        data = self.cleaned_data
        if not all(key in data for key in ("occurred_date", "occurred_time", "logged_zone")):
            return None
        local = datetime.combine(data["occurred_date"], data["occurred_time"],
                                 tzinfo=ZoneInfo(ZONES[data["logged_zone"]]))
        return utc_in_range(local)

    def entry_input(self, resources: list[services.ResourceUse]) -> services.EntryInput:
        """The validated form as an EntryInput (call after is_valid())."""
        data = self.cleaned_data
        return services.EntryInput(
            occurred_utc=self.occurred_utc(),
            logged_zone=data["logged_zone"],
            title=data["title"],
            what_happened=data["what_happened"],
            root_cause=data["root_cause"],
            root_cause_items=_lines(data["root_cause_items"]),
            patterns=list(data["patterns"]),
            resources=resources,
            resources_affected=data["resources_affected"],
            duration=data["duration"],
            cost_low_usd=data["cost_low_usd"],
            cost_high_usd=data["cost_high_usd"],
            cost_approximate=data["cost_approximate"],
            cost_note=data["cost_note"],
            near_miss=data["near_miss"],
            prevention_items=_lines(data["prevention_items"]),
            postmortem=data["postmortem"],
        )

    @classmethod
    def initial_from(cls, data: services.EntryInput) -> dict:
        """Initial values showing an existing entry (for a correction)."""
        local = data.occurred_utc.astimezone(ZoneInfo(ZONES[data.logged_zone]))
        return {
            "occurred_date": local.date(), "occurred_time": local.time().replace(second=0),
            "logged_zone": data.logged_zone, "title": data.title,
            "what_happened": data.what_happened, "root_cause": data.root_cause,
            "root_cause_items": "\n".join(data.root_cause_items),
            "patterns": [pattern.pk for pattern in data.patterns],
            "resources_affected": data.resources_affected, "duration": data.duration,
            "cost_low_usd": data.cost_low_usd, "cost_high_usd": data.cost_high_usd,
            "cost_approximate": data.cost_approximate, "cost_note": data.cost_note,
            "near_miss": data.near_miss, "prevention_items": "\n".join(data.prevention_items),
            "postmortem": str(data.postmortem.pk) if data.postmortem else "",
        }


class CorrectionForm(MishapEntryForm):
    """A correction: the entry's fields as they should read, and why."""

    correction_reason = forms.CharField(
        label="Reason for the correction", widget=forms.Textarea(attrs={"rows": 2}),
        max_length=SHORT_TEXT,
        help_text="Kept with the correction; the original entry stays visible.",
    )


class ResourceRowForm(forms.Form):
    """A resource row: which resource (priced at the rate in force), how many, how long.

    A row left empty (no resource, no duration) is no resource use: an entry may carry
    figures only (docs/rules.md#cost-resource-row-optional). A row with a duration but
    no resource, or a resource but no duration, is refused naming the missing part.
    """

    resource = forms.ChoiceField(choices=(), required=False)
    quantity = forms.IntegerField(min_value=1, max_value=1_000_000, initial=1, required=False)
    duration = forms.CharField(max_length=40, required=False,
                               help_text="E.g. 1h 30m, 20m, 45s, 2d.")

    def __init__(self, *args, resources: list[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["resource"].choices = [("", "—")] + [(name, name) for name in resources]

    def clean_duration(self) -> int | None:
        text = self.cleaned_data["duration"].strip()
        if not text:
            return None
        try:
            return units.parse_duration(text)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean(self) -> dict:
        data = super().clean()
        resource = data.get("resource")
        typed_duration = bool(self.data.get(self.add_prefix("duration"), "").strip())
        if not resource:
            if typed_duration:
                self.add_error("resource", "Choose the resource that ran for this duration, "
                                           "or clear the row's duration.")
            return data
        if "duration" in data and data["duration"] is None:
            self.add_error("duration", "Enter how long the resource ran (e.g. 1h 30m).")
        if "quantity" in data and data["quantity"] is None:
            self.add_error("quantity", "Enter how many of the resource ran (1 or more).")
        return data

    def resource_use(self) -> services.ResourceUse | None:
        """The row as a ResourceUse, or None for a row left empty."""
        if not self.cleaned_data or not self.cleaned_data.get("resource"):
            return None
        return services.ResourceUse(self.cleaned_data["resource"], self.cleaned_data["quantity"],
                                    self.cleaned_data["duration"])


class BaseResourceRowFormSet(forms.BaseFormSet):
    """Resource rows are not stored objects, so every row is an extra row (INITIAL_FORMS=0)
    that may stay empty; an unbound formset shows its initial rows, or one empty row."""

    def initial_form_count(self) -> int:
        if self.is_bound:
            return super().initial_form_count()
        return 0

    def total_form_count(self) -> int:
        if self.is_bound:
            return super().total_form_count()
        return min(max(len(self.initial or ()), 1), self.max_num)


ResourceRowFormSet = forms.formset_factory(
    ResourceRowForm, formset=BaseResourceRowFormSet, extra=0, max_num=50, validate_max=True
)


def resource_formset(data=None, initial=None) -> forms.BaseFormSet:
    """The resource rows of an entry form, offering every resource that has a rate.

    Unbound, it renders `initial` (a list of row dicts) or one empty row, all as extra forms
    (docs/rules.md#cost-resource-row-optional).
    """
    names = list(
        ResourceRate.objects.order_by("resource").values_list("resource", flat=True).distinct()
    )
    return ResourceRowFormSet(data, initial=initial, prefix="resources",
                              form_kwargs={"resources": names})


class ResourceRateForm(forms.ModelForm):
    """A new rate row (a rate change takes a new effective date)."""

    class Meta:
        model = ResourceRate
        fields = ("resource", "unit", "usd", "approximate", "effective_date")
        field_classes = {"effective_date": InRangeDateField}
        widgets = {"effective_date": forms.DateInput(attrs={"type": "date"})}
