"""`manage.py export_knowledge [FILE.yaml] [--severity S] [--id ID]`: write the knowledge
base as `.ai-knowledge-base.yaml` (to standard output without FILE)."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from knowledge.kb_yaml import export_yaml
from knowledge.models import KnowledgeEntry, Severity


class Command(BaseCommand):
    help = "Export the knowledge base in the .ai-knowledge-base.yaml schema."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, nargs="?")
        parser.add_argument("--severity", choices=Severity.values)
        parser.add_argument("--id", dest="key")

    def handle(self, *args, **options):
        entries = KnowledgeEntry.objects.all()
        if options["severity"]:
            entries = entries.filter(severity=options["severity"])
        if options["key"]:
            entries = entries.filter(key=options["key"])
            if not entries.exists():
                raise CommandError(f"No knowledge-base entry has id {options['key']!r}.")
        text = export_yaml(entries)
        if options["file"] is None:
            self.stdout.write(text, ending="")
            return
        options["file"].write_text(text, encoding="utf-8")
        self.stdout.write(f"Wrote {entries.count()} entries to {options['file']}.")
