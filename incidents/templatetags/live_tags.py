"""Template helpers of the live meeting page (docs/rules.md#live-feed)."""
from django import template

from incidents import template_rules

register = template.Library()


@register.simple_tag
def agenda_open(statuses, pending_marks) -> dict:
    """{"empty": [FieldStatus], "pending": [(key, label)]}: the agenda's fields still to
    fill (incomplete and not marked), and those marked pending trace review, in order."""
    marked = set(pending_marks or {})
    return {
        "empty": [s for s in statuses if not s.complete and s.key not in marked],
        "pending": [(key, template_rules.FIELD_LABELS.get(key, key))
                    for key in (pending_marks or {})],
    }
