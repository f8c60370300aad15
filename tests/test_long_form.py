"""Long-form sections (issue 8): template choice, autosave, finalize, amendments, the
stated impact against the cost log, and the JSONL / Markdown round trip."""
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from costlog.import_export import import_costlog
from costlog.models import MishapEntry
from costlog.services import current_entries, link_entry, totals_by_pattern
from incidents import markdown_export, services
from incidents.models import Amendment, Postmortem
from tests.conftest import TEST_DATA, fill_complete_draft, past_the_guards

pytestmark = pytest.mark.django_db

KXIN_ID = "c3e8b7a2-6d45-4f10-a2b9-8e7c6d5b0d04"
WHAT_WENT_WELL = "The prescreening model and the stop-loss system both functioned as designed."


def url(name, *args):
    return reverse(f"incidents:{name}", args=args)


def page_form(app, path, user, action: str, **typed):
    """The POST form of `path` whose action is `action`, with `typed` filled in (a select
    given a value no option offers is forced: a tampered request)."""
    page = app.get(path, user=user)
    form = next(form for form in page.forms.values()
                if form.method.lower() == "post" and (form.action or path) == action)
    for name, value in typed.items():
        field = form[name]
        if hasattr(field, "options") and value not in [v for v, *_ in field.options]:
            field.force_value(value)
        else:
            form[name] = value
    return form


def long_form_draft(user) -> Postmortem:
    """A long-form draft whose seven fields are complete and whose sections are empty."""
    return fill_complete_draft(services.create_draft(user, template="long-form"))


def fill_sections(pm: Postmortem) -> Postmortem:
    pm.impact_usd = Decimal("1400.00")
    pm.impact_users = 0
    pm.impact_duration_minutes = 105
    pm.impact_description = "1.4% of deployed capital over one session."
    pm.what_went_well = "The drawdown alert fired at session end as designed."
    pm.what_went_wrong = "No monitor watched the invalidation timestamp."
    pm.lessons_learned = "An invalidation signal needs an exit order wired to it."
    pm.save()
    return pm


def import_real_records():
    call_command("import_postmortems", str(TEST_DATA / "postmortems.jsonl"),
                 amendments=str(TEST_DATA / "amendments.jsonl"))


# --- Template choice ---------------------------------------------------------------

def test_a_draft_is_created_with_the_chosen_template_and_shows_it(django_app, alice,
                                                                   alice_client):
    response = page_form(django_app, url("postmortem_create"), alice, url("postmortem_create"),
                         template="long-form", occurred_utc="2026-03-02 15:47",
                         trigger="drawdown").submit()
    pm = Postmortem.objects.get()
    assert pm.template == "long-form"
    page = alice_client.get(response["Location"]).content.decode()
    assert "Long-form template" in page
    assert "0 of 11" in page
    for heading in ["8. Impact", "9. What went well", "10. What went wrong",
                    "11. Lessons learned"]:
        assert heading in page


def test_an_unknown_template_is_refused_naming_the_field(django_app, alice):
    response = page_form(django_app, url("postmortem_create"), alice, url("postmortem_create"),
                         template="short", occurred_utc="2026-03-02 15:47",
                         trigger="drawdown").submit(expect_errors=True)
    assert response.status_code == 400
    assert "Template: Select a valid choice. short is not one of the available choices." \
        in response.text
    assert Postmortem.objects.count() == 0


def test_seven_field_drafts_show_the_sections_as_optional(alice_client, alice):
    pm = services.create_draft(alice)
    page = alice_client.get(url("postmortem_detail", pm.pk)).content.decode()
    assert "Long-form sections (optional)" in page
    assert "Optional under the seven-field template." in page
    assert "0 of 7" in page


# --- Finalize --------------------------------------------------------------------

def test_finalize_refuses_a_long_form_draft_naming_each_empty_section(alice):
    pm = long_form_draft(alice)
    pm.what_went_wrong = "No monitor watched the invalidation timestamp."
    pm.impact_usd = Decimal(0)
    pm.save()
    with pytest.raises(services.TemplateIncompleteError) as refused:
        services.finalize(pm, alice)
    incomplete = {s.label: s.messages for s in refused.value.statuses if not s.complete}
    assert incomplete == {
        "Impact": [("Impact has no users affected, no duration (minutes); the long-form "
                    "template asks for all three (0 is a valid figure).")],
        "What went well": ["What went well is empty; the long-form template asks for it."],
        "Lessons learned": ["Lessons learned is empty; the long-form template asks for it."],
    }
    assert Postmortem.objects.get(pk=pm.pk).status == "draft"


def test_a_complete_long_form_draft_finalizes_and_a_seven_field_one_needs_no_sections(alice):
    long_form = fill_sections(long_form_draft(alice))
    services.finalize(long_form, alice)
    seven_field = fill_complete_draft(services.create_draft(alice))
    services.finalize(seven_field, alice)
    assert Postmortem.objects.filter(status="final").count() == 2


def test_postgresql_refuses_changing_a_section_of_a_final_postmortem(alice):
    pm = fill_sections(long_form_draft(alice))
    services.finalize(pm, alice)
    with pytest.raises(IntegrityError, match="is final and cannot be changed"), \
            transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE incidents_postmortem SET what_went_well = 'rewritten', "
                       "impact_usd = 1 WHERE id = %s", [pm.pk])
    stored = Postmortem.objects.get(pk=pm.pk)
    assert stored.what_went_well == "The drawdown alert fired at session end as designed."
    assert stored.impact_usd == Decimal("1400.00")


# --- Autosave of the impact figures ----------------------------------------------

@pytest.mark.parametrize("name, typed, stored", [
    ("impact_usd", "$78,947", Decimal("78947.00")),
    ("impact_usd", "5.5", Decimal("5.50")),
    ("impact_users", "1,200", 1200),
    ("impact_duration_minutes", "6h 30m", 390),
    ("impact_duration_minutes", "45", 45),
    ("what_went_well", "The stop-loss worked.", "The stop-loss worked."),
])
def test_autosave_stores_impact_figures_as_typed(alice_client, alice, name, typed, stored):
    pm = services.create_draft(alice, template="long-form")
    response = alice_client.post(url("postmortem_field", pm.pk, name),
                                 {name: typed, "base_version": "0"}, htmx=True)
    assert response.status_code == 200
    assert "not saved" not in response.content.decode()
    assert getattr(Postmortem.objects.get(pk=pm.pk), name) == stored


@pytest.mark.parametrize("name, typed, message", [
    ("impact_usd", "lots", "Financial impact (USD): &#x27;lots&#x27; is not an amount in USD"),
    ("impact_usd", "-5",
     "Financial impact (USD): &#x27;-5&#x27; is not an amount in USD of 0 or more."),
    ("impact_usd", "1.005", "has more than two decimals"),
    ("impact_users", "-3", "Users affected: &#x27;-3&#x27; is not a whole number of users"),
    ("impact_duration_minutes", "a while",
     "Impact duration (minutes): &#x27;a while&#x27; is not a duration"),
])
def test_a_bad_impact_figure_is_refused_naming_the_field_and_keeps_the_stored_one(
        alice_client, alice, name, typed, message):
    pm = services.create_draft(alice, template="long-form")
    setattr(pm, name, 7)
    pm.save()
    response = alice_client.post(url("postmortem_field", pm.pk, name),
                                 {name: typed, "base_version": "0"}, htmx=True)
    body = response.content.decode()
    assert message in body
    assert "not saved" in body
    assert getattr(Postmortem.objects.get(pk=pm.pk), name) == 7


def test_autosaving_the_stated_usd_refreshes_the_cost_comparison(alice_client, alice):
    pm = services.create_draft(alice, template="long-form")
    response = alice_client.post(url("postmortem_field", pm.pk, "impact_usd"),
                                 {"impact_usd": "250", "base_version": "0"}, htmx=True)
    body = response.content.decode()
    assert ('id="impact-costs" class="impact-costs" aria-labelledby="h-impact-costs" '
            'hx-swap-oob="true"') in body
    assert "<strong>$250</strong>" in body
    assert "No cost log entry is linked" in body


# --- The KXIN story: amend what went well, show both figures -----------------------

def test_the_kxin_postmortem_is_amended_and_shows_its_stated_and_logged_cost(
        django_app, alice, alice_client, real_cost_log):
    import_real_records()
    detail = url("postmortem_detail", KXIN_ID)
    page = alice_client.get(detail).content.decode()
    assert "no mishap entries linked" in page

    # Link the KXIN mishap of the real cost log from the postmortem's page.
    kxin_entry = current_entries().get(title="KXIN Concentration Loss")
    response = page_form(django_app, detail, alice,
                         reverse("costlog:postmortem_link", args=[KXIN_ID]),
                         entry=str(kxin_entry.pk)).submit()
    assert response.status_code == 302
    linked = current_entries().get(title="KXIN Concentration Loss")
    assert str(linked.postmortem_id) == KXIN_ID
    assert linked.corrects_id == kxin_entry.pk  # append-only: the link is a correction
    page = alice_client.get(detail).content.decode()
    assert "<strong>$78,947</strong> from 1 linked mishap entry" in page
    assert "the postmortem states no financial impact" in page

    # Amend the Impact section with the figures, and What went well with the seed's words.
    amend = url("amendment_create", KXIN_ID)
    page_form(django_app, detail, alice, amend, section="impact",
              note="Restated from the cost log: one trading session.", impact_usd="78,947",
              impact_users="0", impact_duration_minutes="6h 30m").submit()
    page_form(django_app, detail, alice, amend, section="what_went_well",
              note=WHAT_WENT_WELL).submit()
    page = alice_client.get(detail).content.decode()
    start = page.index('id="stated-usd"')
    stated = page[start:page.index("</dd>", start)]
    assert "<strong>$78,947</strong>" in stated and "(amended " in stated
    assert "✓ The stated financial impact agrees with the cost log." in page
    well = page[page.index('id="section-what_went_well"'):
                page.index('id="section-what_went_wrong"')]
    assert WHAT_WENT_WELL in well and "alice" in well
    assert "6 h 30 min" in page

    # A later restatement that disagrees with the cost log is flagged.
    page_form(django_app, detail, alice, amend, section="impact", note="Broker fees added.",
              impact_usd="80000").submit()
    page = alice_client.get(detail).content.decode()
    assert "Mismatch:" in page
    assert "states $80,000, the cost log prices the linked mishaps at $78,947" in page

    # The record itself never changed: the figures live in amendment rows.
    kxin = Postmortem.objects.get(pk=KXIN_ID)
    assert kxin.impact_usd is None and kxin.what_went_well == ""
    assert kxin.amendments.filter(section="impact").count() == 2


def test_linking_keeps_totals_and_lets_the_root_cause_filter_find_the_mishap(
        alice, real_cost_log):
    import_real_records()
    before, all_before = totals_by_pattern()
    kxin_entry = current_entries().get(title="KXIN Concentration Loss")
    link_entry(kxin_entry, Postmortem.objects.get(pk=KXIN_ID), user=alice)
    after, all_after = totals_by_pattern()
    assert [(t.name, t.low_usd, t.high_usd, t.entries) for t in after] == \
           [(t.name, t.low_usd, t.high_usd, t.entries) for t in before]
    assert (all_after.low_usd, all_after.entries) == (all_before.low_usd, all_before.entries)
    _, operational = totals_by_pattern(root_cause="operational")
    assert operational.low_usd == Decimal("78947.00")
    # Re-importing the hand-kept log (which names no postmortem) still changes nothing.
    result = import_costlog(real_cost_log)
    assert result.entries_created == 0 and result.entries_unchanged == 7


def test_an_entry_cannot_be_linked_twice(alice_client, alice, real_cost_log):
    import_real_records()
    entry = current_entries().get(title="KXIN Concentration Loss")
    link_entry(entry, Postmortem.objects.get(pk=KXIN_ID), user=alice)
    response = alice_client.post(
        reverse("costlog:postmortem_link", args=[KXIN_ID]), {"entry": entry.pk}, follow=True
    )
    assert "is not a current entry (it does not exist or was corrected)" in \
        response.content.decode()
    assert MishapEntry.objects.filter(title="KXIN Concentration Loss").count() == 2


def test_impact_figures_without_the_impact_section_are_refused_naming_the_field(
        django_app, alice, final_postmortem):
    response = page_form(django_app, url("postmortem_detail", final_postmortem.pk), alice,
                         url("amendment_create", final_postmortem.pk), section="",
                         note="A later figure.", impact_usd="100").submit(expect_errors=True)
    assert response.status_code == 422
    assert "Impact figures go with an amendment that adds to Impact" in response.text
    assert Amendment.objects.count() == 0


def test_postgresql_refuses_figures_on_an_amendment_to_another_section(final_postmortem):
    with pytest.raises(IntegrityError, match="amendment_figures_only_for_impact"), \
            transaction.atomic():
        Amendment.objects.create(postmortem=final_postmortem, note="x",
                                 section="what_went_well", impact_usd=Decimal(1))


# --- Exports and the round trip ----------------------------------------------------

def read_lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_jsonl_round_trip_keeps_every_section_and_sectioned_amendment(alice, tmp_path):
    pm = services.finalize(fill_sections(long_form_draft(alice)), alice)
    services.add_amendment(pm, alice, "Fees found later.", section="impact",
                           impact_usd=Decimal("1450.25"), impact_duration_minutes=120)
    services.add_amendment(pm, alice, "The kill switch also worked.", section="what_went_well")
    call_command("export_postmortems", out=str(tmp_path))
    [record] = read_lines(tmp_path / "log.jsonl")
    assert record["template"] == "long-form"
    assert record["impact"] == {"usd": "1400.00", "users": 0, "duration_minutes": 105,
                                "description": "1.4% of deployed capital over one session."}
    assert record["lessons_learned"] == pm.lessons_learned
    amendments = read_lines(tmp_path / "amendments.jsonl")
    assert amendments[0]["section"] == "impact"
    assert amendments[0]["impact"] == {"usd": "1450.25", "duration_minutes": 120}
    assert amendments[1]["section"] == "what_went_well" and "impact" not in amendments[1]

    with past_the_guards() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE incidents_postmortem CASCADE")
    call_command("import_postmortems", str(tmp_path / "log.jsonl"),
                 amendments=str(tmp_path / "amendments.jsonl"))
    call_command("export_postmortems", out=str(tmp_path / "again"))
    assert read_lines(tmp_path / "again" / "log.jsonl") == [record]
    assert read_lines(tmp_path / "again" / "amendments.jsonl") == amendments
    stored = Postmortem.objects.get(pk=pm.pk)
    assert (stored.template, stored.impact_usd, stored.what_went_well) == \
           ("long-form", Decimal("1400.00"), pm.what_went_well)


def test_seed_format_records_export_without_the_new_keys(tmp_path):
    import_real_records()
    call_command("export_postmortems", out=str(tmp_path))
    exported = (tmp_path / "log.jsonl").read_text(encoding="utf-8").splitlines()
    seed = (TEST_DATA / "postmortems.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in exported] == \
           sorted((json.loads(line) for line in seed), key=lambda r: r["created_utc"])
    assert all("template" not in line and "impact" not in json.loads(line) for line in exported)


@pytest.mark.parametrize("change, expected", [
    (lambda r: dict(r, template="short"), "template: 'short' is not one of"),
    (lambda r: dict(r, impact={"usd": 78947}), 'impact.usd: must be a string such as "78947.00"'),
    (lambda r: dict(r, impact={"usd": "-1"}), "impact.usd: '-1' is not an amount in USD"),
    (lambda r: dict(r, impact={"users": "many"}), "impact.users: must be a whole number"),
    (lambda r: dict(r, impact={"minutes": 5}), "impact.minutes: is not a known key"),
    (lambda r: dict(r, what_went_well=3), "what_went_well: must be a string"),
])
def test_a_bad_section_key_is_refused_with_line_and_key(tmp_path, change, expected):
    lines = (TEST_DATA / "postmortems.jsonl").read_text(encoding="utf-8").splitlines()
    lines[3] = json.dumps(change(json.loads(lines[3])))
    path = tmp_path / "log.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(CommandError) as error:
        call_command("import_postmortems", str(path))
    assert f"{path}, line 4: {expected}" in str(error.value)
    assert Postmortem.objects.count() == 0


@pytest.mark.parametrize("extra, expected", [
    ({"section": "blame"}, "section: 'blame' is not one of impact"),
    ({"impact": {"usd": "5.00"}}, 'impact figures need "section": "impact"'),
])
def test_a_bad_sectioned_amendment_is_refused(tmp_path, extra, expected):
    path = tmp_path / "amendments.jsonl"
    path.write_text(json.dumps({"parent_id": KXIN_ID, "amended_utc": "2026-02-04T10:00:00+00:00",
                                "note": "x", **extra}) + "\n")
    with pytest.raises(CommandError, match=expected):
        call_command("import_postmortems", str(TEST_DATA / "postmortems.jsonl"),
                     amendments=str(path))
    assert Postmortem.objects.count() == 0


def test_markdown_export_has_the_sections_and_names_what_an_amendment_adds_to(alice):
    pm = services.finalize(fill_sections(long_form_draft(alice)), alice)
    services.add_amendment(pm, alice, "Fees found later.", section="impact",
                           impact_usd=Decimal("1450.25"))
    text = markdown_export.postmortem_markdown(
        Postmortem.objects.prefetch_related("amendments").get(pk=pm.pk))
    assert "template: long-form" in text
    assert ("## Impact\n\n- Financial (USD): $1,400\n- Users affected: 0\n"
            "- Duration: 1 h 45 min") in text
    assert "## What went well\n\nThe drawdown alert fired at session end as designed." in text
    assert " — adds to Impact\n\n- Author: alice\n" in text
    assert "\n\n- Financial (USD): $1,450.25\n\nFees found later." in text
