"""Cost log rows are append-only in PostgreSQL; pricing, corrections and totals follow the log.

Rule: docs/rules.md#cost-entries ("Every incident in the
system gets a dollar amount"; totals by root pattern).
"""
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from core import units
from costlog import services
from costlog.models import AppendOnlyError, EntryPattern, MishapEntry, MishapResource, ResourceRate
from costlog.services import CostEntryError, EntryInput, ResourceUse

pytestmark = pytest.mark.django_db


def run_sql(sql: str, params=()):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def refused(sql: str, params=()) -> str:
    with pytest.raises(IntegrityError) as error:
        run_sql(sql, params)
    return str(error.value)


@pytest.fixture
def training_rate(db):
    return ResourceRate.objects.create(resource="SageMaker Training (ml.m5.xlarge)", unit="hour",
                                       usd=Decimal("0.23"), effective_date=date(2026, 1, 1))


def entry_input(patterns, **changes) -> EntryInput:
    values = {
        "occurred_utc": datetime(2026, 3, 2, 14, 0, tzinfo=UTC), "logged_zone": "UTC",
        "title": "Backtest jobs ran on a stale image", "what_happened": "Fifteen jobs ran twice.",
        "root_cause": "The image tag was never checked.", "patterns": patterns,
        "cost_low_usd": Decimal(12), "cost_high_usd": Decimal(20),
        "prevention_items": ["Pin image digests"],
    }
    values.update(changes)
    return EntryInput(**values)


# --- Append-only in PostgreSQL -----------------------------------------------------------

def test_postgresql_refuses_update_delete_and_truncate_of_entries(real_cost_log):
    kxin = MishapEntry.objects.get(title="KXIN Concentration Loss")
    assert "is append-only" in refused(
        "UPDATE costlog_mishapentry SET cost_low_usd = 0 WHERE id = %s", [kxin.pk])
    assert "is append-only" in refused("DELETE FROM costlog_mishapentry WHERE id = %s", [kxin.pk])
    run_sql("SET CONSTRAINTS ALL IMMEDIATE")  # deferred FK checks would block TRUNCATE
    assert "cannot truncate" in refused("TRUNCATE costlog_mishapentry CASCADE")
    assert "is append-only" in refused("UPDATE costlog_entrypattern SET cost_high_usd = 1")
    assert "is append-only" in refused("DELETE FROM costlog_resourcerate")
    assert MishapEntry.objects.get(pk=kxin.pk).cost_low_usd == Decimal(78947)


def test_the_orm_refuses_changes_before_the_database(real_cost_log):
    entry = MishapEntry.objects.get(title="KXIN Concentration Loss")
    entry.cost_low_usd = Decimal(1)
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        MishapEntry.objects.filter(pk=entry.pk).update(title="x")
    with pytest.raises(AppendOnlyError):
        ResourceRate.objects.all().delete()


def test_pattern_rows_carry_the_entry_figures_whatever_the_caller_passes(root_patterns):
    entry = services.record_entry(entry_input([root_patterns["Silent fallback"]]))
    # A caller that lies about the figures is overruled by the copy_entry_figures trigger.
    run_sql("INSERT INTO costlog_entrypattern (entry_id, pattern_id, position, cost_low_usd, "
            "cost_high_usd, near_miss) VALUES (%s, %s, 2, 999999, 999999, true)",
            [entry.pk, root_patterns["Unverified output"].pk])
    figures = set(EntryPattern.objects.filter(entry=entry).values_list(
        "cost_low_usd", "cost_high_usd", "near_miss", "occurred_utc"))
    assert figures == {(Decimal(12), Decimal(20), False, entry.occurred_utc)}


def test_the_database_refuses_a_near_miss_that_cost_money(root_patterns):
    entry = services.record_entry(entry_input([root_patterns["Silent fallback"]]))
    message = refused(
        "INSERT INTO costlog_mishapentry (occurred_utc, logged_zone, title, what_happened, "
        "root_cause, root_cause_items, resources_affected, duration, cost_low_usd, "
        "cost_high_usd, cost_approximate, cost_note, near_miss, prevention_items, "
        "correction_reason, origin, created_utc) SELECT occurred_utc, logged_zone, title, "
        "what_happened, root_cause, '[]', '', '', 5, 5, false, '', true, '[]', '', 'form', "
        "now() FROM costlog_mishapentry WHERE id = %s", [entry.pk])
    assert "near_miss_costs_zero" in message


# --- Pricing from the rate in force ------------------------------------------------------

@pytest.mark.parametrize("text, seconds", [
    ("1h 30m", 5400), ("20m", 1200), ("45s", 45), ("2d", 172800), ("1h30m", 5400),
])
def test_durations_parse_to_seconds(text, seconds):
    assert units.parse_duration(text) == seconds
    assert units.parse_duration(units.format_duration(seconds)) == seconds


@pytest.mark.parametrize("text", ["", "90", "1.5h", "an hour", "0m", "h"])
def test_malformed_durations_are_refused_with_the_text(text):
    with pytest.raises(ValueError, match="Duration"):
        units.parse_duration(text)


def test_resource_rows_are_priced_at_the_rate_in_force_and_keep_it(root_patterns, training_rate):
    uses = [ResourceUse(training_rate.resource, 15, 5400)]
    first = services.record_entry(entry_input([root_patterns["Silent fallback"]], resources=uses,
                                              cost_low_usd=None, cost_high_usd=None))
    # 15 jobs × 1.5 h × $0.23/h = $5.175 -> $5.18, approximate like the rates.
    assert (first.cost_low_usd, first.cost_high_usd, first.cost_approximate) == (
        Decimal("5.18"), Decimal("5.18"), True)
    assert first.resources_affected == "15x SageMaker Training (ml.m5.xlarge) for 1h 30m"
    services.add_rate(training_rate.resource, "hour", Decimal("0.30"), date(2026, 3, 1))
    later = services.record_entry(entry_input([root_patterns["Silent fallback"]], resources=uses,
                                              cost_low_usd=None, cost_high_usd=None,
                                              occurred_utc=datetime(2026, 3, 5, tzinfo=UTC)))
    assert later.cost_low_usd == Decimal("6.75")
    # The earlier entry still shows the rate it was priced with.
    assert MishapResource.objects.get(entry=first).rate == training_rate
    assert MishapResource.objects.get(entry=first).cost_usd == Decimal("5.18")


def test_a_resource_without_a_rate_that_day_is_refused(root_patterns, training_rate):
    uses = [ResourceUse(training_rate.resource, 1, 3600)]
    with pytest.raises(CostEntryError, match="No rate for") as error:
        services.record_entry(entry_input([root_patterns["Silent fallback"]], resources=uses,
                                          occurred_utc=datetime(2025, 12, 1, tzinfo=UTC)))
    assert error.value.field == "resource"
    assert not MishapEntry.objects.exists()


def test_a_rate_change_takes_a_new_effective_date(training_rate):
    with pytest.raises(CostEntryError) as error:
        services.add_rate(training_rate.resource, "hour", Decimal("0.5"),
                          training_rate.effective_date)
    assert error.value.field == "effective_date"


@pytest.mark.parametrize("changes, field", [
    ({"cost_low_usd": None, "cost_high_usd": None}, "cost_low_usd"),
    ({"cost_low_usd": Decimal(10), "cost_high_usd": Decimal(5)}, "cost_high_usd"),
    ({"cost_low_usd": None, "cost_high_usd": Decimal(5)}, "cost_low_usd"),
    ({"near_miss": True}, "near_miss"),
    ({"patterns": []}, "patterns"),
    ({"title": "  "}, "title"),
])
def test_bad_entries_are_refused_naming_the_field_and_nothing_is_stored(root_patterns, changes,
                                                                         field):
    data = entry_input([root_patterns["Silent fallback"]])
    for key, value in changes.items():
        setattr(data, key, value)
    with pytest.raises(CostEntryError) as error:
        services.record_entry(data)
    assert error.value.field == field
    assert not MishapEntry.objects.exists() and not EntryPattern.objects.exists()


# --- Corrections and totals --------------------------------------------------------------

def totals_by_name(period=services.ALL_TIME, root_cause=""):
    rows, grand = services.totals_by_pattern(period, root_cause)
    by_name = {row.name: (row.low_usd, row.high_usd, row.entries, row.near_misses) for row in rows}
    return by_name, grand


def test_the_real_log_totals_match_the_seed(real_cost_log):
    rows, grand = totals_by_name()
    # KXIN's $78,947 counts under both of its patterns ...
    assert rows["Missing risk check"] == (Decimal(78947), Decimal(78947), 1, 0)
    assert rows["Silent fallback"] == (Decimal(79102), Decimal(79207), 3, 0)
    assert rows["Unverified output"] == (Decimal(20), Decimal(40), 2, 1)
    # ... and once in the grand total.
    assert (grand.low_usd, grand.high_usd, grand.entries, grand.near_misses) == (
        Decimal(79122), Decimal(79247), 7, 1)


def test_totals_follow_the_period(real_cost_log):
    january, grand = totals_by_name(services.parse_period("2026-01"))
    assert grand.entries == 6 and january["Training/inference mismatch"][2] == 0
    q1, grand = totals_by_name(services.parse_period("2026-Q1"))
    assert grand.entries == 7 and q1["Training/inference mismatch"][2] == 1
    _, grand = totals_by_name(services.parse_period("2026-Q2"))
    assert grand.entries == 0 and grand.high_usd == 0


def test_totals_by_root_cause_of_the_linked_postmortem(root_patterns, final_postmortem):
    services.record_entry(entry_input([root_patterns["Silent fallback"]],
                                      postmortem=final_postmortem))
    services.record_entry(entry_input([root_patterns["Silent fallback"]], title="Unlinked",
                                      cost_low_usd=Decimal(1), cost_high_usd=Decimal(1)))
    rows, grand = totals_by_name(root_cause="correctness")
    assert rows["Silent fallback"] == (Decimal(12), Decimal(20), 1, 0)
    rows, grand = totals_by_name(root_cause="security")
    assert grand.entries == 0
    rows, grand = totals_by_name(root_cause=services.UNLINKED)
    assert rows["Silent fallback"] == (Decimal(1), Decimal(1), 1, 0)


def test_a_correction_replaces_the_entry_in_totals_and_the_original_stays(real_cost_log, alice):
    kxin = MishapEntry.objects.get(title="KXIN Concentration Loss")
    data = services.entry_input_from(kxin)
    data.cost_low_usd = data.cost_high_usd = Decimal(80000)
    correction = services.record_entry(data, user=alice, corrects=kxin,
                                       correction_reason="Broker statement: final loss $80,000.")
    rows, grand = totals_by_name()
    assert rows["Missing risk check"] == (Decimal(80000), Decimal(80000), 1, 0)
    assert grand.entries == 7 and grand.high_usd == Decimal(79247) - 78947 + 80000
    assert MishapEntry.objects.get(pk=kxin.pk).cost_low_usd == Decimal(78947)
    assert correction.corrects == kxin
    with pytest.raises(CostEntryError, match="already corrected"):
        services.record_entry(data, corrects=kxin, correction_reason="again")
    with pytest.raises(CostEntryError) as error:
        services.record_entry(data, corrects=correction, correction_reason=" ")
    assert error.value.field == "correction_reason"


def test_totals_take_a_constant_number_of_queries(real_cost_log, django_assert_num_queries):
    # Two GROUP BY queries and one for the pattern names, whatever the number of entries.
    with django_assert_num_queries(3):
        services.totals_by_pattern()


@pytest.mark.parametrize("key, start, end", [
    ("2026-Q4", datetime(2026, 10, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
    ("2026-12", datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
    ("2026-02", datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)),
])
def test_periods_are_utc_half_open_intervals(key, start, end):
    period = services.parse_period(key)
    assert (period.start, period.end) == (start, end)


@pytest.mark.parametrize("today, start, end", [
    (date(2026, 11, 20), datetime(2025, 12, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)),
    (date(2026, 12, 31), datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
    (date(2027, 1, 1), datetime(2026, 2, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC)),
])
def test_the_last_12_months_are_the_calendar_months_up_to_this_one(today, start, end):
    period = services.parse_period("12m", today)
    assert (period.start, period.end) == (start, end)


@pytest.mark.parametrize("key", ["2026-13", "2026-Q5", "last week", "2026"])
def test_unknown_periods_are_refused_naming_the_field(key):
    with pytest.raises(CostEntryError) as error:
        services.parse_period(key)
    assert error.value.field == "period"
