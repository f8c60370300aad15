"""Where an MCP answer came from: the postmortems it read, their seals and the chain head.

Rule: docs/rules.md#mcp-provenance. sources(ids) is the "sources" object of every answer:
{"postmortems": [{"id", "status", "content_sha256", "chain_sha256", "sealed_utc"}],
"chain_head": the newest seal's chain SHA-256 ("" before the first seal)}. A postmortem
that is not final has no seal: its hashes are "" (and sealed_utc null). Hashes are
incidents.seals'; sealed_utc is ISO 8601 UTC.
"""
from incidents.models import Postmortem, Seal
from incidents.seals import chain_head


def seal_rows(postmortem_ids) -> dict[str, dict]:
    """{postmortem id (str): its record seal as a dict} for the ids that are sealed."""
    seals = (Seal.objects.filter(kind=Seal.Kind.POSTMORTEM, postmortem_id__in=list(postmortem_ids))
             .order_by("id"))
    return {str(seal.postmortem_id): {"content_sha256": seal.content_sha256,
                                      "chain_sha256": seal.chain_sha256,
                                      "sealed_utc": seal.sealed_utc.isoformat()}
            for seal in seals}


def postmortem_sources(postmortems: list[Postmortem]) -> list[dict]:
    """One source row per postmortem (in the order given, each once): id, status, seal."""
    seen, unique = set(), []
    for pm in postmortems:
        if pm.pk not in seen:
            seen.add(pm.pk)
            unique.append(pm)
    seals = seal_rows(pm.pk for pm in unique)
    empty = {"content_sha256": "", "chain_sha256": "", "sealed_utc": None}
    return [{"id": str(pm.pk), "status": str(pm.status), **seals.get(str(pm.pk), empty)}
            for pm in unique]


def sources(postmortems: list[Postmortem]) -> dict:
    """The "sources" object of an answer that read `postmortems` (visible ones only)."""
    return {"postmortems": postmortem_sources(postmortems), "chain_head": chain_head()}
