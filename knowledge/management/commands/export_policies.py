"""`manage.py export_policies [FILE.md]`: write the policies file (standard output without FILE)."""
from pathlib import Path

from django.core.management.base import BaseCommand

from knowledge.policies_md import export_policies


class Command(BaseCommand):
    help = "Export the policies as a CLAUDE.md-style rules file (policies.md format)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, nargs="?")

    def handle(self, *args, **options):
        text = export_policies()
        if options["file"] is None:
            self.stdout.write(text, ending="")
            return
        options["file"].write_text(text, encoding="utf-8")
        self.stdout.write(f"Wrote the policies to {options['file']}.")
