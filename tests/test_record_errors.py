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
    (event(occurred_utc="soon"), "occurred_utc", "is not a UTC time such as"),
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


# --- knowledge base YAML -------------------------------------------------------------

KNOWLEDGE = """version: 1
patterns:
  - id: first
    name: "First"
    severity: "HIGH"
    category: "code"
    description: "One."
    do: ["a"]
    dont: []
    checklist: []
    reference_files: []
  - id: second
    name: "Second"
    severity: "LOW"
    category: "code"
    description: "Two."
    do: ["a", "b"]
    dont: []
    checklist: []
    reference_files: []
anti_patterns: []
decision_trees:
  - id: tree
    name: "Tree"
    severity: "LOW"
    steps:
      - question: "Failing?"
        yes: stop
        no: stop
      - id: stop
        action: "Stop."
"""


@pytest.mark.parametrize("old, new, line, entry, key, path, words", [
    ('severity: "LOW"\n    category', "severity: 5\n    category", 14, "second", "severity",
     "patterns[1].severity", "5 is not one of CRITICAL, HIGH, MEDIUM, LOW."),
    ('do: ["a", "b"]', 'do: ["a", 2]', 17, "second", "do[1]", "patterns[1].do[1]",
     "must be text, not a number"),
    ('    checklist: []\n    reference_files: []\nanti', '    checklist: []\nanti', 12,
     "second", "reference_files", "patterns[1].reference_files", "is missing."),
    ('name: "First"', 'name: "' + "n" * 201 + '"', 4, "first", "name", "patterns[0].name",
     "at most 200"),
    ("        no: stop", "        no: nowhere", 29, "tree", "steps[0].no",
     "decision_trees[0].steps[0].no", "names step 'nowhere'"),
    ("        action: \"Stop.\"", "        action: \"Stop.\"\n        yes: stop", 30,
     "tree", "steps[1]", "decision_trees[0].steps[1]", "an action step ends the walk"),
    ("  - id: second\n", "  - id: first\n", 12, "first", "id", "patterns[1].id",
     "appears twice."),
])
def test_a_bad_knowledge_entry_names_file_line_entry_and_key(old, new, line, entry, key,
                                                              path, words):
    from knowledge.kb_yaml import KnowledgeSchemaError, parse_yaml
    assert len(parse_yaml(KNOWLEDGE)) == 3
    bad = KNOWLEDGE.replace(old, new, 1)
    assert bad != KNOWLEDGE
    with pytest.raises(KnowledgeSchemaError) as caught:
        parse_yaml(bad, "kb.yaml")
    error = caught.value
    assert isinstance(error, RecordError)
    assert (error.source, error.line, error.entry, error.key, error.path) == \
        ("kb.yaml", line, entry, key, path)
    assert words in error.message
    assert str(error) == f"kb.yaml, line {line}: entry {entry}, key {key}: {error.message}"


@pytest.mark.django_db
def test_the_knowledge_import_command_prints_the_located_error_and_stores_nothing(tmp_path):
    from django.core.management import CommandError, call_command

    from knowledge.models import KnowledgeEntry
    path = tmp_path / "kb.yaml"
    path.write_text(KNOWLEDGE.replace('severity: "LOW"\n    category', "severity: 5\n    category"))
    with pytest.raises(CommandError) as caught:
        call_command("import_knowledge", str(path))
    assert str(caught.value) == (f"Nothing was imported: {path}, line 14: entry second, key "
                                 "severity: 5 is not one of CRITICAL, HIGH, MEDIUM, LOW.")
    assert not KnowledgeEntry.objects.exists()


# --- Markdown cost log ---------------------------------------------------------------

COST_LOG = """# Mishap Cost Log

## Cost reference

| Resource | Cost |
|---|---|
| ECS Task (Fargate) | ~$0.04/hour |

## Session 2026-01-30

#### [1:00 PM ET] - KXIN Concentration Loss
- **What happened**: Bought too much.
- **Root cause**: No risk check.
- **Root pattern**: Silent fallback
- **Duration**: One trading session
- **Estimated cost**: $78,947
"""


@pytest.mark.parametrize("old, new, line, key, words", [
    ("$78,947", "about 79k", 16, "Estimated cost", "Estimated cost 'about 79k' is not like"),
    ("$78,947", "$10-5", 16, "Estimated cost", "high figure below its low figure"),
    ("- **Estimated cost**: $78,947\n", "", 11, "Estimated cost", "missing Estimated cost"),
    ("One trading session", "d" * 201, 15, "Duration", "Duration is 201 characters; at most 200"),
    ("[1:00 PM ET]", "[1:00 PM CET]", 11, "time zone", "time zone 'CET' is not one of"),
    ("KXIN Concentration Loss", "K" * 301, 11, "Title", "Title is 301 characters; at most 300"),
    ("~$0.04/hour", "4 cents", 7, "cost",
     "cost '4 cents' of 'ECS Task (Fargate)' is not like '~$0.23/hour'"),
])
def test_a_bad_cost_log_field_names_file_line_and_key(old, new, line, key, words):
    from costlog.markdown_format import CostLogError, parse_log
    assert len(parse_log(COST_LOG).entries) == 1
    with pytest.raises(CostLogError) as caught:
        parse_log(COST_LOG.replace(old, new), "MISHAP_COST_LOG.md")
    error = caught.value
    assert isinstance(error, RecordError) and len(error.problems) == 1, error.errors
    [problem] = error.problems
    assert (problem.source, problem.line, problem.key) == ("MISHAP_COST_LOG.md", line, key)
    assert (error.source, error.line, error.key) == ("MISHAP_COST_LOG.md", line, key)
    assert words in problem.message
    assert error.errors == [problem.located()] and str(error) == problem.located()
    assert problem.located().startswith(f"MISHAP_COST_LOG.md, line {line}")


@pytest.mark.django_db
def test_the_cost_log_import_command_prints_the_located_error_and_stores_nothing(tmp_path):
    from django.core.management import CommandError, call_command

    from costlog.models import MishapEntry, ResourceRate
    path = tmp_path / "MISHAP_COST_LOG.md"
    path.write_text(COST_LOG.replace("$78,947", "lots"))
    with pytest.raises(CommandError) as caught:
        call_command("import_costlog", str(path))
    assert str(caught.value) == (
        f"Nothing was imported:\n  {path}, line 16 (KXIN Concentration Loss): Estimated cost "
        "'lots' is not like '$78,947', '~$5-10' or '$0 (near-miss)'")
    assert not MishapEntry.objects.exists() and not ResourceRate.objects.exists()
