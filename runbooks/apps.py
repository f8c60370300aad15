from django.apps import AppConfig


class RunbooksConfig(AppConfig):
    """The runbooks app (its models arrive with their own issue)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "runbooks"
