"""The feedback-loop panel shown on every postmortem page (draft and final)."""
from django import template

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
    their summed cost log figures (USD), unlink buttons and the "link a postmortem" box."""
    postmortems = list(postmortems)
    return {
        "request": context["request"], "csrf_token": context.get("csrf_token"),
        "can_write": context.get("can_write", False),
        "kind": kind, "key": key, "postmortems": postmortems,
        "costs": linked_costs([pm.pk for pm in postmortems]) if postmortems else None,
        "recent_postmortems": recent_postmortems(),
    }
