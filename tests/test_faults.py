"""Faults: PostgreSQL dropping the connection mid-request, Redis down. (A worker killed
mid-task is tests/test_reminder_worker.py.)

The connection drop is real: a post_save receiver makes PostgreSQL terminate the very
backend serving the request (pg_terminate_backend) after the first of the two rows an
amendment writes, while the request runs in the live server over HTTP.
"""
import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.db.models.signals import post_save
from django.test import Client, override_settings

from incidents.models import Amendment, Postmortem, Reminder, Seal
from incidents.tasks import sweep_reminders
from tests.conftest import NOW
from tests.test_deployment import NoRedirect

CSRF = "a" * 32  # a CSRF secret the client sends as cookie and header alike
DEAD_REDIS = "redis://127.0.0.1:1/0"


def http(live_server, session: str, path: str, data: dict | None = None):
    """GET (or POST form `data`) through the live server with the session.

    Answers (status, body, headers)."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(
        live_server.url + path, data=body,
        headers={"Cookie": f"sessionid={session}; csrftoken={CSRF}", "X-CSRFToken": CSRF,
                 "Referer": live_server.url + "/"})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=20) as response:
            return response.status, response.read().decode(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), error.headers


def terminate_own_backend(sender, instance, created, **kwargs):
    """Make PostgreSQL drop the connection serving this request, mid-transaction."""
    from django.db import connection as request_connection
    with request_connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")


@pytest.mark.django_db(transaction=True)
def test_a_connection_dropped_mid_request_gives_a_503_page_and_writes_nothing(
        live_server, final_postmortem, alice):
    client = Client()
    client.force_login(alice)
    session = client.cookies["sessionid"].value
    path = f"/postmortems/{final_postmortem.pk}/amendments/"
    post_save.connect(terminate_own_backend, sender=Amendment, dispatch_uid="drop")
    try:
        status, body, headers = http(live_server, session, path, {"note": "Late evidence."})
    finally:
        post_save.disconnect(dispatch_uid="drop", sender=Amendment)
    assert status == 503
    assert "Scarlog cannot reach its database" in body
    assert "none of it was written" in body
    assert headers["Retry-After"] == "30"
    assert headers["X-Request-ID"] in body
    connection.close()
    # Nothing of the amendment's transaction is stored: no amendment, no seal for it.
    assert Amendment.objects.count() == 0
    assert list(Seal.objects.values_list("kind", flat=True)) == ["postmortem"]
    # The server recovers on its own: the next request reconnects and saves.
    status, _, headers = http(live_server, session, path, {"note": "Late evidence."})
    assert status == 302
    assert Amendment.objects.get().note == "Late evidence."


@pytest.mark.django_db(transaction=True)
def test_with_redis_down_the_web_keeps_working_and_reminders_catch_up(django_app, alice,
                                                                     frozen_time):
    alice.email = "alice@example.com"
    alice.save()
    client = Client()
    client.force_login(alice)
    # The draft is started two hours after its event (a retrospective one plans nothing).
    occurred = NOW - timedelta(hours=2)
    with override_settings(REDIS_URL=DEAD_REDIS, CELERY_BROKER_URL=DEAD_REDIS,
                           CELERY_RESULT_BACKEND=DEAD_REDIS):
        form = next(form for form in django_app.get("/postmortems/new/", user=alice)
                    .forms.values() if "occurred_utc" in form.fields)
        form["occurred_utc"] = occurred.strftime("%Y-%m-%d %H:%M:%S")
        form["trigger"] = "provider_outage"
        created = form.submit()
        assert created.status_code == 302
        pm = Postmortem.objects.get()
        assert client.get(created["Location"]).status_code == 200
        assert client.get("/").status_code == 200
        saved = client.post(f"/postmortems/{pm.pk}/field/summary/",
                            {"summary": "Vendor API outage stopped order routing.",
                             "base_version": "0"},
                            headers={"HX-Request": "true"})
        assert saved.status_code == 200
        assert Postmortem.objects.get().summary == "Vendor API outage stopped order routing."
        health = client.get("/healthz")
        report = json.loads(health.content)
        assert health.status_code == 503
        assert report["database"]["ok"] is True and report["redis"]["ok"] is False
    # Both reminders of the event were planned as rows while Redis was down.
    assert Reminder.objects.filter(postmortem=pm, state="pending").count() == 2
    frozen_time.shift(timedelta(days=4))
    # Redis is back, four days on: the next sweep sends what fell due meanwhile, once.
    assert sweep_reminders.apply().get()["sent"] == 2
    assert Reminder.objects.filter(postmortem=pm, state="sent").count() == 2
    assert sweep_reminders.apply().get()["sent"] == 0
    assert len(mail.outbox) == 2 and all("alice@example.com" in m.to for m in mail.outbox)
