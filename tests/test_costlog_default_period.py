"""The cost totals open on a period that shows the data, and say how many entries lie
outside the period chosen (docs/rules.md#cost-totals); pages read through django-webtest
as the browser gets them."""
from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from tests.conftest import make_user

pytestmark = pytest.mark.django_db

TOTALS = reverse("costlog:totals")


def filters(page):
    """The period and root-cause form the totals page renders."""
    return next(form for form in page.forms.values() if "period" in form.fields)


@pytest.fixture
def reader(db):
    return make_user("reader-costs")


def test_a_log_of_older_mishaps_opens_on_all_time_with_its_figures(django_app, reader,
                                                                   real_cost_log):
    # The seed's entries are from early 2026; two years on, the last 12 months hold none.
    with time_machine.travel(datetime(2028, 6, 1, 12, 0, tzinfo=UTC), tick=False):
        page = django_app.get(TOTALS, user=reader)
    assert page.status_code == 200
    assert filters(page)["period"].value == "all"
    grand = page.html.select_one("tr.grand").get_text(" ", strip=True)
    assert "$79," in grand  # the seed's totals, not zeros
    assert page.html.select_one("#outside-period") is None


def test_a_period_without_some_entries_says_how_many_lie_outside(django_app, reader,
                                                                 real_cost_log):
    page = django_app.get(TOTALS, {"period": "2026-02"}, user=reader)
    notice = page.html.select_one("#outside-period").get_text(" ", strip=True)
    total = int(django_app.get(TOTALS, {"period": "all"}, user=reader)
                .html.select_one("tr.grand td:nth-of-type(3)").get_text())
    in_february = int(page.html.select_one("tr.grand td:nth-of-type(3)").get_text())
    assert notice.startswith(f"{total - in_february} entries lie outside this period.")
    # The link the notice offers shows every entry.
    everything = page.click("Show all time")
    assert filters(everything)["period"].value == "all"
    assert everything.html.select_one("#outside-period") is None


def test_choosing_a_period_in_the_form_keeps_the_notice_in_step(django_app, reader,
                                                                real_cost_log):
    page = django_app.get(TOTALS, {"period": "all"}, user=reader)
    form = filters(page)
    form["period"] = "2026-02"
    answer = form.submit()
    assert answer.html.select_one("h2").get_text(strip=True).startswith("February 2026")
    assert "outside this period" in answer.html.select_one("#outside-period").get_text()


def test_an_empty_log_still_opens_on_the_last_12_months(django_app, reader, root_patterns,
                                                        frozen_time):
    page = django_app.get(TOTALS, user=reader)
    assert filters(page)["period"].value == "12m"
    assert page.html.select_one("#outside-period") is None
