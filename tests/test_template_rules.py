"""Each rule of the seven-field template, and finalize refusing until all hold."""
import pytest

from incidents import services, template_rules
from incidents.models import (
    DEFERRED_FIX_TEXT,
    ContributingFactor,
    Postmortem,
    Reference,
    TimelineEntry,
)

pytestmark = pytest.mark.django_db


def messages_for(pm: Postmortem, key: str) -> list[str]:
    statuses = {s.key: s for s in template_rules.check_postmortem(Postmortem.objects.get(pk=pm.pk))}
    return statuses[key].messages


def test_a_complete_draft_has_no_gaps(complete_draft):
    assert template_rules.gaps(complete_draft) == []


def test_an_empty_draft_lists_all_seven_fields_as_incomplete(alice):
    pm = services.create_draft(alice)
    incomplete = [s.label for s in template_rules.check_postmortem(pm) if not s.complete]
    assert incomplete == ["Summary", "Timeline", "Root cause", "Contributing factors",
                          "Fix implemented", "Prevention", "References"]


def test_summary_of_41_words_is_refused(complete_draft):
    complete_draft.summary = " ".join(["word"] * 41)
    complete_draft.save()
    assert messages_for(complete_draft, "summary") == [
        "Summary has 41 words; the template asks for at most 40."
    ]


def test_summary_of_exactly_40_words_is_accepted(complete_draft):
    complete_draft.summary = " ".join(["word"] * 40)
    complete_draft.save()
    assert messages_for(complete_draft, "summary") == []


def test_timeline_of_three_rows_is_refused_with_the_count(complete_draft):
    complete_draft.timeline_entries.order_by("-utc")[0].delete()
    complete_draft.timeline_entries.order_by("-utc")[0].delete()
    assert messages_for(complete_draft, "timeline") == [
        "Timeline has 3 rows; the template asks for 5 to 20."
    ]


def test_timeline_of_twenty_one_rows_is_refused(complete_draft):
    first = complete_draft.timeline_entries.first()
    TimelineEntry.objects.bulk_create(
        TimelineEntry(postmortem=complete_draft, position=10 + n, utc=first.utc, event="e",
                      trace_id="t")
        for n in range(16)
    )
    assert messages_for(complete_draft, "timeline") == [
        "Timeline has 21 rows; the template asks for 5 to 20."
    ]


def test_timeline_row_without_trace_id_or_time_is_named_by_its_number(complete_draft):
    rows = list(complete_draft.timeline_entries.all())
    TimelineEntry.objects.filter(pk=rows[1].pk).update(trace_id="")
    TimelineEntry.objects.filter(pk=rows[4].pk).update(utc=None, event="  ")
    assert messages_for(complete_draft, "timeline") == [
        "Timeline row 2 has no trace_id.",
        "Timeline row 5 has no UTC time and no event.",
    ]


def test_timeline_is_kept_in_time_order_whatever_the_order_rows_were_added(complete_draft):
    last = complete_draft.timeline_entries.last()
    early = TimelineEntry.objects.create(
        postmortem=complete_draft, position=99, utc=last.utc.replace(hour=0), event="earliest",
        trace_id="t",
    )
    assert complete_draft.timeline_entries.first() == early


def test_root_cause_must_be_chosen(complete_draft):
    complete_draft.root_cause = ""
    complete_draft.save()
    assert messages_for(complete_draft, "root_cause") == [
        ("Root cause is not chosen; pick one of cost, correctness, compliance, security, "
         "operational.")
    ]


def test_root_cause_outside_the_vocabulary_is_refused_by_postgresql(complete_draft):
    from django.db import IntegrityError, transaction

    with (pytest.raises(IntegrityError, match="postmortem_root_cause_in_vocabulary"),
          transaction.atomic()):
        Postmortem.objects.filter(pk=complete_draft.pk).update(root_cause="blame")


def test_two_contributing_factors_are_too_few_and_an_empty_one_is_named(complete_draft):
    complete_draft.contributing_factors.last().delete()
    ContributingFactor.objects.filter(postmortem=complete_draft).filter(position=1).update(text=" ")
    assert messages_for(complete_draft, "contributing_factors") == [
        "Contributing factors has 2 bullets; the template asks for 3 to 5.",
        "Contributing factor 1 is empty.",
    ]


@pytest.mark.parametrize("sha, expected", [
    ("", ("Fix implemented has no commit SHA; give the fix commit (7–40 hex characters) or "
          f'write "{DEFERRED_FIX_TEXT}" with a ticket link.')),
    ("3f9c2a", "Fix commit SHA '3f9c2a' is not 7–40 hexadecimal characters."),
    ("zzzzzzzz", "Fix commit SHA 'zzzzzzzz' is not 7–40 hexadecimal characters."),
    ("a" * 41, f"Fix commit SHA '{'a' * 41}' is not 7–40 hexadecimal characters."),
])
def test_fix_needs_a_seven_to_forty_hex_commit_sha(complete_draft, sha, expected):
    complete_draft.fix_commit_sha = sha
    complete_draft.save()
    assert messages_for(complete_draft, "fix") == [expected]


def test_fix_with_a_full_forty_character_sha_is_complete(complete_draft):
    complete_draft.fix_commit_sha = "0123456789abcdef0123456789ABCDEF01234567"
    complete_draft.save()
    assert messages_for(complete_draft, "fix") == []


def test_fix_with_sha_but_no_description_is_incomplete(complete_draft):
    complete_draft.fix_description = ""
    complete_draft.save()
    assert messages_for(complete_draft, "fix") == ["Fix implemented does not describe the change."]


def test_deferred_fix_needs_a_ticket_link_and_no_sha(complete_draft):
    complete_draft.fix_description = DEFERRED_FIX_TEXT
    complete_draft.save()
    assert messages_for(complete_draft, "fix") == [
        f'Fix reads "{DEFERRED_FIX_TEXT}" but has no ticket link.',
        f'Fix has a commit SHA and also reads "{DEFERRED_FIX_TEXT}"; keep one of the two.',
    ]


def test_deferred_fix_with_a_ticket_link_is_complete(complete_draft):
    complete_draft.fix_description = DEFERRED_FIX_TEXT
    complete_draft.fix_commit_sha = ""
    complete_draft.fix_ticket_link = "https://tickets.example.com/OPS-41"
    complete_draft.save()
    assert messages_for(complete_draft, "fix") == []


def test_deferred_text_must_be_exact(complete_draft):
    complete_draft.fix_description = "No change, deferred"
    complete_draft.fix_commit_sha = ""
    complete_draft.fix_ticket_link = "https://tickets.example.com/OPS-41"
    complete_draft.save()
    assert messages_for(complete_draft, "fix")[0].startswith("Fix implemented has no commit SHA")


def test_prevention_must_be_one_paragraph(complete_draft):
    complete_draft.prevention = "An alert fires.\n\nAnd a dashboard."
    complete_draft.save()
    assert messages_for(complete_draft, "prevention") == [
        "Prevention has 2 paragraphs; the template asks for one."
    ]


def test_references_need_three_to_six_links(complete_draft):
    complete_draft.references.last().delete()
    assert messages_for(complete_draft, "references") == [
        "References has 2 links; the template asks for 3 to 6."
    ]


def test_each_reference_is_checked_against_its_kind(complete_draft):
    Reference.objects.create(postmortem=complete_draft, position=4, kind="commit", value="xyz")
    Reference.objects.create(postmortem=complete_draft, position=5, kind="pr", value="pr 12")
    Reference.objects.create(postmortem=complete_draft, position=6, kind="trace_id", value="a b")
    assert messages_for(complete_draft, "references") == [
        "Reference 4 (Commit SHA) 'xyz' is not 7–40 hexadecimal characters.",
        "Reference 5 (PR link) 'pr 12' is not an http(s) link.",
        "Reference 6 (trace_id) 'a b' contains spaces; a trace_id is one token.",
    ]


def test_finalize_refuses_a_draft_with_gaps_and_names_each_field(complete_draft, alice):
    complete_draft.summary = ""
    complete_draft.save()
    complete_draft.references.last().delete()
    with pytest.raises(services.TemplateIncompleteError) as refused:
        services.finalize(complete_draft, alice)
    incomplete = {s.label: s.messages for s in refused.value.statuses if not s.complete}
    assert set(incomplete) == {"Summary", "References"}
    assert Postmortem.objects.get(pk=complete_draft.pk).status == "draft"


def test_finalize_makes_a_complete_draft_final_with_time_and_author(complete_draft, alice):
    services.finalize(complete_draft, alice)
    stored = Postmortem.objects.get(pk=complete_draft.pk)
    assert stored.status == "final"
    assert stored.finalized_by == alice
    assert stored.finalized_utc is not None


def test_adding_a_row_past_the_template_maximum_is_refused(complete_draft):
    for _ in range(3):
        services.add_row(complete_draft, services.ROW_KINDS["references"])
    with pytest.raises(services.RowLimitError, match="at most 6 references"):
        services.add_row(complete_draft, services.ROW_KINDS["references"])
    assert complete_draft.references.count() == 6
