"""`manage.py export_postmortems --out DIR [--format jsonl|markdown]`: write the log."""
from pathlib import Path

from django.core.management.base import BaseCommand

from incidents.jsonl import export_log
from incidents.markdown_export import export_markdown


class Command(BaseCommand):
    help = (
        "Export final postmortems, oldest first. jsonl (default): DIR/log.jsonl and "
        "DIR/amendments.jsonl in the seed's format. markdown: one YYYY-MM-DD-<slug>.md per "
        "postmortem, for a postmortems/ folder in a git repository."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, required=True, help="directory to write into")
        parser.add_argument("--format", choices=["jsonl", "markdown"], default="jsonl")

    def handle(self, *args, **options):
        out = Path(options["out"])
        if options["format"] == "markdown":
            count = export_markdown(out)
            self.stdout.write(f"Wrote {count} Markdown postmortems to {out}.")
            return
        postmortems, amendments = export_log(out)
        self.stdout.write(
            f"Wrote {postmortems} postmortems to {out / 'log.jsonl'} and "
            f"{amendments} amendments to {out / 'amendments.jsonl'}."
        )
