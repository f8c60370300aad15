"""`manage.py mcp --user USERNAME`: serve the MCP server over stdio for a local agent.

The agent (Claude Code, any MCP client) starts this command and speaks MCP on its
stdin/stdout; logs go to stderr. The answers are those `--user` may read (an active user;
SCARLOG_MCP_USER when --user is not given), so a postmortem hidden from that user stays
hidden from the agent (docs/rules.md#mcp-visibility). A missing, unknown or deactivated
user stops with exit status 1 and a message naming it: the server never answers for
nobody (docs/rules.md#mcp-server).
"""
import os

import anyio
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from knowledge.mcp.server import build_server

USER_ENV = "SCARLOG_MCP_USER"


class Command(BaseCommand):
    help = "Serve Scarlog's read-only MCP tools and resources over stdio."

    def add_arguments(self, parser):
        parser.add_argument("--user", default=None,
                            help=f"the user whose reading rights the agent gets "
                                 f"(default: ${USER_ENV})")

    def handle(self, *args, **options):
        username = (options["user"] or os.environ.get(USER_ENV, "")).strip()
        if not username:
            raise CommandError(f"--user: name the user the agent reads as (or set {USER_ENV}).")
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"--user: there is no user {username!r}.")
        if not user.is_active:
            raise CommandError(f"--user: user {username!r} is deactivated.")
        server = build_server(user, fresh_connections=True)
        anyio.run(server.run_stdio_async)
