"""The feedback-loop panel shown on every postmortem page (draft and final)."""
from django import template

from incidents import visibility
from knowledge.links import linked_costs, recent_postmortems
from knowledge.loop import loop_for
from knowledge.models import KnowledgeEntry, Policy
from runbooks.models import Runbook

register = template.Library()


@register.inclusion_tag("knowledge/partials/loop_panel.html", takes_context=True)
def feedback_loop(context, postmortem):
    """The seven loop steps of `postmortem`, with forms to link a pattern, policy, runbook."""
    steps = loop_for(postmortem)
    return {
        "request": context["request"], "csrf_token": context.get("csrf_token"),
        "can_write": context.get("can_write", False),
        "pm": postmortem, "steps": steps, "done": sum(1 for step in steps if step.done),
        "choices": [
            ("knowledge", "pattern or anti-pattern",
             [(entry.key, f"{entry.key}: {entry.name}") for entry in
              KnowledgeEntry.objects.only("key", "name", "kind", "position")]),
            ("policy", "policy", [(policy.number, f"{policy.number}. {policy.title}")
                                  for policy in Policy.objects.only("number", "title")]),
            ("runbook", "runbook", [(runbook.key, f"{runbook.key}: {runbook.title}")
                                    for runbook in Runbook.objects.only("key", "title", "path")]),
        ],
    }


@register.inclusion_tag("knowledge/partials/linked_postmortems.html", takes_context=True)
def linked_postmortems(context, kind, key, postmortems):
    """The postmortems linked to a target (`kind` knowledge, policy or runbook; `key` its id),
    their summed cost log figures (USD), unlink buttons and the "link a postmortem" box.
    Only the postmortems the signed-in user may read are named or summed
    (docs/rules.md#private-postmortems)."""
    user = context["request"].user
    hidden = visibility.hidden_ids(user)
    postmortems = [pm for pm in postmortems if pm.pk not in hidden]
    return {
        "request": context["request"], "csrf_token": context.get("csrf_token"),
        "can_write": context.get("can_write", False),
        "kind": kind, "key": key, "postmortems": postmortems,
        "costs": linked_costs([pm.pk for pm in postmortems]) if postmortems else None,
        "recent_postmortems": recent_postmortems(user),
    }


@register.filter
def hours(value) -> str:
    """A duration in hours as people read it: "45 min", "5.5 h", "3.2 d"; "—" for None."""
    if value is None:
        return "—"
    if value < 1:
        return f"{round(value * 60)} min"
    if value < 48:
        return f"{value:.1f} h".replace(".0 h", " h")
    return f"{value / 24:.1f} d".replace(".0 d", " d")


@register.filter
def share(value) -> str:
    """A share 0..1 as a whole percentage ("67%"); "—" for None."""
    return "—" if value is None else f"{round(value * 100)}%"


@register.inclusion_tag("knowledge/partials/recurrence_links.html", takes_context=True)
def recurrence_links(context, postmortem):
    """The "recurred after the fix" box of a postmortem page, both ways (only the
    postmortems the signed-in user may read)."""
    from knowledge.insights import recurrence_links as links

    hidden = visibility.hidden_ids(context["request"].user)
    found = links(postmortem)
    return {"pm": postmortem, **{
        key: [r for r in pairs if r.earlier.pk not in hidden and r.later.pk not in hidden]
        for key, pairs in found.items()}}
