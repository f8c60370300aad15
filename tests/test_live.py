"""The live draft: the change feed (one query when nothing changed), presence in Redis
with its TTL, the facilitator's Next field and who may poll or drive
(docs/rules.md#live-feed)."""
import re
from datetime import timedelta

import pytest
from django.test import Client

from core import roles
from incidents import autosave, live, live_feed, meeting_record, meetings, services
from incidents.failure_modes import FAILURE_MODES
from incidents.meetings import AttendeeInput
from incidents.models import Meeting
from tests.conftest import NOW, CsrfClient, make_user


@pytest.fixture
def team(db):
    return {"alice": make_user("alice", password="alice-password-1"),
            "bob": make_user("bob", password="bob-password-1"),
            "vic": make_user("vic", role=roles.VIEWER, password="vic-password-1")}


@pytest.fixture
def draft(team):
    return services.create_draft(team["alice"], occurred_utc=NOW - timedelta(hours=5),
                                 trigger="drawdown")


@pytest.fixture
def meeting(draft, team):
    """A meeting in progress, facilitated by alice, bob its code owner."""
    held = meetings.schedule_meeting(draft, NOW - timedelta(minutes=5), team["alice"], [
        AttendeeInput(team["alice"], "operator"), AttendeeInput(team["bob"], "code_owner")])
    return meetings.start_meeting(held, team["alice"])


def page_id(draft, user, name: str) -> str:
    """The signed id the server gives page `name` of `user` on `draft`."""
    return live.page_token(draft.pk, user.pk, name)


def client_of(user) -> CsrfClient:
    client = CsrfClient()
    client.force_login(user)
    return client


def test_nothing_changed_costs_one_query(draft, django_assert_num_queries):
    autosave.save_field(draft.pk, "summary", {"summary": "Orders stalled."}, "0", "e1", None)
    version = live_feed.current_version(draft.pk)
    with django_assert_num_queries(1):
        feed = live_feed.changes_since(draft.pk, version)
    assert (feed.version, feed.fields, feed.final) == (version, (), False)


def test_every_kind_of_save_appends_a_change_in_order(draft, team):
    autosave.save_field(draft.pk, "summary", {"summary": "Orders stalled."}, "0", "e1", None)
    services.add_row(draft, services.ROW_KINDS["timeline"])
    meeting_record.set_pending(draft, "prevention", True, team["alice"])
    autosave.save_field(draft.pk, "summary", {"summary": "Orders stalled."}, "1", "e1", None)
    feed = live_feed.changes_since(draft.pk, 0)
    # The unchanged re-save adds nothing.
    assert feed.version == 3
    assert feed.fields == ("summary", "timeline", "prevention")
    assert live_feed.changes_since(draft.pk, 1).fields == ("timeline", "prevention")
    assert live_feed.changes_since(draft.pk, 3).fields == ()


def test_a_missing_postmortem_has_no_feed(db):
    assert live_feed.changes_since("00000000-0000-0000-0000-000000000000", 0) is None


def test_presence_expires_after_its_ttl(draft, team, meeting, frozen_time):
    live.store_roles(draft.pk, live.meeting_roles(Meeting.objects.get(pk=meeting.pk)))
    live.heartbeat(draft.pk, "pagea", team["alice"], "summary", viewer=False)
    here = live.heartbeat(draft.pk, "pageb", team["bob"], "prevention", viewer=False)
    assert [(p.name, p.role, p.field) for p in here] == [
        ("alice", "Facilitator", "summary"), ("bob", "Code owner", "prevention")]
    frozen_time.shift(timedelta(seconds=live.PRESENCE_TTL_SECONDS - 1))
    here = live.heartbeat(draft.pk, "pageb", team["bob"], "", viewer=False)
    assert [p.name for p in here] == ["alice", "bob"]
    frozen_time.shift(timedelta(seconds=2))  # alice's page stopped heartbeating
    here = live.heartbeat(draft.pk, "pagev", team["vic"], "", viewer=True)
    assert [(p.name, p.role, p.viewer) for p in here] == [
        ("bob", "Code owner", False), ("vic", "Not an attendee", True)]
    live.leave(draft.pk, "pagev")
    assert [p.name for p in live.present(draft.pk)] == ["bob"]


def test_the_poll_needs_a_sign_in(draft):
    answer = Client().get(f"/postmortems/{draft.pk}/live/?since=0&editor=abc")
    assert answer.status_code == 302 and "/accounts/login/" in answer["Location"]


def test_the_poll_answers_changes_and_presence(draft, team):
    autosave.save_field(draft.pk, "summary", {"summary": "Orders stalled."}, "0", "e1", None)
    answer = client_of(team["bob"]).get(f"/postmortems/{draft.pk}/live/",
                                        {"since": "0",
                                         "editor": page_id(draft, team["bob"], "pageb"),
                                         "field": "prevention"})
    data = answer.json()
    assert data["version"] == 1
    assert data["fields"]["summary"] == {"value": "Orders stalled.", "version": 1,
                                         "key": "summary", "editor": "e1"}
    assert "Orders stalled" not in data["progress"] or "progress" in data["progress"]
    assert [(p["name"], p["field"]) for p in data["presence"]] == [("bob", "prevention")]
    quiet = client_of(team["bob"]).get(f"/postmortems/{draft.pk}/live/",
                                       {"since": "1",
                                        "editor": page_id(draft, team["bob"], "pageb")}).json()
    assert set(quiet) == {"version", "presence"}


def test_a_page_is_not_sent_back_its_own_rows_scan_answers_and_marks(draft, team):
    """Its own row add, scan answer and pending mark are already on the page (its htmx
    answers): the poll re-renders them only once someone else changed them too."""
    mode = FAILURE_MODES[0].slug
    alice, bob = client_of(team["alice"]), client_of(team["bob"])
    as_page_a = {"X-Scarlog-Editor": "pagea"}
    assert alice.post(f"/postmortems/{draft.pk}/timeline/add/", htmx=True,
                      headers=as_page_a).status_code == 200
    assert alice.post(f"/postmortems/{draft.pk}/scan/{mode}/", {"answer": "no"}, htmx=True,
                      headers=as_page_a).status_code == 200
    assert alice.post(f"/postmortems/{draft.pk}/pending/prevention/", {"pending": "1"},
                      htmx=True, headers=as_page_a).status_code == 200
    feed = live_feed.changes_since(draft.pk, 0, "pagea")
    assert feed.fields == ("timeline", "scan", "prevention")
    assert feed.own == {"timeline", "scan", "prevention"}
    own = alice.get(f"/postmortems/{draft.pk}/live/", {"since": "0",
                                    "editor": page_id(draft, team["alice"], "pagea")}).json()
    assert own["version"] == 3 and own["sections"] == {}
    assert "prevention" not in own["feedback"]
    # Another page of the same person, and another person, are sent all of it.
    for client, user, name in ((alice, "alice", "pagea2"), (bob, "bob", "pageb")):
        theirs = client.get(f"/postmortems/{draft.pk}/live/",
                            {"since": "0", "editor": page_id(draft, team[user], name)}).json()
        assert set(theirs["sections"]) == {"timeline", "scan"}
        assert "prevention" in theirs["feedback"]
    # Bob adds a row too: page A is sent the timeline (its own and bob's), not the scan.
    bob.post(f"/postmortems/{draft.pk}/timeline/add/", htmx=True,
             headers={"X-Scarlog-Editor": "pageb"})
    mixed = alice.get(f"/postmortems/{draft.pk}/live/", {"since": "0",
                                      "editor": page_id(draft, team["alice"], "pagea")}).json()
    assert set(mixed["sections"]) == {"timeline"}
    assert mixed["sections"]["timeline"].count('name="utc"') == 2


def test_a_malformed_page_id_names_nobody(draft, team):
    client_of(team["alice"]).post(f"/postmortems/{draft.pk}/timeline/add/", htmx=True,
                                  headers={"X-Scarlog-Editor": "a/b"})
    assert live_feed.changes_since(draft.pk, 0, "").own == frozenset()
    assert live_feed.changes_since(draft.pk, 0, "a").own == frozenset()


def test_a_viewer_polls_and_is_told_to_refresh(draft, team):
    autosave.save_field(draft.pk, "summary", {"summary": "Orders stalled."}, "0", "e1", None)
    data = client_of(team["vic"]).get(f"/postmortems/{draft.pk}/live/",
                                      {"since": "0",
                                       "editor": page_id(draft, team["vic"], "pagev")}).json()
    assert data["refresh"] is True and "fields" not in data
    assert data["presence"][0]["viewer"] is True


def test_a_demoted_page_is_not_refreshed_for_its_own_saves(draft, team):
    autosave.save_field(draft.pk, "summary", {"summary": "Orders stalled."}, "0", "pagev", None)
    data = client_of(team["vic"]).get(f"/postmortems/{draft.pk}/live/",
                                      {"since": "0",
                                       "editor": page_id(draft, team["vic"], "pagev")}).json()
    assert data["version"] == 1 and "refresh" not in data


@pytest.mark.parametrize("query, field", [({"editor": "abc"}, "since"),
                                          ({"since": "-1", "editor": "abc"}, "since"),
                                          ({"since": "0"}, "editor"),
                                          ({"since": "0", "editor": "a/b"}, "editor")])
def test_a_malformed_poll_is_refused_naming_the_parameter(draft, team, query, field):
    answer = client_of(team["bob"]).get(f"/postmortems/{draft.pk}/live/", query)
    assert answer.status_code == 400
    assert answer.json()["field"] == field and answer.json()["error"].startswith(field)


def test_the_facilitator_moves_the_meeting_field_by_field(draft, team, meeting):
    url = f"/postmortems/{draft.pk}/live/{meeting.pk}/next/"
    client = client_of(team["alice"])
    assert client.post(url, htmx=True).status_code == 204
    assert Meeting.objects.get(pk=meeting.pk).current_field == "summary"
    client.post(url, htmx=True)
    assert Meeting.objects.get(pk=meeting.pk).current_field == "timeline"
    client.post(url, {"field": "prevention"}, htmx=True)
    assert Meeting.objects.get(pk=meeting.pk).current_field == "prevention"
    # The others' poll carries it, and a page opened late shows it.
    data = client_of(team["bob"]).get(f"/postmortems/{draft.pk}/live/",
                                      {"since": "0",
                                       "editor": page_id(draft, team["bob"], "pageb")}).json()
    panel = data["meeting"].pop("panel")
    assert data["meeting"] == {"current_field": "prevention", "label": "Prevention"}
    # With the meeting panel as the page renders it (started, its timer running).
    assert panel.strip().startswith('<div class="meeting-panel" id="meeting-panel">')
    assert "· started" in panel and 'class="meeting-timer' in panel
    page = client_of(team["bob"]).get(f"/postmortems/{draft.pk}/").content.decode()
    assert 'data-current="prevention"' in page
    assert client.post(url, {"field": "nope"}, htmx=True).status_code == 400


def test_only_the_facilitator_drives(draft, team, meeting):
    url = f"/postmortems/{draft.pk}/live/{meeting.pk}/next/"
    refused = client_of(team["bob"]).post(url, htmx=True)
    assert refused.status_code == 403
    assert "Only alice, the facilitator" in refused.content.decode()
    assert client_of(team["vic"]).post(url, htmx=True).status_code == 403
    assert Meeting.objects.get(pk=meeting.pk).current_field == ""
    # The viewer's page has no Next field; the facilitator's has.
    assert 'id="live-next"' not in client_of(team["vic"]).get(
        f"/postmortems/{draft.pk}/").content.decode()
    assert 'id="live-next"' not in client_of(team["bob"]).get(
        f"/postmortems/{draft.pk}/").content.decode()
    assert 'id="live-next"' in client_of(team["alice"]).get(
        f"/postmortems/{draft.pk}/").content.decode()


def test_next_field_needs_the_csrf_token(draft, team, meeting):
    client = Client(enforce_csrf_checks=True)
    client.force_login(team["alice"])
    answer = client.post(f"/postmortems/{draft.pk}/live/{meeting.pk}/next/")
    assert answer.status_code == 403
    assert Meeting.objects.get(pk=meeting.pk).current_field == ""


def test_next_field_needs_a_meeting_in_progress(draft, team):
    held = meetings.schedule_meeting(draft, NOW, team["alice"], [
        AttendeeInput(team["alice"], "operator"), AttendeeInput(team["bob"], "code_owner")])
    answer = client_of(team["alice"]).post(f"/postmortems/{draft.pk}/live/{held.pk}/next/",
                                           htmx=True)
    assert answer.status_code == 400 and "not in progress" in answer.content.decode()


def test_the_agenda_shows_what_is_still_to_fill_and_pending(draft, team, meeting):
    meeting_record.set_pending(draft, "prevention", True, team["alice"])
    autosave.save_field(draft.pk, "summary", {"summary": "Orders stalled."}, "0", "e1", None)
    page = client_of(team["bob"]).get(f"/postmortems/{draft.pk}/").content.decode()
    line = page[page.index('id="agenda-open"'):]
    line = line[:line.index("</p>")]
    assert "Timeline" in line and "Root cause" in line
    assert ">Summary<" not in line  # complete
    assert "pending trace review: <a href=\"#section-prevention\">Prevention</a>" in line
    assert "left" in page[page.index('class="agenda-head"'):][:400]  # the 30-minute timer


def poll(client, draft, editor, **query):
    return client.get(f"/postmortems/{draft.pk}/live/", {"since": "0", "editor": editor,
                                                          **query})


def test_the_page_id_is_signed_for_its_user_and_postmortem(draft, team):
    """A forged id, another user's and another postmortem's are refused (400), so
    nobody adds presence entries or overwrites another page's."""
    other = services.create_draft(team["alice"], occurred_utc=NOW - timedelta(hours=2),
                                  trigger="drawdown")
    bob = client_of(team["bob"])
    for forged in ("pageb", page_id(draft, team["alice"], "pagea"),
                   page_id(other, team["bob"], "pageb"),
                   page_id(draft, team["bob"], "pageb") + "x"):
        answer = poll(bob, draft, forged)
        assert answer.status_code == 400
        assert answer.json()["field"] == "editor"
        assert bob.post(f"/postmortems/{draft.pk}/live/leave/",
                        {"editor": forged}).status_code == 400
    assert live.present(draft.pk) == []
    assert poll(bob, draft, page_id(draft, team["bob"], "pageb")).status_code == 200


def test_the_page_renders_its_own_signed_id(draft, team):
    html = client_of(team["bob"]).get(f"/postmortems/{draft.pk}/").content.decode()
    editor = re.search(r'data-editor="([0-9a-f]+)"', html).group(1)
    token = re.search(r'data-token="([^"]+)"', html).group(1)
    assert live.page_of(token, draft.pk, team["bob"].pk) == editor
    with pytest.raises(live.PageIdError):
        live.page_of(token, draft.pk, team["alice"].pk)


def test_a_viewer_cannot_take_over_someone_elses_entry(draft, team):
    alice_page = page_id(draft, team["alice"], "pagea")
    assert poll(client_of(team["alice"]), draft, alice_page, field="summary").status_code == 200
    vic = client_of(team["vic"])
    # The viewer knows alice's signed id (say, seen over her shoulder): refused, and her
    # entry stays hers; the viewer's own page is listed as the viewer.
    assert poll(vic, draft, alice_page, field="timeline").status_code == 400
    assert vic.post(f"/postmortems/{draft.pk}/live/leave/",
                    {"editor": alice_page}).status_code == 400
    data = poll(vic, draft, page_id(draft, team["vic"], "pagev")).json()
    assert [(p["name"], p["field"], p["viewer"]) for p in data["presence"]] == [
        ("alice", "summary", False), ("vic", "", True)]


def test_presence_is_one_line_per_person_without_page_ids(draft, team, meeting):
    live.store_roles(draft.pk, live.meeting_roles(Meeting.objects.get(pk=meeting.pk)))
    alice = client_of(team["alice"])
    poll(alice, draft, page_id(draft, team["alice"], "tab1"), field="summary")
    poll(alice, draft, page_id(draft, team["alice"], "tab2"))
    data = poll(client_of(team["bob"]), draft, page_id(draft, team["bob"], "pageb"),
                field="scan").json()
    assert data["presence"] == [
        {"name": "alice", "role": "Facilitator", "viewer": False, "field": "summary",
         "label": "Summary", "me": False},
        {"name": "bob", "role": "Code owner", "viewer": False, "field": "scan",
         "label": "Failure-mode scan", "me": True}]
    for token in ("tab1", "tab2", "pageb"):
        assert token not in str(data["presence"])


def test_a_page_leaving_is_gone_at_once_for_every_role(draft, team):
    vic, vic_page = client_of(team["vic"]), page_id(draft, team["vic"], "pagev")
    assert poll(vic, draft, vic_page).status_code == 200
    assert [p.name for p in live.present(draft.pk)] == ["vic"]
    assert vic.post(f"/postmortems/{draft.pk}/live/leave/",
                    {"editor": vic_page}).status_code == 204
    assert live.present(draft.pk) == []


def test_the_leave_needs_the_csrf_token(draft, team):
    client = Client(enforce_csrf_checks=True)
    client.force_login(team["bob"])
    answer = client.post(f"/postmortems/{draft.pk}/live/leave/",
                         {"editor": page_id(draft, team["bob"], "pageb")})
    assert answer.status_code == 403
