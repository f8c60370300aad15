"""The body of a delivery, by the subscription's format (docs/rules.md#webhook-formats).

- json: {"type": "<event type>", "timestamp": "<ISO 8601 UTC>", "data": {...}}, the data
  holding the record and its "url".
- slack: a Slack incoming-webhook message: {"text": "<text> <url|Open in Scarlog>"} with
  one mrkdwn section block.
- teams: a Microsoft Teams incoming-webhook MessageCard: @type MessageCard, summary, title,
  text and an OpenUri action to the record.
Every body is JSON text, rendered once when the delivery is written, so every retry sends
(and signs) the same bytes.
"""
import json
from datetime import datetime

from core.webhooks.events import EventType

JSON, SLACK, TEAMS = "json", "slack", "teams"


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn control characters (https://api.slack.com/reference/surfaces/formatting).
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render(fmt: str, event_type: str, at_utc: datetime, data: dict, text: str,
           link: str) -> str:
    """The body (JSON text) for format `fmt` (json, slack or teams) of an event of
    `event_type` at `at_utc` (UTC) with `data` (JSON-ready), a one-line readable `text` and
    the record's `link`. Raises ValueError for another format."""
    if fmt == JSON:
        payload = {"type": event_type, "timestamp": at_utc.isoformat(),
                   "data": {**data, "url": link}}
    elif fmt == SLACK:
        shown = _slack_escape(text)
        message = f"{shown} <{link}|Open in Scarlog>" if link else shown
        payload = {"text": message,
                   "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": message}}]}
    elif fmt == TEAMS:
        payload = {
            "@type": "MessageCard", "@context": "https://schema.org/extensions",
            "summary": text, "themeColor": "B22222",
            "title": f"Scarlog: {EventType(event_type).label}", "text": text,
            "potentialAction": ([{"@type": "OpenUri", "name": "Open in Scarlog",
                                  "targets": [{"os": "default", "uri": link}]}]
                                if link else []),
        }
    else:
        raise ValueError(f"Format {fmt!r} is not one of json, slack, teams.")
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))
