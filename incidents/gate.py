"""The planning gate: no new work in a domain while a finalized postmortem there has open
action items.

Rule: docs/rules.md#gate-blocks ("refuses new work in a previously-failed
domain until prior postmortem action items are verified done"). check_gate() answers with
the blocking items; an explicit GateOverride (who, why, until when) lets work through
without hiding them. answer_gate() backs `manage.py gate` and GET /api/gate/<domain>: it
fails closed, refusing a domain no postmortem is classified in (UnknownDomainError)
unless the caller allows unknown domains (docs/rules.md#gate-unknown-domain).
"""
import difflib
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from core.record_types import shown
from incidents import visibility
from incidents.evidence import describe_missing
from incidents.models import ActionItem, GateOverride, Postmortem, PostmortemDomain
from incidents.services import clean_domain, known_domains


class GateOverrideError(ValueError):
    """An override was refused; `field` names the input at fault."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


class UnknownDomainError(LookupError):
    """No postmortem is classified in `domain` (docs/rules.md#gate-unknown-domain).

    `known_domains` lists the domains that are (sorted slugs); the message names them and,
    when one is close, the likely intended one. `field` is "domain".
    """

    field = "domain"

    def __init__(self, domain: str, known: list[str]):
        self.domain = domain
        self.known_domains = known
        close = difflib.get_close_matches(domain, known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        listed = ", ".join(known) if known else "none yet"
        super().__init__(
            f"Unknown domain {shown(domain)}: no postmortem is classified in it, so the gate "
            f"refuses to answer.{hint} Known domains: {listed}. Pass allow_unknown to "
            f"treat it as a new domain (open).")


@dataclass(frozen=True)
class BlockingItem:
    """An open action item of a finalized postmortem in the domain."""

    item: ActionItem

    def as_dict(self) -> dict:
        item = self.item
        return {
            "postmortem": str(item.postmortem_id),
            "postmortem_summary": item.postmortem.summary,
            "action_item": item.pk,
            "type": item.kind,
            "description": item.description,
            "owner": item.owner.get_username(),
            "due": item.due_date.isoformat(),
            "status": item.status,
            "missing_evidence": describe_missing(item.kind),
        }


# At most this many blocking items are listed in one answer (all are counted).
BLOCKING_LISTED = 100


@dataclass(frozen=True)
class GateResult:
    """The gate's answer for a domain: open or not, why, blocking items, active override."""

    domain: str
    known_domain: bool
    blocking: list[BlockingItem]
    override: GateOverride | None
    blocking_count: int = 0
    # Restricted postmortems the caller may not read that hold blocking items: counted in
    # blocking_count, never listed nor named (docs/rules.md#private-postmortems).
    restricted_postmortems: int = 0

    @property
    def restricted_note(self) -> str:
        """"1 restricted postmortem" (or "N restricted postmortems"); "" when none."""
        n = self.restricted_postmortems
        return f"{n} restricted postmortem{'s' if n != 1 else ''}" if n else ""

    @property
    def open(self) -> bool:
        return not self.blocking_count or self.override is not None

    @property
    def message(self) -> str:
        if not self.known_domain:
            return (f"Gate open: no postmortem is classified in domain {self.domain!r} "
                    "(unknown domain).")
        if not self.blocking_count:
            return f"Gate open: every finalized postmortem in {self.domain!r} is closed out."
        count = f"{self.blocking_count} open action item{'s' if self.blocking_count != 1 else ''}"
        if self.restricted_postmortems:
            count += f" (from {self.restricted_note} among them)"
        if self.override is not None:
            return (f"Gate open by override until {self.override.until_utc:%Y-%m-%d %H:%M} UTC "
                    f"({self.override.created_by.get_username()}: {self.override.reason}); "
                    f"{count} still block {self.domain!r}.")
        return f"Gate closed: {count} from finalized postmortems block {self.domain!r}."

    def as_dict(self) -> dict:
        override = None
        if self.override is not None:
            override = {"by": self.override.created_by.get_username(),
                        "reason": self.override.reason,
                        "until_utc": self.override.until_utc.isoformat()}
        return {"domain": self.domain, "open": self.open, "known_domain": self.known_domain,
                "message": self.message, "override": override,
                "blocking_count": self.blocking_count,
                "restricted_postmortems": self.restricted_postmortems,
                "restricted": self.restricted_note,
                "blocking": [blocking.as_dict() for blocking in self.blocking]}


# The columns BlockingItem.as_dict() reads.
BLOCKING_COLUMNS = ("kind", "description", "due_date", "status", "owner__username",
                    "postmortem__summary")


def blocking_items(domain: str):
    """The open action items of finalized postmortems in `domain` (a slug), earliest due
    first, with their postmortem and owner: a QuerySet.

    PostgreSQL reads ActionItem.gate_domain, which its triggers keep equal to the
    postmortem's domain once the postmortem is final, from an index of the open items:
    the cost follows the domain's blocking items, not the number of postmortems. The
    embedded SQLite demo has no triggers and joins to the postmortem and its
    classification instead (the same rule).
    """
    items = ActionItem.objects.filter(status__in=ActionItem.OPEN_STATUSES)
    if connection.vendor == "postgresql":
        items = items.filter(gate_domain=domain)
    else:
        items = items.filter(postmortem__status=Postmortem.Status.FINAL,
                             postmortem__classification__domain=domain)
    return items.select_related("postmortem", "owner").order_by("due_date", "id")


def check_gate(domain: str, now: datetime | None = None, user=None) -> GateResult:
    """The gate for `domain` (a slug; DomainError otherwise) at `now` (UTC), as `user`
    (None: the operator's CLI, who reads no restricted postmortem) may see it.

    `blocking_count` counts every open item, restricted postmortems' included; `blocking`
    lists the first BLOCKING_LISTED by due date of the postmortems `user` may read, so the
    answer stays small when a domain has thousands open; the others are only counted, as
    `restricted_postmortems` (docs/rules.md#private-postmortems).
    """
    domain = clean_domain(domain)
    now = now or timezone.now()
    every = blocking_items(domain).only(*BLOCKING_COLUMNS)
    hidden = visibility.hidden_ids(user)
    items = every.exclude(postmortem_id__in=hidden)
    restricted = (every.filter(postmortem_id__in=hidden).order_by()
                  .values("postmortem_id").distinct().count() if hidden else 0)
    override = (
        GateOverride.objects.filter(domain=domain, until_utc__gt=now)
        .select_related("created_by").order_by("-until_utc").first()
    )
    known = PostmortemDomain.objects.filter(domain=domain).exists()
    listed = [BlockingItem(item) for item in items[:BLOCKING_LISTED]]
    count = len(listed) if len(listed) < BLOCKING_LISTED else items.count()
    if restricted:
        count += every.filter(postmortem_id__in=hidden).count()
    return GateResult(domain, known, listed, override, count, restricted)


def answer_gate(domain: str, allow_unknown: bool = False,
                now: datetime | None = None, user=None) -> GateResult:
    """The gate for a caller (CLI, API): check_gate(), failing closed on an unknown domain.

    Raises DomainError for a malformed domain and UnknownDomainError (with the known
    domains) for one no postmortem is classified in, unless `allow_unknown` is true, when
    the answer is check_gate()'s ("Gate open … (unknown domain)").
    See docs/rules.md#gate-unknown-domain.
    """
    result = check_gate(domain, now=now, user=user)
    if not result.known_domain and not allow_unknown:
        raise UnknownDomainError(result.domain, known_domains())
    return result


@transaction.atomic
def override_gate(domain: str, reason: str, until_utc: datetime, user) -> GateOverride:
    """Record an override of `domain`'s gate by `user` until `until_utc` (future, aware)."""
    domain = clean_domain(domain)
    if not reason.strip():
        raise GateOverrideError("reason", "Reason: say why the gate is overridden.")
    if until_utc.tzinfo is None or until_utc <= timezone.now():
        raise GateOverrideError("until_utc", "Until: give a future time with its zone (UTC).")
    override = GateOverride.objects.create(domain=domain, reason=reason.strip(),
                                           until_utc=until_utc, created_by=user)
    from incidents import webhook_events

    webhook_events.gate_overridden(override)
    return override
