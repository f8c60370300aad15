from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    """The knowledge app (its models arrive with their own issue)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "knowledge"
