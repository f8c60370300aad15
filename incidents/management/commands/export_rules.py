"""`manage.py export_rules [--domain SLUG] [--out FILE]`: shipped rules as a rules file."""
from pathlib import Path

from django.core.management.base import BaseCommand

from incidents.rules_export import rules_markdown


class Command(BaseCommand):
    help = (
        "Write the rule-type action items that shipped as a numbered, imperative rules file "
        "in the style of policies.md, each traced to its incident. Prints to standard output "
        "unless --out is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("--domain", default="", help="only postmortems in this domain")
        parser.add_argument("--out", type=Path, help="file to write (overwritten)")

    def handle(self, *args, **options):
        text = rules_markdown(options["domain"])
        if options["out"]:
            Path(options["out"]).write_text(text, encoding="utf-8")
            self.stdout.write(f"Wrote {options['out']}.")
        else:
            self.stdout.write(text, ending="")
