from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    """Postmortems, their timeline, factors, references and amendments."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "incidents"
