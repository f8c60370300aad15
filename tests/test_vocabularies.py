"""Trigger conditions, severities and scan question sets are data admins keep
(docs/rules.md#trigger-conditions, docs/rules.md#severity, docs/rules.md#scan-sets):
the seed's lists are the defaults, a reworded or retired question leaves old records as
they were answered, a team can answer its own set, and severity is chosen, shown,
filtered, exported, imported and frozen with the record. Pages are driven through the
forms they render (django-webtest)."""
import importlib
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import Error as DatabaseError
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from incidents import markdown_export, services, vocabulary
from incidents.failure_modes import FAILURE_MODES
from incidents.models import (
    ImmutableRecordError,
    Postmortem,
    QuestionSet,
    ScanQuestion,
    Severity,
    TriggerCondition,
)
from tests.conftest import fill_complete_draft, make_user

pytestmark = pytest.mark.django_db

NEW = reverse("incidents:postmortem_create")
LIST = reverse("incidents:postmortem_list")


def detail(pm) -> str:
    return reverse("incidents:postmortem_detail", args=[pm.pk])


@pytest.fixture
def editor(db):
    return make_user("vocab-editor")


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("vocab-admin", "a@example.com", "pw-123456")


@pytest.fixture
def cdn_set():
    """A CDN team's own three questions."""
    cdn = QuestionSet.objects.create(slug="cdn", name="CDN and edge")
    for number, (slug, name, question) in enumerate([
        ("cache_stampede", "Cache stampede", "Did many edges miss the cache at once?"),
        ("purge_storm", "Purge storm", "Did a purge invalidate more than it meant to?"),
        ("origin_shield_bypass", "Origin shield bypass", "Did traffic skip the shield?"),
    ], start=1):
        ScanQuestion.objects.create(question_set=cdn, slug=slug, number=number, name=name,
                                    question=question, factor=f"{name}: no guard")
    return cdn


def start_draft(app, user, **choices):
    """Start a draft through the new-postmortem form as the page renders it."""
    form = _new_form(app, user)
    form["occurred_utc"] = (timezone.now() - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    form["trigger"] = choices.pop("trigger", "provider_outage")
    for name, value in choices.items():
        form[name] = value
    answer = form.submit()
    assert answer.status_code == 302, answer.text
    return Postmortem.objects.order_by("-created_utc").first(), answer.follow()


def _new_form(app, user):
    page = app.get(NEW, user=user)
    return next(form for form in page.forms.values() if "occurred_utc" in form.fields)


def test_the_seed_lists_are_the_defaults_and_the_migration_holds_its_own_copy():
    migration = importlib.import_module("incidents.migrations.0021_seed_vocabularies")
    seed = [(m.slug, m.number, m.name, m.question, m.factor, m.failure_answer)
            for m in FAILURE_MODES]
    assert [tuple(row) for row in migration.QUESTIONS] == seed
    default = QuestionSet.objects.get(is_default=True)
    assert list(default.questions.values_list("slug", flat=True)) == [m.slug for m in
                                                                      FAILURE_MODES]
    assert list(Severity.objects.values_list("code", flat=True)) == [
        "SEV1", "SEV2", "SEV3", "SEV4", "SEV5"]
    assert TriggerCondition.objects.get(slug="other").requires_reason


def test_the_new_postmortem_form_offers_severity_and_records_it(django_app, editor):
    form = _new_form(django_app, editor)
    assert [value for value, _, _ in form["severity"].options][1:] == [
        "SEV1", "SEV2", "SEV3", "SEV4", "SEV5"]
    pm, page = start_draft(django_app, editor, severity="SEV2")
    assert pm.severity == "SEV2"
    assert page.html.select_one("#severity").get_text(" ", strip=True) == (
        "Severity SEV2 — major")


def test_relabelled_severity_levels_are_what_the_pages_show(django_app, editor):
    Severity.objects.filter(code="SEV1").update(label="P0 — all hands")
    Severity.objects.filter(code="SEV5").update(retired_utc=timezone.now())
    form = _new_form(django_app, editor)
    labels = [label for _, _, label in form["severity"].options]
    assert "P0 — all hands" in labels and not any("SEV5" in label for label in labels)
    _, page = start_draft(django_app, editor, severity="SEV1")
    assert "P0 — all hands" in page.html.select_one("#severity").get_text()


def test_the_list_filters_by_severity(django_app, editor):
    high = services.create_draft(editor, summary="Edge cache melted down", severity="SEV1")
    services.create_draft(editor, summary="A log line was misspelled", severity="SEV4")
    page = django_app.get(LIST, user=editor)
    form = next(f for f in page.forms.values() if "severity" in f.fields)
    form["severity"] = "SEV1"
    filtered = form.submit()
    text = filtered.html.select_one("table.list").get_text(" ", strip=True)
    assert "Edge cache melted down" in text and "misspelled" not in text
    assert high.severity == "SEV1"
    refused = django_app.get(LIST, {"severity": "SEV9"}, user=editor, status=400)
    assert "Severity (severity='SEV9'): not one of the choices" in \
        refused.html.select_one("#list-errors").text


def test_an_unknown_severity_is_refused_naming_the_field(editor):
    with pytest.raises(services.EventError) as refused:
        services.create_draft(editor, severity="SEV0")
    assert refused.value.field == "severity"
    assert Postmortem.objects.count() == 0


def test_severity_freezes_with_the_final_record(editor):
    pm = fill_complete_draft(services.create_draft(editor, severity="SEV3"))
    final = services.finalize(pm, editor)
    final.severity = "SEV1"
    with pytest.raises(ImmutableRecordError):
        final.save()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE incidents_postmortem SET severity = 'SEV1' WHERE id = %s",
                       [final.pk])
    assert Postmortem.objects.get(pk=final.pk).severity == "SEV3"


def test_severity_and_question_set_go_out_and_back_in_the_log(tmp_path, editor, cdn_set):
    pm = services.create_draft(editor, severity="SEV2", question_set="cdn")
    pm = fill_complete_draft(pm)
    final = services.finalize(pm, editor)
    call_command("export_postmortems", out=str(tmp_path))
    [line] = [json.loads(text) for text in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert line["severity"] == "SEV2" and line["question_set"] == "cdn"
    assert set(line["failure_mode_scan"]) == {"cache_stampede", "purge_storm",
                                              "origin_shield_bypass"}
    markdown = markdown_export.postmortem_markdown(final)
    assert "severity: SEV2" in markdown and "- Severity: SEV2 — major" in markdown
    # A second database's import: the same ids are refused as changed unless equal.
    call_command("import_postmortems", str(tmp_path / "log.jsonl"))  # unchanged: skipped
    line["id"] = "0b9c1a2e-3f4d-4e5f-8a6b-7c8d9e0f1a2b"
    (tmp_path / "other.jsonl").write_text(json.dumps(line) + "\n")
    call_command("import_postmortems", str(tmp_path / "other.jsonl"))
    imported = Postmortem.objects.get(pk=line["id"])
    assert imported.severity == "SEV2" and imported.question_set == cdn_set
    assert imported.scan_answers.get(mode="purge_storm").question.question_set == cdn_set


def test_an_import_naming_a_question_of_another_set_is_refused(tmp_path, editor, cdn_set):
    pm = fill_complete_draft(services.create_draft(editor, question_set="cdn"))
    services.finalize(pm, editor)
    call_command("export_postmortems", out=str(tmp_path))
    line = json.loads((tmp_path / "log.jsonl").read_text())
    line["id"] = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
    line["failure_mode_scan"]["token_runaway"] = {"answer": "yes"}
    (tmp_path / "bad.jsonl").write_text(json.dumps(line) + "\n")
    with pytest.raises(Exception, match="token_runaway: 'token_runaway' is not a question "
                                        "of the set cdn"):
        call_command("import_postmortems", str(tmp_path / "bad.jsonl"))
    assert not Postmortem.objects.filter(pk=line["id"]).exists()


def test_a_team_answers_its_own_set_and_not_twenty_questions(django_app, editor, cdn_set):
    pm, page = start_draft(django_app, editor, question_set="cdn")
    assert pm.question_set == cdn_set
    questions = [p.get_text(" ", strip=True) for p in page.html.select(".scan-q")]
    assert questions == ["1. Cache stampede. Did many edges miss the cache at once?",
                         "2. Purge storm. Did a purge invalidate more than it meant to?",
                         "3. Origin shield bypass. Did traffic skip the shield?"]
    fill_complete_draft(pm)  # answers the draft's three questions
    assert services.finalize(pm, editor).is_final


def test_an_admin_rewords_a_question_and_old_records_keep_their_wording(
        django_app, editor, superuser):
    old = services.finalize(fill_complete_draft(services.create_draft(editor)), editor)
    question = ScanQuestion.objects.get(question_set__is_default=True, slug="token_runaway")
    page = django_app.get(reverse("admin:incidents_scanquestion_change", args=[question.pk]),
                          user=superuser)
    form = next(f for f in page.forms.values() if "question" in f.fields)
    form["question"] = "Did the agent spend more than its token budget allowed?"
    assert form.submit().status_code == 302
    draft = services.create_draft(editor)
    draft_page = django_app.get(detail(draft), user=editor)
    assert "Did the agent spend more than its token budget allowed?" in draft_page.text
    final_page = django_app.get(detail(old), user=editor)
    assert "Did the loop hit its token budget, or exceed 2x the planned spend?" in final_page.text
    assert "more than its token budget allowed" not in final_page.text
    assert ("Did the loop hit its token budget, or exceed 2x the planned spend?"
            in markdown_export.postmortem_markdown(old))


def test_a_retired_question_is_no_longer_asked_but_stays_on_old_records(
        django_app, editor, superuser):
    old = services.finalize(fill_complete_draft(services.create_draft(editor)), editor)
    changelist = reverse("admin:incidents_scanquestion_changelist")
    page = django_app.get(changelist, user=superuser)
    form = next(f for f in page.forms.values() if "action" in f.fields)
    question = ScanQuestion.objects.get(question_set__is_default=True, slug="thinking_token_tax")
    form["action"] = "retire"
    boxes = [box._value for box in form.fields["_selected_action"]]
    form.set("_selected_action", True, index=boxes.index(str(question.pk)))
    form.submit()
    question.refresh_from_db()
    assert question.retired_utc is not None
    draft = services.create_draft(editor)
    assert "thinking_token_tax" not in [q.slug for q in vocabulary.scan_questions(draft)]
    fill_complete_draft(draft)  # nineteen answers now make a complete scan
    assert services.finalize(draft, editor).scan_answers.count() == 19
    final_page = django_app.get(detail(old), user=editor)
    assert "Thinking-token tax" in final_page.text


def test_admins_add_a_trigger_condition_and_retire_one(django_app, editor):
    TriggerCondition.objects.create(slug="replication_lag", label="Replica lag over 60 s",
                                    position=3)
    TriggerCondition.objects.filter(slug="thesis_invalidation").update(
        retired_utc=timezone.now())
    options = [value for value, _, _ in _new_form(django_app, editor)["trigger"].options]
    assert "replication_lag" in options and "thesis_invalidation" not in options
    pm, page = start_draft(django_app, editor, trigger="replication_lag")
    assert "Replica lag over 60 s" in page.text
    with pytest.raises(services.EventError) as refused:
        services.set_event(pm, timezone.now(), "thesis_invalidation")
    assert refused.value.field == "trigger"


def test_the_admin_refuses_an_unknown_severity_on_a_draft(django_app, editor, superuser):
    draft = services.create_draft(editor, summary="Edited in the admin", severity="SEV3")
    page = django_app.get(reverse("admin:incidents_postmortem_change", args=[draft.pk]),
                          user=superuser)
    form = next(f for f in page.forms.values() if "severity" in f.fields)
    form["severity"] = "SEV9"
    answer = form.submit()
    assert answer.status_code == 200
    assert "Severity: 'SEV9' is not one of SEV1, SEV2, SEV3, SEV4, SEV5." in \
        answer.html.select_one(".errorlist").get_text()
    assert Postmortem.objects.get(pk=draft.pk).severity == "SEV3"


# --- issue 19, the outside tester's defects ------------------------------------------------

def _retire_and_reword_through_admin(app, superuser, question, wording):
    """An admin rewords `question` and retires it on its change page, as the page renders."""
    page = app.get(reverse("admin:incidents_scanquestion_change", args=[question.pk]),
                   user=superuser)
    form = next(f for f in page.forms.values() if "question" in f.fields)
    form["question"] = wording
    form["retired_utc_0"] = timezone.now().strftime("%Y-%m-%d")
    form["retired_utc_1"] = timezone.now().strftime("%H:%M:%S")
    assert form.submit().status_code == 302
    question.refresh_from_db()
    assert question.retired_utc is not None and question.question == wording


def test_a_retired_question_a_draft_answered_keeps_showing_with_its_answer(
        django_app, editor, superuser):
    from incidents import meeting_record

    draft = fill_complete_draft(services.create_draft(editor))
    first = ScanQuestion.objects.get(question_set__is_default=True, number=1)
    old_wording = first.question
    meeting_record.answer_scan(draft, first.slug, "yes", "leak seen in the fills", user=editor)
    _retire_and_reword_through_admin(django_app, superuser, first, "Reworded, then retired?")

    page = django_app.get(detail(draft), user=editor)
    rows = page.html.select("#section-scan .scan-row")
    assert rows[0]["id"] == f"scan-row-{first.slug}" and len(rows) == 20
    kept = rows[0].get_text(" ", strip=True)
    assert old_wording in kept and "Retired question" in kept
    assert "leak seen in the fills" in kept and "Reworded, then retired?" not in page.text
    assert not rows[0].select("input")  # retired: the answer is kept, not asked again
    markdown = django_app.get(reverse("incidents:postmortem_markdown", args=[draft.pk]),
                              user=editor).text
    kept_row = f"| 1 | {first.name} (retired question) | {old_wording} | Yes | leak seen"
    assert f"{kept_row} in the fills |" in markdown
    # Finalize does not ask for it again, and the final record keeps it as answered.
    final = services.finalize(draft, editor)
    final_page = django_app.get(detail(final), user=editor)
    assert old_wording in final_page.text and "leak seen in the fills" in final_page.text
    assert f"| 1 | {first.name} | {old_wording} | Yes | leak seen in the fills |" in \
        markdown_export.postmortem_markdown(final)
    # A draft that never answered it does not see it.
    fresh = django_app.get(detail(services.create_draft(editor)), user=editor)
    assert f"scan-row-{first.slug}" not in fresh.text and old_wording not in fresh.text
    assert len(fresh.html.select("#section-scan .scan-row")) == 19


def test_a_draft_opened_without_severity_is_rated_on_its_event_form(django_app, editor):
    draft = services.create_draft(editor, summary="Opened by the events API")
    page = django_app.get(detail(draft), user=editor)
    assert page.html.select_one("#severity .badge.severity.unrated").get_text() == "not rated"
    form = next(f for f in page.forms.values() if "trigger_reason" in f.fields)
    form["occurred_utc"] = (timezone.now() - timedelta(hours=3)).strftime("%Y-%m-%d %H:%M")
    form["trigger"] = "drawdown"
    form["severity"] = "SEV2"
    answer = form.submit()
    assert answer.status_code == 302
    page = answer.follow()
    draft.refresh_from_db()
    assert (draft.severity, draft.trigger) == ("SEV2", "drawdown")
    badge = page.html.select_one("#severity .badge.severity")
    assert "sev-2" in badge["class"] and badge.get_text() == "SEV2 — major"
    assert not badge.has_attr("style")
    # The list shows it in its own column.
    listing = django_app.get(LIST, user=editor)
    headers = [th.get_text(strip=True) for th in listing.html.select("thead th")]
    column = headers.index("Severity")
    row = next(tr for tr in listing.html.select("tbody tr")
               if "Opened by the events API" in tr.get_text())
    assert row.select("td")[column].get_text(strip=True) == "SEV2 — major"


def test_saving_the_event_keeps_a_retired_severity_and_refuses_an_unknown_one(
        django_app, editor):
    draft = services.create_draft(editor, severity="SEV4", trigger="drawdown",
                                  occurred_utc=timezone.now() - timedelta(hours=1))
    Severity.objects.filter(code="SEV4").update(retired_utc=timezone.now())
    form = next(f for f in django_app.get(detail(draft), user=editor).forms.values()
                if "trigger_reason" in f.fields)
    assert form["severity"].value == "SEV4"
    form["trigger"] = "provider_outage"
    form.submit().follow()
    draft.refresh_from_db()
    assert (draft.severity, draft.trigger) == ("SEV4", "provider_outage")
    with pytest.raises(services.EventError) as refused:
        services.set_event(draft, draft.occurred_utc, "drawdown", severity="SEV9")
    assert refused.value.field == "severity"


def _truncate_postmortems():
    from tests.conftest import past_the_guards

    with past_the_guards() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE incidents_postmortem CASCADE")


def test_the_event_goes_out_and_back_in_the_log(tmp_path, editor):
    from incidents.seals import verify_log

    occurred = timezone.now() - timedelta(days=2, minutes=17)
    pm = services.create_draft(editor, occurred_utc=occurred, trigger="other",
                               trigger_reason="A customer reported stale quotes",
                               severity="SEV3")
    services.finalize(fill_complete_draft(pm), editor)
    call_command("export_postmortems", out=str(tmp_path))
    [line] = [json.loads(text) for text in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert (line["trigger"], line["trigger_reason"]) == ("other",
                                                         "A customer reported stale quotes")
    assert line["occurred_utc"] == occurred.isoformat()
    _truncate_postmortems()
    call_command("import_postmortems", str(tmp_path / "log.jsonl"))
    again = Postmortem.objects.get(pk=line["id"])
    assert (again.occurred_utc, again.trigger, again.trigger_reason) == (
        occurred, "other", "A customer reported stale quotes")
    call_command("export_postmortems", out=str(tmp_path / "again"))
    assert json.loads((tmp_path / "again" / "log.jsonl").read_text()) == line
    assert verify_log().ok


def test_a_seed_line_with_a_trigger_imports_and_an_unknown_trigger_is_refused(tmp_path):
    from incidents.seals import verify_log
    from tests.conftest import TEST_DATA

    # The seed's own lines import unchanged, and every seal verifies.
    call_command("import_postmortems", str(TEST_DATA / "postmortems.jsonl"))
    seed = (TEST_DATA / "postmortems.jsonl").read_text(encoding="utf-8").splitlines()
    assert Postmortem.objects.count() == len(seed)
    assert verify_log().ok
    line = json.loads(seed[0])
    line.update(id="3e4f5a6b-7c8d-4e9f-8a1b-2c3d4e5f6a7b", trigger="drawdown",
                occurred_utc="2026-03-02T13:40:00+00:00")
    (tmp_path / "one.jsonl").write_text(json.dumps(line) + "\n")
    call_command("import_postmortems", str(tmp_path / "one.jsonl"))
    imported = Postmortem.objects.get(pk=line["id"])
    assert imported.trigger == "drawdown" and imported.occurred_utc.hour == 13
    assert verify_log().ok
    line.update(id="2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a", trigger="meteor_strike")
    (tmp_path / "bad.jsonl").write_text(json.dumps(line) + "\n")
    with pytest.raises(Exception, match="trigger: 'meteor_strike' is not a trigger condition"):
        call_command("import_postmortems", str(tmp_path / "bad.jsonl"))
    line["trigger"] = "other"  # needs a reason, as the database insists
    (tmp_path / "bad.jsonl").write_text(json.dumps(line) + "\n")
    with pytest.raises(Exception, match="trigger_reason: is required when the trigger is"):
        call_command("import_postmortems", str(tmp_path / "bad.jsonl"))
    line.pop("trigger")
    line["trigger_reason"] = "A reason for no trigger"
    (tmp_path / "bad.jsonl").write_text(json.dumps(line) + "\n")
    with pytest.raises(Exception, match="trigger_reason: is given without a trigger"):
        call_command("import_postmortems", str(tmp_path / "bad.jsonl"))
    assert not Postmortem.objects.filter(pk=line["id"]).exists()
