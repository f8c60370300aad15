"""The shipped rule-type action items as an agent-readable rules file.

Rule: docs/rules.md#action-rules-export, in the policies-file format of
docs/rules.md#kb-policies-file: numbered imperative rules under "## Key Policies (from past
failures)", then "## Where each policy came from" tracing each to its incident.
Only items of type rule that shipped (with their rules-file evidence) are written, oldest
postmortem first, so numbers stay stable as rules are added.
"""
from incidents.models import ActionItem


def rules_markdown(domain: str = "") -> str:
    """The rules file text; `domain` keeps only postmortems classified in that domain."""
    items = ActionItem.objects.filter(kind=ActionItem.Kind.RULE, status=ActionItem.Status.SHIPPED)
    if domain:
        items = items.filter(postmortem__classification__domain=domain)
    items = list(items.select_related("postmortem").order_by("postmortem__created_utc", "id"))
    title = f"# Team rules ({domain})" if domain else "# Team rules"
    lines = [title, "", "## Key Policies (from past failures)", ""]
    for number, item in enumerate(items, start=1):
        lines.append(f"{number}. **{item.description}** — see `{item.evidence['rules_file']}`.")
    if not items:
        lines.append("No rule-type action item has shipped yet.")
    lines += ["", "## Where each policy came from", ""]
    for number, item in enumerate(items, start=1):
        pm = item.postmortem
        lines.append(f"- Policy {number} ← {pm.created_utc:%Y-%m-%d}: {pm.summary} "
                     f"(postmortem {pm.pk})")
    return "\n".join(lines) + "\n"
