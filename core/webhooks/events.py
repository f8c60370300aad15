"""The event types a webhook subscription can pick (docs/rules.md#webhook-events)."""
from django.db import models


class EventType(models.TextChoices):
    """An event's type as sent in the payload's "type" and shown on the subscription form."""

    POSTMORTEM_OPENED = "postmortem.opened", "Postmortem opened"
    POSTMORTEM_FINALIZED = "postmortem.finalized", "Postmortem finalized"
    POSTMORTEM_AMENDED = "postmortem.amended", "Postmortem amended"
    MEETING_SCHEDULED = "meeting.scheduled", "Meeting scheduled"
    ACTION_ITEM_ADDED = "action_item.added", "Action item added"
    ACTION_ITEM_OVERDUE = "action_item.overdue", "Action item overdue"
    ACTION_ITEM_SHIPPED = "action_item.shipped", "Action item shipped"
    ACTION_ITEM_REOPENED = "action_item.reopened", "Action item re-opened"
    GATE_CLOSED = "gate.closed", "Planning gate closed"
    GATE_OPENED = "gate.opened", "Planning gate opened"
    GATE_OVERRIDDEN = "gate.overridden", "Planning gate overridden"
