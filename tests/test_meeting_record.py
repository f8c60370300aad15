"""What the meeting adds to a postmortem (issue 3): the twenty-failure-mode scan, the
blameless checks and the facilitator's review, the substitution test, owner sentiment,
pending-trace-review marks, and their place in the immutable record and the exports.

Finalize is pressed through the form the draft page renders (django-webtest); scan answers,
factor review and pending marks are htmx posts from inputs outside any form (the page's JS),
so those are posted directly with the CSRF header."""
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from incidents import blameless, markdown_export, meeting_record, meetings, services
from incidents.failure_modes import FAILURE_MODES
from incidents.meetings import AttendeeInput
from incidents.models import (
    ContributingFactor,
    Postmortem,
    ScanAnswer,
)
from tests.conftest import TEST_DATA, CsrfClient, fill_complete_draft, past_the_guards

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"incidents:{name}", args=args)


def draft_without_scan(user) -> Postmortem:
    """A draft whose seven fields are complete and whose scan is not answered."""
    pm = fill_complete_draft(Postmortem.objects.create(created_by=user))
    ScanAnswer.objects.filter(postmortem=pm).delete()
    return pm


@pytest.fixture
def finalize(django_app, alice):
    """Press the draft page's Finalize button as `user` (alice); returns the response."""
    def press(pm, user=alice):
        page = django_app.get(url("postmortem_detail", pm.pk), user=user)
        form = next(form for form in page.forms.values()
                    if form.action == url("postmortem_finalize", pm.pk))
        return form.submit(expect_errors=True)
    return press


def finalize_refusal(finalize, pm) -> str:
    response = finalize(pm)
    assert response.status_code == 422
    return response.text


# --- The twenty-failure-mode scan ----------------------------------------------------

def test_the_draft_page_asks_the_twenty_questions_of_the_seed(alice_client, alice):
    pm = draft_without_scan(alice)
    page = alice_client.get(url("postmortem_detail", pm.pk)).content.decode()
    assert len(FAILURE_MODES) == 20
    assert "1. Price-blind leak." in page and "20. Cost attribution drift." in page
    assert "Did the model output any number that cannot be traced to a verified source" in page
    assert "0 of 20 answered" in page


def test_finalize_needs_all_twenty_answers(finalize, alice_client, alice):
    pm = draft_without_scan(alice)
    for mode in FAILURE_MODES[:19]:
        response = alice_client.post(url("scan_answer", pm.pk, mode.slug), {"answer": "no"},
                                     htmx=True)
        assert response.status_code == 200
    body = finalize_refusal(finalize, pm)
    assert ("Failure-mode scan has 19 of 20 questions answered; unanswered: "
            "20 Cost attribution drift.") in body
    alice_client.post(url("scan_answer", pm.pk, "cost_attribution_drift"), {"answer": "yes"},
                      htmx=True)
    finalize(pm)
    assert Postmortem.objects.get(pk=pm.pk).is_final


def test_a_bad_answer_is_refused_naming_the_question(alice_client, alice):
    pm = draft_without_scan(alice)
    response = alice_client.post(url("scan_answer", pm.pk, "token_runaway"),
                                 {"answer": "maybe"}, htmx=True)
    assert response.status_code == 422
    assert "Answer to 4 Token runaway: &#x27;maybe&#x27; is not yes, no or not applicable." \
           in response.content.decode()
    assert not ScanAnswer.objects.filter(postmortem=pm).exists()
    assert alice_client.post(url("scan_answer", pm.pk, "no_such_mode"), {"answer": "yes"},
                             htmx=True).status_code == 404


def test_a_yes_adds_its_contributing_factor_in_one_click(alice_client, alice):
    pm = draft_without_scan(alice)
    row = alice_client.post(url("scan_answer", pm.pk, "tool_result_injection"),
                            {"answer": "yes", "note": "10-K footnote said 'ignore limits'"},
                            htmx=True).content.decode()
    assert "Add \u201cTool-result injection\u201d as a contributing factor" in row
    section = alice_client.post(url("scan_factor", pm.pk, "tool_result_injection"),
                                htmx=True).content.decode()
    factor = ContributingFactor.objects.filter(postmortem=pm).last()
    assert factor.text == ("Tool-result injection: retrieved documents are not screened for "
                           "instruction-like text before the model reads them (10-K footnote "
                           "said 'ignore limits')")
    assert factor.substitution == "structural"
    assert "\u2713 Listed as a contributing factor" in section  # the scan row, out of band
    again = alice_client.post(url("scan_factor", pm.pk, "tool_result_injection"), htmx=True)
    assert "Tool-result injection is already a contributing factor." in again.content.decode()
    assert ContributingFactor.objects.filter(postmortem=pm).count() == 4


def test_the_health_check_questions_reveal_the_failure_on_no(alice):
    pm = draft_without_scan(alice)
    meeting_record.answer_scan(pm, "audit_amnesia", "yes")
    with pytest.raises(meeting_record.ScanError, match="only \u201cno\u201d reveals"):
        meeting_record.add_factor_from_scan(pm, "audit_amnesia")
    meeting_record.answer_scan(pm, "audit_amnesia", "no")
    factor = meeting_record.add_factor_from_scan(pm, "audit_amnesia")
    assert factor.text.startswith("Audit amnesia: the trace_id log does not retain")


def test_scan_answers_freeze_with_the_postmortem(final_postmortem):
    assert final_postmortem.scan_answers.count() == 20
    with pytest.raises(IntegrityError, match="final postmortem"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute("UPDATE incidents_scananswer SET answer = 'yes' WHERE postmortem_id = %s",
                       [final_postmortem.pk])
    with pytest.raises(services.ImmutableRecordError):
        meeting_record.answer_scan(final_postmortem, "price_blind_leak", "yes")


# --- Blameless checks ----------------------------------------------------------------

@pytest.mark.parametrize("typed, rewrite", [
    ("The operator did not check the dashboard", "No alerting on the dashboard metric"),
    ("The reviewer approved a bad prompt", "No automated regression test on the prompt change"),
    ("The agent went off the rails", "No max_steps ceiling; no convergence gate"),
    ("Someone pushed the wrong config", "No config-schema validation in the deploy pipeline"),
    ("The on-call was asleep", "No paging integration for this class of alert"),
])
def test_the_seeds_translation_table_suggests_each_rewrite(typed, rewrite):
    [finding] = blameless.check(typed)
    assert finding.rewrite == rewrite and finding.rule == blameless.TABLE_RULE


@pytest.mark.parametrize("typed, flagged", [
    ("alice forgot to rotate the API key", "alice forgot to rotate the API key"),
    ("The trader ignored the stop-loss warning", "The trader ignored the stop-loss warning"),
    ("Human error during the deploy", "Human error"),
    ("The validator did not check schema version", None),
    ("No invalidation monitor on open positions", None),
])
def test_a_person_as_the_subject_of_a_failure_is_flagged(typed, flagged):
    findings = blameless.check(typed, names=("alice", "bob"))
    assert [f.phrase for f in findings] == ([flagged] if flagged else [])


def test_typing_blame_shows_the_rewrite_without_blocking_the_save(alice_client, alice):
    pm = Postmortem.objects.create(created_by=alice)
    response = alice_client.post(url("postmortem_field", pm.pk, "summary"), {
        "summary": "Someone pushed the wrong config; positions stayed open.",
        "base_version": "0"}, htmx=True)
    body = response.content.decode()
    assert "Blame-flavoured:</strong> \u201cSomeone pushed the wrong config\u201d" in body
    assert "No config-schema validation in the deploy pipeline" in body
    assert Postmortem.objects.get(pk=pm.pk).summary.startswith("Someone pushed")


@pytest.fixture
def meeting_with_bob_facilitating(alice, bob):
    def schedule(pm):
        return meetings.schedule_meeting(
            pm, pm.created_utc, bob,
            [AttendeeInput(alice, "operator"), AttendeeInput(bob, "code_owner")])
    return schedule


def test_a_flagged_factor_blocks_finalize_until_the_facilitator_reviews_it(finalize,
        alice_client, alice, bob, meeting_with_bob_facilitating):
    pm = fill_complete_draft(Postmortem.objects.create(created_by=alice))
    meeting_with_bob_facilitating(pm)
    factor = pm.contributing_factors.first()
    alice_client.post(url("row_update", pm.pk, "factors", factor.pk), {
        "text": "The operator did not check the dashboard", "base_version": "0"}, htmx=True)
    body = finalize_refusal(finalize, pm)
    assert ("Contributing factor 1 reads as blame (\u201coperator did not check the "
            "dashboard\u201d); rewrite it as a system condition, e.g. \u201cNo alerting on "
            "the dashboard metric\u201d") in body

    refused = alice_client.post(url("factor_review", pm.pk, factor.pk), htmx=True)
    assert ("Facilitator: only bob, who facilitates the meeting, can mark a flagged factor "
            "reviewed.") in refused.content.decode()
    bob_client = CsrfClient()
    bob_client.force_login(bob)
    reviewed = bob_client.post(url("factor_review", pm.pk, factor.pk), htmx=True)
    assert "Reviewed by bob" in reviewed.content.decode()
    finalize(pm)
    final = Postmortem.objects.get(pk=pm.pk)
    assert final.is_final
    page = alice_client.get(url("postmortem_detail", pm.pk)).content.decode()
    assert "(wording reviewed by bob, the facilitator)" in page


def test_editing_a_reviewed_factor_needs_a_new_review(alice, bob, meeting_with_bob_facilitating):
    pm = fill_complete_draft(Postmortem.objects.create(created_by=alice))
    meeting_with_bob_facilitating(pm)
    factor = pm.contributing_factors.first()
    factor.text = "The on-call was asleep"
    factor.save()
    meeting_record.review_factor(pm, factor, bob)
    factor.refresh_from_db()
    factor.text = "The on-call was asleep again"
    factor.save()
    with pytest.raises(services.TemplateIncompleteError, match="Blameless check"):
        services.finalize(pm, alice)


# --- Substitution test ----------------------------------------------------------------

def test_only_structural_factors_count_toward_three_to_five(finalize, alice_client, alice):
    pm = fill_complete_draft(Postmortem.objects.create(created_by=alice))
    factor = pm.contributing_factors.first()
    alice_client.post(url("row_update", pm.pk, "factors", factor.pk),
                      {"substitution": "personal", "base_version": "0"}, htmx=True)
    factor.refresh_from_db()
    assert (factor.substitution, factor.text) == ("personal", "No invalidation monitor")
    body = finalize_refusal(finalize, pm)
    assert ("Contributing factors has 2 structural factors; the template asks for 3 to 5 "
            "(personal ones do not count).") in body


def test_an_untested_factor_is_named(alice):
    pm = fill_complete_draft(Postmortem.objects.create(created_by=alice))
    ContributingFactor.objects.filter(postmortem=pm, position__gte=2).update(substitution="")
    with pytest.raises(services.TemplateIncompleteError) as refusal:
        services.finalize(pm, alice)
    [status] = [s for s in refusal.value.statuses if s.key == "contributing_factors"]
    assert status.messages == [
        ("Contributing factors 2, 3 not yet through the substitution test: would it have "
         "failed with someone else at the keyboard? Mark each structural or personal.")]


# --- Pending trace review --------------------------------------------------------------

def test_a_field_pending_trace_review_blocks_finalize_until_cleared(finalize, alice_client,
                                                                    alice):
    pm = fill_complete_draft(Postmortem.objects.create(created_by=alice))
    marked = alice_client.post(url("pending_mark", pm.pk, "timeline"), {"pending": "1"},
                               htmx=True).content.decode()
    assert "Incomplete, pending trace review" in marked and "marked by alice" in marked
    body = finalize_refusal(finalize, pm)
    assert "Timeline is marked incomplete, pending trace review" in body
    assert alice_client.post(url("pending_mark", pm.pk, "timeline"), {"pending": "yes"},
                             htmx=True).status_code == 400
    alice_client.post(url("pending_mark", pm.pk, "timeline"), {"pending": "0"}, htmx=True)
    finalize(pm)
    assert Postmortem.objects.get(pk=pm.pk).is_final


def test_typing_into_a_field_pending_trace_review_keeps_the_mark_in_view(alice_client, alice):
    pm = Postmortem.objects.create(created_by=alice)
    alice_client.post(url("pending_mark", pm.pk, "summary"), {"pending": "1"}, htmx=True)
    body = alice_client.post(url("postmortem_field", pm.pk, "summary"),
                             {"summary": "Quotes stopped for 40 minutes.", "base_version": "0"},
                             htmx=True).content.decode()
    assert '<li id="progress-summary" class="done pending" hx-swap-oob="true">' in body
    assert "pending trace review</span>" in body
    assert "Incomplete, pending trace review" in body and "marked by alice" in body


# --- Owner sentiment, the final page, the exports --------------------------------------

KXIN_QUOTE = ("I'm fine with paying for compute. I'm not fine with paying for compute that "
              "gets thrown away because the laptop sneezed.")


def scanned_final(alice) -> Postmortem:
    pm = fill_complete_draft(Postmortem.objects.create(created_by=alice))
    meeting_record.answer_scan(pm, "token_runaway", "yes", note="300k tokens vs 50k planned")
    meeting_record.answer_scan(pm, "research_diary_gap", "no")
    ContributingFactor.objects.filter(postmortem=pm, position=3).update(substitution="personal")
    ContributingFactor.objects.create(postmortem=pm, position=4, text="No token ceiling",
                                      substitution="structural")
    pm.owner_sentiment, pm.owner_sentiment_by = KXIN_QUOTE, "operator"
    pm.save()
    return services.finalize(pm, alice)


def test_the_final_page_shows_the_scan_the_verdicts_and_the_quote(alice_client, alice):
    pm = scanned_final(alice)
    page = alice_client.get(url("postmortem_detail", pm.pk)).content.decode()
    assert "2 of 20 answers reveal a failure mode: Token runaway, Research-diary gap." in page
    assert "300k tokens vs 50k planned" in page
    assert "Drawdown alert only at session end <span class=\"hint\">\u2014 personal</span>" in page
    assert '<blockquote class="owner-quote"><p>I&#x27;m fine with paying for compute.' in page
    assert "<footer>\u2014 operator</footer>" in page
    markdown = markdown_export.postmortem_markdown(
        Postmortem.objects.prefetch_related("scan_answers").get(pk=pm.pk))
    assert ("| 4 | Token runaway | Did the loop hit its token budget, or exceed 2x the planned "
            "spend? | Yes | 300k tokens vs 50k planned |") in markdown
    assert "- Drawdown alert only at session end _(personal)_" in markdown
    assert "> I'm fine with paying for compute." in markdown


def read_lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_jsonl_round_trip_keeps_the_scan_verdicts_and_quote(alice, tmp_path):
    pm = scanned_final(alice)
    call_command("export_postmortems", out=str(tmp_path))
    [record] = read_lines(tmp_path / "log.jsonl")
    assert list(record["failure_mode_scan"])[:4] == [
        "price_blind_leak", "numeric_fabrication", "prompt_drift", "token_runaway"]
    assert record["failure_mode_scan"]["token_runaway"] == {
        "answer": "yes", "note": "300k tokens vs 50k planned"}
    assert record["failure_mode_scan"]["price_blind_leak"] == {"answer": "na"}
    assert record["factor_substitution"] == ["structural", "structural", "personal",
                                             "structural"]
    assert record["owner_sentiment"] == {"quote": KXIN_QUOTE, "by": "operator"}

    with past_the_guards() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE incidents_postmortem CASCADE")
    call_command("import_postmortems", str(tmp_path / "log.jsonl"))
    call_command("export_postmortems", out=str(tmp_path / "again"))
    assert read_lines(tmp_path / "again" / "log.jsonl") == [record]
    stored = Postmortem.objects.get(pk=pm.pk)
    assert stored.scan_answers.get(mode="token_runaway").answer == "yes"
    assert stored.owner_sentiment == KXIN_QUOTE


@pytest.mark.parametrize("extra, expected", [
    ({"failure_mode_scan": {"blame": {"answer": "yes"}}},
     "failure_mode_scan.blame: 'blame' is not a question of the set llm-trading"),
    ({"failure_mode_scan": {"dedup_failure": {"answer": "maybe"}}},
     "failure_mode_scan.dedup_failure.answer: 'maybe' is not one of yes, no, na"),
    ({"failure_mode_scan": {"dedup_failure": {"answer": "no", "why": "x"}}},
     "failure_mode_scan.dedup_failure.why: is not a known key"),
    ({"factor_substitution": ["structural"]},
     "factor_substitution: has 1 entries; contributing_factors has"),
    ({"owner_sentiment": {"quote": " "}},
     "owner_sentiment.quote: is empty; leave the key out instead"),
])
def test_a_bad_meeting_key_is_refused_with_line_and_key(tmp_path, extra, expected):
    lines = (TEST_DATA / "postmortems.jsonl").read_text(encoding="utf-8").splitlines()
    lines[2] = json.dumps(json.loads(lines[2]) | extra)
    path = tmp_path / "log.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(CommandError) as error:
        call_command("import_postmortems", str(path))
    assert f"{path}, line 3: {expected}" in str(error.value)
    assert Postmortem.objects.count() == 0
