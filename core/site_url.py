"""Absolute links to Scarlog's pages for emails and API answers, from SCARLOG_SITE_URL.

Rule: docs/rules.md#reminder-site-url. The setting is read and validated (http or https,
a host) by config.env.env_site_url; `manage.py check --deploy` warns while it is unset in
production (core.checks).
"""
import logging

from django.conf import settings

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
