"""`manage.py import_postmortems FILE [--amendments FILE]`: import the seed's JSONL log."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from incidents.jsonl import ImportRefused, import_log


class Command(BaseCommand):
    help = (
        "Import postmortems from a log.jsonl (and amendments from an amendments.jsonl) in the "
        "format of the seed's append-only log. Records keep their id and created_utc and "
        "become final; importing the same file twice changes nothing. Any bad line aborts "
        "the whole import."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="log.jsonl: one postmortem per line")
        parser.add_argument("--amendments", type=Path, help="amendments.jsonl to import too")
        parser.add_argument("--domain", help="classify every record of the file in this domain "
                                             "(a slug such as cloud-training)")

    def handle(self, *args, **options):
        try:
            amendments = options["amendments"]
            result = import_log(Path(options["file"]), Path(amendments) if amendments else None,
                                domain=options["domain"])
        except ImportRefused as exc:
            raise CommandError(
                "Nothing was imported:\n" + "\n".join(f"  {e}" for e in exc.errors)
            ) from exc
        self.stdout.write(
            f"Imported {result.postmortems_created} postmortems "
            f"({result.postmortems_unchanged} already present, unchanged) and "
            f"{result.amendments_created} amendments "
            f"({result.amendments_unchanged} already present, unchanged)."
        )
