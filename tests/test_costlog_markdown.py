"""The seed's Markdown cost log: every cost notation, the rates, entries, and malformed input."""
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from costlog.markdown_format import (
    CostEstimate,
    CostLogError,
    format_cost,
    format_log,
    parse_cost,
    parse_log,
    parse_rate,
)
from tests.conftest import TEST_DATA

SEED_LOG = (TEST_DATA / "MISHAP_COST_LOG.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("text, low, high, approximate, note", [
    ("$78,947", "78947", "78947", False, ""),
    ("~$5-10 (wasted training jobs)", "5", "10", True, "wasted training jobs"),
    ("~$150-250", "150", "250", True, ""),
    ("~$20-40", "20", "40", True, ""),
    ("$0 (near-miss)", "0", "0", False, "near-miss"),
    ("$0 (5 hours lost, zero trades that morning)", "0", "0", False,
     "5 hours lost, zero trades that morning"),
    ("$1,250.50", "1250.50", "1250.50", False, ""),
    ("~$1,000-$2,500", "1000", "2500", True, ""),
])
def test_each_cost_notation_parses_to_a_decimal_usd_range(text, low, high, approximate, note):
    cost = parse_cost(text)
    assert cost == CostEstimate(Decimal(low), Decimal(high), approximate, note)
    assert isinstance(cost.low, Decimal)


@pytest.mark.parametrize("text", ["~$5-10 (wasted training jobs)", "$78,947", "$0 (near-miss)",
                                  "~$150-250", "$1,250.50"])
def test_costs_are_written_back_as_they_were_read(text):
    assert format_cost(parse_cost(text)) == text


def test_only_a_zero_cost_marked_near_miss_is_a_near_miss():
    assert parse_cost("$0 (near-miss)").near_miss
    assert not parse_cost("$0 (missed trading window)").near_miss
    assert not parse_cost("~$5-10").near_miss


@pytest.mark.parametrize("text, problem", [
    ("about five dollars", "is not like '$78,947'"),
    ("$10-5", "high figure below its low figure"),
    ("5-10", "is not like"),
    ("$5k", "is not like"),
    ("", "is not like"),
])
def test_malformed_costs_are_refused_with_the_text(text, problem):
    with pytest.raises(ValueError, match=re.escape(problem)):
        parse_cost(text)


def test_rates_per_hour_and_per_second():
    assert parse_rate("Endpoint", "~$0.05/hour").usd == Decimal("0.05")
    serverless = parse_rate("Serverless", "~$0.00012/second")
    assert (serverless.usd, serverless.unit) == (Decimal("0.00012"), "second")
    with pytest.raises(ValueError, match=r"is not like '~\$0.23/hour'"):
        parse_rate("Endpoint", "$0.05 per hour")


def test_the_real_log_parses_into_its_rates_and_entries():
    log = parse_log(SEED_LOG)
    assert len(log.rates) == 6
    assert [e.title for e in log.entries][:2] == [
        "EventBridge Trading Rules Disabled",
        "Silent Heuristic Fallback Producing Identical Results",
    ]
    assert len(log.entries) == 7
    kxin = next(e for e in log.entries if e.title == "KXIN Concentration Loss")
    assert kxin.cost == CostEstimate(Decimal(78947), Decimal(78947))
    assert kxin.root_patterns == ["Silent fallback", "Missing risk check"]
    assert kxin.bullets["Prevention"].items[3] == "Validate portfolio risk before every buy"
    # 1:00 PM Eastern Standard Time on 2026-01-30 is 18:00 UTC.
    assert kxin.occurred_utc == datetime(2026, 1, 30, 18, 0, tzinfo=UTC)
    fallback = log.entries[1]
    assert fallback.bullets["Root cause"].text == "TWO cascading failures:"
    assert len(fallback.bullets["Root cause"].items) == 2


def test_writing_the_parsed_real_log_reproduces_the_file():
    assert format_log(parse_log(SEED_LOG)) == SEED_LOG


@pytest.mark.parametrize("broken, expected", [
    ("#### [6:02 PM ET] - Silent",
     "line 30: entry heading '#### [6:02PM ET] - Silent Heuristic Fallback Producing"),
    ("- **Estimated cost**: ~$5-10 (wasted training jobs)",
     "line 38 (Silent Heuristic Fallback Producing Identical Results): Estimated cost"),
    ("- **Root pattern**: Silent fallback", "label 'Root pattern' appears twice"),
    ("## Session 2026-13-40", "session date '2026-13-40' is not a date"),
    ("| SageMaker Endpoint (ml.t2.medium) | ~$0.05/hour |", "is not like '~$0.23/hour'"),
])
def test_a_malformed_line_is_reported_with_its_number_and_heading(broken, expected):
    replacements = {
        "#### [6:02 PM ET] - Silent": ("#### [6:02 PM ET]", "#### [6:02PM ET]"),
        "- **Estimated cost**: ~$5-10 (wasted training jobs)":
            ("~$5-10 (wasted training jobs)", "five to ten dollars"),
        "- **Root pattern**: Silent fallback":
            ("- **Root pattern**: Silent fallback\n",
             "- **Root pattern**: Silent fallback\n- **Root pattern**: Silent fallback\n"),
        "## Session 2026-13-40": ("## Session 2026-01-12", "## Session 2026-13-40"),
        "| SageMaker Endpoint (ml.t2.medium) | ~$0.05/hour |": ("~$0.05/hour", "$0.05 hourly"),
    }
    old, new = replacements[broken]
    with pytest.raises(CostLogError) as error:
        parse_log(SEED_LOG.replace(old, new, 1))
    assert expected in str(error.value)
    assert len(error.value.errors) == 1, error.value.errors


def test_an_entry_missing_its_cost_is_reported_by_heading():
    text = SEED_LOG.replace("- **Estimated cost**: $78,947\n", "")
    with pytest.raises(CostLogError, match=r"line \d+ \(KXIN Concentration Loss\): missing "
                                           "Estimated cost"):
        parse_log(text)


def test_an_unknown_time_zone_is_refused():
    with pytest.raises(CostLogError, match="time zone 'CET' is not one of"):
        parse_log(SEED_LOG.replace("[9:07 AM ET]", "[9:07 AM CET]"))


def test_an_entry_before_any_session_is_reported_once():
    text = SEED_LOG.replace("## Session 2026-01-09\n", "", 1)
    with pytest.raises(CostLogError) as error:
        parse_log(text)
    assert error.value.errors == [
        "line 17: entry heading comes before any '## Session YYYY-MM-DD'"
    ]
