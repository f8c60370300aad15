"""The live draft's endpoints: the poll ("changed since version N", with the page's
heartbeat), the page's leave and the facilitator's Next field (docs/rules.md#live-feed).

The poll is a GET: viewers poll too, and what it writes is the page's own presence entry
in Redis, which expires within seconds. The leave is a POST every role may make (core.roles
ALWAYS_ALLOWED_URL_NAMES; CSRF checked). Both take the page id the server signed for
this user and postmortem (incidents.live.page_token) and refuse any other with 400.
"""
import redis
from django.db import connection
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from core.limits import whole_number
from core.roles import can_write
from incidents import fields, live, live_feed, meeting_record, template_rules
from incidents.models import FieldRevision, ImmutableRecordError, Meeting, Postmortem
from incidents.views.context import draft_context, get_postmortem_for_user
from incidents.views.meeting import meeting_context

DOWN = "Live updates are down — reload to see others' changes."
ROW_SECTIONS = {"timeline": "timeline", "contributing_factors": "factors",
                "references": "references"}


def page_context(request, pm: Postmortem, meeting: Meeting | None, editor_id: str) -> dict:
    """What the live panel of a draft page needs (templates/incidents/_presence.html):
    the feed version the page starts from, its editor id and the signed id it polls with
    (`token`), the leave URL, the meeting's current field,
    whether this user drives (the facilitator of a meeting in progress, an editor). Stores
    the meeting's roles for presence; with Redis down the panel starts with its notice."""
    try:
        live.store_roles(pm.pk, live.meeting_roles(meeting))
        live_ok = True
    except redis.RedisError:
        live_ok = False
    in_progress = meeting is not None and meeting.in_progress
    labels = template_rules.FIELD_LABELS
    return {
        "live": {
            "url": reverse("incidents:live_poll", args=[pm.pk]),
            "version": live_feed.current_version(pm.pk),
            "editor": editor_id,
            "token": live.page_token(pm.pk, request.user.pk, editor_id),
            "leave_url": reverse("incidents:live_leave", args=[pm.pk]),
            "ok": live_ok,
            "down": DOWN,
            "interval": live.POLL_INTERVAL_MS,
            "current_field": meeting.current_field if in_progress else "",
            "current_label": labels.get(meeting.current_field, "") if in_progress else "",
            "drives": (in_progress and can_write(request.user)
                       and request.user.pk == meeting.facilitator_id),
            "next_url": (reverse("incidents:live_next_field", args=[pm.pk, meeting.pk])
                         if in_progress else ""),
            "viewer": not can_write(request.user),
        },
    }


def _field_changes(pm: Postmortem, context: dict, keys) -> dict:
    """{input name: {"value", "version", "key", "editor"}} for the postmortem-row inputs
    of `keys`; `editor` is the page id of the newest save (a page ignores its own)."""
    names = {name: key for key in keys
             if key in fields.FIELDS_BY_KEY and not fields.FIELDS_BY_KEY[key].is_row_field
             for name in fields.FIELDS_BY_KEY[key].input_names}
    revisions = FieldRevision.objects.filter(postmortem=pm, key__in=list(names))
    if connection.vendor == "postgresql":  # DISTINCT ON: the newest revision of each key
        editors = dict(revisions.order_by("key", "-version").distinct("key")
                       .values_list("key", "editor"))
    else:  # the embedded SQLite demo: the newest of each key wins
        editors = dict(revisions.order_by("key", "version").values_list("key", "editor"))
    changed = {}
    for name, key in names.items():
        value = getattr(pm, name)
        changed[name] = {"value": "" if value is None else str(value),
                         "version": context["versions"].get(name, 0), "key": key,
                         "editor": editors.get(name, "")}
    return changed


def _changed_payload(request, pk, feed: live_feed.Feed) -> dict:
    """The fields, rows, feedback and progress the feed says changed, rendered as the
    page renders them (an editor's draft page), or only "refresh" for a viewer."""
    payload = {"final": feed.final, "reload": feed.too_far}
    if feed.final or feed.too_far:
        return payload
    if not can_write(request.user):
        # A viewer's page is read-only text: fetch it again, unless every change was this
        # page's own (saved before its reader became a viewer).
        if not set(feed.fields) <= feed.own:
            payload["refresh"] = True
        return payload
    pm = get_postmortem_for_user(request, pk, with_rows=True)
    context = draft_context(pm)
    keys = [k for k in feed.fields if k not in ("meeting", "final")]
    payload["fields"] = _field_changes(pm, context, keys)
    # Rows, the scan and field checks this page changed itself are already on it (its
    # own htmx answers): sent only when someone else changed them too.
    others = [k for k in keys if k not in feed.own]
    payload["sections"] = {
        key: render_to_string(f"incidents/partials/{ROW_SECTIONS[key]}_section.html",
                              context, request)
        for key in others if key in ROW_SECTIONS}
    if "scan" in others:
        payload["sections"]["scan"] = render_to_string(
            "incidents/partials/scan_section.html", context, request)
    payload["feedback"] = {
        key: render_to_string("incidents/partials/field_feedback.html",
                              {**context, "status": context["status_by_key"][key]}, request)
        for key in others if key in context["status_by_key"] and key not in ROW_SECTIONS}
    payload["progress"] = render_to_string("incidents/partials/progress.html", context, request)
    if "meeting" in feed.fields:
        meeting = meeting_record.latest_meeting(pm)
        live.store_roles(pm.pk, live.meeting_roles(meeting))
        current = meeting.current_field if meeting and meeting.in_progress else ""
        # The meeting panel as the page renders it: started, ended, cancelled or
        # rescheduled shows on every open page (its timer stops with it).
        panel = render_to_string("incidents/partials/meeting_panel.html",
                                 {**context, **meeting_context(pm)}, request)
        payload["meeting"] = {"current_field": current,
                              "label": template_rules.FIELD_LABELS.get(current, ""),
                              "panel": panel}
    return payload


@require_GET
def live_poll(request, pk):
    """GET ?since=N&editor=TOKEN&field=KEY: the page's heartbeat, and what changed after
    feed version N (docs/rules.md#live-feed). TOKEN is the page id signed for this user
    and postmortem (page_context's `token`).

    Answers JSON {"version", "presence": [one per person: name, role, viewer, field,
    label, me], and when something changed "fields", "sections", "feedback", "progress",
    "meeting", "final", "reload" or "refresh"}; 400 naming since or editor when missing,
    malformed or not signed for this user and postmortem; 404 for an unknown postmortem; 503
    when Redis (presence) is down, so the page shows that live updates are down.
    """
    since = whole_number(request.GET.get("since", ""))
    if since is None:
        return JsonResponse({"error": "since: give the feed version the page has (an "
                                      "integer, 0 or more).", "field": "since"}, status=400)
    try:
        editor = _page(request, pk, request.GET.get("editor", ""))
    except live.PageIdError as exc:
        return JsonResponse({"error": str(exc), "field": "editor"}, status=400)
    field = request.GET.get("field", "")
    field = field if field in fields.FIELDS_BY_KEY or field == "scan" else ""
    feed = live_feed.changes_since(pk, since, editor)
    if feed is None:
        raise Http404("No such postmortem.")
    try:
        present = live.heartbeat(pk, editor, request.user, field,
                                 viewer=not can_write(request.user))
        payload = {"version": feed.version,
                   "presence": [p.as_json(request.user.pk) for p in present]}
        if feed.fields:
            payload.update(_changed_payload(request, pk, feed))
    except redis.RedisError:
        return JsonResponse({"error": DOWN}, status=503)
    return JsonResponse(payload)


def _page(request, pk, token: str) -> str:
    """The page id in `token` for this user on postmortem `pk`; raises live.PageIdError."""
    if not token:
        raise live.PageIdError("editor: the page's id is missing; reload the page.")
    return live.page_of(token, pk, request.user.pk)


@require_POST
def live_leave(request, pk):
    """POST editor=TOKEN (the page's navigator.sendBeacon on pagehide): removes the page's
    presence entry at once (docs/rules.md#live-feed). 204; 400 naming editor when the id
    is missing or not signed for this user and postmortem; 503 when Redis is down."""
    try:
        editor = _page(request, pk, request.POST.get("editor", ""))
    except live.PageIdError as exc:
        return JsonResponse({"error": str(exc), "field": "editor"}, status=400)
    try:
        live.leave(pk, editor)
    except redis.RedisError:
        return JsonResponse({"error": DOWN}, status=503)
    return HttpResponse(status=204)


@require_POST
def live_next_field(request, pk, meeting_id):
    """The facilitator moves the meeting to the next field (POST `field` to choose one).

    204 for htmx (the page's next poll shows it to everyone, this page included); a
    redirect to the draft otherwise. 403 with the reason for anyone but the facilitator
    (viewers are refused by core.roles before this), 400 naming the field otherwise.
    """
    meeting = get_object_or_404(Meeting, pk=meeting_id, postmortem_id=pk)
    try:
        live.next_field(meeting, request.user, request.POST.get("field", ""))
    except live.NextFieldError as exc:
        status = 403 if exc.field == "facilitator" else 400
        return HttpResponse(str(exc), status=status, content_type="text/plain; charset=utf-8")
    except ImmutableRecordError as exc:
        return HttpResponse(str(exc), status=409, content_type="text/plain; charset=utf-8")
    if request.htmx:
        return HttpResponse(status=204)
    return redirect("incidents:postmortem_detail", pk=pk)
