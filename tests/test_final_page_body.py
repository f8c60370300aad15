"""The final postmortem page keeps its record body per seal (issue 23, incidents.record_body):
the body is rendered once, while amendments, action items and who may read it show at once,
a draft is always read fresh, a restricted record never reaches a non-member through the
kept body, and the page's queries do not grow with the record."""
from datetime import UTC, date, datetime, timedelta

from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents import action_items, record_body, services
from incidents.models import Postmortem, Seal, TimelineEntry
from tests.conftest import fill_complete_draft, make_user

AFTER = datetime(2026, 3, 2, 14, 40, tzinfo=UTC)  # after fill_complete_draft's timeline


def url(name, *args):
    return reverse(f"incidents:{name}", args=args)


def page_queries(client, pm) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url("postmortem_detail", pm.pk))
    assert response.status_code == 200
    return len(captured), response.content.decode()


def article(page: str) -> str:
    return page.split('<article class="record">')[1].split("</article>")[0]


def post_form(app, pm, user, action: str, **typed):
    """Submit the final page's POST form whose action is `action`, `typed` filled in."""
    page = app.get(url("postmortem_detail", pm.pk), user=user)
    form = next(form for form in page.forms.values()
                if form.method.lower() == "post" and form.action == action)
    for name, value in typed.items():
        form[name] = value
    return form.submit()


def finalized(user, extra_timeline: int = 0) -> Postmortem:
    pm = fill_complete_draft(services.create_draft(user))
    for n in range(extra_timeline):
        TimelineEntry.objects.create(postmortem=pm, position=10 + n,
                                     utc=AFTER + timedelta(minutes=n), event=f"Replay step {n}",
                                     trace_id="tr-5f2a9c")
    return services.finalize(pm, user)


def test_the_body_is_rendered_once_and_read_from_no_row_of_the_record(alice_client, alice):
    pm = finalized(alice)
    first_count, first = page_queries(alice_client, pm)
    second_count, second = page_queries(alice_client, pm)
    assert article(first) == article(second)
    assert "Event 3" in second and "No invalidation monitor" in second
    # Kept: the second request reads none of the record's rows.
    with CaptureQueriesContext(connection) as captured:
        alice_client.get(url("postmortem_detail", pm.pk))
    tables = " ".join(query["sql"] for query in captured.captured_queries)
    for table in ("timelineentry", "contributingfactor", "reference", "scananswer"):
        assert f'"incidents_{table}"' not in tables
    assert second_count < first_count


def test_the_query_count_does_not_grow_with_the_record(alice_client, alice):
    small, large = finalized(alice), finalized(alice, extra_timeline=15)
    cold = [page_queries(alice_client, pm)[0] for pm in (small, large)]
    warm = [page_queries(alice_client, pm)[0] for pm in (small, large)]
    assert cold[0] == cold[1]
    assert warm[0] == warm[1]


def test_a_general_and_a_section_amendment_show_at_once(django_app, alice):
    pm = finalized(alice)
    before = django_app.get(url("postmortem_detail", pm.pk), user="alice").text
    assert "No general amendments yet." in before
    assert 'id="section-lessons_learned"' not in before  # no long-form section yet
    post_form(django_app, pm, "alice", url("amendment_create", pm.pk),
              note="The replay found a **second stalled feed**.")
    post_form(django_app, pm, "alice", url("amendment_create", pm.pk),
              section="lessons_learned", note="Monitors need an owner on every desk.")
    page = django_app.get(url("postmortem_detail", pm.pk), user="alice").text
    assert "<strong>second stalled feed</strong>" in page
    assert "No general amendments yet." not in page
    # The section amendment lives inside the kept body: a new amendment is a new key.
    section = page.split('id="section-lessons_learned"')[1].split("</section>")[0]
    assert "Monitors need an owner on every desk." in section


def test_an_action_item_added_and_shipped_shows_at_once(django_app, alice):
    pm = finalized(alice)
    django_app.get(url("postmortem_detail", pm.pk), user="alice")  # the body is kept
    item = action_items.add_item(pm, "test", "Replay the stalled feed nightly", alice,
                                 date(2026, 4, 1))
    page = django_app.get(url("postmortem_detail", pm.pk), user="alice").text
    assert "Replay the stalled feed nightly" in page
    action_items.drop_item(item, "Covered by the exchange's own replay.")
    page = django_app.get(url("postmortem_detail", pm.pk), user="alice").text
    assert "Covered by the exchange&#x27;s own replay." in page


def test_a_restriction_shows_at_once_and_the_kept_body_never_reaches_a_non_member(
        django_app, alice):
    security = Group.objects.create(name="Security")
    alice.groups.add(security)
    make_user("otto-outsider")
    pm = finalized(alice)
    # Both have read it, so its body is kept.
    assert "Event 3" in django_app.get(url("postmortem_detail", pm.pk), user="alice").text
    assert "Event 3" in django_app.get(url("postmortem_detail", pm.pk),
                                       user="otto-outsider").text
    post_form(django_app, pm, "alice", url("postmortem_access", pm.pk), groups=[security.pk])
    page = django_app.get(url("postmortem_detail", pm.pk), user="alice").text
    assert "Only members of <strong>Security</strong> can read this postmortem" in page
    refused = django_app.get(url("postmortem_detail", pm.pk), user="otto-outsider",
                             expect_errors=True)
    assert refused.status_code == 404
    assert "Event 3" not in refused.text
    assert "No invalidation monitor" not in refused.text


def test_a_draft_read_by_a_viewer_is_never_kept(alice, django_app):
    make_user("vera-viewer", role="viewer")
    pm = fill_complete_draft(services.create_draft(alice))
    assert "Position in SYNTHETIC_A" in django_app.get(url("postmortem_detail", pm.pk),
                                                       user="vera-viewer").text
    Postmortem.objects.filter(pk=pm.pk).update(summary="Quotes stopped for nine minutes.")
    page = django_app.get(url("postmortem_detail", pm.pk), user="vera-viewer").text
    assert "Quotes stopped for nine minutes." in page
    assert "Position in SYNTHETIC_A" not in page


def test_the_key_is_the_seal_and_the_amendments(alice):
    """The body is keyed by what cannot change: another seal hash or one more amendment
    is another key, so there is nothing to invalidate."""
    pm = finalized(alice)
    sealed = Seal.objects.get(postmortem=pm, kind=Seal.Kind.POSTMORTEM).content_sha256
    assert record_body.seal_sha256(pm) == sealed
    key = record_body.cache_key(pm, sealed, [])
    amendment = services.add_amendment(pm, alice, "A second stalled feed.")
    assert record_body.cache_key(pm, sealed, [amendment]) != key
    assert record_body.cache_key(pm, "0" * 64, []) != key
    assert record_body.seal_sha256(services.create_draft(alice)) is None
