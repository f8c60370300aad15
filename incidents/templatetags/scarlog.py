"""Template filters: UTC times with their zone, UTC time inputs, sanitized Markdown, impact figures;
and the template fields' headings and hints from the field registry (incidents.fields)."""
from datetime import UTC, datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html

from core.forms import format_utc_input
from core.markdown import render_markdown
from core.templatetags import units as units_filters
from incidents import fields
from incidents.evidence import LABELS as EVIDENCE_LABELS
from incidents.reminders import held_meeting

register = template.Library()


@register.filter
def utc(value, with_seconds: bool = False) -> str:
    """`2026-03-02 14:02 UTC` for an aware datetime or a stored ISO 8601 text with its
    offset (evidence's last_modified_utc); '' for None. ValueError for other text."""
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            raise ValueError(f"{value.isoformat()} has no offset; stored times are UTC")
    fmt = "%Y-%m-%d %H:%M:%S UTC" if with_seconds else "%Y-%m-%d %H:%M UTC"
    return value.astimezone(UTC).strftime(fmt)


def _labels(context, key: str, read) -> dict:
    """{key: label} of a vocabulary, read once per render (incidents.vocabulary)."""
    memo = context.render_context
    if key not in memo:
        memo[key] = read()
    return memo[key]


@register.simple_tag(takes_context=True)
def trigger_label(context, slug: str) -> str:
    """The label of trigger condition `slug` (retired ones too); the slug itself when no
    row has it (a record naming a condition an admin deleted)."""
    from incidents import vocabulary

    return _labels(context, "trigger_labels", vocabulary.trigger_labels).get(slug, slug)


@register.simple_tag(takes_context=True)
def severity_label(context, code: str) -> str:
    """The label of severity `code` ("not rated" for ""); the code when no row has it."""
    from incidents import vocabulary

    if not code:
        return "not rated"
    return _labels(context, "severity_labels", vocabulary.severity_labels).get(code, code)


@register.simple_tag(takes_context=True)
def severity_badge(context, code: str):
    """The severity badge of `code`: its label in a `badge severity sev-N` span, N its
    rank 1–5 (static/css/scarlog.css colours each; other ranks get the neutral badge,
    "not rated" the `unrated` one). Classes only, no inline style (CSP).
    Rule: docs/rules.md#severity."""
    from incidents import vocabulary

    if not code:
        return format_html('<span class="badge severity unrated">{}</span>', "not rated")
    rank = _labels(context, "severity_ranks", vocabulary.severity_ranks).get(code)
    level = f" sev-{rank}" if rank in range(1, 6) else ""
    return format_html('<span class="badge severity{}">{}</span>', level,
                       severity_label(context, code))


@register.filter
def utc_input(value) -> str:
    """The value a UTC time text input shows (`YYYY-MM-DD HH:MM:SS`)."""
    return format_utc_input(value)


@register.filter
def markdown(text: str):
    """Render Markdown through the one sanitizing renderer (core.markdown)."""
    return render_markdown(text or "")


@register.filter
def minutes(value) -> str:
    """Whole minutes as a duration: 90 -> '1 h 30 min'; None -> '' (core.templatetags.units)."""
    return units_filters.minutes(value)


@register.filter
def count(value) -> str:
    """A count (users affected) as '1,200'; None -> '' (core.templatetags.units)."""
    return units_filters.count(value)


@register.filter
def figure_input(value) -> str:
    """An impact figure as its input shows it: Decimal('78947.00') -> '78947.00'; None -> ''."""
    return "" if value is None else str(value)


def _span(seconds: int) -> str:
    minutes = abs(seconds) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {mins:02d} m"


@register.simple_tag
def meeting_deadline(pm, now=None):
    """The 72-hour meeting deadline of `pm` as a countdown span (static/js/countdown.js
    keeps it ticking): "41 h 12 m left", "overdue by 3 h 05 m", "meeting held", or "—";
    a retrospective postmortem reads "retrospective: written 14 months after the event"
    (no data-deadline, so nothing ticks).

    Uses pm.meeting_held when the queryset annotated it, else one query.
    """
    deadline = pm.meeting_deadline_utc
    if deadline is None:
        return format_html('<span class="countdown none">{}</span>', "no event time")
    when = deadline.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if pm.is_retrospective:
        return format_html(
            '<span class="countdown retrospective" title="Event {}; no meeting deadline or '
            'reminders for a postmortem started more than 72 hours after it">{}</span>',
            pm.occurred_utc.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            f"retrospective: written {written_after(pm.created_utc - pm.occurred_utc)} "
            "after the event")
    held = getattr(pm, "meeting_held", None)
    if held is None:
        held = held_meeting(pm) is not None
    if held or pm.is_final:
        label = "meeting held" if held else "final"
        return format_html('<span class="countdown done" title="Meeting due by {}">{}</span>',
                           when, label)
    seconds = int((deadline - (now or timezone.now())).total_seconds())
    state = "overdue" if seconds < 0 else ("soon" if seconds < 24 * 3600 else "open")
    text = f"overdue by {_span(seconds)}" if seconds < 0 else f"{_span(seconds)} left"
    return format_html(
        '<span class="countdown {}" data-deadline="{}" title="Meeting due by {}">{}</span>',
        state, deadline.astimezone(UTC).isoformat(), when, text)


def written_after(delta) -> str:
    """How long after the event a postmortem was started, in the largest fitting unit:
    "5 days", "14 months", "3 years" (docs/rules.md#meeting-retrospective)."""
    days = delta.days
    if days < 60:
        return f"{days} day{'s' if days != 1 else ''}"
    months = round(days / 30.44)
    if months < 24:
        return f"{months} months"
    years = round(days / 365.25)
    return f"{years} years"


@register.filter
def dom_key(key: str) -> str:
    """A revision key as part of a DOM id: 'factors:12' -> 'factors-12'."""
    return str(key).replace(":", "-")


@register.simple_tag(takes_context=True)
def version_input(context, key: str, oob: bool = False):
    """The hidden `base_version` input of an autosaved input (incidents.revisions).

    Its id is version-<key>; an autosave includes it, and the answer replaces it (oob)
    with the version just saved.
    """
    version = context.get("versions", {}).get(key, 0)
    template = ('<input type="hidden" name="base_version" id="version-{}" value="{}"'
                + (' hx-swap-oob="true">' if oob else ">"))
    return format_html(template, dom_key(key), version)


@register.simple_tag
def meeting_timer(ends_utc, now=None):
    """The meeting's 30-minute timer as `mm:ss left` (static/js/meeting.js ticks it)."""
    seconds = int((ends_utc - (now or timezone.now())).total_seconds())
    minutes, secs = divmod(abs(seconds), 60)
    text = f"{minutes:02d}:{secs:02d} {'left' if seconds >= 0 else 'over time'}"
    return format_html('<span class="meeting-timer{}" data-ends="{}" role="timer">{}</span>',
                       "" if seconds >= 0 else " over", ends_utc.astimezone(UTC).isoformat(),
                       text)


@register.filter
def get_item(mapping, key):
    """mapping[key] in a template, or None when absent (dicts of marks, findings)."""
    return mapping.get(key) if mapping else None


@register.filter
def get_attr(obj, name: str):
    """getattr(obj, name) in a template: the value of a registry field's input."""
    return getattr(obj, name)


@register.simple_tag
def field_heading(key: str) -> str:
    """The page heading of template field `key`: "1. Summary" (incidents.fields)."""
    return fields.field(key).numbered_label


@register.simple_tag
def field_hint(key: str):
    """The hint under template field `key` (trusted HTML of the registry)."""
    return fields.field(key).hint


@register.filter
def evidence_label(name: str) -> str:
    """A shipping-evidence key as people read it: "hook_file" -> "Hook file" (the labels of
    incidents.evidence.LABELS); a key it does not know reads with "_" as spaces.
    docs/rules.md#evidence-types"""
    label = EVIDENCE_LABELS.get(name, str(name).replace("_", " "))
    return label[:1].upper() + label[1:]


@register.filter
def with_feedback(bound_field):
    """A bound form field's widget (HTML) that names its feedback: when the submission was
    refused for this field, `aria-describedby="error-<name>"` (the element holding the
    message, rendered by templates/components/notice.html) and `aria-invalid="true"`
    (docs/rules.md#input-form-feedback). Without errors, the widget as the form renders it."""
    if not bound_field.errors:
        return bound_field.as_widget()
    described = f"error-{bound_field.html_name}"
    hint = bound_field.field.widget.attrs.get("aria-describedby")
    return bound_field.as_widget(attrs={
        "aria-describedby": f"{hint} {described}" if hint else described,
        "aria-invalid": "true"})
