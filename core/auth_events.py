"""Every authentication event as one log line on the `scarlog.auth` logger.

Events: `login` (INFO), `logout` (INFO), `login_failed` (WARNING) and `locked_out`
(WARNING, django-axes: 5 failures for one username and IP, or 20 from one IP over any
usernames, within 15 minutes; every refused attempt while locked is logged too). Each
line carries `event`, `username` and `ip` as JSON fields (and the request id);
`locked_out` also `limit` ("username_and_ip" or "ip", core.login_throttle). django-axes
also keeps every attempt as a database row (admin: Axes). Connected in
incidents.apps.IncidentsConfig.ready().
"""
import logging

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

logger = logging.getLogger("scarlog.auth")


def _ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


def _log_login(sender, request, user, **kwargs):
    logger.info("signed in", extra={"event": "login", "username": user.get_username(),
                                    "ip": _ip(request)})


def _log_logout(sender, request, user, **kwargs):
    username = user.get_username() if user is not None else ""
    logger.info("signed out", extra={"event": "logout", "username": username,
                                     "ip": _ip(request)})


def _log_login_failed(sender, credentials, request=None, **kwargs):
    logger.warning("sign-in failed", extra={"event": "login_failed",
                                            "username": credentials.get("username", ""),
                                            "ip": _ip(request)})


def _log_locked_out(sender, request, username, ip_address, **kwargs):
    from core.login_throttle import PER_IP, lockout_of

    limit, failures = lockout_of(request)
    who = "this IP, for every username" if limit == PER_IP else "this username from this IP"
    logger.warning(f"sign-in locked for 15 minutes for {who} after {failures} failures",
                   extra={"event": "locked_out", "username": username or "",
                          "ip": ip_address or "", "limit": limit})


def connect() -> None:
    """Connect the four receivers (idempotent: each has a dispatch_uid)."""
    user_logged_in.connect(_log_login, dispatch_uid="scarlog.auth.login")
    user_logged_out.connect(_log_logout, dispatch_uid="scarlog.auth.logout")
    user_login_failed.connect(_log_login_failed, dispatch_uid="scarlog.auth.login_failed")
    user_locked_out.connect(_log_locked_out, dispatch_uid="scarlog.auth.locked_out")
