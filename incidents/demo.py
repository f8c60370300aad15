"""The incidents app's part of `manage.py demo`: the bundled real postmortems and
amendments (copies of the seed records in incidents/demo_data/), and one draft whose
72-hour meeting deadline is 12 hours away, its meeting scheduled in two hours: the demo
login facilitates, with two teammates (who cannot sign in) as the system operator and the
code owner, so the demo can start the 30-minute meeting. The final records get action
items (shipped with evidence, dropped, open, overdue) so the insights page has figures."""
import itertools
from datetime import timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.utils import timezone

from core import roles
from incidents import action_items, meetings, services
from incidents.jsonl import import_log
from incidents.meetings import AttendeeInput
from incidents.models import ActionItem, MeetingAttendee, Postmortem, PostmortemDomain

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
    _action_items(login, stdout)


# (type, what ships, days from today it is due, what happens: ship, drop or stay open);
# cycled over the final records, oldest first, so the insights page shows shipped, dropped,
# open and overdue items.
DEMO_ITEMS = [
    [("hook", "A watchdog hook that halts the job when the fallback fires", -20, "ship"),
     ("test", "A test that the loader raises instead of falling back", -15, "ship")],
    [("rule", "A rule that every model swap is reviewed before deploy", -10, "ship"),
     ("memory", "A memory note on the provider's rate limits", -5, "open")],
    [("criterion", "A contract criterion: orders carry the validated schema", 14, "open"),
     ("test", "A replay test of the rejected-orders day", -8, "drop")],
    [("hook", "A pre-trade hook that checks position limits", -3, "open")],
]
DEMO_DOMAINS = ["trading", "research-agents", "trading", "ml-training"]
EVIDENCE = {
    "hook": {"hook_file": "hooks/watchdog.py", "commit_sha": "3f9c2ab"},
    "test": {"test_name": "test_loader_raises_on_missing_model", "commit_sha": "3f9c2ab"},
    "rule": {"rules_file": "rules/model-swaps.md"},
}


def _action_items(user, stdout) -> None:
    """Action items on the final demo records (once: skipped when any has items): some
    shipped with evidence, some dropped, some open and overdue; a domain for each record
    that has none."""
    final = list(Postmortem.objects.filter(status=Postmortem.Status.FINAL)
                 .order_by("occurred_utc", "created_utc"))
    if not final or ActionItem.objects.filter(postmortem__in=final).exists():
        return
    today = timezone.now().date()
    owner = _teammate(DEMO_TEAMMATES[1])
    added = 0
    classified = set(PostmortemDomain.objects.filter(postmortem__in=final)
                     .exclude(domain="").values_list("postmortem_id", flat=True))
    for pm, items, domain in zip(final, itertools.cycle(DEMO_ITEMS),
                                 itertools.cycle(DEMO_DOMAINS)):
        if pm.pk not in classified:
            services.set_domain(pm, domain, user=user)
        for kind, description, due_in, outcome in items:
            item = action_items.add_item(pm, kind, description, owner,
                                         today + timedelta(days=due_in), user=user)
            if outcome == "ship":
                action_items.ship_item(item, EVIDENCE[kind], user=user)
            elif outcome == "drop":
                action_items.drop_item(item, "Covered by the watchdog hook.", user=user)
            added += 1
    stdout.write(f"{added} action items added to the final records (shipped, dropped, "
                 "open and overdue), for the insights page.")


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
