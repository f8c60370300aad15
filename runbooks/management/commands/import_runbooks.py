"""`manage.py import_runbooks DIR [--owner USERNAME]`: import a docs directory."""
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from runbooks.docs_io import import_runbooks
from runbooks.frontmatter import FrontmatterError
from runbooks.task_index import TaskIndexError


class Command(BaseCommand):
    help = ("Import runbooks (Markdown with YAML frontmatter) and INDEX.md from DIR. A bad "
            "file is named with its key and nothing is imported; dangling depends_on ids, "
            "cycles and index rows naming no runbook are reported.")

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)
        parser.add_argument("--owner", help="username that owns runbooks created now")

    def handle(self, *args, **options):
        owner = None
        if options["owner"]:
            owner = get_user_model().objects.filter(username=options["owner"]).first()
            if owner is None:
                raise CommandError(f"--owner: no user {options['owner']!r}.")
        try:
            result = import_runbooks(options["directory"], owner=owner)
        except (FrontmatterError, TaskIndexError, FileNotFoundError) as exc:
            raise CommandError(f"Nothing was imported: {exc}") from exc
        self.stdout.write(f"{options['directory']}: {result.created} runbooks created, "
                          f"{result.updated} updated, {result.unchanged} unchanged; "
                          f"{result.index_rows} task index rows.")
        for key, missing in result.dangling:
            self.stdout.write(self.style.WARNING(f"Dangling: {key} depends on {missing}, "
                                                 "which is not in Scarlog."))
        for cycle in result.cycles:
            self.stdout.write(self.style.WARNING(f"Cycle: {' → '.join(cycle)}"))
        for task, document in result.missing_targets:
            self.stdout.write(self.style.WARNING(f"Index row {task!r} points at {document}, "
                                                 "which is not in Scarlog."))
