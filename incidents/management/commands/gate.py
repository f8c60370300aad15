"""`manage.py gate DOMAIN [--json] [--allow-unknown]`: the planning gate for CI.

Exit codes: 0 open, 1 closed (blocking items printed), 2 refused: a malformed domain, or
one no postmortem is classified in (the known domains are printed on stderr), unless
--allow-unknown treats it as new and open. A typo in a CI config never opens the gate
(docs/rules.md#gate-unknown-domain).
"""
import json

from django.core.management.base import BaseCommand

from incidents.gate import UnknownDomainError, answer_gate
from incidents.services import DomainError

EXIT_CLOSED = 1
EXIT_REFUSED = 2


class Command(BaseCommand):
    help = (
        "Exit 0 when no finalized postmortem in DOMAIN has an open action item (or an "
        "override is active), and 1 otherwise, printing each blocking item: postmortem, "
        "type, owner, due date and the evidence it lacks. Exit 2 for a domain no "
        "postmortem is classified in (listing the known ones) unless --allow-unknown."
    )

    def add_arguments(self, parser):
        parser.add_argument("domain")
        parser.add_argument("--json", action="store_true", help="print the API's JSON answer")
        parser.add_argument(
            "--allow-unknown", action="store_true",
            help="answer 'open' for a domain no postmortem is classified in, instead of "
                 "refusing it (exit 2)")

    def handle(self, *args, **options):
        try:
            result = answer_gate(options["domain"], allow_unknown=options["allow_unknown"])
        except UnknownDomainError as exc:
            self._refuse(str(exc), {"error": str(exc), "field": exc.field,
                                    "known_domains": exc.known_domains}, options)
        except DomainError as exc:
            self._refuse(str(exc), {"error": str(exc), "field": "domain"}, options)
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
            raise SystemExit(EXIT_CLOSED)

    def _refuse(self, message: str, answer: dict, options) -> None:
        """Print the refusal on stderr (as JSON with --json) and exit 2."""
        self.stderr.write(json.dumps(answer, indent=2) if options["json"] else message)
        raise SystemExit(EXIT_REFUSED)
