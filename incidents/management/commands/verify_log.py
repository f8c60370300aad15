"""`manage.py verify_log [--expect-head SHA256]`: check the postmortem log's hash chain.

Recomputes every finalized postmortem's and amendment's content hash and every chain
link (incidents.seals). Prints one line per problem and exits 1 when there is any;
otherwise prints the number of seals checked and the chain head. Keep the printed head
somewhere else (a ticket, a chat message): --expect-head then also catches a chain
rewritten from its first link to its last.
"""
from django.core.management.base import BaseCommand, CommandError

from incidents.seals import verify_log


class Command(BaseCommand):
    help = (
        "Recompute each finalized postmortem's content hash and the hash chain; report mismatches."
    )

    def add_arguments(self, parser):
        parser.add_argument("--expect-head", default="",
                            help="the chain head printed by an earlier run; a different head fails")

    def handle(self, *args, **options):
        report = verify_log()
        expected = options["expect_head"].strip().lower()
        if expected and report.head != expected:
            report.problems.append(
                f"the chain head is {report.head or '(empty)'}, not the expected {expected}: "
                "seals were rewritten or removed")
        for problem in report.problems:
            self.stdout.write(f"MISMATCH {problem}")
        if not report.ok:
            raise CommandError(f"verify_log: {len(report.problems)} problem(s) in "
                               f"{report.checked} seals")
        self.stdout.write(
            f"OK: {report.checked} seals verified; chain head {report.head or '(empty)'}"
        )
