"""Two login limits in one django-axes handler: per username+IP, and per IP.

django-axes compares one failure count with one limit. This handler (AXES_HANDLER)
answers get_failures() with the per-username+IP count (AXES_FAILURE_LIMIT, 5), unless the
IP's failures over every username within AXES_COOLOFF_TIME reach
SCARLOG_LOGIN_IP_FAILURE_LIMIT: then it answers the per-user limit, so axes locks the
IP out for every account (password spraying). The per-IP count is not reset by a
successful sign-in (axes resets only the signed-in username's rows from that IP).
lockout_of(request) says which limit fired, for core.auth_events.
"""
from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum

PER_USER, PER_IP = "username_and_ip", "ip"


def ip_failures(request) -> int:
    """Failed sign-ins from `request`'s IP within the cool-off, over every username."""
    attempts = AccessAttempt.objects.filter(ip_address=request.axes_ip_address,
                                            attempt_time__gte=get_cool_off_threshold(request))
    return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0


def lockout_of(request) -> tuple[str, int]:
    """(which limit locked `request` out: PER_USER or PER_IP, that limit)."""
    if getattr(request, "scarlog_lockout", None) == PER_IP:
        return PER_IP, settings.SCARLOG_LOGIN_IP_FAILURE_LIMIT
    return PER_USER, settings.AXES_FAILURE_LIMIT


class TwoLimitHandler(AxesDatabaseHandler):
    """AxesDatabaseHandler with the per-IP limit on top (see the module docstring)."""

    def get_failures(self, request, credentials=None) -> int:
        per_user = super().get_failures(request, credentials)
        if ip_failures(request) >= settings.SCARLOG_LOGIN_IP_FAILURE_LIMIT:
            request.scarlog_lockout = PER_IP
            return max(per_user, get_failure_limit(request, credentials))
        return per_user


# django-axes stores the username of each attempt in a varchar(255); User.username holds 150.
ATTEMPT_USERNAME_LENGTH = 150


def attempt_username(request, credentials=None) -> str | None:
    """AXES_USERNAME_CALLABLE: the username a sign-in attempt is counted under, as typed
    but cut to ATTEMPT_USERNAME_LENGTH and with NUL replaced by U+FFFD, so a 5,000-character
    or NUL-holding username is a failed sign-in (counted and locked out like any other),
    not a DataError on axes' log. docs/rules.md#limits-text"""
    if credentials:
        username = credentials.get("username")
    else:
        username = getattr(request, "data", request.POST).get("username")
    if not isinstance(username, str):
        return username
    return username.replace("\x00", "\ufffd")[:ATTEMPT_USERNAME_LENGTH]
