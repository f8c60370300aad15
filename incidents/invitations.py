"""Meeting invitations: the RFC 5545 calendar of a meeting, the email that carries it, and
the invitation rows of the reminder outbox.

Rule: docs/rules.md#meeting-invitation. Scheduling a meeting, rescheduling it and cancelling
it each plan one Reminder row of kind "meeting_invitation" for (meeting, sequence), in the
same transaction; the reminder sweep (incidents.reminders.sweep, Celery beat every minute)
sends it once to the facilitator and every attendee with an email address. The calendar
has a UID stable for the meeting (its id, the postmortem's id, the site's host), the
meeting's SEQUENCE (0, raised by each change), METHOD:REQUEST or, once cancelled,
METHOD:CANCEL with STATUS:CANCELLED. The same bytes download from the meeting panel.
"""
from datetime import UTC, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vText

from incidents.models import MEETING_MINUTES, Meeting, MeetingAttendee, Reminder

PRODID = "-//Scarlog//Postmortem meeting//EN"
# RFC 5545 ROLE of each attendee role; the facilitator chairs.
ICAL_ROLES = {
    MeetingAttendee.Role.OPERATOR: "REQ-PARTICIPANT",
    MeetingAttendee.Role.CODE_OWNER: "REQ-PARTICIPANT",
    MeetingAttendee.Role.REVIEWER: "OPT-PARTICIPANT",
    MeetingAttendee.Role.OTHER: "OPT-PARTICIPANT",
}
CHAIR = "CHAIR"


def site_host() -> str:
    """The host of SCARLOG_SITE_URL ("scarlog.example.com"), or "scarlog" when unset."""
    return urlsplit(settings.SCARLOG_SITE_URL or "").hostname or "scarlog"


def uid(meeting: Meeting) -> str:
    """'meeting-7.postmortem-<uuid>@<site host>': the same for every reschedule and the
    cancel of one meeting (a reconvened sitting is another meeting, another UID)."""
    return f"meeting-{meeting.pk}.postmortem-{meeting.postmortem_id}@{site_host()}"


def method(meeting: Meeting) -> str:
    """"CANCEL" for a cancelled meeting, else "REQUEST" (the iTIP method, RFC 5546)."""
    return "CANCEL" if meeting.cancelled else "REQUEST"


def draft_url(meeting: Meeting) -> str:
    """The draft's absolute URL (SCARLOG_SITE_URL + its path), or '' when unset."""
    path = reverse("incidents:postmortem_detail", args=[meeting.postmortem_id])
    return settings.SCARLOG_SITE_URL + path if settings.SCARLOG_SITE_URL else ""


def _address(email: str, name: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    address.params["CN"] = vText(name)
    return address


def _name(user) -> str:
    return user.get_full_name() or user.get_username()


def people(meeting: Meeting) -> list[tuple[object, str]]:
    """(user, RFC 5545 role) of the facilitator (CHAIR) and each attendee, each person
    once, the facilitator first."""
    listed = [(meeting.facilitator, CHAIR)]
    for attendee in meeting.attendees.select_related("user").order_by("id"):
        if attendee.user_id != meeting.facilitator_id:
            listed.append((attendee.user, ICAL_ROLES[attendee.role]))
    return listed


def recipients(meeting: Meeting) -> tuple[list[str], list[str]]:
    """(email addresses to invite, usernames skipped because they have no email address)."""
    emails, skipped = [], []
    for user, _ in people(meeting):
        if not user.email:
            skipped.append(user.get_username())
        elif user.email not in emails:
            emails.append(user.email)
    return emails, skipped


def calendar(meeting: Meeting, taken_off: list[str] | None = None) -> Calendar:
    """The meeting's VCALENDAR with one VEVENT: UID, SEQUENCE, DTSTAMP (when the sequence
    was last raised), DTSTART/DTEND in UTC (30 minutes), ORGANIZER the facilitator
    (DEFAULT_FROM_EMAIL, named after the facilitator, when they have no email address),
    ATTENDEE per person with an email address and a ROLE, SUMMARY, DESCRIPTION and URL
    with the draft's address, STATUS CONFIRMED or CANCELLED.

    With `taken_off` (email addresses), the METHOD:CANCEL that RFC 5546 (3.2.5) sends to
    attendees removed from a meeting that goes on: STATUS CANCELLED, and only those
    addresses as ATTENDEE. docs/rules.md#meeting-invitation"""
    pm = meeting.postmortem
    cancel = meeting.cancelled or bool(taken_off)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "CANCEL" if cancel else "REQUEST")
    event = Event()
    event.add("uid", uid(meeting))
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", meeting.changed_utc.astimezone(UTC))
    start = meeting.scheduled_utc.astimezone(UTC)
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=MEETING_MINUTES))
    event.add("summary", f"Postmortem meeting: {pm.title or 'untitled draft'}")
    link = draft_url(meeting)
    lines = [("Thirty minutes, the template field by field: the facilitator reads each field "
             "aloud while the team fills it in. Read the traces first.")]
    lines.append(f"Draft: {link}" if link else
                 "Draft: open it in Scarlog (SCARLOG_SITE_URL is not set, so no link).")
    event.add("description", "\n".join(lines))
    if link:
        event.add("url", link)
    event.add("status", "CANCELLED" if cancel else "CONFIRMED")
    facilitator = meeting.facilitator
    event.add("organizer", _address(facilitator.email or settings.DEFAULT_FROM_EMAIL,
                                    _name(facilitator)))
    if taken_off:
        for email in taken_off:
            address = vCalAddress(f"mailto:{email}")
            address.params["CUTYPE"] = vText("INDIVIDUAL")
            event.add("attendee", address, encode=0)
        cal.add_component(event)
        return cal
    for user, role in people(meeting):
        if user.email:
            address = _address(user.email, _name(user))
            address.params["ROLE"] = vText(role)
            address.params["CUTYPE"] = vText("INDIVIDUAL")
            address.params["PARTSTAT"] = vText("NEEDS-ACTION")
            event.add("attendee", address, encode=0)
    cal.add_component(event)
    return cal


def ics(meeting: Meeting, taken_off: list[str] | None = None) -> bytes:
    """calendar(meeting, taken_off) as RFC 5545 bytes (CRLF lines, folded at 75 octets)."""
    return calendar(meeting, taken_off).to_ical()


def taken_off(reminder: Reminder, invited: list[str]) -> list[str]:
    """The addresses the meeting's last sent invitation (of a lower sequence) reached and
    `invited` (this one's addresses) no longer holds: people taken off the meeting, or
    whose address changed, who must get a CANCEL. Empty for the first invitation.
    docs/rules.md#meeting-invitation"""
    previous = (Reminder.objects
                .filter(meeting_id=reminder.meeting_id, kind=Reminder.Kind.MEETING_INVITATION,
                        state=Reminder.State.SENT, sequence__lt=reminder.sequence)
                .order_by("-sequence").first())
    if previous is None:
        return []
    return [email for email in previous.recipients if email not in invited]


def filename(meeting: Meeting) -> str:
    """'postmortem-meeting-7.ics' (the download's and the attachment's name)."""
    return f"postmortem-meeting-{meeting.pk}.ics"


def plan_invitation(meeting: Meeting) -> Reminder:
    """Plan the invitation of `meeting` at its current sequence, due now (UTC); call in the
    transaction that raised the sequence. Raises IntegrityError if that sequence already
    has one (the sequence must rise first)."""
    now = timezone.now()
    return Reminder.objects.create(postmortem_id=meeting.postmortem_id,
                                   kind=Reminder.Kind.MEETING_INVITATION, meeting=meeting,
                                   sequence=meeting.sequence, due_utc=now, planned_utc=now)


def superseded(reminder: Reminder) -> str:
    """Why an invitation row need not go out any more ('' when it should)."""
    meeting = reminder.meeting
    if meeting.sequence > reminder.sequence:
        return (f"Superseded: the meeting changed again (sequence {meeting.sequence}), "
                "and that invitation goes out instead.")
    return ""


def message(reminder: Reminder, to: list[str], message_id: str) -> EmailMultiAlternatives:
    """The invitation email of `reminder` to `to`: a text part, the calendar as a
    text/calendar; method=REQUEST (or CANCEL) alternative, and the same .ics attached."""
    meeting = reminder.meeting
    pm = meeting.postmortem
    when = f"{meeting.scheduled_utc.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    if meeting.cancelled:
        subject = f"Cancelled: postmortem meeting {when}"
        lead = f"The postmortem meeting planned for {when} is cancelled."
    elif meeting.sequence:
        subject = f"Moved: postmortem meeting {when}"
        lead = f"The postmortem meeting is now at {when} (30 minutes)."
    else:
        subject = f"Invitation: postmortem meeting {when}"
        lead = (f"You are invited to the postmortem meeting at {when} (30 minutes), "
                f"facilitated by {meeting.facilitator.get_username()}.")
    link = draft_url(meeting) or "(SCARLOG_SITE_URL is not set, so this email has no link)"
    body = "\n".join([lead, "", f"Postmortem: {pm.title}", link, "",
                      ("(Scarlog meeting invitation; times are UTC. The calendar entry is "
                      "attached.)")])
    content = ics(meeting).decode()
    mimetype = f"text/calendar; method={method(meeting)}"
    email = EmailMultiAlternatives(subject=f"Scarlog: {subject}", body=body, to=to,
                                   headers={"Message-ID": message_id})
    email.attach_alternative(content, mimetype)
    email.attach(filename(meeting), content, mimetype)
    return email


def taken_off_message(reminder: Reminder, to: list[str], message_id: str) -> EmailMultiAlternatives:
    """The email telling `to` (addresses taken off the meeting of `reminder`) that they
    are no longer expected: a text part and a METHOD:CANCEL calendar naming only them,
    so their calendars drop the entry while the meeting goes on for the others."""
    meeting = reminder.meeting
    pm = meeting.postmortem
    when = f"{meeting.scheduled_utc.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    body = "\n".join([
        ("You are no longer invited to this postmortem meeting: the facilitator changed "
         "who attends. The entry is removed from your calendar."), "",
        f"Postmortem: {pm.title}", f"The meeting goes on for the others ({when}).", "",
        "(Scarlog meeting invitation; times are UTC. The cancellation is attached.)"])
    content = ics(meeting, to).decode()
    mimetype = "text/calendar; method=CANCEL"
    email = EmailMultiAlternatives(
        subject=f"Scarlog: No longer invited: postmortem meeting {when}", body=body, to=to,
        headers={"Message-ID": message_id})
    email.attach_alternative(content, mimetype)
    email.attach(filename(meeting), content, mimetype)
    return email
