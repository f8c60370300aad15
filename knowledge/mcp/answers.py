"""What each MCP tool and resource answers, for one user (synchronous; Django ORM).

Rule: docs/rules.md#mcp. Every function takes the user the agent acts for (the API
token's user over HTTP, `manage.py mcp --user` over stdio) and reads every postmortem
through incidents.visibility (docs/rules.md#mcp-visibility): a postmortem that user may not
see is not named, counted by id or quoted. Every answer is a dict with "sources"
(knowledge.mcp.provenance: postmortem ids, seal hashes, chain head;
docs/rules.md#mcp-provenance). Bad input raises AnswerError naming the argument; an
unknown domain raises incidents.gate.UnknownDomainError (the gate fails closed).
"""
import html
import re
import uuid

from django.contrib.auth import get_user_model
from django.db.models import Prefetch
from django.urls import Resolver404, resolve

from incidents.gate import answer_gate
from incidents.markdown_export import postmortem_markdown
from incidents.models import ActionItem
from incidents.services import DomainError, clean_domain
from incidents.visibility import can_see, visible_postmortems
from knowledge import guidance
from knowledge.kb_yaml import export_yaml
from knowledge.mcp.provenance import sources
from knowledge.models import KnowledgeEntry, Policy
from knowledge.policies_md import export_policies
from knowledge.search import SearchError
from knowledge.search import search as search_all

# At most this many open action items are listed in one answer (all are counted).
ITEMS_LISTED = 100
MAX_ARGUMENT = 500


class AnswerError(ValueError):
    """A tool argument was refused; `field` names it and the message says why."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


def _text(field: str, value, required: bool = True) -> str:
    """A tool's text argument, stripped; AnswerError when missing, too long or holding NUL."""
    if not isinstance(value, str):
        raise AnswerError(field, "give text.")
    value = value.strip()
    if required and not value:
        raise AnswerError(field, "give a value; it is required.")
    if len(value) > MAX_ARGUMENT or "\x00" in value:
        raise AnswerError(field, f"give at most {MAX_ARGUMENT} characters of text.")
    return value


def gate_status(user, domain: str) -> dict:
    """The planning gate for `domain`, as incidents.gate answers it (docs/rules.md#gate-blocks).

    The gate's dict (open, message, override, blocking_count, blocking) with the blocking
    items of postmortems `user` may not see left out of `blocking` and counted in
    "restricted_blocking_count" (they still count in blocking_count and still block).
    Raises AnswerError (field "domain") for a malformed slug, UnknownDomainError for a
    domain no postmortem is classified in (docs/rules.md#gate-unknown-domain).
    """
    domain = _text("domain", domain)
    try:
        result = answer_gate(domain)
    except DomainError as exc:
        raise AnswerError("domain", str(exc)) from None
    answer = result.as_dict()
    shown = [blocking for blocking in result.blocking if can_see(user, blocking.item.postmortem)]
    answer["blocking"] = [blocking.as_dict() for blocking in shown]
    answer["restricted_blocking_count"] = len(result.blocking) - len(shown)
    answer["sources"] = sources([blocking.item.postmortem for blocking in shown])
    return answer


def guidance_for_path(user, path: str) -> dict:
    """The policies, knowledge-base entries and runbooks that apply to the file `path`
    (docs/rules.md#mcp-guidance), each with the visible postmortems it came from and their
    seals: {"path", "runbooks", "knowledge", "policies", "sources"}.

    Raises AnswerError (field "path") for an empty, absolute-escaping or over-long path.
    """
    try:
        path = guidance.clean_path(_text("path", path))
    except guidance.PathError as exc:
        raise AnswerError("path", str(exc)) from None
    visible = visible_postmortems(user).order_by("created_utc", "id")
    found = guidance.applying(path, Prefetch("postmortems", queryset=visible))
    read = []

    def with_origins(target, row: dict) -> dict:
        postmortems = list(target.postmortems.all())
        read.extend(postmortems)
        row["postmortems"] = [str(pm.pk) for pm in postmortems]
        return row

    return {
        "path": path,
        "runbooks": [with_origins(runbook, {
            "id": runbook.key, "title": runbook.title, "path": runbook.path,
            "perspective": runbook.perspective, "key_files": runbook.key_files,
            "why": why, "body": runbook.body,
        }) for runbook, why in found.runbooks],
        "knowledge": [with_origins(entry, {
            "id": entry.key, "kind": entry.kind, "name": entry.name, "severity": entry.severity,
            "category": entry.category, "description": entry.description, "do": entry.do,
            "dont": entry.dont, "checklist": entry.checklist, "steps": entry.steps,
            "reference_files": entry.reference_files, "why": why,
        }) for entry, why in found.knowledge],
        "policies": [with_origins(policy, {
            "number": policy.number, "title": policy.title, "body": policy.body,
            "origins": [origin.text for origin in policy.origins.all()], "why": why,
        }) for policy, why in found.policies],
        "sources": sources(read),
    }


def postmortem(user, postmortem_id: str) -> dict:
    """One postmortem `user` may see, as its Markdown document (incidents.markdown_export):
    {"id", "status", "markdown", "sources"}. AnswerError (field "id") for a malformed id
    or one that names no postmortem the user may see (the same answer either way)."""
    text = _text("id", postmortem_id)
    try:
        pk = uuid.UUID(text)
    except ValueError:
        raise AnswerError("id", "give a postmortem id (a UUID).") from None
    pm = visible_postmortems(user).filter(pk=pk).first()
    if pm is None or not can_see(user, pm):
        raise AnswerError("id", f"no postmortem has id {pk}.")
    return {"id": str(pm.pk), "status": str(pm.status), "markdown": postmortem_markdown(pm),
            "sources": sources([pm])}


def _plain_snippet(snippet: str) -> str:
    """A search snippet (escaped HTML with <mark>) as text with the matches in **bold**."""
    return html.unescape(re.sub(r"</?mark>", "**", str(snippet)))


def _hit_postmortem_id(url: str) -> uuid.UUID | None:
    try:
        match = resolve(url.split("#", 1)[0])
    except Resolver404:
        return None
    return match.kwargs.get("pk") if match.url_name == "postmortem_detail" else None


def search(user, query: str) -> dict:
    """The search service's hits for `query` (knowledge.search; websearch syntax), best
    first, without those of postmortems `user` may not see (their amendments included):
    {"query", "hits": [{"kind", "title", "url", "snippet", "postmortem"?}], "sources"}.
    AnswerError (field "query") for an empty or unusable query."""
    query = _text("query", query)
    try:
        found = search_all(query)
    except SearchError as exc:
        raise AnswerError("query", str(exc)) from None
    ids = {index: _hit_postmortem_id(hit.url) for index, hit in enumerate(found)
           if hit.kind in ("postmortem", "amendment")}
    visible = {pm.pk: pm for pm in visible_postmortems(user).filter(
        pk__in=[pk for pk in ids.values() if pk is not None])}
    hits, read = [], []
    for index, hit in enumerate(found):
        row = {"kind": hit.kind, "title": hit.title, "url": hit.url,
               "snippet": _plain_snippet(hit.snippet), "matched_in": hit.matched_in}
        if hit.kind in ("postmortem", "amendment"):
            pm = visible.get(ids[index])
            if pm is None or not can_see(user, pm):
                continue
            row["postmortem"] = str(pm.pk)
            read.append(pm)
        hits.append(row)
    return {"query": query, "hits": hits, "sources": sources(read)}


def open_action_items(user, owner: str = "", domain: str = "") -> dict:
    """The open (open or in progress) action items of one owner (a username) or of one
    domain (a slug: items of postmortems classified in it, final or not), earliest due
    first, of postmortems `user` may see: {"owner"|"domain", "count", "items", "sources"};
    at most ITEMS_LISTED listed, all counted. AnswerError names "owner" or "domain" when
    neither or both are given, the owner is no user, or the domain is no slug."""
    owner = _text("owner", owner or "", required=False)
    domain = _text("domain", domain or "", required=False)
    if bool(owner) == bool(domain):
        raise AnswerError("owner", "give an owner (a username) or a domain, exactly one.")
    items = ActionItem.objects.filter(status__in=ActionItem.OPEN_STATUSES,
                                      postmortem__in=visible_postmortems(user))
    if owner:
        person = get_user_model().objects.filter(username=owner).first()
        if person is None:
            raise AnswerError("owner", f"no user is named {owner!r}.")
        items, asked = items.filter(owner=person), {"owner": owner}
    else:
        try:
            domain = clean_domain(domain)
        except DomainError as exc:
            raise AnswerError("domain", str(exc)) from None
        items = items.filter(postmortem__classification__domain=domain)
        asked = {"domain": domain}
    items = items.select_related("postmortem", "owner").order_by("due_date", "id")
    listed = [item for item in items[:ITEMS_LISTED] if can_see(user, item.postmortem)]
    count = items.count() if len(listed) >= ITEMS_LISTED else len(listed)
    return {**asked, "count": count, "items": [{
        "action_item": item.pk, "postmortem": str(item.postmortem_id),
        "postmortem_summary": item.postmortem.summary, "type": item.kind,
        "description": item.description, "owner": item.owner.get_username(),
        "due": item.due_date.isoformat(), "status": item.status,
        "blocks_gate_in": item.gate_domain,
    } for item in listed], "sources": sources([item.postmortem for item in listed])}


def _trailer(comment: str, answer_sources: dict) -> str:
    """The provenance line appended to a resource document (a comment of its format)."""
    cited = ", ".join(f"{row['id']} (seal {row['chain_sha256'] or 'none'})"
                      for row in answer_sources["postmortems"]) or "none"
    head = answer_sources["chain_head"] or "none"
    return comment.format(f"Scarlog sources: chain head {head}; postmortems {cited}")


def policies_document(user) -> str:
    """The policies file (knowledge.policies_md.export_policies), its origin lines naming
    only postmortems `user` may see, ending with an HTML comment citing the sources."""
    visible = visible_postmortems(user)
    policies = Policy.objects.prefetch_related(Prefetch("postmortems", queryset=visible))
    text = export_policies(policies)
    linked = visible.filter(policies__isnull=False).distinct().order_by("created_utc", "id")
    return text + _trailer("\n<!-- {} -->\n", sources(list(linked)))


def knowledge_document(user) -> str:
    """The knowledge base as `.ai-knowledge-base.yaml` (knowledge.kb_yaml.export_yaml),
    its `incidents` lists naming only postmortems `user` may see, ending with a YAML
    comment citing the sources."""
    visible = visible_postmortems(user)
    entries = KnowledgeEntry.objects.prefetch_related(Prefetch("postmortems", queryset=visible))
    text = export_yaml(entries)
    linked = (visible.filter(knowledge_entries__isnull=False).distinct()
              .order_by("created_utc", "id"))
    return text + _trailer("# {}\n", sources(list(linked)))
