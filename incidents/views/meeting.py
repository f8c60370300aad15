"""The event and meeting panels of a draft: record the event, schedule, start, end the meeting.

Views are thin: parse the POST, call incidents.services / incidents.meetings, redirect
with a message naming any field that was refused.
"""
from datetime import UTC

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from core.forms import UTCDateTimeField
from core.limits import whole_number
from incidents import invitations, meetings, services
from incidents.forms import EventForm
from incidents.models import (
    ImmutableRecordError,
    Meeting,
    MeetingAttendee,
    Postmortem,
    Reminder,
)

ROLE_FIELDS = (("operator", MeetingAttendee.Role.OPERATOR),
               ("code_owner", MeetingAttendee.Role.CODE_OWNER),
               ("reviewer", MeetingAttendee.Role.REVIEWER))


def meeting_context(pm: Postmortem) -> dict:
    """What the event and meeting panels show: event form, meetings, reminders, people."""
    latest = meetings.current_meeting(pm)
    attendees = list(latest.attendees.all()) if latest else []
    invitation = no_email = None
    if latest is not None:
        invitation = latest.invitations.order_by("-sequence").first()
        no_email = invitations.recipients(latest)[1]
    return {
        "event_form": EventForm(
            initial={
                "occurred_utc": pm.occurred_utc.strftime("%Y-%m-%d %H:%M:%S")
                if pm.occurred_utc
                else "",
                "trigger": pm.trigger,
                "trigger_reason": pm.trigger_reason,
                "severity": pm.severity,
            },
            current_severity=pm.severity,
        ),
        "meeting": latest,
        "meeting_attendees": attendees,
        "attendee_warning": meetings.attendee_warning(attendees),
        "reminders": pm.reminders.exclude(kind=Reminder.Kind.MEETING_INVITATION),
        "invitation": invitation,
        "invitation_no_email": no_email,
        "people": get_user_model().objects.filter(is_active=True).order_by("username"),
        "meeting_roles": ROLE_FIELDS,
        "schedule_initial": schedule_initial(latest, attendees),
    }


def schedule_initial(meeting, attendees) -> dict:
    """What the (re)schedule form starts from: the meeting's facilitator and attendees by
    role (user ids; "others" a list), and its start ("YYYY-MM-DD HH:MM", UTC) while it can
    be rescheduled. Empty without a meeting."""
    if meeting is None:
        return {}
    initial = {"facilitator": meeting.facilitator_id, "others": []}
    for attendee in attendees:
        if attendee.role == MeetingAttendee.Role.OTHER:
            initial["others"].append(attendee.user_id)
        else:
            initial[attendee.role] = attendee.user_id
    if not meeting.started_utc and not meeting.cancelled_utc:
        initial["scheduled_utc"] = meeting.scheduled_utc.astimezone(UTC).strftime(
            "%Y-%m-%d %H:%M")
    return initial


def _back(pm) -> str:
    return reverse("incidents:postmortem_detail", args=[pm.pk]) + "#meeting"


@require_POST
def event_set(request, pk):
    """Record or correct a draft's event time, trigger and severity (reminders move with
    it)."""
    pm = get_object_or_404(Postmortem, pk=pk)
    form = EventForm(request.POST, current_severity=pm.severity)
    if not form.is_valid():
        for name, errors in form.errors.items():
            label = str(form.fields[name].label).split(" (")[0] if name in form.fields else ""
            for error in errors:
                named = not label or error.lower().startswith(label.lower())
                messages.error(request, error if named else f"{label}: {error}")
        return redirect(_back(pm))
    try:
        services.set_event(pm, form.cleaned_data["occurred_utc"], form.cleaned_data["trigger"],
                           form.cleaned_data["trigger_reason"], form.cleaned_data["severity"])
    except (services.EventError, ImmutableRecordError) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Event recorded; the meeting deadline and reminders follow it.")
    return redirect(_back(pm))


def _user(value: str, label: str):
    if not value:
        return None
    number = whole_number(value)
    if number is None:
        raise meetings.MeetingError(label, f"{label}: choose a person from the list.")
    user = get_user_model().objects.filter(pk=number, is_active=True).first()
    if user is None:
        raise meetings.MeetingError(label, f"{label}: no such person.")
    return user


@require_POST
def meeting_schedule(request, pk):
    """Schedule or reschedule the meeting: start (UTC), facilitator, attendees by role."""
    pm = get_object_or_404(Postmortem, pk=pk)
    try:
        field = UTCDateTimeField(required=True)
        try:
            scheduled = field.clean(request.POST.get("scheduled_utc", ""))
        except ValidationError as exc:
            raise meetings.MeetingError(
                "scheduled_utc", "Scheduled start: " + " ".join(exc.messages)) from exc
        facilitator = _user(request.POST.get("facilitator", ""), "Facilitator")
        attendees = []
        for name, role in ROLE_FIELDS:
            user = _user(request.POST.get(name, ""), MeetingAttendee.Role(role).label)
            if user is not None:
                attendees.append(meetings.AttendeeInput(user, role))
        for value in request.POST.getlist("others"):
            attendees.append(meetings.AttendeeInput(_user(value, "Other attendees"), "other"))
        meeting = meetings.schedule_meeting(pm, scheduled, facilitator, attendees,
                                            user=request.user)
    except (meetings.MeetingError, ImmutableRecordError) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Meeting scheduled for {meeting.scheduled_utc:%Y-%m-%d %H:%M} "
                                  "UTC; attendees get a calendar invitation and are reminded "
                                  "an hour before.")
        warning = meetings.attendee_warning(attendees)
        if warning:
            messages.warning(request, warning)
    return redirect(_back(pm))


@require_GET
def meeting_invitation(request, pk, meeting_id):
    """The meeting's .ics at its current sequence (METHOD:CANCEL once cancelled), the same
    calendar the invitation email carries. docs/rules.md#meeting-invitation"""
    meeting = get_object_or_404(Meeting.objects.select_related("postmortem", "facilitator"),
                                pk=meeting_id, postmortem_id=pk)
    response = HttpResponse(invitations.ics(meeting),
                            content_type=f"text/calendar; charset=utf-8; "
                                         f"method={invitations.method(meeting)}")
    response["Content-Disposition"] = f'attachment; filename="{invitations.filename(meeting)}"'
    return response


@require_POST
def meeting_change(request, pk, meeting_id, change):
    """Start, end or cancel the meeting (change: "start", "end" or "cancel"; cancelling
    needs the "confirm" box ticked)."""
    meeting = get_object_or_404(Meeting, pk=meeting_id, postmortem_id=pk)
    if change not in ("start", "end", "cancel"):
        raise Http404(f"No such meeting change: {change}")
    try:
        if change == "cancel":
            if request.POST.get("confirm") != "yes":
                raise meetings.MeetingError(
                    "confirm", "Cancel meeting: tick “Yes, cancel it” to confirm.")
            meetings.cancel_meeting(meeting, request.user)
            messages.success(request, "Meeting cancelled; the facilitator and attendees get "
                                      "the cancellation for their calendars.")
        elif change == "start":
            meetings.start_meeting(meeting, request.user)
            messages.success(request, "Meeting started: 30 minutes, the template field by field.")
        else:
            outcome = meetings.end_meeting(meeting, request.user)
            if outcome.reconvene:
                parts = []
                if outcome.pending:
                    parts.append("pending trace review: " + ", ".join(outcome.pending))
                if outcome.incomplete:
                    parts.append("incomplete: " + ", ".join(outcome.incomplete))
                messages.warning(request, "Meeting ended; the postmortem stays a draft ("
                                 + "; ".join(parts) + "). Reconvene within a week — a "
                                 "reminder is planned.")
            else:
                messages.success(request, "Meeting ended; everything is complete. Finalize "
                                          "the postmortem.")
    except (meetings.MeetingError, ImmutableRecordError) as exc:
        messages.error(request, str(exc))
    return redirect(_back(meeting.postmortem))
