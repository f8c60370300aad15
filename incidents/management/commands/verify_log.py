"""`manage.py verify_log [--expect-head SHA256]`: check the postmortem log's hash chain.

Recomputes every finalized postmortem's and amendment's content hash and every chain
link (incidents.seals). Prints one line per problem and exits 1 when there is any;
otherwise prints the number of seals checked and the chain head. Keep the printed head
somewhere else (a ticket, a chat message): --expect-head then also catches a chain
rewritten from its first link to its last.

With a postmortem repository (--repo PATH, default settings.SCARLOG_POSTMORTEM_REPO;
--no-repo skips it) the chain is also compared with the seals and chain heads recorded in
that repository's commit messages (incidents.postmortem_repo), naming the first seal that
differs, is missing from the repository, or is in the repository but not the database:
a tail rewritten and re-sealed in the database is caught there.
"""
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from incidents import postmortem_repo
from incidents.seals import verify_log


class Command(BaseCommand):
    help = (
        "Recompute each finalized postmortem's content hash and the hash chain; report mismatches."
    )

    def add_arguments(self, parser):
        parser.add_argument("--expect-head", default="",
                            help="the chain head printed by an earlier run; a different head fails")
        parser.add_argument("--repo", default=None,
                            help="a postmortem repository to compare the chain with "
                                 "(default SCARLOG_POSTMORTEM_REPO)")
        parser.add_argument("--no-repo", action="store_true",
                            help="do not compare with the postmortem repository")

    def handle(self, *args, **options):
        report = verify_log()
        expected = options["expect_head"].strip().lower()
        if expected and report.head != expected:
            report.problems.append(
                f"the chain head is {report.head or '(empty)'}, not the expected {expected}: "
                "seals were rewritten or removed")
        repo = "" if options["no_repo"] else (options["repo"] or settings.SCARLOG_POSTMORTEM_REPO)
        if repo:
            try:
                report.problems += postmortem_repo.compare_with_database(repo)
            except (postmortem_repo.RepositoryError, OSError) as exc:
                report.problems.append(f"the postmortem repository {repo} cannot be read: {exc}")
        for problem in report.problems:
            self.stdout.write(f"MISMATCH {problem}")
        if not report.ok:
            raise CommandError(f"verify_log: {len(report.problems)} problem(s) in "
                               f"{report.checked} seals")
        checked = f" and compared with {repo}" if repo else ""
        self.stdout.write(f"OK: {report.checked} seals verified{checked}; chain head "
                          f"{report.head or '(empty)'}")
