"""POST /api/events: a monitor opens a draft postmortem; drawdown evaluated from figures."""
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.test import Client

from core import roles
from core.api_tokens import create_token
from incidents.models import Postmortem, Reminder
from tests.conftest import NOW, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_time")]

OCCURRED = NOW - timedelta(hours=2)


@pytest.fixture
def monitor(alice):
    _, key = create_token("monitor", alice, ["events:write"])
    client = Client(enforce_csrf_checks=True)

    def post(payload, key=key):
        body = payload if isinstance(payload, str) else json.dumps(payload)
        return client.post("/api/events", body, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {key}")
    return post


def event(**changes):
    return {"trigger": "provider_outage", "occurred_utc": OCCURRED.isoformat(),
            "trace_id": "tr-9a1", "summary": "Rate-limit cascade downgraded the model.",
            **changes}


def test_an_event_opens_a_draft_with_its_deadline_and_reminders(monitor):
    response = monitor(event())
    assert response.status_code == 201
    body = response.json()
    pm = Postmortem.objects.get()
    assert body["decision"] == "postmortem opened"
    assert body["postmortem"]["id"] == str(pm.pk)
    assert body["postmortem"]["meeting_deadline_utc"] == \
        (OCCURRED + timedelta(hours=72)).isoformat()
    assert pm.status == "draft" and pm.trigger == "provider_outage"
    assert pm.summary == "Rate-limit cascade downgraded the model."
    assert [(r.event, r.trace_id) for r in pm.timeline_entries.all()] == \
        [("Monitoring reported: Provider outage or rate-limit cascade.", "tr-9a1")]
    assert set(Reminder.objects.values_list("kind", flat=True)) == \
        {"schedule_meeting", "deadline_missed"}


def test_the_events_summary_is_the_postmortems_summary_on_its_page(monitor, alice,
                                                                  django_app):
    body = monitor(event(trigger="other", trigger_reason="Nightly reconciliation mismatch",
                         summary="Ledger and broker disagreed by 3 fills.")).json()
    pm = Postmortem.objects.get(pk=body["postmortem"]["id"])
    assert pm.summary == "Ledger and broker disagreed by 3 fills."
    row = pm.timeline_entries.get()
    assert row.event == "Monitoring reported: Nightly reconciliation mismatch."
    page = django_app.get(f"/postmortems/{pm.pk}/", user=alice)
    assert page.html.find("textarea", attrs={"name": "summary"}).text == \
        "Ledger and broker disagreed by 3 fills."


@pytest.mark.parametrize("occurred", ["2026-03-02 15:47", "2026-03-02T15:47",
                                      "2026-03-02T15:47:00Z", "2026-03-02T17:47:00+02:00"])
def test_the_event_time_reads_every_utc_format(monitor, occurred):
    body = monitor(event(occurred_utc=occurred)).json()
    assert Postmortem.objects.get(pk=body["postmortem"]["id"]).occurred_utc == \
        datetime(2026, 3, 2, 15, 47, tzinfo=UTC)


def test_the_same_event_sent_twice_opens_one_draft(monitor):
    first = monitor(event()).json()
    second = monitor(event())
    assert second.status_code == 200
    assert second.json()["decision"] == "postmortem already open"
    assert second.json()["postmortem"]["id"] == first["postmortem"]["id"]
    assert Postmortem.objects.count() == 1


def test_a_drawdown_under_threshold_needs_no_postmortem(monitor):
    sessions = [{"loss_usd": "400", "deployed_capital_usd": "100000"}] * 5
    response = monitor(event(trigger="drawdown", sessions=sessions))
    assert response.status_code == 200
    assert response.json() == {"decision": "no postmortem needed", "drawdown": {
        "single_session_percent": "0.40", "five_session_percent": "2.00",
        "sessions_counted": 5, "breached": False,
        "thresholds": {"single_session_percent": "1.00", "five_session_percent": "3.00"}}}
    assert Postmortem.objects.count() == 0


@pytest.mark.parametrize("sessions, single, five", [
    ([{"loss_usd": "1400", "deployed_capital_usd": "100000"}], "1.40", "1.40"),
    ([{"loss_usd": "700", "deployed_capital_usd": "100000"}] * 5, "0.70", "3.50"),
])
def test_a_drawdown_over_either_threshold_opens_a_draft(monitor, sessions, single, five):
    response = monitor(event(trigger="drawdown", sessions=sessions))
    assert response.status_code == 201
    assert response.json()["drawdown"]["single_session_percent"] == single
    assert response.json()["drawdown"]["five_session_percent"] == five
    assert f"(Drawdown {single}% in one session" in \
        Postmortem.objects.get().timeline_entries.get().event


@pytest.mark.parametrize("payload, field", [
    ("not json", "body"),
    ([], "body"),
    (event(trigger="bad_day"), "trigger"),
    (event(occurred_utc="yesterday"), "occurred_utc"),
    (event(occurred_utc="2026-03-02"), "occurred_utc"),
    (event(occurred_utc=(NOW + timedelta(days=1)).isoformat()), "occurred_utc"),
    ({k: v for k, v in event().items() if k != "trace_id"}, "trace_id"),
    (event(summary=""), "summary"),
    (event(summary=5), "summary"),
    (event(trigger="other"), "trigger_reason"),
    (event(trigger="drawdown"), "sessions"),
    (event(trigger="drawdown", sessions=[{"loss_usd": "1"}]), "sessions[0]"),
    (event(trigger="drawdown", sessions=[{"loss_usd": "x", "deployed_capital_usd": "1"}]),
     "sessions[0].loss_usd"),
    (event(trigger="drawdown", sessions=[{"loss_usd": "1", "deployed_capital_usd": "0"}]),
     "sessions[0].deployed_capital_usd"),
    (event(sessions=[]), "sessions"),
    (event(severity="high"), "severity"),
    (event(summary="a\x00b"), "summary"),
])
def test_a_bad_payload_gets_400_naming_the_field_and_stores_nothing(monitor, payload, field):
    response = monitor(payload)
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert Postmortem.objects.count() == 0 and Reminder.objects.count() == 0


def test_tokens_without_the_scope_or_at_all_are_refused(monitor, alice):
    _, gate_key = create_token("ci", alice, ["gate:read"])
    assert monitor(event(), key=gate_key).status_code == 403
    assert monitor(event(), key="scl_nope").status_code == 401
    assert Postmortem.objects.count() == 0


def test_a_deactivated_users_token_stops_working(monitor, alice):
    """docs/rules.md#token-scopes: a token is only as alive as its user."""
    _, gate_key = create_token("ci", alice, ["gate:read"])
    gate = Client()
    assert gate.get("/api/gate/trading?allow_unknown=1",
                    HTTP_AUTHORIZATION=f"Bearer {gate_key}").status_code == 200
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    refused = monitor(event())
    assert refused.status_code == 401
    assert "deactivated user" in refused.json()["error"]
    assert refused["WWW-Authenticate"] == 'Bearer realm="scarlog"'
    assert gate.get("/api/gate/trading?allow_unknown=1",
                    HTTP_AUTHORIZATION=f"Bearer {gate_key}").status_code == 401
    assert Postmortem.objects.count() == 0
    alice.is_active = True
    alice.save(update_fields=["is_active"])
    assert monitor(event()).status_code == 201


def test_a_tokens_scopes_are_bounded_by_its_users_current_role(db):
    """A viewer's token cannot write events, whatever scopes it was given; promoted to
    editor, the same token works on its next request (the role is read every time)."""
    dana = make_user("dana", role=roles.VIEWER)
    _, key = create_token("monitor", dana, ["events:write", "gate:read"])
    client = Client(enforce_csrf_checks=True)

    def post():
        return client.post("/api/events", json.dumps(event()), content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {key}")

    refused = post()
    assert refused.status_code == 403
    assert refused.json()["error"].endswith(
        "has the events:write scope, but its user 'dana' has the viewer role: events:write "
        "needs the editor or admin role.")
    assert Postmortem.objects.count() == 0
    # Read scopes stay within a viewer's role.
    assert client.get("/api/gate/trading?allow_unknown=1",
                      HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    roles.set_role(dana, roles.EDITOR)
    assert post().status_code == 201
    roles.set_role(dana, roles.VIEWER)
    assert post().status_code == 403
    assert Postmortem.objects.count() == 1


def test_creating_a_token_beyond_the_users_role_warns(db, capsys):
    make_user("dana", role=roles.VIEWER)
    call_command("create_api_token", "monitor", user="dana", scope=["events:write"])
    captured = capsys.readouterr()
    assert "Token 'monitor' (events:write): scl_" in captured.out
    assert ("Warning: dana has the viewer role, so events:write is refused until they have "
            "the editor or admin role.") in captured.err
