from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    """Postmortems, their timeline, factors, references and amendments."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "incidents"

    def ready(self):
        # Project-wide: authentication events go to the log (config.auth_events).
        from config import auth_events

        auth_events.connect()
