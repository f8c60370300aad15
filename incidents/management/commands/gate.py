"""`manage.py gate DOMAIN [--json]`: the planning gate for CI; exit 1 while it is closed."""
import json

from django.core.management.base import BaseCommand, CommandError

from incidents.gate import check_gate
from incidents.services import DomainError


class Command(BaseCommand):
    help = (
        "Exit 0 when no finalized postmortem in DOMAIN has an open action item (or an "
        "override is active), and 1 otherwise, printing each blocking item: postmortem, "
        "type, owner, due date and the evidence it lacks."
    )

    def add_arguments(self, parser):
        parser.add_argument("domain")
        parser.add_argument("--json", action="store_true", help="print the API's JSON answer")

    def handle(self, *args, **options):
        try:
            result = check_gate(options["domain"])
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), indent=2))
        else:
            self.stdout.write(result.message)
            for blocking in result.blocking:
                row = blocking.as_dict()
                self.stdout.write(
                    f"  - postmortem {row['postmortem']}: {row['type']} item {row['action_item']} "
                    f"“{row['description']}”, owner {row['owner']}, due {row['due']}, "
                    f"{row['status']}; {row['missing_evidence']}"
                )
            if result.blocking_count > len(result.blocking):
                self.stdout.write(f"  … and {result.blocking_count - len(result.blocking)} more")
        if not result.open:
            raise SystemExit(1)
