"""`manage.py import_policies FILE.md`: import a policies (CLAUDE.md-style rules) file."""
from pathlib import Path

from django.core.management.base import BaseCommand

from knowledge.management.file_import import import_file
from knowledge.models import Policy
from knowledge.policies_md import PolicyFileError, import_policies


class Command(BaseCommand):
    help = ("Import numbered policies and their 'Where each policy came from' lines "
            "(policies.md format); matched by number. A bad line is reported with its number "
            "and nothing is imported.")

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, **options):
        path = options["file"]
        result = import_file(path, import_policies, (PolicyFileError,))
        self.stdout.write(f"{path}: {result.created} policies created, {result.updated} "
                          f"updated, {result.unchanged} unchanged.")
        untraced = Policy.objects.filter(origins__isnull=True, postmortems__isnull=True)
        if untraced:
            numbers = ", ".join(str(policy.number) for policy in untraced)
            self.stdout.write(self.style.WARNING(f"Policies tracing to no incident: {numbers}."))
