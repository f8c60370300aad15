"""One reading of a UTC time for every field (docs/rules.md#input-utc-times): the parser,
the timeline row's htmx autosave (driven by JS, so posted directly), and bad shapes."""
from datetime import UTC, datetime

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from core.utc_times import format_utc_input, parse_utc
from incidents import services
from incidents.evidence import EvidenceError, clean_evidence
from incidents.models import TimelineEntry
from tests.test_rendered_forms import UTC_FORMATS


@pytest.mark.parametrize("typed, moment", [
    *UTC_FORMATS,
    ("2026-03-08 19:00 UTC", datetime(2026, 3, 8, 19, 0, tzinfo=UTC)),
    ("  2026-03-08T19:00:00.250Z ", datetime(2026, 3, 8, 19, 0, 0, 250000, tzinfo=UTC)),
])
def test_each_accepted_form_reads_as_the_same_utc_moment(typed, moment):
    assert parse_utc(typed) == moment


@pytest.mark.parametrize("typed", [
    "", "2026-03-08", "19:00", "2026-02-30 10:00", "2026-03-08 25:00", "20260308T1900",
    "2026-W10-1 19:00", "2026-03-08 19:00 +0200", "2026-03-08 19:00 CET", "tuesday",
    "2026-03-08 19:00\x00", "9" * 5000,
])
def test_anything_else_is_refused_quoting_at_most_40_characters(typed):
    with pytest.raises(ValueError, match="is not a date and time; use YYYY-MM-DD HH:MM") as error:
        parse_utc(typed)
    assert len(str(error.value)) < 200


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2099, 12, 31),  # noqa: DTZ001
                    timezones=st.just(UTC)))
def test_what_an_input_shows_reads_back(moment):
    assert parse_utc(format_utc_input(moment)) == moment.replace(microsecond=0)


@given(st.text(max_size=300))
def test_no_text_raises_anything_but_a_value_error(text):
    try:
        parsed = parse_utc(text)
    except ValueError:
        return
    assert parsed.tzinfo is UTC


def test_memory_evidence_reads_the_time_the_issue_typed():
    cleaned = clean_evidence("memory", {"memory_file": "m.md",
                                        "last_modified_utc": "2026-12-01 19:00"})
    assert cleaned["last_modified_utc"] == "2026-12-01T19:00:00+00:00"
    with pytest.raises(EvidenceError, match="last modified \\(UTC\\): '2026-12-01' is not"):
        clean_evidence("memory", {"memory_file": "m.md", "last_modified_utc": "2026-12-01"})


@pytest.mark.django_db
@pytest.mark.parametrize("typed, moment", UTC_FORMATS)
def test_a_timeline_row_autosaves_every_form(alice_client, alice, typed, moment):
    pm = services.create_draft(alice)
    alice_client.post(reverse("incidents:row_add", args=[pm.pk, "timeline"]), htmx=True)
    row = TimelineEntry.objects.get(postmortem=pm)
    response = alice_client.post(
        reverse("incidents:row_update", args=[pm.pk, "timeline", row.pk]),
        {"utc": typed, "event": "Order filled", "trace_id": "tr-1", "base_version": "0"},
        htmx=True)
    assert response.status_code == 200
    row.refresh_from_db()
    assert row.utc == moment
