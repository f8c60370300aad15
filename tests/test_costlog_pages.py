"""The cost log pages as a signed-in user sees them.

The entry, correction and rate forms are submitted as the page renders them (django-webtest,
CSRF token from the page). The live preview and "Add resource row" are htmx requests the
page's JS sends from the form's inputs (hx-include), so their tests post those inputs
directly; the CSRF test posts without a token on purpose.
"""
import csv
import html
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from costlog.models import MishapEntry, MishapResource, ResourceRate

pytestmark = pytest.mark.django_db

TOTALS = reverse("costlog:totals")
NEW_ENTRY = reverse("costlog:entry_create")


def entry_post(taxonomy, **changes) -> dict:
    data = {
        "occurred_date": "2026-03-02", "occurred_time": "09:30", "logged_zone": "ET",
        "title": "HPO sweep trained on last month's features",
        "what_happened": "Fifteen training jobs used a stale feature list.",
        "root_cause": "Feature list copied by hand.", "root_cause_items": "",
        "patterns": [taxonomy["Feature mismatch"].pk], "resources_affected": "",
        "duration": "~2 hours", "cost_low_usd": "", "cost_high_usd": "", "cost_note": "",
        "prevention_items": "Import features.py in both paths\nCI compares the lists",
        "postmortem": "",
        "resources-TOTAL_FORMS": "1", "resources-INITIAL_FORMS": "0",
        "resources-MIN_NUM_FORMS": "0", "resources-MAX_NUM_FORMS": "50",
        "resources-0-resource": "SageMaker Training (ml.m5.xlarge)",
        "resources-0-quantity": "15", "resources-0-duration": "2h",
    }
    data.update(changes)
    return data


def rendered_entry_form(app, user, path=NEW_ENTRY, **typed):
    """The entry (or correction) form as `path` renders it, with `typed` filled in; a
    `patterns` list of RootPattern ids is checked, every other pattern unchecked."""
    form = next(form for form in app.get(path, user=user).forms.values()
                if "title" in form.fields)
    patterns = typed.pop("patterns", None)
    for name, value in typed.items():
        form[name] = value
    if patterns is not None:
        for box in form.fields["patterns"]:
            box.checked = int(box._value) in patterns
    return form


def typed_entry(taxonomy, **changes) -> dict:
    """What a person types into the new-entry form (the form renders the rest)."""
    typed = {
        "occurred_date": "2026-03-02", "occurred_time": "09:30", "logged_zone": "ET",
        "title": "HPO sweep trained on last month's features",
        "what_happened": "Fifteen training jobs used a stale feature list.",
        "root_cause": "Feature list copied by hand.",
        "patterns": [taxonomy["Feature mismatch"].pk], "duration": "~2 hours",
        "prevention_items": "Import features.py in both paths\nCI compares the lists",
        "resources-0-resource": "SageMaker Training (ml.m5.xlarge)",
        "resources-0-quantity": "15", "resources-0-duration": "2h",
    }
    typed.update(changes)
    return typed


def test_every_cost_page_needs_login(anonymous_client, real_cost_log):
    entry = MishapEntry.objects.first()
    for url in [TOTALS, reverse("costlog:totals_csv"), reverse("costlog:entry_list"), NEW_ENTRY,
                reverse("costlog:entry_detail", args=[entry.pk]), reverse("costlog:rate_list"),
                reverse("costlog:entry_correct", args=[entry.pk])]:
        response = anonymous_client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_costs_are_one_click_from_the_home_page(alice_client):
    assert f'href="{TOTALS}"' in alice_client.get("/").content.decode()


def test_the_totals_page_shows_the_seed_figures(alice_client, real_cost_log):
    page = alice_client.get(TOTALS, {"period": "all"}).content.decode()
    silent = page.index(">Silent fallback</a>")
    assert "$79,102" in page[silent:silent + 400] and "$79,207" in page[silent:silent + 400]
    risk = page.index(">Missing risk check</a>")
    assert page[risk:risk + 300].count("$78,947") == 2
    assert "counts it once" in page
    assert '<svg viewBox' in page and 'data-pattern="Silent fallback"' in page


def test_filtering_totals_by_period_through_htmx_returns_the_table_only(alice_client,
                                                                        real_cost_log):
    response = alice_client.get(TOTALS, {"period": "2026-02"}, headers={"HX-Request": "true"})
    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<section id="totals"')
    assert "February 2026" in fragment and "<html" not in fragment
    # Only the Feb 6 segfault ($0) is in February.
    assert '<td class="num">1</td>' in fragment and "$78,947" not in fragment


def test_the_totals_page_opens_on_the_last_12_months(alice_client, root_patterns, frozen_time):
    page = alice_client.get(TOTALS).content.decode()
    assert '<option value="12m" selected>Last 12 months (Apr 2025 – Mar 2026)' in page


def test_a_bad_filter_is_a_400_naming_it(alice_client):
    response = alice_client.get(TOTALS, {"period": "last-week"})
    assert response.status_code == 400
    assert "Period 'last-week' is not" in html.unescape(response.content.decode())
    response = alice_client.get(TOTALS, {"root_cause": "vibes"})
    assert response.status_code == 400
    assert "Root cause 'vibes'" in html.unescape(response.content.decode())


def test_totals_download_as_csv(alice_client, real_cost_log):
    response = alice_client.get(reverse("costlog:totals_csv"), {"period": "2026-Q1"})
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="mishap-costs-2026-Q1.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    by_name = {row["root_pattern"]: row for row in rows}
    assert by_name["Silent fallback"]["high_usd"] == "79207.00"
    assert rows[-1]["root_pattern"] == "All entries (each counted once)"
    assert rows[-1]["entries"] == "7" and rows[-1]["period"] == "Q1 2026"


def test_the_incident_table_lists_entries_with_cost_and_patterns(alice_client, root_patterns,
                                                                  real_cost_log):
    page = alice_client.get(reverse("costlog:entry_list"),
                            {"pattern": root_patterns["Missing risk check"].pk}).content.decode()
    assert "KXIN Concentration Loss" in page and "Silent fallback + Missing risk check" in page
    assert "Constant Prescreening Scores" not in page
    page = alice_client.get(reverse("costlog:entry_list")).content.decode()
    assert "~$5-10 (wasted training jobs)" in page and "$0 (near-miss)" in page


def test_logging_an_entry_prices_its_resources(django_app, alice_client, alice, root_patterns,
                                               real_cost_log):
    response = rendered_entry_form(django_app, alice, **typed_entry(root_patterns)).submit()
    entry = MishapEntry.objects.latest("id")
    assert response.status_code == 302
    assert response["Location"] == reverse("costlog:entry_detail", args=[entry.pk])
    # 15 × 2 h × $0.23/h; 9:30 AM ET is 14:30 UTC in March (EST).
    assert entry.cost_low_usd == entry.cost_high_usd == Decimal("6.90") and entry.cost_approximate
    assert entry.occurred_utc.isoformat() == "2026-03-02T14:30:00+00:00"
    assert entry.created_by == alice and entry.prevention_items == [
        "Import features.py in both paths", "CI compares the lists"]
    page = alice_client.get(response["Location"]).content.decode()
    assert "~$6.90" in page and "(logged as 2026-03-02 9:30 AM ET)" in page


def test_a_bad_entry_is_refused_naming_the_field_and_nothing_is_stored(django_app, alice,
                                                                        root_patterns,
                                                                        real_cost_log):
    before = MishapEntry.objects.count()

    def submit(**changes):
        form = rendered_entry_form(django_app, alice, **typed_entry(root_patterns, **changes))
        return form.submit(expect_errors=True)

    response = submit(near_miss=True)
    assert response.status_code == 400
    assert "Near-miss ($0: caught before it cost anything): A near-miss is a $0 entry" in (
        response.text)
    response = submit(**{"resources-0-duration": "soon"})
    assert response.status_code == 400
    assert "Resource row 1: duration: Duration &#x27;soon&#x27; is not like" in response.text
    response = submit(postmortem="not-an-id")
    assert "Postmortem id: &#x27;not-an-id&#x27; is not the id of a postmortem." in response.text
    assert 'value="not-an-id"' in response.text  # what was typed stays
    assert MishapEntry.objects.count() == before


def test_the_live_preview_prices_resource_rows(alice_client, root_patterns, real_cost_log):
    response = alice_client.post(reverse("costlog:entry_preview"), entry_post(root_patterns),
                                 htmx=True)
    fragment = response.content.decode()
    assert "15x SageMaker Training (ml.m5.xlarge) for 2h" in fragment
    assert 'data-preview="estimate">~$6.90<' in fragment
    response = alice_client.post(reverse("costlog:entry_preview"),
                                 entry_post(root_patterns, cost_low_usd="5", cost_high_usd="10"),
                                 htmx=True)
    assert 'data-preview="estimate">$5–$10<' in response.content.decode()


def test_adding_a_resource_row_keeps_the_rows_typed_so_far(alice_client, root_patterns,
                                                            real_cost_log):
    response = alice_client.post(reverse("costlog:resource_row_add"), entry_post(root_patterns),
                                 htmx=True)
    fragment = response.content.decode()
    assert 'name="resources-TOTAL_FORMS" value="2"' in fragment
    assert 'value="2h"' in fragment and fragment.count("<select") == 2 and "autofocus" in fragment


def test_correcting_an_entry_keeps_the_original_visible(django_app, alice, alice_client,
                                                        root_patterns, real_cost_log):
    kxin = MishapEntry.objects.get(title="KXIN Concentration Loss")
    path = reverse("costlog:entry_correct", args=[kxin.pk])
    form = rendered_entry_form(django_app, alice, path)
    assert form["title"].value == "KXIN Concentration Loss"
    assert form["cost_low_usd"].value == "78947.00"
    form["cost_low_usd"] = form["cost_high_usd"] = "80,000"
    response = form.submit(expect_errors=True)
    assert response.status_code == 400
    assert "Reason for the correction: This field is required." in response.text
    form = next(form for form in response.forms.values() if "title" in form.fields)
    assert form["cost_low_usd"].value == "80,000"  # what was typed stays
    form["correction_reason"] = "Broker statement shows $80,000."
    response = form.submit()
    assert response.status_code == 302, response.text
    correction = MishapEntry.objects.get(corrects=kxin)
    assert response["Location"] == reverse("costlog:entry_detail", args=[correction.pk])
    original = alice_client.get(reverse("costlog:entry_detail", args=[kxin.pk])).content.decode()
    assert "see the correction" in original and "$78,947" in original
    assert "Correct this entry" not in original
    assert "$80,000" in alice_client.get(TOTALS, {"period": "all"}).content.decode()


def test_a_rate_change_is_a_new_row(django_app, alice, real_cost_log):
    def submit():
        form = next(form for form in django_app.get(reverse("costlog:rate_list"),
                                                    user=alice).forms.values()
                    if "usd" in form.fields)
        form["resource"], form["unit"], form["usd"] = "ECS Task (Fargate)", "hour", "0.05"
        form["effective_date"] = "2026-06-01"
        return form.submit(expect_errors=True)

    response = submit()
    assert response.status_code == 302
    assert ResourceRate.objects.filter(resource="ECS Task (Fargate)").count() == 2
    response = submit()
    assert response.status_code == 400
    body = response.text
    assert "already exists" in body or "already has a rate" in body


def test_posts_without_a_csrf_token_are_refused(alice, root_patterns, real_cost_log):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(NEW_ENTRY, entry_post(root_patterns))
    assert response.status_code == 403 and not MishapResource.objects.exists()


def test_cached_totals_change_the_moment_an_entry_is_logged(django_app, alice, alice_client,
                                                           root_patterns, real_cost_log):
    def feature_mismatch_row():
        page = alice_client.get(TOTALS, {"period": "all"}).content.decode()
        start = page.index(">Feature mismatch</a>")
        return page[start:start + 400]

    before = feature_mismatch_row()
    assert '<td class="num">$150</td><td class="num">$250</td>' in before
    assert feature_mismatch_row() == before  # the second view may come from the cache
    rendered_entry_form(django_app, alice, **typed_entry(
        root_patterns, cost_low_usd="1000", cost_high_usd="1000")).submit()
    assert '<td class="num">$1,150</td><td class="num">$1,250</td>' in feature_mismatch_row()
