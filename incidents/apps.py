from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    """Postmortems, their rows and amendments, the meeting, action items and the planning gate."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "incidents"
