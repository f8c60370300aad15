from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every Scarlog app uses: API tokens, roles, health, Markdown, units, shared tags.

    Every app may import core; core imports none of them.
    """

    default_auto_field = "django.db.models.BigAutoField"
    name = "core"

    def ready(self):
        # Project-wide: authentication events go to the log (core.auth_events).
        from core import auth_events, checks  # noqa: F401  (checks registers itself)

        auth_events.connect()
