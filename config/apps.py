"""App configs owned by the project: the admin restricted to the admin role."""
from django.contrib.admin.apps import AdminConfig


class ScarlogAdminConfig(AdminConfig):
    """django.contrib.admin with ScarlogAdminSite as the default site."""

    default_site = "config.admin.ScarlogAdminSite"
