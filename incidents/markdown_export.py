"""One Markdown file per final postmortem, for a `postmortems/` folder in a git repository.

Source rule: "the record is committed to a postmortems/ directory in the repository"
(001_60b217100959449d.txt). File name `YYYY-MM-DD-<slug>.md` (created date, UTC; slug of
the summary's first words; a short id is appended when two would collide). The file has
YAML frontmatter (id, created_utc, status, root_cause, template) and the seven fields in
template order, then the long-form sections (Impact, What went well, What went wrong,
Lessons learned; 000_147101d763a5563e.txt) when the template is long-form or any of them
holds something, then the amendments, oldest first, each naming the section it adds to.
"""
from pathlib import Path

import yaml
from django.utils.text import slugify

from core.units import format_minutes, format_usd
from incidents.failure_modes import FAILURE_MODES
from incidents.models import DEFERRED_FIX_TEXT, Postmortem, Section
from incidents.template_rules import FIELD_LABELS
from incidents.templatetags.scarlog import utc

SLUG_WORDS = 6


def postmortem_filename(pm: Postmortem) -> str:
    """`YYYY-MM-DD-<slug>.md` for `pm` (slug of its first six summary words)."""
    slug = slugify(" ".join(pm.summary.split()[:SLUG_WORDS]))[:60].strip("-") or "postmortem"
    return f"{pm.created_utc:%Y-%m-%d}-{slug}.md"


def _utc(value) -> str:
    return utc(value, with_seconds=True) or "(no time)"


def postmortem_markdown(pm: Postmortem) -> str:
    """The Markdown document of `pm` (rows and amendments read through its relations).

    Adds, when present, the substitution verdict after each factor, the owner-sentiment
    quote and the failure-mode scan table (issue 3).
    """
    front = {
        "id": str(pm.id),
        "created_utc": pm.created_utc.isoformat(),
        "status": pm.status,
        "root_cause": pm.root_cause,
        "template": pm.template,
    }
    lines = ["---", yaml.safe_dump(front, sort_keys=False).strip(), "---", "",
             f"# Postmortem: {pm.title}", ""]
    lines += [f"## {FIELD_LABELS['summary']}", "", pm.summary, ""]
    lines += [f"## {FIELD_LABELS['timeline']}", "", "| UTC | Event | trace_id |", "|---|---|---|"]
    lines += [
        f"| {_utc(row.utc)} | {_cell(row.event)} | {_cell(row.trace_id)} |"
        for row in pm.timeline_entries.all()
    ]
    lines += ["", f"## {FIELD_LABELS['root_cause']}", "", pm.root_cause or "(not chosen)", ""]
    lines += [f"## {FIELD_LABELS['contributing_factors']}", ""]
    lines += [f"- {factor.text}" + (f" _({factor.substitution})_" if factor.substitution else "")
              for factor in pm.contributing_factors.all()]
    lines += ["", f"## {FIELD_LABELS['fix']}", ""]
    if pm.fix_description.strip() == DEFERRED_FIX_TEXT:
        lines += [f"{DEFERRED_FIX_TEXT} ({pm.fix_ticket_link})"]
    else:
        lines += [f"Commit `{pm.fix_commit_sha or '(none)'}`"]
        if pm.fix_description:
            lines += ["", pm.fix_description]
    lines += ["", f"## {FIELD_LABELS['prevention']}", "", pm.prevention, ""]
    lines += [f"## {FIELD_LABELS['references']}", ""]
    lines += [f"- {ref.get_kind_display()}: {ref.value}" for ref in pm.references.all()]
    amendments = list(pm.amendments.all())
    if pm.is_long_form or any(a.section for a in amendments) or pm.has_long_form_content:
        lines += _long_form_lines(pm)
    if pm.owner_sentiment:
        lines += ["", "## Owner sentiment", "", *[f"> {line}" for line in
                                                   pm.owner_sentiment.splitlines()]]
        if pm.owner_sentiment_by:
            lines += [">", f"> — {pm.owner_sentiment_by}"]
    lines += _scan_lines(list(pm.scan_answers.all()))
    if amendments:
        lines += ["", "## Amendments"]
        for amendment in amendments:
            heading = f"### {_utc(amendment.amended_utc)}"
            if amendment.section:
                heading += f" — adds to {Section(amendment.section).label}"
            lines += ["", heading, ""]
            figures = _figure_lines(amendment.impact_usd, amendment.impact_users,
                                    amendment.impact_duration_minutes, only_set=True)
            if figures:
                lines += [*figures, ""]
            lines += [amendment.note]
    return "\n".join(lines).rstrip() + "\n"


def _figure_lines(usd, users, minutes, only_set: bool = False) -> list[str]:
    """'- Financial (USD): $78,947' etc.; unset figures read '(not stated)' or are left out."""
    lines = []
    for label, value, text in (
        ("Financial (USD)", usd, f"${format_usd(usd)}" if usd is not None else ""),
        ("Users affected", users, str(users) if users is not None else ""),
        ("Duration", minutes, format_minutes(minutes)),
    ):
        if value is not None:
            lines.append(f"- {label}: {text}")
        elif not only_set:
            lines.append(f"- {label}: (not stated)")
    return lines


def _long_form_lines(pm: Postmortem) -> list[str]:
    lines = ["", f"## {FIELD_LABELS['impact']}", ""]
    lines += _figure_lines(pm.impact_usd, pm.impact_users, pm.impact_duration_minutes)
    if pm.impact_description:
        lines += ["", pm.impact_description]
    for key in ("what_went_well", "what_went_wrong", "lessons_learned"):
        lines += ["", f"## {FIELD_LABELS[key]}", "", getattr(pm, key) or "(not in the record)"]
    return lines


def _scan_lines(answers) -> list[str]:
    """The failure-mode scan as a table in question order ([] when nothing is answered)."""
    if not answers:
        return []
    by_mode = {answer.mode: answer for answer in answers}
    lines = ["", "## Failure-mode scan", "", "| # | Failure mode | Answer | Note |",
             "|---|---|---|---|"]
    for mode in FAILURE_MODES:
        answer = by_mode.get(mode.slug)
        lines.append(f"| {mode.number} | {mode.name} | "
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
        .prefetch_related("timeline_entries", "contributing_factors", "references", "amendments",
                          "scan_answers")
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
