"""The incidents app's part of `manage.py demo`: the bundled real postmortems and
amendments (copies of the seed records in incidents/demo_data/), and one draft whose
72-hour meeting deadline is 12 hours away, its meeting scheduled in two hours: the demo
login facilitates, with two teammates (who cannot sign in) as the system operator and the
code owner, so the demo can start the 30-minute meeting."""
from datetime import timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.utils import timezone

from core import roles
from incidents import meetings, services
from incidents.jsonl import import_log
from incidents.meetings import AttendeeInput
from incidents.models import MeetingAttendee, Postmortem

DEMO_DATA = Path(__file__).resolve().parent / "demo_data"
DEMO_TEAMMATES = ("oli-operator", "cora-code-owner")
DEADLINE_DEMO_SUMMARY = ("Provider rate limits made the research agent downshift to a weaker "
                         "model and skip the schema validator for 40 minutes.")


def load(login, stdout) -> None:
    """Load the postmortems and amendments (idempotent), then the approaching-deadline draft."""
    result = import_log(DEMO_DATA / "postmortems.jsonl", DEMO_DATA / "amendments.jsonl")
    stdout.write(
        f"Demo data: {result.postmortems_created} postmortems and "
        f"{result.amendments_created} amendments loaded "
        f"({result.postmortems_unchanged + result.amendments_unchanged} already present)."
    )
    _approaching_deadline(login, stdout)


def _approaching_deadline(user, stdout) -> None:
    """A draft whose 72-hour meeting deadline is 12 hours away (created once)."""
    if Postmortem.objects.filter(summary=DEADLINE_DEMO_SUMMARY).exists():
        return
    now = timezone.now()
    draft = services.create_draft(user, occurred_utc=now - timedelta(hours=60),
                                  trigger="provider_outage", summary=DEADLINE_DEMO_SUMMARY)
    operator, code_owner = (_teammate(name) for name in DEMO_TEAMMATES)
    meetings.schedule_meeting(draft, now + timedelta(hours=2), user, [
        AttendeeInput(operator, MeetingAttendee.Role.OPERATOR),
        AttendeeInput(code_owner, MeetingAttendee.Role.CODE_OWNER),
        AttendeeInput(user, MeetingAttendee.Role.REVIEWER)], user=user)
    stdout.write("A draft whose meeting is due in 12 hours is on the dashboard; its "
                 "meeting is scheduled in 2 hours, facilitated by the demo login.")


def _teammate(username: str):
    """A demo teammate without a usable password (an attendee, never a login)."""
    users = get_user_model()
    teammate = users.objects.filter(username=username).first()
    if teammate is None:
        teammate = users.objects.create_user(username, email=f"{username}@example.com")
        teammate.set_unusable_password()
        teammate.save(update_fields=["password"])
        roles.set_role(teammate, roles.EDITOR)
    return teammate
