"""One Markdown file per final postmortem, for a `postmortems/` folder in a git repository.

Rule: docs/rules.md#final-markdown ("the record is committed to a postmortems/ directory
in the repository"). File name `YYYY-MM-DD-<slug>.md` (created date, UTC; slug of
the summary's first words; a short id is appended when two would collide). The file has
YAML frontmatter (id, created_utc, status, root_cause, template, severity, trigger,
occurred_utc, question set, seal), then the whole record (docs/rules.md#final-markdown):
the event (time, trigger and its reason, severity), the meeting (facilitator, attendees
with their roles, scheduled start, start and end), the seven fields in template order,
the long-form sections (Impact, What went well, What went wrong, Lessons learned;
docs/rules.md#longform-sections) when the template is long-form or any of them holds
something, the failure-mode scan (question as answered, answer, note), the amendments,
oldest first, each with its author, date, the section it adds to and its seal, and last
the record's seal (content SHA-256 and chain hash).
"""
from pathlib import Path

import yaml
from django.utils.text import slugify

from core.units import format_count, format_span, format_usd
from incidents import fields, vocabulary
from incidents.models import DEFERRED_FIX_TEXT, MeetingAttendee, Postmortem, Seal, fix_is_deferred
from incidents.templatetags.scarlog import utc

SLUG_WORDS = 6


def postmortem_filename(pm: Postmortem) -> str:
    """`YYYY-MM-DD-<slug>.md` for `pm` (slug of its first six summary words)."""
    slug = slugify(" ".join(pm.summary.split()[:SLUG_WORDS]))[:60].strip("-") or "postmortem"
    return f"{pm.created_utc:%Y-%m-%d}-{slug}.md"


def _utc(value) -> str:
    """`2026-02-03 10:00 UTC`, as every page shows a time (the utc filter); "(no time)"."""
    return utc(value) or "(no time)"


def _utc_seconds(value) -> str:
    """A timeline row's time to the second (`2026-03-02 14:02:37 UTC`): its order matters."""
    return utc(value, with_seconds=True) or "(no time)"


def postmortem_markdown(pm: Postmortem) -> str:
    """The Markdown document of `pm` (rows and amendments read through its relations).

    The fields come from the field registry (incidents.fields), in its order, each under
    its Markdown heading: the seven always; the long-form sections when the template is
    long-form or any of them (or an amendment) holds something; an optional field (the
    owner-sentiment quote) when it is set. Adds, when present, the substitution verdict
    after each factor and the failure-mode scan table (issue 3).
    """
    seals = {(seal.kind, seal.amendment_id): seal
             for seal in Seal.objects.filter(postmortem=pm)}
    record_seal = seals.get((Seal.Kind.POSTMORTEM, None))
    question_set = vocabulary.question_set_of(pm)
    front = {
        "id": str(pm.id),
        "created_utc": pm.created_utc.isoformat(),
        # str(): a row just saved holds the TextChoices member, which YAML cannot write.
        "status": str(pm.status),
        "root_cause": str(pm.root_cause),
        "template": str(pm.template),
        "severity": pm.severity,
        "trigger": pm.trigger,
        "occurred_utc": pm.occurred_utc.isoformat() if pm.occurred_utc else "",
        "question_set": question_set.slug,
        "seal_sha256": record_seal.chain_sha256 if record_seal else "",
    }
    lines = ["---", yaml.safe_dump(front, sort_keys=False).strip(), "---", "",
             f"# Postmortem: {pm.title}"]
    lines += _event_lines(pm)
    lines += _meeting_lines(pm)
    amendments = list(pm.amendments.all())
    with_long_form = (pm.is_long_form or any(a.section for a in amendments)
                      or pm.has_long_form_content)
    for field in fields.REGISTRY:
        if field.kind == fields.LONG_FORM_KIND and not with_long_form:
            continue
        if field.kind == fields.OPTIONAL and not _has_content(pm, field):
            continue
        body = _BODIES.get(field.key, _text_body)(pm, field)
        lines += ["", f"## {field.markdown_heading}", "", *body]
    lines += _scan_lines(pm, list(pm.scan_answers.all()), question_set)
    if amendments:
        lines += ["", "## Amendments"]
        for amendment in amendments:
            heading = f"### {_utc(amendment.amended_utc)}"
            if amendment.section:
                heading += f" — adds to {fields.field(amendment.section).label}"
            author = amendment.author.get_username() if amendment.author else "imported"
            lines += ["", heading, "", f"- Author: {author}",
                      f"- Date: {_utc(amendment.amended_utc)}"]
            seal = seals.get((Seal.Kind.AMENDMENT, amendment.pk))
            if seal is not None:
                lines.append(f"- Seal: `{seal.chain_sha256}`")
            lines.append("")
            figures = _figure_lines(amendment.impact_usd, amendment.impact_users,
                                    amendment.impact_duration_minutes, only_set=True)
            if figures:
                lines += [*figures, ""]
            lines += [amendment.note]
    lines += ["", "## Seal", ""]
    if record_seal is None:
        lines.append("(not sealed: the record is a draft)")
    else:
        lines += [f"- Sealed: {_utc(record_seal.sealed_utc)}",
                  f"- Content SHA-256: `{record_seal.content_sha256}`",
                  f"- Chain SHA-256: `{record_seal.chain_sha256}`"]
    return "\n".join(lines).rstrip() + "\n"


def _event_lines(pm: Postmortem) -> list[str]:
    """The event: when, the trigger (its label and reason), the severity, retrospective."""
    labels = vocabulary.trigger_labels()
    severities = vocabulary.severity_labels()
    lines = ["", "## Event", ""]
    lines.append(f"- Occurred: {_utc(pm.occurred_utc) if pm.occurred_utc else '(not recorded)'}")
    trigger = labels.get(pm.trigger, pm.trigger) if pm.trigger else "(not recorded)"
    lines.append(f"- Trigger: {trigger}" + (f" — {pm.trigger_reason}"
                                            if pm.trigger_reason else ""))
    lines.append(f"- Severity: {severities.get(pm.severity, pm.severity) or '(not rated)'}")
    if pm.is_retrospective:
        lines.append("- Retrospective: started more than 72 hours after the event")
    return lines


def _when(value, missing: str) -> str:
    return _utc(value) if value else missing


def _meeting_lines(pm: Postmortem) -> list[str]:
    """Each meeting: facilitator, scheduled start, started and ended (UTC), attendees with
    their roles."""
    meetings = list(pm.meetings.select_related("facilitator").prefetch_related(
        "attendees__user").order_by("scheduled_utc", "id"))
    lines = ["", "## Meeting", ""]
    if not meetings:
        return [*lines, "(no meeting was recorded)"]
    roles = dict(MeetingAttendee.Role.choices)
    for number, meeting in enumerate(meetings, start=1):
        if len(meetings) > 1:
            lines += [f"### Meeting {number}", ""]
        lines += [f"- Facilitator: {meeting.facilitator.get_username()}",
                  f"- Scheduled: {_utc(meeting.scheduled_utc)}",
                  f"- Started: {_when(meeting.started_utc, '(not started)')}",
                  f"- Ended: {_when(meeting.ended_utc, '(not ended)')}",
                  "- Attendees:"]
        attendees = list(meeting.attendees.all())
        lines += [f"  - {attendee.user.get_username()} ({roles.get(attendee.role, attendee.role)})"
                  for attendee in attendees] or ["  - (none recorded)"]
        lines.append("")
    return lines


def _has_content(pm: Postmortem, field: fields.Field) -> bool:
    """An optional field is written when its first input (the quote) is set."""
    return getattr(pm, field.inputs[0].name) not in (None, "")


def _text_body(pm: Postmortem, field: fields.Field) -> list[str]:
    """A text field's body: its inputs' values, or "(not in the record)"."""
    values = [str(getattr(pm, item.name)) for item in field.inputs
              if getattr(pm, item.name) not in (None, "")]
    return values or ["(not in the record)"]


def _timeline_body(pm: Postmortem, field: fields.Field) -> list[str]:
    return ["| UTC | Event | trace_id |", "|---|---|---|"] + [
        f"| {_utc_seconds(row.utc)} | {_cell(row.event)} | {_cell(row.trace_id)} |"
        for row in pm.timeline_entries.all()
    ]


def _factors_body(pm: Postmortem, field: fields.Field) -> list[str]:
    return [f"- {factor.text}" + (f" _({factor.substitution})_" if factor.substitution else "")
            for factor in pm.contributing_factors.all()]


def _fix_body(pm: Postmortem, field: fields.Field) -> list[str]:
    if fix_is_deferred(pm.fix_commit_sha, pm.fix_description):
        return [f"{DEFERRED_FIX_TEXT} ({pm.fix_ticket_link or 'no ticket link'})"]
    lines = [f"Commit `{pm.fix_commit_sha or '(none)'}`"]
    if pm.fix_description:
        lines += ["", pm.fix_description]
    return lines


def _impact_body(pm: Postmortem, field: fields.Field) -> list[str]:
    lines = _figure_lines(pm.impact_usd, pm.impact_users, pm.impact_duration_minutes)
    if pm.impact_description:
        lines += ["", pm.impact_description]
    return lines


def _owner_sentiment_body(pm: Postmortem, field: fields.Field) -> list[str]:
    lines = [f"> {line}" for line in pm.owner_sentiment.splitlines()]
    if pm.owner_sentiment_by:
        lines += [">", f"> — {pm.owner_sentiment_by}"]
    return lines


# How a field that is not plain text is written; every other field is _text_body.
_BODIES = {
    "summary": lambda pm, field: [pm.summary],
    "timeline": _timeline_body,
    "root_cause": lambda pm, field: [pm.root_cause or "(not chosen)"],
    "contributing_factors": _factors_body,
    "fix": _fix_body,
    "prevention": lambda pm, field: [pm.prevention],
    "references": lambda pm, field: [f"- {ref.get_kind_display()}: {ref.value}"
                                     for ref in pm.references.all()],
    "impact": _impact_body,
    "owner_sentiment": _owner_sentiment_body,
}


def _figure_lines(usd, users, minutes, only_set: bool = False) -> list[str]:
    """'- Financial (USD): $78,947' etc.; unset figures read '(not stated)' or are left out."""
    lines = []
    for label, value, text in (
        ("Financial (USD)", usd, f"${format_usd(usd)}" if usd is not None else ""),
        ("Users affected", users, format_count(users) if users is not None else ""),
        ("Duration", minutes, format_span(minutes * 60) if minutes is not None else ""),
    ):
        if value is not None:
            lines.append(f"- {label}: {text}")
        elif not only_set:
            lines.append(f"- {label}: (not stated)")
    return lines


def _scan_lines(pm: Postmortem, answers, question_set) -> list[str]:
    """The failure-mode scan as a table in question order, each question in the wording
    it was answered against ([] when nothing is answered)."""
    if not answers:
        return []
    by_mode = {answer.mode: answer for answer in answers}
    lines = ["", "## Failure-mode scan", "", f"Question set: {question_set.name}", "",
             "| # | Failure mode | Question | Answer | Note |", "|---|---|---|---|---|"]
    for mode in vocabulary.scan_questions(pm):
        answer = by_mode.get(mode.slug)
        name, question = (vocabulary.wording(answer, mode) if answer is not None
                          else (mode.name, mode.question))
        if not pm.is_final and mode.retired_utc is not None:
            name = f"{name} (retired question)"
        lines.append(f"| {mode.number} | {_cell(name)} | {_cell(question)} | "
                     f"{answer.get_answer_display() if answer else '(not answered)'} | "
                     f"{_cell(answer.note) if answer else ''} |")
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def export_markdown(out_dir: Path) -> int:
    """Write one Markdown file per final postmortem into `out_dir`; returns the file count."""
    out_dir.mkdir(parents=True, exist_ok=True)
    postmortems = (
        Postmortem.objects.filter(status=Postmortem.Status.FINAL)
        .order_by("created_utc", "id")
        .prefetch_related("timeline_entries", "contributing_factors", "references",
                          "amendments__author", "scan_answers")
    )
    used: set[str] = set()
    count = 0
    for pm in postmortems:
        name = postmortem_filename(pm)
        if name in used:
            name = name.removesuffix(".md") + f"-{str(pm.id)[:8]}.md"
        used.add(name)
        (out_dir / name).write_text(postmortem_markdown(pm), encoding="utf-8")
        count += 1
    return count
