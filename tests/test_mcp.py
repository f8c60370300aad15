"""The MCP server for coding agents, driven by the official SDK's own client.

Over stdio: `python manage.py mcp --user alice` is spawned as an agent would spawn it,
against this run's test database (committed data: transactional tests). Over HTTP: the
web app's /mcp/ on the live server, with API tokens. Each tool and resource answers on the
real archive (tests/data: postmortems, knowledge base, policies, runbooks), citing its
sources (postmortem ids, seal hashes, chain head); a token without mcp:read, an unknown
and a revoked token are refused (docs/rules.md#mcp-server, docs/rules.md#token-scopes).
"""
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path

import anyio
import httpx2
import pytest
from asgiref.sync import sync_to_async
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from core.api_tokens import create_token
from incidents import action_items, services
from incidents.models import Seal
from incidents.seals import chain_head
from knowledge import guidance
from knowledge.links import set_link
from knowledge.mcp.server import KNOWLEDGE_URI, POLICIES_URI, build_server
from knowledge.models import KnowledgeEntry, Policy
from runbooks.models import Runbook
from tests.conftest import make_user

pytestmark = pytest.mark.django_db(transaction=True)

PROJECT_DIR = Path(__file__).resolve().parent.parent
# The RLlib training script used as the SageMaker inference entry point (tests/data).
SEGFAULT = "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f0e05"
DOMAIN = "sagemaker-inference"
TOOLS = {"gate_status", "guidance_for_path", "postmortem", "search", "open_action_items"}


def run_client(fn, *args):
    """Run the SDK client's coroutine `fn(*args)` in a thread of its own: the browser tests'
    Playwright (sync API) keeps an event loop running in the main thread for the session."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(anyio.run, fn, *args).result()



@pytest.fixture
def archive(alice, bob, real_postmortems, real_knowledge, real_runbooks):
    """The real archive, with the segfault postmortem classified in DOMAIN, one open
    action item (bob's) blocking it, and linked to runbook ops-03, entry
    deployment_process and policy 6 (the scars it left)."""
    pm = real_postmortems[SEGFAULT]
    services.set_domain(pm, DOMAIN, user=alice)
    item = action_items.add_item(pm, "test", "Import test of the inference container", bob,
                                 date(2026, 4, 1), user=alice)
    for target in (Runbook.objects.get(key="ops-03"),
                   KnowledgeEntry.objects.get(key="deployment_process"),
                   Policy.objects.get(number=6)):
        set_link(pm, target, True)
    return pm, item


def database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


def stdio_server(username: str) -> StdioServerParameters:
    """`python manage.py mcp --user USERNAME` on this run's test database."""
    env = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "config.settings",
           "DATABASE_URL": database_url(), "SCARLOG_ENV": "development",
           "SCARLOG_VAR_DIR": str(PROJECT_DIR / "var")}
    return StdioServerParameters(command=sys.executable, cwd=str(PROJECT_DIR), env=env,
                                 args=["manage.py", "mcp", "--user", username])


@asynccontextmanager
async def http_server(live_server, token: str):
    """The SDK's Streamable HTTP transport to the live server's /mcp/ with `token`; its
    HTTP connections are closed on leaving (the live server's thread then closes its
    database connection)."""
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{live_server.url}/mcp/"
    async with (httpx2.AsyncClient(headers=headers, timeout=60) as http,
                streamable_http_client(url, http_client=http) as streams):
        yield streams


def answer(result) -> dict:
    """A tool's JSON answer (it must not be an error)."""
    assert not result.is_error, result.content[0].text
    return json.loads(result.content[0].text)


def seal_of(pm_id: str) -> Seal:
    return Seal.objects.get(kind=Seal.Kind.POSTMORTEM, postmortem_id=pm_id)


async def everything(client) -> dict:
    """Every tool's and resource's answer, by name, from one connected client."""
    tools = {tool.name for tool in (await client.list_tools()).tools}
    results = {"tools": tools}
    results["gate"] = answer(await client.call_tool("gate_status", {"domain": DOMAIN}))
    results["guidance"] = answer(await client.call_tool(
        "guidance_for_path", {"path": "./inference/inference.py"}))
    results["postmortem"] = answer(await client.call_tool("postmortem", {"id": SEGFAULT}))
    results["search"] = answer(await client.call_tool("search", {"query": "segfault"}))
    results["by_owner"] = answer(await client.call_tool("open_action_items", {"owner": "bob"}))
    results["by_domain"] = answer(await client.call_tool("open_action_items",
                                                         {"domain": DOMAIN}))
    results["unknown_domain"] = await client.call_tool("gate_status", {"domain": "nowhere"})
    results["bad_id"] = await client.call_tool("postmortem", {"id": "not-an-id"})
    for uri in (POLICIES_URI, KNOWLEDGE_URI):
        results[uri] = (await client.read_resource(uri)).contents[0].text
    return results


def check_answers(results: dict, pm, item) -> None:
    """What every transport must answer on the archive, exactly."""
    seal = seal_of(SEGFAULT)
    head = chain_head()
    cited = {"id": SEGFAULT, "status": "final", "content_sha256": seal.content_sha256,
             "chain_sha256": seal.chain_sha256, "sealed_utc": seal.sealed_utc.isoformat()}
    assert results["tools"] == TOOLS

    gate = results["gate"]
    assert gate["open"] is False and gate["blocking_count"] == 1
    assert gate["message"] == ("Gate closed: 1 open action item from finalized postmortems "
                               f"block {DOMAIN!r}.")
    assert [(b["postmortem"], b["action_item"], b["owner"]) for b in gate["blocking"]] == [
        (SEGFAULT, item.pk, "bob")]
    assert gate["restricted_blocking_count"] == 0
    assert gate["sources"] == {"postmortems": [cited], "chain_head": head}

    found = results["guidance"]
    assert found["path"] == "inference/inference.py"
    assert [(r["id"], r["why"], r["postmortems"]) for r in found["runbooks"]] == [
        ("ops-03", "key file 'inference/inference.py'", [SEGFAULT])]
    assert {(k["id"], k["postmortems"] == [SEGFAULT]) for k in found["knowledge"]} == {
        ("feature_verification", False), ("deployment_process", True)}
    assert all(k["why"] == "references runbook ops-03 (docs/v2/ops/03-deployment-checklist.md)"
               for k in found["knowledge"])
    assert [(p["number"], p["postmortems"]) for p in found["policies"]] == [(6, [SEGFAULT])]
    assert found["policies"][0]["why"] == f"traces to postmortem {SEGFAULT}, as ops-03 does"
    assert found["sources"] == {"postmortems": [cited], "chain_head": head}

    record = results["postmortem"]
    assert record["id"] == SEGFAULT and record["status"] == "final"
    assert record["markdown"].startswith(f"---\nid: {SEGFAULT}\n")
    assert f"seal_sha256: {seal.chain_sha256}" in record["markdown"]
    assert pm.summary.split()[0] in record["markdown"]
    assert record["sources"] == {"postmortems": [cited], "chain_head": head}

    hits = results["search"]["hits"]
    assert hits and hits[0]["kind"] == "postmortem" and hits[0]["postmortem"] == SEGFAULT
    assert "**" in hits[0]["snippet"] and "<mark>" not in hits[0]["snippet"]
    assert SEGFAULT in [row["id"] for row in results["search"]["sources"]["postmortems"]]

    for key, asked in (("by_owner", {"owner": "bob"}), ("by_domain", {"domain": DOMAIN})):
        listed = results[key]
        assert {k: listed[k] for k in asked} == asked and listed["count"] == 1
        assert [(i["action_item"], i["postmortem"], i["due"], i["blocks_gate_in"])
                for i in listed["items"]] == [(item.pk, SEGFAULT, "2026-04-01", DOMAIN)]
        assert listed["sources"] == {"postmortems": [cited], "chain_head": head}

    refused = results["unknown_domain"]
    assert refused.is_error and "Unknown domain 'nowhere'" in refused.content[0].text
    assert f"Known domains: {DOMAIN}" in refused.content[0].text
    assert results["bad_id"].is_error
    assert "id: give a postmortem id (a UUID)." in results["bad_id"].content[0].text

    policies = results[POLICIES_URI]
    assert policies.startswith("# Team rules\n")
    assert "6. **Separate training/inference code**" in policies
    assert f"(postmortem {SEGFAULT})" in policies
    assert policies.rstrip().endswith(
        f"<!-- Scarlog sources: chain head {head}; postmortems {SEGFAULT} "
        f"(seal {seal.chain_sha256}) -->")
    knowledge = results[KNOWLEDGE_URI]
    assert "- id: deployment_process" in knowledge and f'- "{SEGFAULT}"' in knowledge
    assert knowledge.rstrip().endswith(
        f"# Scarlog sources: chain head {head}; postmortems {SEGFAULT} (seal {seal.chain_sha256})")


def test_over_stdio_manage_py_mcp_answers_every_tool_and_resource(archive):
    pm, item = archive

    async def run():
        async with Client(stdio_server("alice"), mode="legacy") as client:
            return await everything(client)

    check_answers(run_client(run), pm, item)


def test_over_http_a_scoped_token_gets_every_tool_and_resource(archive, live_server, alice):
    pm, item = archive
    _token, key = create_token("agent", alice, ["mcp:read"])

    async def run():
        async with Client(http_server(live_server, key)) as client:
            return await everything(client)

    check_answers(run_client(run), pm, item)


def post_initialize(live_server, headers: dict) -> httpx2.Response:
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"}}}
    return httpx2.post(f"{live_server.url}/mcp/", json=body, timeout=60, headers={
        "Accept": "application/json, text/event-stream", **headers})


def test_over_http_a_token_without_the_scope_an_unknown_and_a_revoked_token_are_refused(
        live_server, alice):
    _token, docs_only = create_token("docs", alice, ["docs:read", "gate:read"])
    revoked, revoked_key = create_token("old", alice, ["mcp:read"])
    revoked.revoked_utc = timezone.now()
    revoked.save()
    _token, good = create_token("agent", alice, ["mcp:read"])

    refusals = {
        "no token": ({}, 401, "Send an API token"),
        "no scope": ({"Authorization": f"Bearer {docs_only}"}, 403, "lacks the mcp:read scope"),
        "unknown": ({"Authorization": "Bearer scl_" + "x" * 40}, 401, "Unknown API token."),
        "revoked": ({"Authorization": f"Bearer {revoked_key}"}, 401, "was revoked"),
    }
    for case, (headers, status, why) in refusals.items():
        response = post_initialize(live_server, headers)
        assert response.status_code == status, case
        assert why in response.json()["error"], case
    accepted = post_initialize(live_server, {"Authorization": f"Bearer {good}"})
    assert accepted.status_code == 200
    assert accepted.json()["result"]["serverInfo"]["name"] == "scarlog"

    async def connect(key):
        async with Client(http_server(live_server, key)) as client:
            await client.list_tools()

    for key in (docs_only, "scl_" + "x" * 40):  # the SDK's own client gets no further
        with pytest.raises(ExceptionGroup) as refused:
            run_client(connect, key)
        assert refused.group_contains(MCPError, match="Server returned an error response",
                                      depth=None), refused.value


def test_manage_py_mcp_refuses_to_answer_for_nobody(alice):
    alice.is_active = False
    alice.save()
    for args, why in (([], "--user: name the user"), (["--user", "nobody"], "no user 'nobody'"),
                      (["--user", "alice"], "user 'alice' is deactivated")):
        with pytest.raises(CommandError, match=why):
            call_command("mcp", *args)


def test_guidance_paths_match_folders_and_wildcards_and_refuse_leaving_the_repository():
    assert guidance.clean_path(" ./backend\\app\\main.py ") == "backend/app/main.py"
    assert guidance.matches("backend/app/", "backend/app/main.py")
    assert guidance.matches("backend/app", "backend/app/main.py")
    assert not guidance.matches("backend/ap", "backend/app/main.py")
    assert guidance.matches("backend/**/*.py", "backend/app/api/v1/health.py")
    assert not guidance.matches("*.md", "backend/app/main.py")
    for bad in ("", "   ", "../etc/passwd", "a/../../b", "x" * 501, "a\x00b"):
        with pytest.raises(guidance.PathError):
            guidance.clean_path(bad)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=600))
def test_any_path_is_cleaned_or_refused_by_name(text):
    try:
        cleaned = guidance.clean_path(text)
    except guidance.PathError:
        return
    assert cleaned and ".." not in cleaned.split("/") and not cleaned.startswith("/")


def test_bad_tool_arguments_are_refused_naming_the_argument(real_postmortems):
    viewer = make_user("vera", role="viewer")

    async def run():
        async with Client(build_server(viewer)) as client:
            calls = [("guidance_for_path", {"path": "../x"}, "path: "),
                     ("search", {"query": " "}, "query: give a value"),
                     ("open_action_items", {}, "owner: give an owner"),
                     ("open_action_items", {"owner": "a", "domain": "b"}, "exactly one"),
                     ("open_action_items", {"owner": "nobody"}, "owner: no user"),
                     ("open_action_items", {"domain": "Not A Slug"}, "domain: "),
                     ("gate_status", {"domain": "x" * 501}, "domain: give at most 500"),
                     ("postmortem", {"id": "0" * 8 + "-0000-0000-0000-" + "0" * 12},
                      "id: no postmortem has id")]
            out = []
            for name, arguments, why in calls:
                result = await client.call_tool(name, arguments)
                out.append((result.is_error, why in result.content[0].text, name, why))
            await sync_to_async(connections.close_all, thread_sensitive=True)()
            return out

    assert all(error and named for error, named, _name, _why in run_client(run))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # alice is only read
@given(tool=st.sampled_from(["gate_status", "guidance_for_path", "postmortem", "search",
                             "owner", "domain"]),
       text=st.text(max_size=700))
def test_any_argument_text_gets_an_answer_or_a_refusal_naming_it(alice, tool, text):
    """Whatever an agent sends, each tool answers or refuses naming the argument (the
    unknown-domain refusal names the domain); never another error."""
    from incidents.gate import UnknownDomainError
    from knowledge.mcp import answers

    calls = {"gate_status": (answers.gate_status, (text,), ("domain",)),
             "guidance_for_path": (answers.guidance_for_path, (text,), ("path",)),
             "postmortem": (answers.postmortem, (text,), ("id",)),
             "search": (answers.search, (text,), ("query",)),
             "owner": (answers.open_action_items, (text, ""), ("owner",)),
             "domain": (answers.open_action_items, ("", text), ("owner", "domain"))}
    fn, args, fields = calls[tool]
    refused = None
    try:
        result = fn(alice, *args)
    except (answers.AnswerError, UnknownDomainError) as exc:
        refused = exc
    if refused is None:
        assert "chain_head" in result["sources"]
    else:
        assert refused.field in fields
