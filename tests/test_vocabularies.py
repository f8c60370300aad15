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
