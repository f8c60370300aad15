"""Standard Webhooks signing (docs/rules.md#webhook-signing), through the `standardwebhooks`
package: the secret is "whsec_" + base64 of random bytes; each attempt carries
webhook-id, webhook-timestamp (Unix seconds, UTC) and webhook-signature
"v1,<base64 HMAC-SHA256 of id.timestamp.body>".
"""
import base64
import secrets
from datetime import datetime

from standardwebhooks.webhooks import Webhook

SECRET_BYTES = 24


def new_secret() -> str:
    """A new subscription secret: "whsec_" + base64 of SECRET_BYTES random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signed_headers(secret: str, message_id: str, at_utc: datetime, body: str,
                   also: str = "") -> dict:
    """The Standard Webhooks headers of one attempt sending `body` (text) at `at_utc`
    (aware, UTC) as message `message_id`; the signature covers id, timestamp and body.
    With `also` (the secret before a rotation), webhook-signature carries both
    signatures, space-separated, the new one first, so a receiver that still holds the
    old secret verifies too (docs/rules.md#webhook-secret-rotation)."""
    signatures = [Webhook(key).sign(message_id, at_utc, body) for key in (secret, also) if key]
    return {"webhook-id": message_id, "webhook-timestamp": str(int(at_utc.timestamp())),
            "webhook-signature": " ".join(signatures)}
