"""Login brute force: 5 failed sign-ins for one username from one IP lock that pair out for
15 minutes (django-axes), and more failures from one IP than SCARLOG_LOGIN_IP_FAILURE_LIMIT
lock that IP out (core.login_throttle); every authentication event is logged on
`scarlog.auth`. The brute-force tests post straight to the login URL, as an attacker's
script does; the sign-in/out test uses the rendered forms."""
import logging
from datetime import timedelta

import time_machine
from axes.models import AccessLog
from django.conf import settings
from django.test import Client
from django.utils import timezone

LOGIN = "/accounts/login/"


def sign_in(password: str, username: str = "alice", ip: str = "203.0.113.7"):
    return Client(REMOTE_ADDR=ip).post(LOGIN, {"username": username, "password": password})


def test_five_failures_lock_the_username_and_ip_for_15_minutes(alice, caplog, frozen_time):
    caplog.set_level(logging.INFO, logger="scarlog.auth")
    for _ in range(4):
        refused = sign_in("wrong-password")
        assert refused.status_code == 200
        assert "didn't match" in refused.content.decode()
    fifth = sign_in("wrong-password")
    assert fifth.status_code == 429
    assert "Sign-in locked for 15 minutes" in fifth.content.decode()
    # Locked: even the right password is refused from this IP.
    locked = sign_in("alice-password-1")
    assert locked.status_code == 429
    # The lock is per username and IP: alice elsewhere, and others here, still sign in.
    assert sign_in("alice-password-1", ip="198.51.100.9").status_code == 302
    events = [(r.event, r.username, r.ip) for r in caplog.records if r.name == "scarlog.auth"]
    assert events.count(("login_failed", "alice", "203.0.113.7")) >= 5
    assert ("locked_out", "alice", "203.0.113.7") in events
    assert ("login", "alice", "198.51.100.9") in events
    # Still locked a second before 15 minutes have passed, and that refused attempt starts
    # the 15 minutes again; after them the lock lifts.
    frozen_time.shift(timedelta(minutes=14, seconds=59))
    assert sign_in("alice-password-1").status_code == 429
    frozen_time.shift(timedelta(minutes=15, seconds=1))
    assert sign_in("alice-password-1").status_code == 302


def test_sign_in_and_out_are_logged_and_recorded(django_app, alice, caplog):
    """Through the sign-in form and the header's Sign out form, as the pages render them."""
    caplog.set_level(logging.INFO, logger="scarlog.auth")
    ip = {"REMOTE_ADDR": "203.0.113.8"}
    form = django_app.get(LOGIN, extra_environ=ip).forms[0]
    form["username"], form["password"] = "alice", "alice-password-1"
    signed_in = form.submit(extra_environ=ip)
    assert signed_in.status_code == 302
    home = signed_in.follow(extra_environ=ip)
    sign_out = next(form for form in home.forms.values() if form.action == "/accounts/logout/")
    assert sign_out.submit(extra_environ=ip).status_code == 302
    events = [(r.event, r.username) for r in caplog.records if r.name == "scarlog.auth"]
    assert events == [("login", "alice"), ("logout", "alice")]
    record = AccessLog.objects.get(username="alice")
    assert record.ip_address == "203.0.113.8" and record.logout_time is not None


def test_spraying_one_password_over_many_usernames_locks_the_ip(alice, caplog):
    """More failures from one IP than the per-IP limit, each on a different username (none
    reaching the per-user limit): the IP is refused even with another account's right
    password, while another IP still signs in; the lockout is logged."""
    caplog.set_level(logging.INFO, logger="scarlog.auth")
    limit = settings.SCARLOG_LOGIN_IP_FAILURE_LIMIT
    assert limit > settings.AXES_FAILURE_LIMIT
    for n in range(limit):
        sign_in("Spring2026!", username=f"user{n}")
    assert sign_in("alice-password-1").status_code == 429
    assert sign_in("alice-password-1", ip="198.51.100.9").status_code == 302
    locks = [r for r in caplog.records if r.name == "scarlog.auth" and r.event == "locked_out"]
    assert locks and all(r.ip == "203.0.113.7" and r.limit == "ip" for r in locks)
    assert ("alice", "203.0.113.7") in {(r.username, r.ip) for r in locks}
    assert "for this IP, for every username" in locks[0].getMessage()
    # After the cool-off the IP signs in again.
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert sign_in("alice-password-1").status_code == 302


def test_under_the_per_ip_limit_each_username_keeps_its_own_count(alice):
    for n in range(settings.SCARLOG_LOGIN_IP_FAILURE_LIMIT - 1):
        sign_in("Spring2026!", username=f"user{n}")
    assert sign_in("alice-password-1").status_code == 302
