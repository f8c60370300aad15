"""`manage.py demo`: migrate, load the bundled real records, create a login, serve.

Each installed Scarlog app that has a `demo` module with `load(login, stdout)` adds its
part (incidents: postmortems and an approaching-deadline draft; costlog: the mishap cost
log; runbooks; knowledge: the knowledge base, policies and their links), in the order of
INSTALLED_APPS, so core names no app. Every part is idempotent: running the demo again
loads nothing twice. The demo data are copies of the seed records kept in each app's
demo_data/, so the demo never reads outside the project.
"""
import secrets
from importlib import import_module
from importlib.util import find_spec
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from core.site_url import remember_demo_site_url, use_addrport_unless_configured

DEMO_USERNAME = "demo"


class Command(BaseCommand):
    help = (
        "Set up and serve the demo: migrate, import the bundled postmortems, amendments, "
        "mishap cost log, runbooks, knowledge base and policies (idempotent), create the "
        "'demo' login (its password is printed once, when created), then run the "
        "development server."
    )

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--no-serve", action="store_true", help="set up, then exit")

    def handle(self, *args, **options):
        # Links in emails and the events API name the server this command starts.
        site_url = use_addrport_unless_configured(options["addrport"])
        call_command("migrate", interactive=False, verbosity=0)
        login = self._ensure_login()
        for module in demo_modules():
            module.load(login, self.stdout)
        if not options["no_serve"]:
            # The demo's other processes (send_due_reminders, a worker) link here too.
            remember_demo_site_url(site_url)
            self.stdout.write(f"Open {site_url}/ in your browser.")
            call_command("runserver", options["addrport"], use_reloader=False)

    def _ensure_login(self):
        users = get_user_model()
        existing = users.objects.filter(username=DEMO_USERNAME).first()
        if existing is not None:
            self.stdout.write(
                f"Login: user '{DEMO_USERNAME}' exists (its password was printed when it was "
                "created; reset it with `manage.py changepassword demo`)."
            )
            return existing
        password = secrets.token_urlsafe(12)
        user = users.objects.create_superuser(DEMO_USERNAME, email="", password=password)
        self.stdout.write(
            self.style.SUCCESS(f"Login created: user '{DEMO_USERNAME}', password '{password}'")
            + " (shown only this once)."
        )
        return user


def demo_modules() -> list:
    """The `demo` modules of the installed apps that have one, in INSTALLED_APPS order."""
    own = [config for config in apps.get_app_configs()
           if Path(config.path).is_relative_to(settings.BASE_DIR)]
    names = [f"{config.name}.demo" for config in own if find_spec(f"{config.name}.demo")]
    return [import_module(name) for name in names]
