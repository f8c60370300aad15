"""Export: final postmortems to log.jsonl and amendments to amendments.jsonl, oldest first.

A line holds the seed's keys in the seed's order, then the extension keys that are set,
in the field registry's order (incidents.fields): each field's JSONL keys, the template
before the long-form sections, what the meeting adds last. A record that says no more
than the seed's dataclass can is written in exactly the seed's format.
"""
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from incidents import fields
from incidents.jsonl.records import (
    OBJECT_LINES,
    SEED_KEYS,
    AmendmentImpactLine,
    AmendmentRecord,
    PostmortemRecord,
    legacy_reference_fields,
    references_from_legacy,
)
from incidents.models import Amendment, Postmortem, Template
from incidents.models.choices import fix_to_log


def format_utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _json_value(value):
    """A column's value as the log writes it: USD as a string so cents stay exact."""
    return f"{value:.2f}" if isinstance(value, Decimal) else value


def _is_set(value) -> bool:
    return value is not None and value != ""


# The event (docs/rules.md#trigger-conditions), written when set, before the meeting's keys.
EVENT_KEYS = ("occurred_utc", "trigger", "trigger_reason")
# What the meeting adds (issue 3), written last and in this order, as the log always has.
MEETING_KEYS = ("severity", "question_set", "failure_mode_scan", "factor_substitution",
                "owner_sentiment")


def extension_keys() -> tuple[str, ...]:
    """The keys a line may add to the seed's, in the order they are written: the fields'
    in registry order (the template before the long-form sections), then EVENT_KEYS and
    MEETING_KEYS."""
    keys = []
    for field in fields.REGISTRY:
        if field.kind == fields.LONG_FORM_KIND and "template" not in keys:
            keys.append("template")
        keys += [key for key in field.jsonl
                 if key not in SEED_KEYS and key not in MEETING_KEYS and key not in keys]
    return (*keys, *EVENT_KEYS, *MEETING_KEYS)


def _object(record: PostmortemRecord, key: str) -> dict | None:
    """The object under `key` ("impact", "owner_sentiment"): its inputs that are set;
    None when nothing is set or a key its line requires (the quote) is not."""
    values = dict(record.values)
    obj = {item.jsonl.split(".", 1)[1]: _json_value(values[item.name])
           for item in fields.inputs()
           if item.jsonl.startswith(key + ".") and _is_set(values[item.name])}
    required = [name for name, info in OBJECT_LINES[key].model_fields.items()
                if info.is_required()]
    return obj if obj and all(name in obj for name in required) else None


def postmortem_json(record: PostmortemRecord) -> dict:
    """The log line's object of `record`."""
    by_name = dict(record.values)
    trace_id, pr_link = legacy_reference_fields(record.references)
    (by_name["fix_commit_sha"], by_name["fix_description"],
     by_name["fix_ticket_link"]) = fix_to_log(
        by_name["fix_commit_sha"], by_name["fix_description"], by_name["fix_ticket_link"],
        pr_link)
    values = {item.jsonl: _json_value(by_name[item.name])
              for item in fields.inputs() if "." not in item.jsonl}
    obj = {
        "id": record.id,
        "created_utc": format_utc(record.created_utc),
        "timeline": [{"utc": format_utc(row.utc) if row.utc else "", "event": row.event,
                      "trace_id": row.trace_id} for row in record.timeline],
        "contributing_factors": list(record.contributing_factors),
        "trace_id": trace_id,
        "pr_link": pr_link,
    }
    obj = {key: obj[key] if key in obj else values[key] for key in SEED_KEYS}
    extensions = {
        "template": str(record.template) if record.template != Template.SEVEN_FIELD else None,
        "references": ([{"kind": k, "value": v} for k, v in record.references]
                       if record.references != references_from_legacy(trace_id, pr_link)
                       else None),
        "factor_substitution": list(record.factor_substitution) or None,
        "occurred_utc": format_utc(record.occurred_utc) if record.occurred_utc else None,
        "trigger": record.trigger or None,
        "trigger_reason": record.trigger_reason or None,
        "severity": record.severity or None,
        "question_set": record.question_set or None,
        "failure_mode_scan": {
            mode: {"answer": answer, **({"note": note} if note else {})}
            for mode, answer, note in record.failure_mode_scan
        } or None,
    }
    for key in extension_keys():
        if key in extensions:
            value = extensions[key]
        elif key in OBJECT_LINES:
            value = _object(record, key)
        else:
            value = values[key] if _is_set(values[key]) else None
        if value is not None:
            obj[key] = value
    return obj


def amendment_json(record: AmendmentRecord) -> dict:
    """The log line's object of an amendment: section and figures only when set."""
    obj = {"parent_id": record.parent_id, "amended_utc": format_utc(record.amended_utc),
           "note": record.note}
    if record.section:
        obj["section"] = record.section
    impact = {key: _json_value(getattr(record, f"impact_{key}"))
              for key in AmendmentImpactLine.model_fields
              if getattr(record, f"impact_{key}") is not None}
    if impact:
        obj["impact"] = impact
    return obj


def export_log(out_dir: Path) -> tuple[int, int]:
    """Write out_dir/log.jsonl and out_dir/amendments.jsonl, oldest first.

    Only final postmortems are exported (drafts are not part of the log). Returns
    (postmortem count, amendment count).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    postmortems = (
        Postmortem.objects.filter(status=Postmortem.Status.FINAL)
        .order_by("created_utc", "id")
        .prefetch_related("timeline_entries", "contributing_factors", "references", "scan_answers")
    )
    amendments = Amendment.objects.order_by("amended_utc", "id")
    pm_count = _write_json_lines(
        out_dir / "log.jsonl",
        (postmortem_json(PostmortemRecord.from_postmortem(pm)) for pm in postmortems),
    )
    amendment_count = _write_json_lines(
        out_dir / "amendments.jsonl",
        (amendment_json(AmendmentRecord.from_amendment(a)) for a in amendments),
    )
    return pm_count, amendment_count


def _write_json_lines(path: Path, objects) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as fh:
        for obj in objects:
            fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
            count += 1
    return count
