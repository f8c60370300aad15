"""`manage.py import_knowledge FILE.yaml`: import an `.ai-knowledge-base.yaml` file."""
from pathlib import Path

from django.core.management.base import BaseCommand

from knowledge.kb_yaml import KnowledgeSchemaError, import_yaml
from knowledge.management.file_import import import_file


class Command(BaseCommand):
    help = ("Import a knowledge base in the .ai-knowledge-base.yaml schema (patterns, "
            "anti_patterns, decision_trees). Entries are created or updated by id; a schema "
            "error names the file, line, entry id and key and nothing is imported.")

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, **options):
        path = options["file"]
        result = import_file(path, lambda text: import_yaml(text, source=str(path)),
                             (KnowledgeSchemaError,))
        self.stdout.write(f"{path}: {result.created} entries created, {result.updated} updated, "
                          f"{result.unchanged} unchanged.")
