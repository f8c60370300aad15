"""The postmortem list at the size of a real archive: the rendered filter form submitted as
a browser does (django-webtest), pages, sort, refusals, the query count and the weight of
a huge record (issue 19)."""
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidents import action_items, postmortem_list, services
from incidents.models import Postmortem, TimelineEntry
from incidents.postmortem_list import PAGE_SIZE, SORTS
from tests.conftest import fill_complete_draft

LIST = reverse("incidents:postmortem_list")
EVENT = datetime(2026, 3, 2, 15, 47, tzinfo=UTC)


def record(summary: str, *, root_cause="operational", status="final", trigger="provider_outage",
           occurred=EVENT, prevention="An alert fires on the queue depth.",
           domain="", timeline=()):
    """A postmortem as an archive holds it (final unless told), with its timeline `timeline`
    (event texts) written before it is final."""
    pm = Postmortem.objects.create(summary=summary, root_cause=root_cause, trigger=trigger,
                                   occurred_utc=occurred, prevention=prevention)
    for position, event in enumerate(timeline, start=1):
        TimelineEntry.objects.create(postmortem=pm, position=position, utc=occurred,
                                     event=event, trace_id="tr-1")
    if status == "final":
        Postmortem.objects.filter(pk=pm.pk).update(status="final", finalized_utc=occurred)
    if domain:
        services.set_domain(pm, domain)
    return Postmortem.objects.get(pk=pm.pk)


def listed(response) -> list[str]:
    """The summaries the list shows, in order."""
    return [link.text.strip() for link in response.html.select("#postmortem-list tbody tr td a")]


@pytest.fixture
def archive(alice):
    """A small varied archive: root causes, statuses, triggers, domains, event days."""
    pms = {
        "vendor": record("Vendor feed stalled order routing", domain="trading",
                         occurred=datetime(2026, 1, 10, 23, 30, tzinfo=UTC)),
        "leak": record("API key leaked into a build log", root_cause="security",
                       trigger="injection", domain="platform",
                       occurred=datetime(2026, 2, 1, 0, 15, tzinfo=UTC),
                       timeline=["Scanner flagged the sk-live pattern in CI output"]),
        "injection": record("Prompt injection reached the order tool", root_cause="security",
                            trigger="injection", status="draft", domain="trading",
                            occurred=datetime(2026, 2, 20, 12, 0, tzinfo=UTC)),
        "budget": record("Token budget overran eightfold overnight", root_cause="cost",
                         trigger="token_overrun", domain="platform",
                         occurred=datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
                         prevention="A hard cap on nightly tokens pages the on-call rotation."),
        "undated": record("Backfilled record without an event time", root_cause="",
                          trigger="", occurred=None, status="draft"),
    }
    action_items.add_item(pms["leak"], "rule", "Rotate keys on every CI leak", alice,
                          date(2026, 4, 1))
    dropped = action_items.add_item(pms["budget"], "hook", "Cap tokens per night", alice,
                                    date(2026, 4, 1))
    action_items.drop_item(dropped, "Covered by the provider's own cap.")
    return pms


def titles(archive, *keys) -> list[str]:
    return [archive[key].summary for key in keys]


def test_the_rendered_form_filters_by_root_cause_and_status(django_app, alice, archive):
    page = django_app.get(LIST, user="alice")
    assert len(listed(page)) == 5
    form = page.forms["list-filters"]
    form["root_cause"] = "security"
    form["status"] = "final"
    result = form.submit()
    assert result.status_code == 200
    assert listed(result) == titles(archive, "leak")
    assert result.forms["list-filters"]["root_cause"].value == "security"


def test_the_rendered_form_filters_by_domain_trigger_and_open_items(django_app, alice, archive):
    form = django_app.get(LIST, user="alice").forms["list-filters"]
    assert [value for value, *_ in form["domain"].options] == ["", "platform", "trading"]
    form["domain"] = "platform"
    form["open_items"] = "no"
    assert listed(form.submit()) == titles(archive, "budget")  # its only item was dropped
    form["open_items"] = "yes"
    assert listed(form.submit()) == titles(archive, "leak")
    form["open_items"] = ""
    form["domain"] = ""
    form["trigger"] = "injection"
    form["sort"] = "event"
    assert listed(form.submit()) == titles(archive, "leak", "injection")


def test_the_event_range_is_whole_utc_days_both_ends_included(django_app, alice, archive):
    form = django_app.get(LIST, user="alice").forms["list-filters"]
    assert "(UTC date)" in form.html.text
    form["event_from"] = "2026-02-01"  # the leak happened at 00:15 UTC that day
    form["event_to"] = "2026-03-01"    # the overrun at 08:00 UTC on the last day
    form["sort"] = "-event"
    assert listed(form.submit()) == titles(archive, "budget", "injection", "leak")
    form["event_from"] = "2026-01-11"
    form["event_to"] = "2026-01-11"
    assert listed(form.submit()) == []  # 23:30 UTC on Jan 10 is not Jan 11 in UTC


def test_the_text_filter_searches_the_record_and_its_timeline(django_app, alice, archive):
    form = django_app.get(LIST, user="alice").forms["list-filters"]
    form["q"] = "nightly tokens"  # in the prevention text only
    assert listed(form.submit()) == titles(archive, "budget")
    form["q"] = "sk-live pattern"  # in a timeline entry only
    assert listed(form.submit()) == titles(archive, "leak")
    form["q"] = "routing -vendor"
    assert listed(form.submit()) == []


@pytest.mark.parametrize("sort", [key for key in SORTS if key])
def test_every_sort_lists_every_postmortem_once(django_app, alice, archive, sort):
    form = django_app.get(LIST, user="alice").forms["list-filters"]
    form["sort"] = sort
    shown = listed(form.submit())
    assert sorted(shown) == sorted(pm.summary for pm in archive.values())
    if sort == "root_cause":
        assert shown[0] == archive["budget"].summary and shown[-1] == archive["undated"].summary
    if sort == "-event":
        assert shown[:2] == titles(archive, "budget", "injection")
        assert shown[-1] == archive["undated"].summary  # no event time: last either way
    if sort == "deadline":
        assert shown[0] == archive["injection"].summary  # the draft waiting for its meeting


def test_pages_of_fifty_keep_the_filters(django_app, alice):
    for number in range(PAGE_SIZE + 5):
        record(f"Provider outage number {number:02d}",
               occurred=EVENT - timedelta(hours=number))
    for number in range(3):
        record(f"Cost overrun number {number}", root_cause="cost")
    form = django_app.get(LIST, user="alice").forms["list-filters"]
    form["root_cause"] = "operational"
    form["sort"] = "-event"
    first = form.submit()
    assert len(listed(first)) == PAGE_SIZE
    assert listed(first)[0] == "Provider outage number 00"
    assert "55 postmortems, 1–50 shown" in first.html.select_one("[data-list-count]").text
    second = first.click(linkid=None, href="page=2", index=0)
    assert listed(second) == [f"Provider outage number {n}" for n in range(50, 55)]
    assert second.forms["list-filters"]["root_cause"].value == "operational"
    assert second.forms["list-filters"]["sort"].value == "-event"


def test_a_page_past_the_last_shows_the_last_page_and_says_so(django_app, alice, archive):
    page = django_app.get(LIST + "?status=final&page=7", user="alice")
    assert page.status_code == 200
    assert "There is no page 7; this is the last page, 1." in page.text
    assert len(listed(page)) == 3


@pytest.mark.parametrize("raw", ["abc", "0", "-1", "1.5", "9" * 5000])
def test_a_page_that_is_not_a_number_is_refused_naming_it(django_app, alice, archive, raw):
    page = django_app.get(LIST, {"page": raw}, user="alice", status=400)
    assert "Page (page=" in page.text and "give a page number from 1 up" in page.text
    assert listed(page) == []
    assert len(page.text) < 20_000


def test_an_unknown_value_is_refused_escaped_naming_the_parameter(django_app, alice, archive):
    page = django_app.get(LIST, {"root_cause": "<script>alert(1)</script>", "q": "leak"},
                          user="alice", status=400)
    alert = page.html.select_one("#list-errors").text
    assert "Root cause (root_cause='<script>alert(1)</script>'): not one of the choices" in alert
    assert "<script>alert(1)" not in page.text
    assert listed(page) == []
    assert page.forms["list-filters"]["q"].value == "leak"  # what was typed stays


@pytest.mark.parametrize("query, said", [
    ({"sort": "summary"}, "Sort (sort='summary'): not one of the choices"),
    ({"status": "archived"}, "Status (status='archived'): not one of the choices"),
    ({"domain": "no-such-domain"}, "Domain (domain='no-such-domain')"),
    ({"event_from": "2026-13-01"}, ("Event from (UTC date) (event_from='2026-13-01'): give a "
                                   "date as YYYY-MM-DD (UTC).")),
    ({"event_from": "2026-03-02", "event_to": "2026-03-01"},
     ("Event to (UTC date) (event_to='2026-03-01'): the range ends (2026-03-01) before it "
     "starts (2026-03-02).")),
    ({"rootcause": "cost"}, "Parameter 'rootcause' is not a filter of this list"),
    ({"status": ["draft", "final"]}, "Status (status): given 2 times; give it once."),
    ({"q": "x" * 201}, "Text (q="),
    # A NUL anywhere in the query is refused before the list (core.middleware).
    ({"q": "leak\x00"}, "<strong>q</strong>: contains a NUL character"),
    ({"page": "1\x00"}, "<strong>page</strong>: contains a NUL character"),
])
def test_bad_filters_answer_400_with_a_message(alice_client, archive, query, said):
    response = alice_client.get(LIST, query)
    assert response.status_code == 400
    assert said in response.content.decode().replace("&#x27;", "'")


def test_extreme_dates_are_accepted(alice_client, archive):
    response = alice_client.get(LIST, {"event_from": "0001-01-01", "event_to": "9999-12-31"})
    assert response.status_code == 200
    assert response.content.decode().count("data-postmortem=") == 4  # not the undated one


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(query=st.dictionaries(
    st.sampled_from(["q", "root_cause", "domain", "status", "trigger", "event_from",
                     "event_to", "open_items", "sort", "page"]),
    st.one_of(st.text(max_size=60), st.just("<b>bold</b>\x00"),
              st.integers(min_value=-10**30, max_value=10**30).map(str),
              st.dates().map(date.isoformat), st.just("9999-12-31")),
    max_size=4))
def test_any_query_string_is_answered_never_500(alice_client, query):
    response = alice_client.get(LIST, query)
    assert response.status_code in (200, 400), (query, response.status_code)
    body = response.content.decode()
    assert "<b>bold</b>" not in body
    if response.status_code == 400:
        assert any(f"({name}" in body or f"<strong>{name}</strong>" in body
                   for name in query), (query, body[-2000:])


def archived_with_rows(alice, number: int) -> None:
    """`number` final postmortems, each with timeline rows, factors, references, an
    amendment and two action items (one open)."""
    for _ in range(number):
        pm = services.finalize(fill_complete_draft(services.create_draft(
            alice, occurred_utc=EVENT, trigger="drawdown")), alice)
        services.set_domain(pm, "trading", user=alice)
        services.add_amendment(pm, alice, "Trace review found a second stalled feed.")
        action_items.add_item(pm, "test", "Replay the stalled feed", alice, date(2026, 4, 1))
        shipped = action_items.add_item(pm, "memory", "Note the feed", alice, date(2026, 4, 1))
        action_items.drop_item(shipped, "Duplicate of the replay test.")


def list_queries(client, query=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST, query or {})
    assert response.status_code == 200
    return len(queries)


def test_the_query_count_is_the_same_for_5_or_60_postmortems(alice_client, alice):
    filtered = {"domain": "trading", "open_items": "yes", "sort": "deadline", "q": "feed"}
    archived_with_rows(alice, 5)
    plain, with_filters = list_queries(alice_client), list_queries(alice_client, filtered)
    archived_with_rows(alice, 55)
    assert list_queries(alice_client) == plain
    assert list_queries(alice_client, filtered) == with_filters
    assert list_queries(alice_client, {"page": "2"}) == plain
    page = alice_client.get(LIST).content.decode()
    assert page.count("data-postmortem=") == PAGE_SIZE
    assert "5 · 3 · 3" in page  # rows counted, not loaded


def test_a_huge_prevention_text_does_not_weigh_on_the_list(alice_client, alice):
    huge = "Alert on the queue depth. " * 40_000  # about 1 MB
    pm = record("Queue overflow with a very long prevention text", prevention=huge)
    assert len(pm.prevention) > 1_000_000
    with CaptureQueriesContext(connection) as queries:
        response = alice_client.get(LIST, {"q": "queue"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Queue overflow with a very long prevention text" in body
    assert len(body) < 40_000
    list_sql = [query["sql"] for query in queries if "incidents_postmortem" in query["sql"]]
    assert list_sql
    for sql in list_sql:
        assert '"incidents_postmortem"."prevention"' not in sql
        assert '"incidents_postmortem"."search_vector",' not in sql.split(" FROM ")[0]


def test_the_rows_column_flags_a_short_timeline(alice_client, alice):
    record("Two rows only", status="draft", timeline=["Alert fired", "Feed restarted"])
    page = alice_client.get(LIST).content.decode()
    assert ('<span class="gap-count" title="Timeline has 2 rows; the template asks for 5 to 20. '
            'Contributing factors has 0 bullets') in page


def test_past_the_count_cap_the_list_says_so_and_still_pages(django_app, alice, monkeypatch):
    """Issue 23: the list counts up to COUNT_CAP matches (1,000; 50 here) and says "50+",
    with no last page it cannot know; Next still leads on, and a page past the cap is
    counted far enough to be served or refused as past the last."""
    monkeypatch.setattr(postmortem_list, "COUNT_CAP", 50)
    for number in range(60):
        record(f"Provider outage number {number:02d}", occurred=EVENT - timedelta(hours=number))
    first = django_app.get(LIST + "?sort=-event", user="alice")
    count = first.html.select_one("[data-list-count]").text
    assert "50+ postmortems, 1–50 shown" in count
    assert "the count stops there; narrow the filters for an exact count" in count
    pager = first.html.select_one("nav.pager").text
    assert "Page 1" in pager and " of " not in pager and "Last" not in pager
    second = first.click(linkid=None, href="page=2", index=0)
    assert listed(second) == [f"Provider outage number {n}" for n in range(50, 60)]
    assert "60 postmortems, 51–60 shown" in second.html.select_one("[data-list-count]").text
    past = django_app.get(LIST + "?sort=-event&page=4", user="alice")
    assert "There is no page 4; this is the last page, 2." in past.text
    narrowed = django_app.get(LIST + "?q=outage+number+07", user="alice")
    assert "1 postmortem, 1–1 shown" in narrowed.html.select_one("[data-list-count]").text


def test_the_apps_connections_run_without_jit(db):
    """PostgreSQL's JIT compiled the filtered list's plan for seconds at 100,000
    postmortems (bench/README.md, issue 23): the app's connections turn it off."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)
