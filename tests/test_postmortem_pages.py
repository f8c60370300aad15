"""The postmortem pages over HTTP: login, CSRF, autosave, finalize, read-only final, amendments.

Sign-in, new postmortem, Finalize and Amend are submitted as the pages render them
(django-webtest). Autosave (fields and rows) is htmx from inputs outside any form, posted
directly with the CSRF header as base.html's hx-headers does; an anonymous amendment is an
attacker's post, not the form.
"""
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents import services
from incidents.models import Amendment, Postmortem, TimelineEntry
from tests.conftest import DEMO_DATA, CsrfClient, fill_complete_draft

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"incidents:{name}", args=args)


def page_form(app, path, user, action: str, **typed):
    """The POST form of `path` whose action ends with `action`, with `typed` filled in."""
    page = app.get(path, user=user)
    form = next(form for form in page.forms.values()
                if form.method.lower() == "post" and (form.action or path).endswith(action))
    for name, value in typed.items():
        form[name] = value
    return form


def test_every_page_redirects_an_anonymous_visitor_to_login(anonymous_client, final_postmortem):
    for path in [url("postmortem_list"), url("postmortem_detail", final_postmortem.pk),
                 url("postmortem_markdown", final_postmortem.pk)]:
        response = anonymous_client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")


def test_an_anonymous_post_cannot_amend(anonymous_client, final_postmortem):
    response = anonymous_client.post(url("amendment_create", final_postmortem.pk), {"note": "x"})
    assert response.status_code == 302
    assert Amendment.objects.count() == 0


def test_a_post_without_csrf_token_is_refused(alice, final_postmortem):
    client = CsrfClient()
    client.force_login(alice)
    response = client.generic("POST", url("amendment_create", final_postmortem.pk), "note=x",
                              content_type="application/x-www-form-urlencoded")
    assert response.status_code == 403
    assert Amendment.objects.count() == 0


def test_state_changing_views_refuse_get(alice_client, complete_draft):
    for path in [url("postmortem_finalize", complete_draft.pk),
                 url("amendment_create", complete_draft.pk),
                 url("row_add", complete_draft.pk, "timeline"),
                 reverse("costlog:postmortem_link", args=[complete_draft.pk])]:
        assert alice_client.get(path).status_code == 405


@pytest.mark.parametrize("data, message", [
    ({"trigger": "drawdown"}, "Event occurred: give the time the event happened (UTC)."),
    ({"occurred_utc": "yesterday", "trigger": "drawdown"},
     "Event occurred: &#x27;yesterday&#x27; is not a date and time"),
    ({"occurred_utc": "2026-03-02 15:47"},
     "Trigger: choose one of the conditions, or Other with a reason."),
    ({"occurred_utc": "2026-03-02 15:47", "trigger": "other"},
     "Trigger reason: say why a postmortem is needed"),
    ({"occurred_utc": "2099-03-02 15:47", "trigger": "drawdown"},
     "Event occurred: the time is in the future."),
])
def test_a_new_postmortem_needs_its_event_named_field_by_field(django_app, alice, data, message):
    form = page_form(django_app, url("postmortem_create"), alice, url("postmortem_create"),
                     **data)
    response = form.submit(expect_errors=True)
    assert response.status_code == 400
    assert message in response.text
    refused = next(form for form in response.forms.values() if "occurred_utc" in form.fields)
    assert refused["occurred_utc"].value == data.get("occurred_utc", "")  # typed text stays
    assert Postmortem.objects.count() == 0


def test_new_postmortem_by_get_only_offers_the_template_choice(alice_client):
    page = alice_client.get(url("postmortem_create")).content.decode()
    assert 'value="seven-field" checked' in page
    assert 'value="long-form"' in page
    assert Postmortem.objects.count() == 0


def test_login_page_signs_in(django_app, alice):
    form = django_app.get("/accounts/login/").forms[0]
    form["username"], form["password"] = "alice", "alice-password-1"
    response = form.submit()
    assert response.status_code == 302
    assert django_app.get(url("postmortem_list")).status_code == 200


def test_new_postmortem_opens_a_draft_form_with_the_seven_fields(django_app, alice, alice_client):
    response = page_form(django_app, url("postmortem_create"), alice, url("postmortem_create"),
                         occurred_utc="2026-03-02 15:47", trigger="thesis_invalidation").submit()
    pm = Postmortem.objects.get()
    assert response["Location"] == url("postmortem_detail", pm.pk)
    page = alice_client.get(response["Location"]).content.decode()
    for heading in ["1. Summary", "2. Timeline", "3. Root cause", "4. Contributing factors",
                    "5. Fix implemented", "6. Prevention", "7. References"]:
        assert heading in page
    assert "0 of 7" in page
    assert "Operational</strong> — Infrastructure, deployment" in page


def test_autosave_stores_the_summary_and_answers_with_its_messages(alice_client, alice):
    pm = services.create_draft(alice)
    response = alice_client.post(url("postmortem_field", pm.pk, "summary"),
                                 {"summary": " ".join(["word"] * 45), "base_version": "0"},
                                 htmx=True)
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="feedback-summary"' in body
    assert "Summary has 45 words; the template asks for at most 40." in body
    # The answer carries the field's line of the progress panel (the page recounts
    # "N of M"), not the whole panel.
    assert '<li id="progress-summary" class="todo" hx-swap-oob="true">' in body
    assert "1 to do" in body
    assert 'id="progress" ' not in body
    assert Postmortem.objects.get(pk=pm.pk).summary.count("word") == 45


def test_autosave_of_the_summary_reads_no_other_row_of_the_draft(
        alice_client, alice):
    """A save's cost does not grow with the draft's timeline, factors and references."""
    empty = services.create_draft(alice)
    full = fill_complete_draft(services.create_draft(alice))
    counts = []
    for pm in (empty, full):
        with CaptureQueriesContext(connection) as captured:
            response = alice_client.post(url("postmortem_field", pm.pk, "summary"),
                                         {"summary": "Quotes stopped.", "base_version": "0"},
                                         htmx=True)
        assert response.status_code == 200
        sql = [query["sql"] for query in captured.captured_queries if "incidents_" in query["sql"]]
        counts.append(len(sql))
        for table in ("timelineentry", "contributingfactor", "reference", "scananswer"):
            assert not [query for query in sql if f"incidents_{table}" in query]
        assert '<li id="progress-summary" class="done" hx-swap-oob="true">' in \
            response.content.decode()
    assert counts[0] == counts[1]


def test_autosave_flags_a_signed_in_persons_name_as_blame(alice_client, alice):
    pm = services.create_draft(alice)
    response = alice_client.post(url("postmortem_field", pm.pk, "summary"),
                                 {"summary": "alice forgot to rotate the API key.",
                                  "base_version": "0"}, htmx=True)
    assert "Blame-flavoured:</strong> \u201calice forgot to rotate the API key" in \
        response.content.decode()


def test_autosave_of_an_unknown_root_cause_is_refused_and_not_stored(alice_client, alice):
    pm = services.create_draft(alice)
    response = alice_client.post(url("postmortem_field", pm.pk, "root_cause"),
                                 {"root_cause": "blame", "base_version": "0"}, htmx=True)
    assert "not saved" in response.content.decode()
    assert Postmortem.objects.get(pk=pm.pk).root_cause == ""


def test_autosave_of_an_unknown_field_is_404(alice_client, alice):
    pm = services.create_draft(alice)
    response = alice_client.post(url("postmortem_field", pm.pk, "status"), {"status": "final"},
                                 htmx=True)
    assert response.status_code == 404
    assert Postmortem.objects.get(pk=pm.pk).status == "draft"


def test_text_with_a_nul_character_is_refused_naming_the_field(alice_client, alice):
    pm = services.create_draft(alice)
    response = alice_client.post(url("postmortem_field", pm.pk, "prevention"),
                                 {"prevention": "alert\x00", "base_version": "0"}, htmx=True)
    assert "Prevention: Null characters are not allowed." in response.content.decode()


def test_timeline_rows_are_added_edited_and_removed_inline(alice_client, alice):
    pm = services.create_draft(alice)
    response = alice_client.post(url("row_add", pm.pk, "timeline"), htmx=True)
    row = TimelineEntry.objects.get(postmortem=pm)
    assert f'id="timeline-{row.pk}-utc"' in response.content.decode()
    response = alice_client.post(url("row_update", pm.pk, "timeline", row.pk),
                                 {"utc": "2026-03-02T16:02:00+02:00", "event": "Order filled",
                                  "trace_id": "tr-1", "base_version": "0"}, htmx=True)
    assert response.status_code == 200
    row.refresh_from_db()
    assert row.utc.isoformat() == "2026-03-02T14:02:00+00:00"
    alice_client.post(url("row_remove", pm.pk, "timeline", row.pk), htmx=True)
    assert not TimelineEntry.objects.filter(postmortem=pm).exists()


def test_an_unparseable_timeline_time_is_not_stored_and_says_how_to_write_it(alice_client, alice):
    pm = services.create_draft(alice)
    alice_client.post(url("row_add", pm.pk, "timeline"), htmx=True)
    row = TimelineEntry.objects.get(postmortem=pm)
    response = alice_client.post(url("row_update", pm.pk, "timeline", row.pk),
                                 {"utc": "tuesday", "event": "x", "trace_id": "t",
                                  "base_version": "0"}, htmx=True)
    assert "Time (UTC): &#x27;tuesday&#x27; is not a date and time" in response.content.decode()
    row.refresh_from_db()
    assert row.utc is None


def test_a_time_that_changes_the_order_re_renders_the_timeline_in_order(alice_client,
                                                                        complete_draft):
    last = complete_draft.timeline_entries.last()
    response = alice_client.post(url("row_update", complete_draft.pk, "timeline", last.pk),
                                 {"utc": "2026-03-02 00:01", "event": "Earliest now",
                                  "trace_id": "t", "base_version": "0"}, htmx=True)
    assert response["HX-Retarget"] == "#section-timeline"
    body = response.content.decode()
    assert body.index("Earliest now") < body.index("Event 1")


def test_finalize_with_a_missing_field_is_refused_with_a_message_per_field(django_app, alice):
    pm = services.create_draft(alice)
    response = page_form(django_app, url("postmortem_detail", pm.pk), alice,
                         url("postmortem_finalize", pm.pk)).submit(expect_errors=True)
    body = response.text
    assert response.status_code == 422
    assert "Finalize refused" in body
    assert "Timeline has 0 rows; the template asks for 5 to 20." in body
    assert Postmortem.objects.get(pk=pm.pk).status == "draft"


def test_finalize_of_a_complete_draft_shows_it_read_only(django_app, alice, alice_client,
                                                         complete_draft):
    response = page_form(django_app, url("postmortem_detail", complete_draft.pk), alice,
                         url("postmortem_finalize", complete_draft.pk)).submit()
    assert response.status_code == 302
    page = alice_client.get(url("postmortem_detail", complete_draft.pk)).content.decode()
    assert "This postmortem is final and read-only" in page
    assert "<textarea id=\"id_summary\"" not in page
    assert "hx-post" not in page
    assert "Add amendment" in page


def test_edits_to_a_final_postmortem_are_refused_with_409(alice_client, final_postmortem):
    row = final_postmortem.timeline_entries.first()
    attempts = [
        (url("postmortem_field", final_postmortem.pk, "summary"), {"summary": "rewritten"}),
        (url("row_add", final_postmortem.pk, "timeline"), {}),
        (url("row_update", final_postmortem.pk, "timeline", row.pk), {"event": "rewritten"}),
        (url("row_remove", final_postmortem.pk, "timeline", row.pk), {}),
        (url("postmortem_discard", final_postmortem.pk), {}),
    ]
    for path, data in attempts:
        response = alice_client.post(path, data, htmx=True)
        assert response.status_code == 409, path
        # A tab still typing when a teammate finalized stays where it is (its text kept);
        # autosave.js reads the mark and says why it was not saved.
        assert response["X-Scarlog-Refused"] == "final"
        assert not response.has_header("HX-Redirect")
    final_postmortem.refresh_from_db()
    assert final_postmortem.summary != "rewritten"
    assert final_postmortem.timeline_entries.count() == 5


def test_a_late_autosave_of_the_finalized_text_is_a_no_op(alice_client, final_postmortem):
    """Clicking Finalize blurs the field being typed in, which sends its (already saved)
    text once more; when finalize wins the race, that save changes nothing and must not
    replace "Postmortem finalized." with a warning."""
    path = url("postmortem_field", final_postmortem.pk, "summary")
    response = alice_client.post(path, {"summary": final_postmortem.summary,
                                        "base_version": "1"}, htmx=True)
    assert response.status_code == 204
    page = alice_client.get(url("postmortem_detail", final_postmortem.pk)).content.decode()
    assert "can no longer be edited" not in page
    changed = alice_client.post(path, {"summary": final_postmortem.summary + " more",
                                       "base_version": "1"}, htmx=True)
    assert changed.status_code == 409


def test_a_late_autosave_of_a_finalized_row_is_a_no_op(alice_client, final_postmortem):
    row = final_postmortem.timeline_entries.first()
    path = url("row_update", final_postmortem.pk, "timeline", row.pk)
    response = alice_client.post(path, {"event": row.event, "base_version": "1"}, htmx=True)
    assert response.status_code == 204
    changed = alice_client.post(path, {"event": row.event + " more", "base_version": "1"},
                                htmx=True)
    assert changed.status_code == 409
    row.refresh_from_db()
    assert not row.event.endswith(" more")


def test_an_amendment_is_dated_signed_and_shown_as_sanitized_markdown(django_app, alice,
                                                                        alice_client,
                                                                        final_postmortem):
    note = ("Trace replay found a **missed factor**.<script>alert(1)</script>"
            "[x](javascript:alert(2)) <img src=x onerror=alert(3)>")
    response = page_form(django_app, url("postmortem_detail", final_postmortem.pk), alice,
                         url("amendment_create", final_postmortem.pk), note=note).submit()
    assert response.status_code == 302
    amendment = Amendment.objects.get()
    assert amendment.author.username == "alice"
    page = alice_client.get(url("postmortem_detail", final_postmortem.pk)).content.decode()
    assert "<strong>missed factor</strong>" in page
    assert "<script>alert(1)" not in page
    assert "javascript:" not in page
    assert "onerror" not in page
    assert f"{amendment.amended_utc:%Y-%m-%d %H:%M} UTC · alice" in page


def test_an_empty_amendment_is_refused_naming_the_note(django_app, alice, final_postmortem):
    response = page_form(django_app, url("postmortem_detail", final_postmortem.pk), alice,
                         url("amendment_create", final_postmortem.pk),
                         note="  ").submit(expect_errors=True)
    assert response.status_code == 422
    assert "This field is required." in response.text
    assert Amendment.objects.count() == 0


def test_an_imported_record_lists_its_gaps_on_its_page(alice_client):
    call_command("import_postmortems", str(DEMO_DATA / "postmortems.jsonl"),
                 amendments=str(DEMO_DATA / "amendments.jsonl"))
    page = alice_client.get(url("postmortem_detail", "0d1f6a3e-2b8c-4c1e-9a51-7f3b2e9c0a01"))
    body = page.content.decode()
    assert "Falls short of the template" in body
    assert "Timeline has 2 rows; the template asks for 5 to 20." in body
    listing = alice_client.get(url("postmortem_list")).content.decode()
    assert listing.count('class="badge final"') == 8


def count_list_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url("postmortem_list")).status_code == 200
    return len(queries)


def test_the_list_page_uses_the_same_number_of_queries_for_2_or_12_postmortems(
    alice_client, alice
):
    for _ in range(2):
        fill_complete_draft(services.create_draft(alice))
    with_two = count_list_queries(alice_client)
    for _ in range(10):
        fill_complete_draft(services.create_draft(alice))
    assert count_list_queries(alice_client) == with_two


def test_markdown_download_names_the_file_by_date_and_summary(alice_client, final_postmortem):
    response = alice_client.get(url("postmortem_markdown", final_postmortem.pk))
    assert response["Content-Disposition"] == (
        f'attachment; filename="{final_postmortem.created_utc:%Y-%m-%d}-position-in-synthetic_a-'
        'was-not-closed.md"'
    )
    assert response.content.decode().startswith(f"---\nid: {final_postmortem.pk}\n")


def test_the_admin_offers_only_final_postmortems_to_amend(alice, final_postmortem):
    alice.is_staff = alice.is_superuser = True
    alice.save()
    draft = services.create_draft(alice)
    client = CsrfClient()
    client.force_login(alice)
    page = client.get("/admin/incidents/amendment/add/").content.decode()
    assert str(final_postmortem.pk) in page
    assert str(draft.pk) not in page


def test_the_list_shows_newest_first_even_with_amendment_counts(alice_client, alice):
    for day, summary in ((5, "Middle one"), (9, "Newest one"), (1, "Oldest one")):
        pm = services.create_draft(alice, summary=summary)
        Postmortem.objects.filter(pk=pm.pk).update(
            created_utc=datetime(2026, 3, day, tzinfo=UTC))
    page = alice_client.get(url("postmortem_list")).content.decode()
    assert page.index("Newest one") < page.index("Middle one") < page.index("Oldest one")
