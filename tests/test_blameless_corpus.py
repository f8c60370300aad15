"""The blameless check measured on a labelled corpus (issue 19): any person or role as the
subject of an error is flagged, the same verbs with a system as the subject are not, and the
people's usernames and display names come from the User table (docs/rules.md#blameless-flagged).

tests/data/blameless_corpus.jsonl: 220 sentences written for this project, half
blame-flavoured; its `held_out` half was written (and committed) before the check was tuned.
The last 20 (tuning split) are absent people as the subject of an omission ("Nobody
reviewed the migration") and their systemic counterparts ("No alert fired").
"""
import json

import pytest
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from incidents import blameless, services
from incidents.models import ContributingFactor, Postmortem
from tests.conftest import TEST_DATA, fill_complete_draft, make_user

pytestmark = pytest.mark.django_db

CORPUS = [json.loads(line) for line in
          (TEST_DATA / "blameless_corpus.jsonl").read_text(encoding="utf-8").splitlines()]
# The people the corpus names, as users of the app (username, first name, last name).
CORPUS_PEOPLE = [("alice", "Alice", "Smith"), ("bob", "Bob", "Jones"),
                 ("priya", "Priya", "Raman"), ("mkowalski", "Marek", "Kowalski"),
                 ("dwhitfield", "Dana", "Whitfield")]


@pytest.fixture
def corpus_people(db):
    for username, first, last in CORPUS_PEOPLE:
        make_user(username, first_name=first, last_name=last)
    return services.people_names()


def figures(rows, names) -> tuple[float, float, list[str]]:
    """Precision, recall and the misjudged sentences of the check over `rows`."""
    tp = fp = fn = 0
    wrong = []
    for row in rows:
        flagged = bool(blameless.check(row["text"], names))
        tp += flagged and row["blame"]
        fp += flagged and not row["blame"]
        fn += row["blame"] and not flagged
        if flagged != row["blame"]:
            wrong.append(("missed: " if row["blame"] else "flagged: ") + row["text"])
    return tp / max(1, tp + fp), tp / max(1, tp + fn), wrong


def test_the_corpus_is_varied_and_balanced():
    assert len(CORPUS) >= 160
    assert len({row["text"] for row in CORPUS}) == len(CORPUS)
    for split in ("held_out", "tuning"):
        rows = [row for row in CORPUS if row["split"] == split]
        assert len(rows) >= 80
        assert sum(row["blame"] for row in rows) * 2 == len(rows)


@pytest.mark.parametrize("split", ["all", "held_out"])
def test_precision_and_recall_are_at_least_95_percent(corpus_people, split, capsys):
    rows = [row for row in CORPUS if split == "all" or row["split"] == split]
    precision, recall, wrong = figures(rows, corpus_people)
    with capsys.disabled():
        print(f"\nblameless corpus ({split}, {len(rows)} sentences): "  # noqa: T201 (the figures go in the report)
              f"precision {precision:.1%}, recall {recall:.1%}")
    assert precision >= 0.95 and recall >= 0.95, wrong


def test_without_the_users_names_the_named_sentences_are_not_judged_as_people(corpus_people):
    named = [row for row in CORPUS if row["blame"] and any(
        name in row["text"] for name in ("Priya", "Marek Kowalski", "dwhitfield", "Dana "))]
    assert named
    assert all(blameless.check(row["text"], corpus_people) for row in named)
    assert not any(blameless.check(row["text"], ()) for row in named)


def test_the_shortcut_that_skips_reading_names_never_hides_a_finding(corpus_people):
    """The autosave reads people's names only when mentions_failure says they could matter."""
    for row in CORPUS:
        if blameless.check(row["text"], corpus_people):
            assert blameless.mentions_failure(row["text"]), row["text"]


@pytest.mark.parametrize("person, system", [
    ("A person failed to upload the nightly file.", "The sync job failed to upload the file."),
    ("The DBA dropped the partition by mistake.", "The queue dropped the message."),
    ("The release engineer skipped the test.", "The deploy pipeline skipped the test."),
    ("The on-call SRE had not bothered to look at the graph.",
     "The graph exporter had not been scraped for an hour."),
    ("The trader was too careless to read the limit.", "The limit table was not loaded."),
    ("Somebody should've checked the backup.", "The backup job should have retried."),
])
def test_the_same_verb_is_flagged_for_a_person_and_not_for_a_system(person, system):
    assert blameless.check(person)
    assert blameless.check(system) == []


@pytest.mark.parametrize("person, system", [
    ("Nobody reviewed the migration.", "Nothing reviewed the migration."),
    ("No one restarted the worker.", "Nothing restarted the worker."),
    ("No engineer tested the path.", "No test covered the path."),
    ("None of the reviewers caught the typo.", "None of the linters caught the typo."),
    ("The runbook was read by nobody.", "The runbook was read by no job."),
])
def test_an_absent_person_is_still_a_person_and_an_absent_system_is_not(person, system):
    [finding] = blameless.check(person)
    assert finding.phrase == person.rstrip(".")
    assert blameless.check(system) == []


def test_an_absent_person_to_whom_something_happens_is_not_flagged():
    for text in ("Nobody is paged for warnings at night.", "No one could log in to the console.",
                 "Nobody knew the rule was disabled.", "Nobody had access to the vault.",
                 "The alert goes to a channel nobody subscribes to."):
        assert blameless.check(text) == [], text


def test_a_username_and_a_display_name_from_the_user_table_are_flagged(db):
    make_user("nadeyemi", first_name="Ngozi", last_name="Adeyemi")
    names = services.people_names()
    assert {"nadeyemi", "Ngozi", "Adeyemi", "Ngozi Adeyemi"} <= set(names)
    [by_username] = blameless.check("nadeyemi forgot to pause the replication job", names)
    assert by_username.phrase == "nadeyemi forgot to pause the replication job"
    [by_display] = blameless.check("Ngozi Adeyemi skipped the dry run of the migration", names)
    assert by_display.phrase == "Ngozi Adeyemi skipped the dry run of the migration"
    assert blameless.check("Ngozi Adeyemi skipped the dry run of the migration", ()) == []


def test_an_inactive_users_name_is_no_longer_read_as_a_person(db):
    make_user("tkarlsson", first_name="Tove", last_name="Karlsson", is_active=False)
    assert blameless.check("Tove Karlsson skipped the dry run", services.people_names()) == []


def test_the_draft_page_shows_the_hint_for_a_display_name(django_app, db):
    author = make_user("nadeyemi", first_name="Ngozi", last_name="Adeyemi")
    pm = Postmortem.objects.create(created_by=author,
                                   summary="Ngozi Adeyemi skipped the dry run; orders stalled.")
    page = django_app.get(reverse("incidents:postmortem_detail", args=[pm.pk]),
                          user="nadeyemi")
    hint = page.html.select_one("#feedback-summary .blame")
    assert "Blame-flavoured:" in hint.text
    assert "\u201cNgozi Adeyemi skipped the dry run\u201d" in hint.text


def test_finalize_refuses_a_factor_that_blames_a_user_by_name(django_app, db):
    author = make_user("nadeyemi", first_name="Ngozi", last_name="Adeyemi")
    pm = fill_complete_draft(Postmortem.objects.create(created_by=author))
    ContributingFactor.objects.filter(postmortem=pm, position=1).update(
        text="Ngozi neglected to re-enable the invalidation monitor")
    page = django_app.get(reverse("incidents:postmortem_detail", args=[pm.pk]),
                          user="nadeyemi")
    finalize = next(form for form in page.forms.values()
                    if form.action.endswith(reverse("incidents:postmortem_finalize",
                                                    args=[pm.pk])))
    refused = finalize.submit(status=422)
    assert ("Contributing factor 1 reads as blame (\u201cNgozi neglected to re-enable the "
            "invalidation monitor\u201d)") in refused.text
    assert not Postmortem.objects.get(pk=pm.pk).is_final


PIECES = [*"\x00 ,.;'\u2019-aeiostn", "engineer ", "they ", "the ", "by ", "not ", "forgot ",
          "who ", "alice ", "Alice Smith ", "\n", "\U0001f600", "9" * 30]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=200).map("".join))
def test_any_text_gives_findings_that_are_phrases_of_it(text):
    for finding in blameless.check(text, ("alice", "Alice Smith")):
        assert finding.phrase and finding.phrase in text


def test_an_oversized_text_is_checked_whole():
    text = "The pipeline ran. " * 4000 + "The on-call engineer forgot to page the DBA."
    [finding] = blameless.check(text)
    assert finding.phrase == "The on-call engineer forgot to page the DBA"
