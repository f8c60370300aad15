"""The MCP server (official `mcp` SDK, MCPServer) for one user: five read-only tools and two
resources (docs/rules.md#mcp-server).

build_server(user, fresh_connections) returns an MCPServer whose tools answer for `user`
(knowledge.mcp.answers). The tools are async and run the ORM work through asgiref's
sync_to_async (thread-sensitive), so under the web app's sync view they read on the
request's own thread and connection. `fresh_connections` (stdio: a long-lived process)
closes unusable or too-old database connections around each call, as Django does around
each request. A refused argument comes back as a tool error naming the argument.
"""
import logging
from collections.abc import Callable

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError

from incidents.gate import UnknownDomainError
from knowledge.mcp import answers

logger = logging.getLogger("scarlog.mcp")

NAME = "scarlog"
INSTRUCTIONS = (
    "Scarlog holds this team's blameless postmortems, the planning gate, the policies file, "
    "the knowledge base and runbooks. Before working in a domain ask gate_status(domain); "
    "before editing a file ask guidance_for_path(path). Every answer lists its sources "
    "(postmortem ids, seal hashes, the chain head): cite them.")
POLICIES_URI = "scarlog://policies.md"
KNOWLEDGE_URI = "scarlog://ai-knowledge-base.yaml"


def _caller(user, fresh_connections: bool) -> Callable:
    """call(fn, *args): run answers.fn(user, *args) on Django's thread, refusals as ToolError."""

    def run(fn, args):
        if fresh_connections:
            close_old_connections()
        try:
            return fn(user, *args)
        finally:
            if fresh_connections:
                close_old_connections()

    async def call(fn, *args, error=ToolError):
        try:
            return await sync_to_async(run, thread_sensitive=True)(fn, args)
        except (answers.AnswerError, UnknownDomainError) as exc:
            raise error(str(exc)) from None

    return call


def build_server(user, fresh_connections: bool = False) -> MCPServer:
    """An MCPServer answering for `user` (an active User), tools and resources registered."""
    call = _caller(user, fresh_connections)
    server = MCPServer(NAME, instructions=INSTRUCTIONS, version="1")

    @server.tool()
    async def gate_status(domain: str) -> dict:
        """Is the planning gate open for this domain (a slug such as cloud-training)? The
        gate's answer: open or blocked, its message, the blocking action items (from
        finalized postmortems) and any override; with sources."""
        return await call(answers.gate_status, domain)

    @server.tool()
    async def guidance_for_path(path: str) -> dict:
        """The runbooks, knowledge-base patterns and policies that apply to a repository
        file path, each with the postmortems it came from and their seal hashes."""
        return await call(answers.guidance_for_path, path)

    @server.tool()
    async def postmortem(id: str) -> dict:
        """One postmortem as its Markdown document (frontmatter, the record, its seal)."""
        return await call(answers.postmortem, id)

    @server.tool()
    async def search(query: str) -> dict:
        """Search postmortems, amendments, knowledge-base entries, policies and runbooks
        (words, "a phrase", -word); best first, with sources."""
        return await call(answers.search, query)

    @server.tool()
    async def open_action_items(owner: str = "", domain: str = "") -> dict:
        """The open action items of one owner (a username) or one domain (a slug): give
        exactly one. Earliest due first, with their postmortems and sources."""
        return await call(answers.open_action_items, owner, domain)

    @server.resource(POLICIES_URI, name="policies.md", mime_type="text/markdown",
                     description="The numbered policies file (CLAUDE.md style), with where "
                                 "each policy came from; ends with its sources.")
    async def policies_md() -> str:
        return await call(answers.policies_document, error=ResourceError)

    @server.resource(KNOWLEDGE_URI, name="ai-knowledge-base.yaml", mime_type="application/yaml",
                     description="The machine-readable knowledge base (patterns, anti-patterns, "
                                 "decision trees); ends with its sources.")
    async def knowledge_yaml() -> str:
        return await call(answers.knowledge_document, error=ResourceError)

    return server
