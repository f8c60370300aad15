"""Forms for the draft postmortem page and the amendment form.

These forms only refuse what cannot be stored (an unparseable time, an unknown root
cause, a value longer than its column). The template's rules (counts, SHAs, word
limits) are not form errors: a draft may be incomplete, and incidents.template_rules
reports them beside each field instead.
"""

from django import forms

from core.forms import UTC_INPUT_HELP, MinutesField, USDField, UsersField, UTCDateTimeField
from core.web_links import link_problem, validate_web_link
from incidents import fields, vocabulary
from incidents.models import (
    Amendment,
    ContributingFactor,
    Postmortem,
    QuestionSet,
    Reference,
    Section,
    Template,
    TimelineEntry,
)

# Every autosaved input of the template's fields, in template order (the field registry).
AUTOSAVE_FIELDS = fields.input_names()


IMPACT_FIELD_CLASSES = {
    "impact_usd": USDField,
    "impact_users": UsersField,
    "impact_duration_minutes": MinutesField,
}


class PostmortemFieldForm(forms.ModelForm):
    """The scalar fields of a draft; the page saves them one at a time as they change.

    An input the registry marks `web_link` (the fix's ticket link) is empty or an http(s)
    link; anything else is refused naming it (docs/rules.md#input-links).
    """

    class Meta:
        model = Postmortem
        fields = AUTOSAVE_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for item in fields.inputs():
            if item.web_link and item.name in self.fields:
                self.fields[item.name].validators.append(validate_web_link)


def field_form(name: str, data, instance: Postmortem) -> PostmortemFieldForm:
    """A PostmortemFieldForm bound to `data` that validates and saves only the field `name`.

    Raises KeyError for a name outside AUTOSAVE_FIELDS. (Django's CharField already
    refuses NUL characters, which PostgreSQL cannot store.)
    """
    return _FIELD_FORM_CLASSES[name](data, instance=instance)


_FIELD_FORM_CLASSES = {
    name: forms.modelform_factory(Postmortem, form=PostmortemFieldForm, fields=[name],
                                  field_classes=IMPACT_FIELD_CLASSES)
    for name in AUTOSAVE_FIELDS
}


class EventTimeField(UTCDateTimeField):
    """The event time; its messages name the field ("Event occurred: …")."""

    def to_python(self, value):
        try:
            return super().to_python(value)
        except forms.ValidationError as exc:
            raise forms.ValidationError(f"Event occurred: {exc.messages[0]}") from exc


class EventForm(forms.Form):
    """The event a postmortem is about: when it happened (UTC), which trigger fired, and
    how severe it was.

    Rule: docs/rules.md#trigger-conditions: the active TriggerCondition rows (admins keep
    them); one that needs a reason ("other") is checked by incidents.services.clean_event,
    which names the field. Severity (docs/rules.md#severity): an active level or "" (not
    rated); `current_severity`, the record's own level, stays offered even once retired so
    that saving the event does not drop it.
    """

    occurred_utc = EventTimeField(
        label="Event occurred (UTC)", required=True, help_text=UTC_INPUT_HELP,
        error_messages={"required": "Event occurred: give the time the event happened (UTC)."})
    trigger = forms.ChoiceField(
        choices=(), label="Trigger",
        error_messages={
            "required": "Trigger: choose one of the conditions, or Other with a reason.",
            "invalid_choice": "Trigger: %(value)s is not one of the conditions."})
    trigger_reason = forms.CharField(label="Reason (for “Other”)", required=False,
                                     max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    severity = forms.ChoiceField(
        choices=(), required=False, label="Severity",
        error_messages={"invalid_choice": "Severity: %(value)s is not one of the levels."})

    def __init__(self, *args, current_severity: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["trigger"].choices = [("", "— choose —"), *vocabulary.trigger_choices()]
        levels = vocabulary.severity_choices()
        if current_severity and current_severity not in dict(levels):
            label = vocabulary.severity_labels().get(current_severity, current_severity)
            levels.append((current_severity, f"{label} (retired)"))
        self.fields["severity"].choices = [("", "— not rated yet —"), *levels]


class NewPostmortemForm(EventForm):
    """Starting a draft: the event, and which template it follows (fixed once it exists)."""

    template = forms.ChoiceField(choices=Template.choices, initial=Template.SEVEN_FIELD,
                                 required=False, label="Template")
    question_set = forms.ChoiceField(
        choices=(), required=False, label="Scan questions",
        error_messages={"invalid_choice": "Scan questions: %(value)s is not a question set "
                                          "in use."})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["question_set"].choices = vocabulary.question_set_choices()
        default = QuestionSet.objects.filter(is_default=True).values_list("slug", flat=True)
        self.fields["question_set"].initial = next(iter(default), "")


class TimelineEntryForm(forms.ModelForm):
    """One timeline row: UTC time, event, trace_id."""

    utc = UTCDateTimeField(required=False, label="Time (UTC)")

    class Meta:
        model = TimelineEntry
        fields = ("utc", "event", "trace_id")


class ContributingFactorForm(forms.ModelForm):
    """One contributing factor bullet and its substitution-test verdict."""

    class Meta:
        model = ContributingFactor
        fields = ("text", "substitution")
        labels = {"text": "Contributing factor", "substitution": "Substitution test"}


class ReferenceForm(forms.ModelForm):
    """One typed reference: kind and value. The value of a PR or other link is empty or
    an http(s) link, refused otherwise naming it (docs/rules.md#input-links); the other
    kinds' shapes are template gaps (incidents.template_rules.check_reference)."""

    class Meta:
        model = Reference
        fields = ("kind", "value")

    def clean(self):
        cleaned = super().clean()
        kind, value = cleaned.get("kind"), cleaned.get("value")
        if kind in Reference.LINK_KINDS and value and (problem := link_problem(value)):
            self.add_error("value", f"A {Reference.Kind(kind).label} {problem}.")
        return cleaned


ROW_FORMS = {
    "timeline": TimelineEntryForm,
    "factors": ContributingFactorForm,
    "references": ReferenceForm,
}


class AmendmentForm(forms.ModelForm):
    """The "Add amendment" form: a Markdown note (time and author are recorded), the
    long-form section it adds to (blank: a general note) and, for Impact, restated figures.
    """

    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=20_000,
        strip=True,
        label="Amendment note (Markdown)",
    )
    section = forms.ChoiceField(
        choices=[("", "General note"), *Section.choices], required=False, label="Adds to"
    )

    class Meta:
        model = Amendment
        fields = ("section", "note", "impact_usd", "impact_users", "impact_duration_minutes")
        field_classes = IMPACT_FIELD_CLASSES

    def clean(self):
        """Figures belong to an Impact amendment; naming the field otherwise."""
        cleaned = super().clean()
        if cleaned.get("section") != Section.IMPACT:
            for name in IMPACT_FIELD_CLASSES:
                if cleaned.get(name) is not None:
                    self.add_error(name, "Impact figures go with an amendment that adds to "
                                         "Impact; choose Impact in \u201cAdds to\u201d.")
        return cleaned
