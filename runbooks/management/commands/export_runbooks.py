"""`manage.py export_runbooks DIR`: write every runbook and INDEX.md under DIR."""
from pathlib import Path

from django.core.management.base import BaseCommand

from runbooks.docs_io import export_runbooks


class Command(BaseCommand):
    help = "Export runbooks (frontmatter and body as stored) and INDEX.md into DIR."

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)

    def handle(self, *args, **options):
        count = export_runbooks(options["directory"])
        self.stdout.write(f"Wrote {count} files under {options['directory']}.")
