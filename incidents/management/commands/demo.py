"""`manage.py demo`: migrate, load the bundled real records, create a login, serve.

The demo data is a copy of ../shared/data/postmortems.jsonl and amendments.jsonl kept in
incidents/demo_data/, and of MISHAP_COST_LOG.md in costlog/demo_data/, so the demo never
reads outside the project. On top of the real records the demo links the KXIN mishap to
its postmortem and adds demo_amendments.jsonl (an Impact amendment stating the loss), so
the KXIN page shows the stated impact beside the cost log's figure; and it opens one
draft whose 72-hour meeting deadline is 12 hours away, with its meeting scheduled in two
hours: the demo login facilitates, with two teammates (who cannot sign in) as the system
operator and the code owner, so the demo can start the 30-minute meeting.

The documentation layers come from knowledge/demo_data (ai-knowledge-base.yaml,
policies.md) and runbooks/demo_data/docs/v2 (copies of ../shared/data), owned by the demo
login; the demo links a few of them to the postmortems the seed says produced them, so
the feedback loop and loop-gaps pages have both linked and missing steps.
"""
import secrets
from datetime import timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone

from config import roles
from costlog.log_io import import_costlog
from costlog.services import current_entries, link_entry
from incidents import meetings, services
from incidents.meetings import AttendeeInput
from incidents.models import MeetingAttendee, Postmortem
from incidents.postmortem_log import import_log
from knowledge.kb_yaml import import_yaml
from knowledge.links import find_target, set_link
from knowledge.policies_md import import_policies
from runbooks.docs_io import import_runbooks

DEMO_DATA = Path(__file__).resolve().parents[2] / "demo_data"
COSTLOG_DEMO_DATA = Path(__file__).resolve().parents[3] / "costlog" / "demo_data"
KNOWLEDGE_DEMO_DATA = Path(__file__).resolve().parents[3] / "knowledge" / "demo_data"
RUNBOOKS_DEMO_DATA = Path(__file__).resolve().parents[3] / "runbooks" / "demo_data" / "docs" / "v2"
# (target kind, target, postmortem id): links the seed's incident narrative states.
DEMO_LINKS = (
    ("knowledge", "silent_fallback", "c3e8b7a2-6d45-4f10-a2b9-8e7c6d5b0d04"),
    ("knowledge", "silent_fallback", "5b7c2d10-8e4f-4a2b-b6c3-1d9e8f7a0b02"),
    ("knowledge", "feature_verification", "0d1f6a3e-2b8c-4c1e-9a51-7f3b2e9c0a01"),
    ("knowledge", "deployment_process", "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f0e05"),
    ("policy", "4", "c3e8b7a2-6d45-4f10-a2b9-8e7c6d5b0d04"),
    ("policy", "4", "5b7c2d10-8e4f-4a2b-b6c3-1d9e8f7a0b02"),
    ("policy", "6", "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f0e05"),
    ("policy", "7", "c3e8b7a2-6d45-4f10-a2b9-8e7c6d5b0d04"),
    ("runbook", "ops-05", "0d1f6a3e-2b8c-4c1e-9a51-7f3b2e9c0a01"),
    ("runbook", "ops-03", "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f0e05"),
    ("runbook", "risk-15", "c3e8b7a2-6d45-4f10-a2b9-8e7c6d5b0d04"),
)
DEMO_USERNAME = "demo"
KXIN_POSTMORTEM_ID = "c3e8b7a2-6d45-4f10-a2b9-8e7c6d5b0d04"
KXIN_MISHAP_TITLE = "KXIN Concentration Loss"
DEMO_TEAMMATES = ("oli-operator", "cora-code-owner")
DEADLINE_DEMO_SUMMARY = ("Provider rate limits made the research agent downshift to a weaker "
                         "model and skip the schema validator for 40 minutes.")


class Command(BaseCommand):
    help = (
        "Set up and serve the demo: migrate, import the bundled postmortems, amendments and "
        "mishap cost log (idempotent), create the 'demo' login (its password is printed "
        "once, when created), "
        "then run the development server."
    )

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--no-serve", action="store_true", help="set up, then exit")

    def handle(self, *args, **options):
        call_command("migrate", interactive=False, verbosity=0)
        result = import_log(DEMO_DATA / "postmortems.jsonl", DEMO_DATA / "amendments.jsonl")
        self.stdout.write(
            f"Demo data: {result.postmortems_created} postmortems and "
            f"{result.amendments_created} amendments loaded "
            f"({result.postmortems_unchanged + result.amendments_unchanged} already present)."
        )
        costs = import_costlog((COSTLOG_DEMO_DATA / "MISHAP_COST_LOG.md").read_text(encoding="utf-8"))
        self.stdout.write(
            f"Cost log: {costs.entries_created} mishap entries and {costs.rates_created} rates "
            f"loaded ({costs.entries_unchanged + costs.rates_unchanged} already present)."
        )
        self._link_kxin()
        login = self._ensure_login()
        self._documentation(login)
        self._approaching_deadline(login)
        if not options["no_serve"]:
            self.stdout.write(f"Open http://{options['addrport']}/ in your browser.")
            call_command("runserver", options["addrport"], use_reloader=False)

    def _link_kxin(self) -> None:
        """Link the KXIN mishap to its postmortem and state its impact (idempotent)."""
        kxin = Postmortem.objects.get(pk=KXIN_POSTMORTEM_ID)
        entry = current_entries().get(title=KXIN_MISHAP_TITLE)
        if entry.postmortem_id is None:
            link_entry(entry, kxin)
        import_log(DEMO_DATA / "postmortems.jsonl", DEMO_DATA / "demo_amendments.jsonl")
        self.stdout.write("KXIN: mishap linked to its postmortem, impact stated by amendment.")

    def _documentation(self, owner) -> None:
        """Import the knowledge base, policies and runbooks, and the demo links (idempotent)."""
        knowledge = import_yaml((KNOWLEDGE_DEMO_DATA / "ai-knowledge-base.yaml")
                                .read_text(encoding="utf-8"))
        policies = import_policies((KNOWLEDGE_DEMO_DATA / "policies.md").read_text(encoding="utf-8"))
        runbooks = import_runbooks(RUNBOOKS_DEMO_DATA, owner=owner)
        for kind, key, postmortem_id in DEMO_LINKS:
            set_link(Postmortem.objects.get(pk=postmortem_id), find_target(kind, key), True)
        self.stdout.write(
            f"Documentation: {knowledge.created} knowledge-base entries, {policies.created} "
            f"policies and {runbooks.created} runbooks loaded; {len(runbooks.dangling)} dangling "
            "depends_on ids shown on the runbook graph.")

    def _approaching_deadline(self, user) -> None:
        """A draft whose 72-hour meeting deadline is 12 hours away (created once)."""
        if Postmortem.objects.filter(summary=DEADLINE_DEMO_SUMMARY).exists():
            return
        now = timezone.now()
        draft = services.create_draft(user, occurred_utc=now - timedelta(hours=60),
                                      trigger="provider_outage", summary=DEADLINE_DEMO_SUMMARY)
        operator, code_owner = (self._teammate(name) for name in DEMO_TEAMMATES)
        meetings.schedule_meeting(draft, now + timedelta(hours=2), user, [
            AttendeeInput(operator, MeetingAttendee.Role.OPERATOR),
            AttendeeInput(code_owner, MeetingAttendee.Role.CODE_OWNER),
            AttendeeInput(user, MeetingAttendee.Role.REVIEWER)], user=user)
        self.stdout.write("A draft whose meeting is due in 12 hours is on the dashboard; its "
                          "meeting is scheduled in 2 hours, facilitated by the demo login.")

    def _teammate(self, username: str):
        """A demo teammate without a usable password (an attendee, never a login)."""
        users = get_user_model()
        teammate = users.objects.filter(username=username).first()
        if teammate is None:
            teammate = users.objects.create_user(username, email=f"{username}@example.com")
            teammate.set_unusable_password()
            teammate.save(update_fields=["password"])
            roles.set_role(teammate, roles.EDITOR)
        return teammate

    def _ensure_login(self):
        users = get_user_model()
        existing = users.objects.filter(username=DEMO_USERNAME).first()
        if existing is not None:
            self.stdout.write(
                f"Login: user '{DEMO_USERNAME}' exists (its password was printed when it was "
                "created; reset it with `manage.py changepassword demo`)."
            )
            return existing
        password = secrets.token_urlsafe(12)
        user = users.objects.create_superuser(DEMO_USERNAME, email="", password=password)
        self.stdout.write(
            self.style.SUCCESS(f"Login created: user '{DEMO_USERNAME}', password '{password}'")
            + " (shown only this once)."
        )
        return user
