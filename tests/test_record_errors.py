"""The four converted parsers refuse bad input with one error type, RecordError, that
says where the bad value is: the source (file or request body), the line and the key."""
from datetime import UTC, datetime, timedelta

import pytest

from core.validation import RecordError

OCCURRED = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0).isoformat()


def event(**changes):
    return {"trigger": "provider_outage", "occurred_utc": OCCURRED, "trace_id": "tr-1",
            "summary": "Rate-limit cascade.", **changes}


# --- POST /api/events ----------------------------------------------------------------

@pytest.mark.parametrize("payload, key, words", [
    (event(occurred_utc=12), "occurred_utc", "must be text, not a number"),
    (event(occurred_utc="soon"), "occurred_utc", "is not an ISO 8601 time"),
    (event(trace_id="t" * 201), "trace_id", "at most 200"),
    (event(trigger="drawdown", sessions=[{"loss_usd": "1", "deployed_capital_usd": "-2"}]),
     "sessions[0].deployed_capital_usd", "must be more than 0"),
    (event(colour="red"), "colour", "Unknown field(s): 'colour'."),
])
def test_a_bad_event_names_its_key_in_the_request_body(payload, key, words):
    from incidents.events import parse_event
    from incidents.services import EventError
    with pytest.raises(RecordError) as caught:
        parse_event(payload)
    error = caught.value
    assert isinstance(error, EventError) and error.field == key
    assert (error.source, error.line, error.key) == ("request body", None, key)
    assert words in error.message
    assert str(error) == f"request body: {key}: {error.message}"


@pytest.mark.django_db
def test_the_events_api_answers_with_the_key_as_field(alice):
    import json

    from django.test import Client

    from core.api_tokens import create_token
    _, key = create_token("monitor", alice, ["events:write"])
    response = Client().post("/api/events", json.dumps(event(occurred_utc=12)),
                             content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 400
    assert response.json() == {"error": "request body: occurred_utc: must be text, not a number.",
                               "field": "occurred_utc"}


# --- runbook frontmatter -------------------------------------------------------------

RUNBOOK = """---
id: ops-04
title: Hotfix and Rollback
perspective: operations
tags: [hotfix, rollback]
depends_on: [ops-01]
key_files:
  - deploy.sh
last_updated: 2026-02-17
---
# Body
"""


@pytest.mark.parametrize("old, new, line, key, words", [
    ("title: Hotfix and Rollback\n", "title: Hotfix and Rollback\nowner: bob\n", 4, "owner",
     "is not a frontmatter key (id, title, perspective"),
    ("perspective: operations", "perspective: finance", 4, "perspective",
     "'finance' is not one of"),
    ("tags: [hotfix, rollback]", "tags: [hotfix, 7]", 5, "tags[1]", "must be text, not a number"),
    ("  - deploy.sh", "  - deploy.sh\n  - ''", 9, "key_files[1]", "must not be empty"),
    ("last_updated: 2026-02-17", "last_updated: someday", 9, "last_updated", "is not a date"),
    ("id: ops-04\n", "", 2, "id", "is missing"),
    ("title: Hotfix and Rollback", "title: " + "t" * 201, 3, "title", "at most 200"),
])
def test_a_bad_frontmatter_names_file_line_and_key(old, new, line, key, words):
    from runbooks.frontmatter import FrontmatterError, parse
    with pytest.raises(FrontmatterError) as caught:
        parse(RUNBOOK.replace(old, new), "ops/04-hotfix.md")
    error = caught.value
    assert isinstance(error, RecordError)
    assert (error.source, error.line, error.key) == ("ops/04-hotfix.md", line, key)
    assert words in error.message
    assert str(error).startswith(f"ops/04-hotfix.md, line {line}: {key}: ")
