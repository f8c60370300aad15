"""The post-mortem feedback loop: seven steps per postmortem, each linked or missing.

Rule: docs/rules.md#loop-steps: "incident →
post-mortem → pattern/anti-pattern → policy → runbook → code change → CI gate. Skip any
step and the loop has a gap." In Scarlog a step is present when:

    incident     a mishap entry of the cost log is linked (the incident has its price)
    postmortem   the postmortem is finalized
    pattern      a knowledge-base pattern, anti-pattern or decision tree is linked
    policy       a policy is linked
    runbook      a runbook is linked
    code change  the fix commit SHA is recorded (a fix "no change; documented and
                 deferred" is no code change: the step is missing, and says it was deferred)
    CI gate      a test or hook action item has shipped (with its evidence)
"""
from dataclasses import dataclass, field

from django.db.models import (
    BooleanField,
    Case,
    Exists,
    ExpressionWrapper,
    IntegerField,
    OuterRef,
    Q,
    Value,
    When,
)
from django.urls import reverse

from costlog.services import current_entries
from incidents.models import DEFERRED_FIX_TEXT, ActionItem, Postmortem, fix_is_deferred
from knowledge.models import KnowledgeEntry, Policy
from runbooks.models import Runbook

STEPS = (
    ("incident", "Incident", "no mishap entry in the cost log is linked"),
    ("postmortem", "Postmortem", "still a draft"),
    ("pattern", "Pattern / anti-pattern", "no knowledge-base entry is linked"),
    ("policy", "Policy", "no policy is linked"),
    ("runbook", "Runbook", "no runbook is linked"),
    ("code_change", "Code change", "no fix commit SHA is recorded"),
    ("ci_gate", "CI gate", "no test or hook action item has shipped"),
)
CI_GATE_KINDS = (ActionItem.Kind.TEST, ActionItem.Kind.HOOK)


@dataclass
class LoopStep:
    """One step for one postmortem: done or not, its links [(label, url)], or why missing."""

    key: str
    label: str
    done: bool
    missing_reason: str
    links: list[tuple[str, str]] = field(default_factory=list)


def with_loop_steps(queryset, single: bool = False):
    """`queryset` of postmortems annotated with step_<key> booleans and loop_missing (0–7),
    all computed in SQL (one query, any number of postmortems). `single`: the queryset
    holds one postmortem, so each link is looked up by index rather than by hashing all."""
    # "id IN (subquery)" rather than a correlated EXISTS: PostgreSQL hashes each linked
    # set once (hashed SubPlan) instead of probing an index once per postmortem.
    def linked(ids):
        if single:
            return Exists(ids.filter(postmortem_id=OuterRef("pk")))
        return ExpressionWrapper(Q(pk__in=ids), output_field=BooleanField())

    flags = {
        "step_incident": linked(current_entries().filter(postmortem__isnull=False)
                                .values("postmortem_id")),
        "step_postmortem": ExpressionWrapper(Q(status=Postmortem.Status.FINAL),
                                             output_field=BooleanField()),
        "step_pattern": linked(KnowledgeEntry.postmortems.through.objects
                               .values("postmortem_id")),
        "step_policy": linked(Policy.postmortems.through.objects.values("postmortem_id")),
        "step_runbook": linked(Runbook.postmortems.through.objects.values("postmortem_id")),
        "step_code_change": ExpressionWrapper(
            ~Q(fix_commit_sha="") & ~Q(fix_commit_sha=DEFERRED_FIX_TEXT)
            & ~Q(fix_description=DEFERRED_FIX_TEXT), output_field=BooleanField()),
        "step_ci_gate": linked(ActionItem.objects.filter(
            kind__in=CI_GATE_KINDS, status=ActionItem.Status.SHIPPED).values("postmortem_id")),
    }
    missing = Value(0)
    for name in flags:
        missing = missing + Case(When(**{name: True}, then=Value(0)), default=Value(1),
                                 output_field=IntegerField())
    return queryset.annotate(**flags).annotate(loop_missing=missing)


def loop_for(postmortem: Postmortem) -> list[LoopStep]:
    """The seven steps of `postmortem`, with links to what each step points at."""
    pm = with_loop_steps(Postmortem.objects.filter(pk=postmortem.pk), single=True).get()
    links = {
        "incident": [(entry.title, reverse("costlog:entry_detail", args=[entry.pk]))
                     for entry in current_entries().filter(postmortem=pm)],
        "postmortem": [(f"finalized {pm.finalized_utc:%Y-%m-%d %H:%M} UTC", "")]
        if pm.finalized_utc else [],
        "pattern": [(f"{entry.key}: {entry.name}", entry.get_absolute_url())
                    for entry in pm.knowledge_entries.all()],
        "policy": [(f"Policy {policy.number}: {policy.title}", policy.get_absolute_url())
                   for policy in pm.policies.all()],
        "runbook": [(f"{runbook.key}: {runbook.title}", runbook.get_absolute_url())
                    for runbook in pm.runbooks.all()],
        "code_change": [(f"commit {pm.fix_commit_sha[:12]}", "")] if pm.step_code_change
        else [],
        "ci_gate": [(f"{item.get_kind_display()}: {item.description}", "")
                    for item in pm.action_items.filter(kind__in=CI_GATE_KINDS,
                                                       status=ActionItem.Status.SHIPPED)],
    }
    reasons = {key: reason for key, _label, reason in STEPS}
    if fix_is_deferred(pm.fix_commit_sha, pm.fix_description):
        reasons["code_change"] = (f"the fix was deferred ({DEFERRED_FIX_TEXT}"
                                  + (f"; ticket {pm.fix_ticket_link}" if pm.fix_ticket_link
                                     else "") + ")")
    return [LoopStep(key, label, getattr(pm, f"step_{key}"), reasons[key], links[key])
            for key, label, _reason in STEPS]


def loop_gaps(postmortems=None):
    """Postmortems with at least one missing step, worst first (most missing steps, then
    newest): a queryset annotated as with_loop_steps()."""
    rows = Postmortem.objects.all() if postmortems is None else postmortems
    return (with_loop_steps(rows).filter(loop_missing__gt=0)
            .order_by("-loop_missing", "-created_utc", "pk"))


def missing_labels(postmortem) -> list[str]:
    """Labels of the steps an annotated postmortem (from with_loop_steps) is missing; a
    deferred fix's code-change step reads "Code change (deferred)" (it is missing, and
    says why: docs/rules.md#loop-steps)."""
    deferred = fix_is_deferred(postmortem.fix_commit_sha, postmortem.fix_description)
    return [f"{label} (deferred)" if key == "code_change" and deferred else label
            for key, label, _reason in STEPS if not getattr(postmortem, f"step_{key}")]
