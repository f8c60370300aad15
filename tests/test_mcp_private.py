"""Restricted postmortems are invisible to the MCP server (issue 22: private postmortems).

DEPENDS ON BRANCH h22private: it passes once the real incidents/visibility.py
(visible_postmortems, can_see) and the way to restrict a postmortem to named groups are
merged. On a branch with the minimal visibility.py (everything visible) it fails at
restrict() below. Adapt restrict() to h22private's API at the merge; nothing else here
depends on how a restriction is stored: the test asks incidents.visibility whether it
holds, then proves, through the SDK's own client over HTTP with a non-member's token,
that no MCP answer names the postmortem, its action item or its text
(docs/rules.md#mcp-visibility).
"""
import json

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from mcp import Client

from core.api_tokens import create_token
from incidents.visibility import can_see, set_access, visible_postmortems
from knowledge.mcp.server import KNOWLEDGE_URI, POLICIES_URI
from tests.conftest import make_user
from tests.test_mcp import DOMAIN, SEGFAULT, archive, http_server, run_client  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def restrict(postmortem, group: Group, by) -> None:
    """Restrict `postmortem` to `group` as member `by`, as the "Who can read this" panel does."""
    with transaction.atomic():
        set_access(postmortem, [group], by)


def test_a_restricted_postmortem_leaves_no_trace_in_any_mcp_answer(archive, live_server):  # noqa: F811
    pm, item = archive
    security = Group.objects.create(name="security")
    member = make_user("ines", role="viewer")
    member.groups.add(security)
    outsider = make_user("olga", role="viewer")
    restrict(pm, security, member)
    assert not can_see(outsider, pm) and not visible_postmortems(outsider).filter(pk=pm.pk).exists()
    assert can_see(member, pm)
    _token, key = create_token("agent", outsider, ["mcp:read"])
    secrets = [SEGFAULT, pm.summary, item.description,
               *pm.timeline_entries.values_list("event", flat=True)]

    async def run():
        async with Client(http_server(live_server, key)) as client:
            calls = {
                "gate": ("gate_status", {"domain": DOMAIN}),
                "guidance": ("guidance_for_path", {"path": "inference/inference.py"}),
                "record": ("postmortem", {"id": SEGFAULT}),
                "search": ("search", {"query": "RLlib SageMaker segfault"}),
                "owner": ("open_action_items", {"owner": "bob"}),
                "domain": ("open_action_items", {"domain": DOMAIN}),
            }
            out = {name: await client.call_tool(tool, arguments)
                   for name, (tool, arguments) in calls.items()}
            for uri in (POLICIES_URI, KNOWLEDGE_URI):
                out[uri] = (await client.read_resource(uri)).contents[0].text
            return out

    out = run_client(run)
    text = {name: value if isinstance(value, str) else value.content[0].text
            for name, value in out.items()}
    for name, said in text.items():
        # The postmortem tool echoes the id the agent asked for, as for an id that does not
        # exist (checked below); that is no trace of the record.
        if name == "record":
            said = said.replace(SEGFAULT, "<asked id>")
        for secret in secrets:
            assert secret not in said, (name, secret)

    gate = json.loads(text["gate"])
    assert gate["open"] is False and gate["blocking_count"] == 1  # it still blocks
    assert gate["blocking"] == [] and gate["sources"]["postmortems"] == []
    assert out["record"].is_error and "no postmortem has id" in text["record"]
    guidance = json.loads(text["guidance"])
    assert [(r["id"], r["postmortems"]) for r in guidance["runbooks"]] == [("ops-03", [])]
    assert guidance["policies"] == []  # policy 6 applied only through the hidden scar
    assert json.loads(text["owner"])["count"] == json.loads(text["domain"])["count"] == 0
