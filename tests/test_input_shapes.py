"""The shapes that break parsers (integers of thousands of digits, nesting deeper than the
parser recurses, amounts such as 1e999999999, year 0) are refused with a located message
through each entry point, never a traceback or a 500."""
import json
from pathlib import Path

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


# --- Extreme values, one per entry point (docs/rules.md#limits) ------------------------

COST_LOG = "tests/data/MISHAP_COST_LOG.md"


def test_a_cost_that_overflows_its_column_is_refused_by_line_on_import(tmp_path):
    from costlog.models import MishapEntry
    text = Path(COST_LOG).read_text(encoding="utf-8").replace("$78,947", "$" + HUGE_INT, 1)
    path = tmp_path / "log.md"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CommandError) as caught:
        call_command("import_costlog", str(path))
    assert "Nothing was imported" in str(caught.value) and "line " in str(caught.value)
    assert "cost" in str(caught.value).lower()
    assert not MishapEntry.objects.exists()


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00",
                                    "1969-12-31T23:59:59Z"])
def test_the_events_api_refuses_a_time_outside_the_range_naming_it(send, moment):
    body = json.dumps({"trigger": "other", "occurred_utc": moment, "trace_id": "t-1",
                       "summary": "A job ran twice.", "trigger_reason": "A near-miss."})
    response = send(body)
    assert response.status_code == 400
    assert response.json()["field"] == "occurred_utc"
    assert "1970-01-01 to 2099-12-31" in response.json()["error"]
    assert not Postmortem.objects.exists()


def test_the_postmortem_import_refuses_a_year_one_time_naming_line_and_key(tmp_path):
    line = Path("tests/data/postmortems.jsonl").read_text(encoding="utf-8").splitlines()[0]
    record = json.loads(line)
    record["created_utc"] = "0001-01-01T00:00:00+05:00"
    path = tmp_path / "postmortems.jsonl"
    path.write_text(json.dumps(record) + "\n")
    with pytest.raises(CommandError) as caught:
        call_command("import_postmortems", str(path))
    assert f"{path}, line 1: created_utc: " in str(caught.value)
    assert not Postmortem.objects.exists()


def test_an_import_file_over_the_limit_is_refused_before_it_is_read(tmp_path):
    from core.limits import IMPORT_FILE_BYTES
    path = tmp_path / "kb.yaml"
    with path.open("wb") as handle:
        handle.truncate(IMPORT_FILE_BYTES + 1)  # sparse: the size is what is checked
    with pytest.raises(CommandError, match="an import reads at most"):
        call_command("import_knowledge", str(path))
    assert not KnowledgeEntry.objects.exists()


@pytest.mark.parametrize("period", ["0000-01", "9999-13", "9999-01", "-1", "1" * 5000,
                                    "0000-Q1"])
def test_an_impossible_period_is_a_400_page_naming_it(period):
    client = __import__("django.test", fromlist=["Client"]).Client()
    client.force_login(make_user("reader"))
    response = client.get("/costs/", {"period": period})
    assert response.status_code == 400
    assert 'role="alert"><strong>period</strong>: Period ' in response.content.decode()


def test_an_oversized_form_body_is_a_413_saying_the_limit(client):
    client.force_login(make_user("writer"))
    response = client.post("/postmortems/new/", {"trigger_reason": "x" * (5 * 1024 * 1024)})
    assert response.status_code == 413
    assert "larger than 4,194,304 bytes" in response.content.decode()
    assert not Postmortem.objects.exists()


def test_an_oversized_api_body_is_a_413_naming_the_body(send):
    response = send('{"summary": "' + "x" * (5 * 1024 * 1024) + '"}')
    assert response.status_code == 413
    assert response.json()["field"] == "body"


def test_a_nul_in_an_action_item_or_drop_reason_is_refused_by_name(final_postmortem):
    from datetime import date

    from incidents import action_items
    from incidents.models import ActionItem
    owner = make_user("owner")
    with pytest.raises(action_items.ActionItemError, match="Description holds a NUL"):
        action_items.add_item(final_postmortem, "test", "a\x00b", owner, date(2026, 4, 1))
    item = action_items.add_item(final_postmortem, "test", "Add a test", owner, date(2026, 4, 1))
    with pytest.raises(action_items.ActionItemError, match="Reason for dropping is 2,001"):
        action_items.drop_item(item, "x" * 2001)
    with pytest.raises(action_items.ActionItemError, match="Due date: 9999-12-31 is outside"):
        action_items.add_item(final_postmortem, "test", "Add a test", owner, date(9999, 12, 31))
    assert ActionItem.objects.get().status == ActionItem.Status.OPEN


def test_a_cost_entry_late_on_2099_12_31_in_new_york_is_refused_as_2100_utc(real_cost_log):
    from costlog.forms import MishapEntryForm
    from costlog.models import RootPattern
    form = MishapEntryForm({
        "occurred_date": "2099-12-31", "occurred_time": "23:30", "logged_zone": "ET",
        "title": "A mishap", "what_happened": "x", "root_cause": "y",
        "patterns": [RootPattern.objects.first().pk], "prevention_items": "z"})
    assert not form.is_valid()
    message = form.errors["occurred_date"][0]
    assert message == ("Date and time in ET is outside the accepted range of times, from "
                       "1970-01-01 to 2099-12-31 (UTC); in UTC it is 2100-01-01 04:30.")


@pytest.mark.parametrize("text, words", [
    ("1e999999", "more than the largest amount stored"),
    ("1e-999999", "more than two decimals"),
    (HUGE_INT, "more than the largest amount stored"),
])
def test_an_amount_of_extreme_size_is_refused_in_words(text, words):
    from core.units import parse_usd
    with pytest.raises(ValueError, match=words):
        parse_usd(text)


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
def test_memory_evidence_from_year_one_or_9999_is_refused_by_name(moment):
    from incidents.evidence import EvidenceError, clean_evidence
    with pytest.raises(EvidenceError, match="last modified") as caught:
        clean_evidence("memory", {"memory_file": "MEMORY.md", "last_modified_utc": moment})
    assert "outside the accepted range" in str(caught.value)


def test_a_rate_that_overflows_its_column_is_refused():
    from costlog.markdown_format import parse_rate
    with pytest.raises(ValueError, match="does not fit the rate column"):
        parse_rate("GPU", "$" + "9" * 50 + "/hour")


def test_a_runbook_file_with_an_oversized_body_is_refused_by_file_and_key(tmp_path):
    import shutil

    from runbooks.models import Runbook
    shutil.copytree("tests/data/docs", tmp_path / "docs")
    path = tmp_path / "docs" / "v2" / "arch" / "01-system-overview.md"
    path.write_text(path.read_text(encoding="utf-8") + "x" * 200_001, encoding="utf-8")
    with pytest.raises(CommandError) as caught:
        call_command("import_runbooks", str(tmp_path / "docs"))
    assert "v2/arch/01-system-overview.md: body: is " in str(caught.value)
    assert "at most 200,000" in str(caught.value)
    assert not Runbook.objects.exists()
