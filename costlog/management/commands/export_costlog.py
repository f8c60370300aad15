"""`manage.py export_costlog [--out FILE.md]`: write the cost log in the seed's Markdown format."""
from pathlib import Path

from django.core.management.base import BaseCommand

from costlog.import_export import export_costlog


class Command(BaseCommand):
    help = (
        "Write the mishap cost log in the seed's Markdown format (MISHAP_COST_LOG.md): each "
        "resource's latest rate and every current entry (corrections applied), oldest first. "
        "Prints to standard output unless --out is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, help="file to write (overwritten)")

    def handle(self, *args, **options):
        text = export_costlog()
        if options["out"]:
            out = Path(options["out"])
            out.write_text(text, encoding="utf-8")
            self.stdout.write(f"Wrote {out}.")
        else:
            self.stdout.write(text, ending="")
