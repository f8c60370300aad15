"""Absolute links to Scarlog's pages for emails and API answers, from SCARLOG_SITE_URL.

Rule: docs/rules.md#reminder-site-url. The setting is read and validated (http or https,
a host) by config.env.env_site_url; `manage.py check --deploy` warns while it is unset in
production (core.checks).
"""
import logging
import os
import re

from django.conf import settings
from django.core.management.base import CommandError

log = logging.getLogger(__name__)


def site_link(path: str) -> str:
    """SCARLOG_SITE_URL + `path` (a path starting with "/"). Without a configured site
    URL, a sentence naming the path and the missing setting instead of a link to a host
    nobody can reach; a warning is logged."""
    if not settings.SCARLOG_SITE_URL:
        log.warning("SCARLOG_SITE_URL is not set; an email names %s without a link", path)
        return (f"(open {path} in Scarlog; this email cannot link to it because "
                "SCARLOG_SITE_URL is not set)")
    return settings.SCARLOG_SITE_URL + path


def absolute_url(request, path: str) -> str:
    """SCARLOG_SITE_URL + `path`, or the request's own scheme and host when it is unset
    (an API answer goes to whoever asked, at the address they used)."""
    if settings.SCARLOG_SITE_URL:
        return settings.SCARLOG_SITE_URL + path
    return request.build_absolute_uri(path)


# runserver's addrport: "8119", "127.0.0.1:8119", "[::1]:8119", "localhost:8119".
_ADDRPORT = re.compile(r"^(?:(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):)?(?P<port>\d{1,5})$")
# A server bound to every interface is opened at the loopback address.
_ANY_HOST = {"0.0.0.0", "0", "[::]"}


def site_url_of_addrport(addrport: str) -> str:
    """The http address a development server started on `addrport` (runserver's argument)
    answers at: "127.0.0.1:8119" -> "http://127.0.0.1:8119", "8119" ->
    "http://127.0.0.1:8119". CommandError naming it for anything else."""
    match = _ADDRPORT.match(addrport.strip())
    if match is None or not 0 < int(match["port"]) < 65536:
        raise CommandError(f"addrport {addrport!r} is not [host:]port, such as 127.0.0.1:8000.")
    host = match["host"] or "127.0.0.1"
    return f"http://{'127.0.0.1' if host in _ANY_HOST else host}:{int(match['port'])}"


def use_addrport_unless_configured(addrport: str) -> str:
    """For `manage.py demo`: when SCARLOG_SITE_URL is not set in the environment, links in
    emails and API answers point at the server the demo starts (settings.SCARLOG_SITE_URL
    is set for this process); a configured one is kept. Returns the site URL in force.
    docs/rules.md#reminder-site-url"""
    if "SCARLOG_SITE_URL" not in os.environ:
        settings.SCARLOG_SITE_URL = site_url_of_addrport(addrport)
    return settings.SCARLOG_SITE_URL


def remember_demo_site_url(site_url: str) -> None:
    """Keep `site_url` (the demo server's address) in settings.DEMO_SITE_URL_FILE, where the
    development settings of the demo's other processes (send_due_reminders, a worker) read
    it when SCARLOG_SITE_URL is not set. docs/rules.md#reminder-site-url"""
    if "SCARLOG_SITE_URL" in os.environ or settings.PRODUCTION:
        return
    path = settings.DEMO_SITE_URL_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(site_url + "\n", encoding="utf-8")
