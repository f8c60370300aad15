"""The "Who can read this" panel of a postmortem page (docs/rules.md#private-postmortems)."""
from django import template

from incidents import visibility

register = template.Library()


@register.inclusion_tag("incidents/partials/access_panel.html", takes_context=True)
def access_panel(context, postmortem):
    """The groups `postmortem` is restricted to, its access history, and (for an editor)
    the form choosing among the groups they are a member of."""
    request = context["request"]
    current = visibility.current_groups(postmortem)
    return {
        "request": request, "csrf_token": context.get("csrf_token"),
        "can_write": context.get("can_write", False), "pm": postmortem,
        "current": current,
        "current_ids": {group.pk for group in current},
        "choices": list(visibility.choosable_groups(request.user)),
        "changes": list(postmortem.access_changes.select_related("by").order_by("-id")[:20]),
    }
