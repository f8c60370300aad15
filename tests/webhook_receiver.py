"""A real HTTP webhook receiver on loopback for the webhook tests (http.server in a thread).

It verifies every request's Standard Webhooks signature with the subscription's secret
(the standardwebhooks package, as a receiver would), answers with the next code of
`codes` (200 once they run out), dedupes by webhook-id (`processed` holds each id the
first time it is answered 2xx) and, with `hold` set, keeps a request open until the test
releases it (`received` tells that one came in).
"""
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Request:
    webhook_id: str
    headers: dict
    body: bytes
    verified: bool
    answered: int


@dataclass
class Receiver:
    secret: str = ""
    codes: list[int] = field(default_factory=list)
    hold: bool = False
    requests: list[Request] = field(default_factory=list)
    processed: list[str] = field(default_factory=list)
    received: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    def verify(self, body: bytes, headers: dict) -> bool:
        if not self.secret:
            return False
        try:
            Webhook(self.secret).verify(body, headers, json_parse=False)
        except WebhookVerificationError:
            return False
        return True

    @property
    def effective(self) -> list[str]:
        """Webhook ids processed (first 2xx answer per id): what the receiver acted on."""
        return self.processed

    def bodies(self) -> list[dict]:
        return [json.loads(r.body) for r in self.requests]


def start(receiver: Receiver):
    """Serve `receiver` on 127.0.0.1 at a free port; returns the server (shutdown() it)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            receiver.received.set()
            if receiver.hold:
                receiver.release.wait(timeout=120)
            code = receiver.codes.pop(0) if receiver.codes else 200
            webhook_id = headers.get("webhook-id", "")
            verified = receiver.verify(body, headers)
            receiver.requests.append(Request(webhook_id, headers, body, verified, code))
            if 200 <= code < 300 and verified and webhook_id not in receiver.processed:
                receiver.processed.append(webhook_id)
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_port}/hook"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
