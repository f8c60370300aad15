"""The policies file (a CLAUDE.md-style rules file): parse, import and export.

Rule: docs/rules.md#kb-policies-file (Layer 1, the numbered policies file):

    # Team rules
    ## Key Policies (from past failures)
    1. **Follow docs first** — Read procedures before acting. Don't assume.
    ## Where each policy came from
    - Policy 3 ← 2026-01-14: RL model "deployed" but never loaded; …

Origin lines are kept as written. A postmortem linked to a policy in Scarlog is exported as
one more origin line ending "(postmortem <id>)", which the importer reads back as the link,
so export → import → export is stable and the real file round-trips byte for byte.
"""
import re
import uuid
from dataclasses import dataclass, field

from django.db import transaction

from incidents.models import Postmortem
from knowledge.kb_yaml import ImportResult
from knowledge.models import Policy, PolicyOrigin

TITLE = "# Team rules"
POLICIES_HEADING = "## Key Policies (from past failures)"
ORIGINS_HEADING = "## Where each policy came from"
POLICY_RE = re.compile(r"^(\d+)\. \*\*(.+?)\*\* — (.+)$")
ORIGIN_RE = re.compile(r"^- Policy (\d+) ← (.+)$")
LINK_RE = re.compile(r"^(?P<date>\d{4}-\d{2}-\d{2}): (?P<summary>.*) \(postmortem "
                     r"(?P<id>[0-9a-f-]{36})\)$")


class PolicyFileError(ValueError):
    """The policies file does not follow the format; names the line (1-based) and why."""

    def __init__(self, line: int, message: str):
        self.line = line
        super().__init__(f"line {line}: {message}")


@dataclass
class ParsedPolicy:
    """A policy as written: number, bold title, body, origin texts and linked postmortem ids."""

    number: int
    title: str
    body: str
    origins: list[str] = field(default_factory=list)
    postmortem_ids: list[str] = field(default_factory=list)


def parse_policies(text: str) -> list[ParsedPolicy]:
    """The policies of `text` in number order; PolicyFileError names the first bad line.

    Numbers must run 1, 2, 3 … without gaps; an origin line must name a listed policy.
    Lines outside a list (blank lines, the headings) are allowed; any other text under a
    heading is refused so nothing in the file is silently dropped.
    """
    section, policies = None, {}
    for number, line in enumerate(text.splitlines(), start=1):
        if "\x00" in line:
            raise PolicyFileError(number, "contains a NUL character.")
        if not line.strip():
            continue
        if line.startswith("# ") and section is None:
            continue
        if line == POLICIES_HEADING:
            section = "policies"
            continue
        if line == ORIGINS_HEADING:
            if section != "policies":
                raise PolicyFileError(number, f"'{ORIGINS_HEADING}' must follow "
                                      f"'{POLICIES_HEADING}'.")
            section = "origins"
            continue
        if section == "policies" and (match := POLICY_RE.match(line)):
            policy_number = int(match[1])
            if policy_number != len(policies) + 1:
                raise PolicyFileError(number, f"policy {policy_number} is out of order; "
                                      f"expected {len(policies) + 1}.")
            policies[policy_number] = ParsedPolicy(policy_number, match[2].strip(),
                                                   match[3].strip())
            continue
        if section == "origins" and (match := ORIGIN_RE.match(line)):
            policy = policies.get(int(match[1]))
            if policy is None:
                raise PolicyFileError(number, f"policy {match[1]} is not in the list above.")
            origin = match[2].strip()
            linked = LINK_RE.match(origin)
            if linked:
                policy.postmortem_ids.append(str(uuid.UUID(linked["id"])))
            else:
                policy.origins.append(origin)
            continue
        expected = {None: f"'{POLICIES_HEADING}'",
                    "policies": "'N. **Title** — rule'",
                    "origins": "'- Policy N ← date: what happened'"}[section]
        raise PolicyFileError(number, f"expected {expected}, found {line[:80]!r}.")
    if not policies:
        raise PolicyFileError(1, f"no policies found under '{POLICIES_HEADING}'.")
    return list(policies.values())


@transaction.atomic
def import_policies(text: str) -> ImportResult:
    """Replace the policies with those of `text`, matched by number (all or nothing).

    A policy's origins are replaced by the file's; its postmortem links by the file's
    "(postmortem <id>)" lines when there are any (an unknown id raises PolicyFileError).
    Policies numbered beyond the file's last are kept; the importer never deletes.
    """
    parsed = parse_policies(text)
    result = ImportResult()
    for item in parsed:
        known = {str(pk) for pk in Postmortem.objects.filter(
            pk__in=item.postmortem_ids).values_list("pk", flat=True)}
        missing = [pm_id for pm_id in item.postmortem_ids if pm_id not in known]
        if missing:
            raise PolicyFileError(0, f"policy {item.number} links postmortem {missing[0]}, "
                                  "which is not in Scarlog.")
        policy = Policy.objects.filter(number=item.number).first()
        if policy is None:
            policy = Policy.objects.create(number=item.number, title=item.title, body=item.body)
            result.created += 1
            changed = True
        else:
            old_origins = list(policy.origins.values_list("text", flat=True))
            changed = (policy.title, policy.body, old_origins) != (item.title, item.body,
                                                                   item.origins)
            if item.postmortem_ids:
                linked = sorted(str(pk) for pk in policy.postmortems.values_list("pk", flat=True))
                changed = changed or linked != sorted(item.postmortem_ids)
            if changed:
                policy.title, policy.body = item.title, item.body
                policy.save()
                result.updated += 1
            else:
                result.unchanged += 1
        if changed:
            policy.origins.all().delete()
            PolicyOrigin.objects.bulk_create(
                PolicyOrigin(policy=policy, text=text_, position=index)
                for index, text_ in enumerate(item.origins))
            if item.postmortem_ids:
                policy.postmortems.set(item.postmortem_ids)
    return result


def origin_line(postmortem: Postmortem) -> str:
    """The origin text written for a linked postmortem: "<date>: <summary> (postmortem <id>)".

    The date is the incident's (occurred_utc), else the postmortem's creation, in UTC.
    """
    when = postmortem.occurred_utc or postmortem.created_utc
    summary = " ".join(postmortem.summary.split()) or "(no summary yet)"
    return f"{when:%Y-%m-%d}: {summary} (postmortem {postmortem.pk})"


def export_policies(policies=None, hidden=frozenset()) -> str:
    """The policies (default all) as the policies-file Markdown text; postmortems whose ids
    are in `hidden` are not named (docs/rules.md#private-postmortems)."""
    if policies is None:
        policies = Policy.objects.all()
    policies = list(policies.prefetch_related("origins", "postmortems"))
    lines = [TITLE, "", POLICIES_HEADING, ""]
    for policy in policies:
        lines.append(f"{policy.number}. **{policy.title}** — {policy.body}")
    lines += ["", ORIGINS_HEADING, ""]
    for policy in policies:
        for origin in policy.origins.all():
            lines.append(f"- Policy {policy.number} ← {origin.text}")
        for pm in sorted((pm for pm in policy.postmortems.all() if pm.pk not in hidden),
                         key=lambda pm: (pm.created_utc, str(pm.pk))):
            lines.append(f"- Policy {policy.number} ← {origin_line(pm)}")
    return "\n".join(lines) + "\n"
