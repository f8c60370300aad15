"""The subscription form of the admins' webhooks page (docs/rules.md#webhook-subscriptions)."""
from django import forms

from core.webhooks.events import EventType
from core.webhooks.models import WebhookSubscription
from core.webhooks.subscriptions import NAME_LIMIT, URL_LIMIT


class SubscriptionForm(forms.Form):
    """name, url (http/https), format and event_types (checkboxes); the service checks
    them again and its SubscriptionError is shown on the field it names."""

    name = forms.CharField(max_length=NAME_LIMIT, label="Name")
    # A CharField, not a URLField: the link rule (core.web_links) decides, with its message.
    url = forms.CharField(max_length=URL_LIMIT, label="URL",
                          help_text="Where to POST: an http:// or https:// address, such as "
                                    "a Slack or Microsoft Teams incoming-webhook URL.")
    format = forms.ChoiceField(choices=WebhookSubscription.Format.choices, label="Format",
                               initial=WebhookSubscription.Format.JSON)
    event_types = forms.MultipleChoiceField(choices=EventType.choices, label="Events",
                                            widget=forms.CheckboxSelectMultiple)
