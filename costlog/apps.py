from django.apps import AppConfig


class CostlogConfig(AppConfig):
    """The costlog app (its models arrive with their own issue)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "costlog"
