"""The shapes that break parsers (integers of thousands of digits, nesting deeper than the
parser recurses, amounts such as 1e999999999, year 0) are refused with a located message
through each entry point, never a traceback or a 500."""
import json

import pytest
from django.core.management import CommandError, call_command

from core.api_tokens import create_token
from incidents.models import Postmortem
from knowledge.models import KnowledgeEntry
from tests.conftest import NOW, make_user

pytestmark = pytest.mark.django_db

HUGE_INT = "9" * 5000
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture
def send(client):
    user = make_user("ops")
    _, key = create_token("monitor", user, ["events:write"])

    def post(body: str):
        return client.post("/api/events", body, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {key}")
    return post


def drawdown(loss: str) -> str:
    return json.dumps({"trigger": "drawdown", "occurred_utc": NOW.isoformat(), "trace_id": "t-1",
                       "summary": "A session lost more than it should.",
                       "sessions": [{"loss_usd": loss, "deployed_capital_usd": "100000"}]})


@pytest.mark.parametrize("body, field, words", [
    ('{"trigger": "drawdown", "x": ' + HUGE_INT + "}", "body", "too large"),
    ('{"trigger": ' + "[" * 5000 + "]" * 5000 + "}", "body", "nested too deeply"),
    (drawdown("1e999999999"), "sessions[0].loss_usd", "between one cent and a trillion"),
    (drawdown("1E+5000"), "sessions[0].loss_usd", "between one cent and a trillion"),
    (drawdown(HUGE_INT), "sessions[0].loss_usd", "between one cent and a trillion"),
])
def test_the_events_api_refuses_huge_and_deep_input_naming_the_field(send, body, field, words):
    response = send(body)
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert words in response.json()["error"]
    assert len(response.content) < 2000  # the input is not echoed whole
    assert not Postmortem.objects.exists()


def test_the_events_api_refuses_json_nested_deeper_than_its_parser(send, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
    response = send(DEEP)
    assert response.status_code == 400
    assert response.json()["field"] == "body"


@pytest.mark.parametrize("line, words", [
    ('{"id": ' + HUGE_INT + "}", "too large"),
    (DEEP, "nested too deeply"),
])
def test_the_postmortem_import_names_the_line_of_huge_or_deep_json(tmp_path, line, words):
    path = tmp_path / "postmortems.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(CommandError) as caught:
        call_command("import_postmortems", str(path))
    assert f"{path}, line 1: " in str(caught.value) and words in str(caught.value)
    assert not Postmortem.objects.exists()


@pytest.mark.parametrize("text", [
    "patterns:\n" + "  " + "[" * 20_000 + "]" * 20_000 + "\n",
    "version: " + HUGE_INT + "\npatterns: []\n",
])
def test_the_knowledge_import_refuses_deep_or_huge_yaml_and_stores_nothing(tmp_path, text):
    path = tmp_path / "kb.yaml"
    path.write_text(text)
    with pytest.raises(CommandError) as caught:
        call_command("import_knowledge", str(path))
    assert "Nothing was imported" in str(caught.value)
    assert not KnowledgeEntry.objects.exists()
