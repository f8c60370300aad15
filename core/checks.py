"""System checks of Scarlog's own settings (`manage.py check --deploy`)."""
from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def site_url_configured(app_configs, **kwargs):
    """W001 when SCARLOG_SITE_URL is unset: emails would carry no link to Scarlog
    (docs/rules.md#reminder-site-url)."""
    if settings.SCARLOG_SITE_URL:
        return []
    return [Warning(
        "SCARLOG_SITE_URL is not set: reminder and digest emails cannot link to Scarlog.",
        hint="Set SCARLOG_SITE_URL to the address people open Scarlog at, such as "
             "https://scarlog.example.com.",
        id="scarlog.W001")]
