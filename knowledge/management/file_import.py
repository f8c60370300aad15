"""The shared part of the import commands: read a UTF-8 file, import it, fail loudly."""
from pathlib import Path

from django.core.management.base import CommandError

from core.limits import FileTooLarge, check_import_size
from core.validation import RecordError


def import_file(path: Path, importer, refusals: tuple[type[Exception], ...]):
    """`importer(text)` on the file at `path`; returns its result.

    Raises CommandError naming the file when it cannot be read, or when the importer
    raises one of `refusals` (then nothing was imported: importers are all-or-nothing).
    """
    try:
        check_import_size(path)
        text = path.read_text(encoding="utf-8")
    except FileTooLarge as exc:
        raise CommandError(str(exc)) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"Cannot read {path}: {exc}") from exc
    try:
        return importer(text)
    except refusals as exc:
        if isinstance(exc, RecordError) and exc.source:
            # The message already names the file (and the line and key).
            raise CommandError(f"Nothing was imported: {exc}") from exc
        raise CommandError(f"Nothing was imported from {path}: {exc}") from exc
