"""`manage.py import_costlog FILE.md [--rates-effective YYYY-MM-DD]`: import the Markdown log."""
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.limits import FileTooLarge, OutOfRange, check_import_size, day_in_range
from costlog.import_export import import_costlog
from costlog.markdown_format import CostLogError


def _iso_date(text: str) -> date:
    try:
        return day_in_range(date.fromisoformat(text))
    except OutOfRange as exc:
        raise ValueError(f"{text} {exc}") from None


class Command(BaseCommand):
    help = (
        "Import a mishap cost log in the seed's Markdown format (MISHAP_COST_LOG.md): the cost "
        "reference table and every entry. Importing the same file twice changes nothing; any "
        "entry that cannot be read aborts the whole import, reported with its file, line, "
        "heading and field."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="the Markdown cost log")
        parser.add_argument(
            "--rates-effective", type=_iso_date, default=None,
            help="date the cost reference rates take effect (default: the log's first session)",
        )

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            check_import_size(path)
            text = path.read_text(encoding="utf-8")
        except FileTooLarge as exc:
            raise CommandError(str(exc)) from exc
        except UnicodeDecodeError as exc:
            raise CommandError(f"Cannot read {path}: not valid UTF-8 ({exc.reason}).") from exc
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from exc
        try:
            result = import_costlog(text, rates_effective=options["rates_effective"],
                                    source=str(path))
        except CostLogError as exc:
            # Each problem names the file, its line, the entry's heading and the field.
            raise CommandError(
                "Nothing was imported:\n" + "\n".join(f"  {e}" for e in exc.errors)
            ) from exc
        self.stdout.write(
            f"Imported {result.entries_created} mishap entries "
            f"({result.entries_unchanged} already present, unchanged) and "
            f"{result.rates_created} resource rates ({result.rates_unchanged} unchanged)."
        )
