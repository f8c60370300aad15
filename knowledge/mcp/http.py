"""POST /mcp/: the MCP server over Streamable HTTP for remote agents, inside the WSGI app.

Authenticated with an API token that has the mcp:read scope (`Authorization: Bearer
scl_…`): no, unknown, revoked or deactivated-user token is 401, a token without the scope
(or whose user's role does not allow it) 403, before anything MCP is read
(docs/rules.md#token-scopes). The answers are those the token's user may read
(docs/rules.md#mcp-visibility).

Why inside a Django view: the app runs under gunicorn's sync workers, one request per
worker thread and no event loop to keep. The SDK's stateless JSON-response mode
(StreamableHTTPSessionManager(stateless=True, json_response=True)) answers each POST on
its own, with no session to keep between requests and no SSE stream held open, so the
view runs the SDK's ASGI handler for that one request (asgiref's async_to_sync; the ORM
work comes back to the request's thread) and returns its status, headers and JSON body.
A GET (an SSE stream) or DELETE (a session end) has nothing to do in stateless mode and is
answered 405 by the SDK. No second process or port: the app's login, host and limit
settings apply as to every request. docs/rules.md#mcp-server.
"""
import logging

import anyio
from asgiref.sync import async_to_sync
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

from core.api_tokens import TokenError, authenticate, refusal_response
from knowledge.mcp.server import build_server

logger = logging.getLogger("scarlog.mcp")

SCOPE = "mcp:read"
# The SDK's own request-body limit (413 above it); Django's DATA_UPLOAD_MAX_MEMORY_SIZE
# (4 MiB) refuses a larger body before this view reads it.
MAX_BODY_BYTES = 1024 * 1024


def _scope(request) -> dict:
    """The ASGI HTTP scope of `request` (headers lower-cased, as ASGI sends them)."""
    host, _, port = request.get_host().partition(":")
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
        "method": request.method, "scheme": request.scheme, "path": request.path,
        "raw_path": request.path.encode(), "root_path": "",
        "query_string": request.META.get("QUERY_STRING", "").encode("latin-1"),
        "headers": [(name.lower().encode("latin-1"), value.encode("latin-1"))
                    for name, value in request.headers.items()],
        "server": (host, int(port) if port.isdigit() else 80),
        "client": (request.META.get("REMOTE_ADDR", ""), 0),
    }


def serve(server, request) -> HttpResponse:
    """The SDK's stateless JSON answer of `server` to `request`, as a Django response."""
    body = request.body
    started: dict = {}
    chunks: list[bytes] = []

    async def handle():
        done = anyio.Event()
        sent = False

        async def receive():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await done.wait()  # the client stays connected until the answer is written
            return {"type": "http.disconnect"}

        async def send(message):
            if message["type"] == "http.response.start":
                started.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    done.set()

        manager = StreamableHTTPSessionManager(
            app=server._lowlevel_server, json_response=True, stateless=True,
            max_request_body_size=MAX_BODY_BYTES)
        async with manager.run():
            await manager.handle_request(_scope(request), receive, send)
        done.set()

    async_to_sync(handle)()
    if not started:
        raise RuntimeError("the MCP handler wrote no response")
    response = HttpResponse(b"".join(chunks), status=started["status"])
    for name, value in started.get("headers", []):
        name = name.decode("latin-1")
        if name.lower() != "content-length":
            response[name] = value.decode("latin-1")
    return response


@csrf_exempt
@login_not_required
def mcp_endpoint(request):
    """The MCP endpoint (token-authenticated, so exempt from CSRF: a browser never sends
    the bearer token); 401/403 JSON for a refused token, else the SDK's answer."""
    try:
        token = authenticate(request, SCOPE)
    except TokenError as exc:
        return refusal_response(exc)
    return serve(build_server(token.user), request)
