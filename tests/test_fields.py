"""The field registry (incidents.fields) is the one list of the template's fields: every
reader takes its fields, order, labels and column lengths from it and from the model."""
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import create_model

from core.validation import Record, RecordError, parse_record
from incidents import (
    autosave,
    fields,
    forms,
    markdown_export,
    meeting_record,
    revisions,
    services,
    template_rules,
)
from incidents.jsonl.records import (
    OBJECT_LINES,
    RECORD_KEYS,
    SEED_KEYS,
    PostmortemLine,
    PostmortemRecord,
    ReferenceLine,
    TimelineRow,
    TimelineRowLine,
    column,
)
from incidents.jsonl.writer import extension_keys, postmortem_json
from incidents.models import Postmortem, Reference, Section, TimelineEntry
from tests.conftest import fill_complete_draft

# Postmortem columns that are about the record, not a template field.
RECORD_COLUMNS = {"id", "created_utc", "created_by", "status", "origin", "template",
                  "occurred_utc", "trigger", "trigger_reason", "updated_utc", "finalized_utc",
                  "finalized_by", "search_vector", "severity", "question_set"}


def test_every_template_column_of_the_model_is_in_the_registry_exactly_once():
    columns = {f.name for f in Postmortem._meta.concrete_fields} - RECORD_COLUMNS
    names = [item.name for item in fields.inputs()]
    assert sorted(names) == sorted(columns)
    assert len(names) == len(set(names))
    assert len(fields.REGISTRY) == len(fields.FIELDS_BY_KEY)


def test_the_registry_declares_the_template_in_order():
    assert [f.number for f in fields.REGISTRY if f.number] == list(range(1, 12))
    assert [f.key for f in fields.SEVEN] == [
        "summary", "timeline", "root_cause", "contributing_factors", "fix", "prevention",
        "references"]
    assert [f.key for f in fields.LONG_FORM] == list(Section.values)
    assert [f.label for f in fields.LONG_FORM] == list(Section.labels)
    assert fields.field("fix").input_names == (
        "fix_commit_sha", "fix_description", "fix_ticket_link")
    assert fields.field("impact").input_names == (
        "impact_usd", "impact_users", "impact_duration_minutes", "impact_description")
    assert [f.key for f in fields.REGISTRY if f.is_row_field] == [
        "timeline", "contributing_factors", "references"]
    assert fields.input_field("fix_ticket_link").key == "fix"
    assert [f.key for f in fields.OPTIONAL_FIELDS] == ["owner_sentiment"]
    with pytest.raises(KeyError):
        fields.field("severity")


def test_every_reader_takes_its_field_list_from_the_registry():
    assert fields.input_names() == forms.AUTOSAVE_FIELDS
    with pytest.raises(autosave.UnknownInput):  # the service knows only the registry's inputs
        autosave.save_field("0", "severity", {}, "0", "", None)
    assert [(f.key, f.label) for f in fields.SEVEN] == template_rules.FIELDS
    assert tuple(f.key for f in fields.LONG_FORM) == template_rules.LONG_FORM_KEYS
    assert {k: template_rules.FIELD_LABELS[k] for k in fields.FIELDS_BY_KEY} == fields.labels()
    # The rules check every field held in the postmortem row, and only those.
    assert {
        f.key for f in fields.REGISTRY if f.inputs and f.kind != fields.OPTIONAL
    } == template_rules.SCALAR_FIELD_KEYS
    assert {f.key for f in fields.REGISTRY} == revisions.HISTORY_FIELDS
    assert set(meeting_record.MARKABLE_FIELDS) == {
        f.key for f in fields.REGISTRY if f.markable} | {"scan"}


def test_the_form_has_a_field_form_for_every_input():
    for name in fields.input_names():
        form = forms.field_form(name, {name: ""}, Postmortem())
        assert list(form.fields) == [name]
        if fields.max_length(name) and not Postmortem._meta.get_field(name).choices:
            assert form.fields[name].max_length == fields.max_length(name)


def test_the_searched_columns_come_from_the_registry():
    # The postmortem's search vector (its trigger, incidents migration 0015) is built from
    # Postmortem.search_columns: the registry's searched inputs, in the registry's order.
    assert Postmortem.search_columns == fields.searched_columns()
    assert set(fields.searched_columns()) - set(fields.OTHER_SEARCHED_COLUMNS) == {
        item.name for item in fields.inputs() if item.search}


def full_record() -> PostmortemRecord:
    values = {
        "summary": "A position stayed open after its thesis was invalidated.",
        "root_cause": "operational", "fix_commit_sha": "3f9c2ab",
        "fix_description": "Wired the invalidation signal to an exit order.",
        "fix_ticket_link": "https://tickets.example.com/OPS-1",
        "prevention": "An alert fires when an invalidated position stays open.",
        "impact_usd": Decimal("1400.00"), "impact_users": 0, "impact_duration_minutes": 105,
        "impact_description": "1.4% of capital.", "what_went_well": "The alert fired.",
        "what_went_wrong": "No exit order.", "lessons_learned": "Wire signals to orders.",
        "owner_sentiment": "It cost us a week.", "owner_sentiment_by": "operator",
    }
    start = datetime(2026, 3, 2, 14, 2, tzinfo=UTC)
    return PostmortemRecord(
        id="11111111-2222-4333-8444-555555555555", created_utc=start,
        values=tuple((item.name, values[item.name]) for item in fields.inputs()),
        template="long-form",
        timeline=(TimelineRow(start, "Position opened", "tr-1"),),
        contributing_factors=("No monitor watched the invalidation time.",),
        factor_substitution=("structural",),
        references=(("commit", "3f9c2ab"), ("trace_id", "tr-1")),
        failure_mode_scan=(("token_runaway", "yes", "300k tokens"),),
    )


def test_the_jsonl_writer_writes_every_registry_field_and_the_reader_reads_it_back():
    record = full_record()
    line = postmortem_json(record)
    for field in fields.REGISTRY:
        for key in field.jsonl:
            assert key in line, (field.key, key)
    for item in fields.inputs():
        parent, _, key = item.jsonl.partition(".")
        assert (key in line[parent]) if key else (parent in line), item.name
    assert list(line)[:len(SEED_KEYS)] == list(SEED_KEYS)
    assert set(line) <= set(SEED_KEYS) | set(extension_keys())
    parsed = parse_record(PostmortemLine, json.loads(json.dumps(line)))
    assert parsed.to_record() == record


def test_the_jsonl_line_has_exactly_the_registry_keys():
    registry_keys = {key for f in fields.REGISTRY for key in f.jsonl}
    assert set(PostmortemLine.model_fields) == registry_keys | set(RECORD_KEYS)
    assert set(SEED_KEYS) <= registry_keys | set(RECORD_KEYS)
    for parent, line in OBJECT_LINES.items():
        assert {item.jsonl.split(".", 1)[1] for item in fields.inputs()
                if item.jsonl.startswith(parent + ".")} == set(line.model_fields)


def _refusal(model, data) -> str:
    with pytest.raises(RecordError) as error:
        parse_record(model, data)
    return str(error.value)


def test_the_jsonl_readers_length_limits_are_the_models():
    line = postmortem_json(full_record())
    limited = [item for item in fields.inputs() if item.max_length and "." not in item.jsonl
               and not item.model_field.choices]
    assert {item.name for item in limited} >= {"fix_commit_sha", "fix_ticket_link"}
    for item in limited:
        limit = Postmortem._meta.get_field(item.name).max_length
        assert item.max_length == limit
        # A link's value must also be a link (docs/rules.md#input-links).
        prefix = "https://h.example/" if item.web_link else ""
        parse_record(PostmortemLine, line | {item.jsonl: prefix + "a" * (limit - len(prefix))})
        assert _refusal(PostmortemLine, line | {
            item.jsonl: prefix + "a" * (limit + 1 - len(prefix))}) == (
            f"{item.jsonl}: is {limit + 1} characters; at most {limit} fit")
    owner_by = Postmortem._meta.get_field("owner_sentiment_by").max_length
    assert _refusal(PostmortemLine, line | {"owner_sentiment": {
        "quote": "q", "by": "b" * (owner_by + 1)}}).endswith(f"at most {owner_by} fit")
    trace = TimelineEntry._meta.get_field("trace_id").max_length
    assert _refusal(TimelineRowLine, {"utc": "2026-03-02T14:02:00+00:00", "event": "x",
                                      "trace_id": "t" * (trace + 1)}).endswith(
        f"at most {trace} fit")
    value = Reference._meta.get_field("value").max_length
    assert _refusal(ReferenceLine, {"kind": "ticket", "value": "v" * (value + 1)}).endswith(
        f"at most {value} fit")


def test_a_changed_model_length_is_what_the_reader_checks(monkeypatch):
    monkeypatch.setattr(Postmortem._meta.get_field("fix_commit_sha"), "max_length", 10)
    assert fields.field("fix").input("fix_commit_sha").max_length == 10
    shape = create_model("Shape", __base__=Record, sha=(column(Postmortem, "fix_commit_sha"), ...))
    assert _refusal(shape, {"sha": "a" * 11}) == "sha: is 11 characters; at most 10 fit"


@pytest.mark.django_db
def test_the_markdown_export_writes_every_registry_field_in_order(alice):
    pm = fill_complete_draft(services.create_draft(alice, template="long-form"))
    pm.owner_sentiment, pm.owner_sentiment_by = "It cost us a week.", "operator"
    pm.what_went_well = "The alert fired."
    pm.save()
    text = markdown_export.postmortem_markdown(
        Postmortem.objects.prefetch_related("amendments").get(pk=pm.pk))
    positions = [text.index(f"\n## {field.markdown_heading}\n") for field in fields.REGISTRY]
    assert positions == sorted(positions)
