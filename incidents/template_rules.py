"""The rules of the seven-field template, checked in one place.

Rule: docs/rules.md#template-fields
(summary ≤ 40 words; timeline 5–20 rows; one root-cause label; 3–5 contributing
factors; fix linked to a commit SHA or "no change; documented and deferred" with a
ticket link; one prevention paragraph; 3–6 references).

check_postmortem() returns, for each of the seven fields in template order, the list of
messages that keep it from being complete (an empty list means complete). Finalize
refuses while any list is non-empty; the draft form shows the messages beside each
field as it is typed; an imported legacy record shows them as its gaps.
"""
import re
from dataclasses import dataclass

from core import web_links
from incidents import blameless, fields, vocabulary
from incidents.models import (
    DEFERRED_FIX_TEXT,
    Postmortem,
    Reference,
    RootCause,
    Section,
    Substitution,
    fix_is_deferred,
)

SUMMARY_MAX_WORDS = 40
TIMELINE_ROWS = (5, 20)
FACTOR_COUNT = (3, 5)
REFERENCE_COUNT = (3, 6)

SHA_PATTERN = re.compile(r"^[0-9a-fA-F]{7,40}$")

# The seven fields, (key, label) in template order (the field registry, incidents.fields).
FIELDS = [(field.key, field.label) for field in fields.SEVEN]
# The long-form sections (docs/rules.md#longform-sections), after the seven fields; mandatory
# only when the postmortem's template is long-form.
LONG_FORM_SECTIONS = [(field.key, field.label) for field in fields.LONG_FORM]
FIELD_LABELS = fields.labels()
LONG_FORM_KEYS = tuple(key for key, _ in LONG_FORM_SECTIONS)


@dataclass(frozen=True)
class FieldStatus:
    """One template field's state: key (e.g. "timeline"), label, and its messages."""

    key: str
    label: str
    messages: list[str]

    @property
    def complete(self) -> bool:
        return not self.messages


def is_commit_sha(value: str) -> bool:
    """True when `value` is 7 to 40 hexadecimal characters (an abbreviated or full SHA)."""
    return bool(SHA_PATTERN.match(value))


def is_web_link(value: str) -> bool:
    """True when `value` is an absolute http(s) URL with a host (core.web_links;
    docs/rules.md#input-links)."""
    return web_links.is_web_link(value)


def _count_message(label: str, count: int, noun: str, bounds: tuple[int, int]) -> list[str]:
    low, high = bounds
    if low <= count <= high:
        return []
    plural = noun if count == 1 else noun + "s"
    return [f"{label} has {count} {plural}; the template asks for {low} to {high}."]


# The row-count rules of the template: (label, noun, (low, high)) by field key.
ROW_COUNT_RULES = {
    "timeline": ("Timeline", "row", TIMELINE_ROWS),
    "contributing_factors": ("Contributing factors", "bullet", FACTOR_COUNT),
    "references": ("References", "link", REFERENCE_COUNT),
}


def row_count_messages(key: str, count: int) -> list[str]:
    """The row-count rule of field `key` (a ROW_COUNT_RULES key) for `count` rows: [] when
    within bounds, else one message. What the postmortem list shows from counted rows,
    and the first check of check_timeline / check_contributing_factors / check_references.
    Raises KeyError for another key."""
    label, noun, bounds = ROW_COUNT_RULES[key]
    return _count_message(label, count, noun, bounds)


def check_summary(summary: str) -> list[str]:
    """Summary: present and at most 40 words."""
    words = len(summary.split())
    if words == 0:
        return ["Summary is empty; write one or two factual sentences of at most 40 words."]
    if words > SUMMARY_MAX_WORDS:
        return [f"Summary has {words} words; the template asks for at most {SUMMARY_MAX_WORDS}."]
    return []


def check_timeline(entries) -> list[str]:
    """Timeline: 5–20 rows, each with a UTC time, an event and a trace_id.

    `entries` is the postmortem's TimelineEntry rows in display (time) order; row numbers
    in the messages count from 1 in that order.
    """
    messages = row_count_messages("timeline", len(entries))
    for number, entry in enumerate(entries, start=1):
        missing = [
            name
            for name, value in (("UTC time", entry.utc), ("event", entry.event.strip()),
                                ("trace_id", entry.trace_id.strip()))
            if not value
        ]
        if missing:
            messages.append(f"Timeline row {number} has no {' and no '.join(missing)}.")
    return messages


def check_root_cause(root_cause: str) -> list[str]:
    """Root cause: exactly one label of the closed vocabulary."""
    if root_cause in RootCause.values:
        return []
    return [
        "Root cause is not chosen; pick one of " + ", ".join(RootCause.values) + "."
    ]


def check_contributing_factors(factors) -> list[str]:
    """Contributing factors: 3–5 bullets, none empty, each through the substitution test.

    Only structural factors count toward 3–5 (docs/rules.md#blameless-substitution: "List
    only the structural ones"); a factor not yet marked structural or personal is a gap.
    """
    messages = row_count_messages("contributing_factors", len(factors))
    for number, factor in enumerate(factors, start=1):
        if not factor.text.strip():
            messages.append(f"Contributing factor {number} is empty.")
    unmarked = [n for n, f in enumerate(factors, start=1) if not f.substitution]
    if unmarked:
        numbers = ", ".join(str(n) for n in unmarked)
        messages.append(
            f"Contributing factor{'s' if len(unmarked) > 1 else ''} {numbers} not yet through "
            "the substitution test: would it have failed with someone else at the keyboard? "
            "Mark each structural or personal."
        )
    structural = sum(f.substitution == Substitution.STRUCTURAL for f in factors)
    low, high = FACTOR_COUNT
    if not messages and not low <= structural <= high:
        messages.append(
            f"Contributing factors has {structural} structural factor"
            f"{'' if structural == 1 else 's'}; the template asks for {low} to {high} "
            "(personal ones do not count)."
        )
    return messages


def check_fix(sha: str, description: str, ticket_link: str) -> list[str]:
    """Fix implemented: a commit SHA with the change described, or the deferred text + ticket
    link."""
    sha, description, ticket_link = sha.strip(), description.strip(), ticket_link.strip()
    if fix_is_deferred(sha, description):
        sha = "" if sha == DEFERRED_FIX_TEXT else sha
        messages = []
        if not ticket_link:
            messages.append(f'Fix reads "{DEFERRED_FIX_TEXT}" but has no ticket link.')
        elif not is_web_link(ticket_link):
            messages.append(f"Fix ticket link {ticket_link!r} is not an http(s) link.")
        if sha:
            messages.append(
                "Fix has a commit SHA and also reads "
                f'"{DEFERRED_FIX_TEXT}"; keep one of the two.'
            )
        return messages
    messages = []
    if not sha:
        messages.append(
            "Fix implemented has no commit SHA; give the fix commit (7–40 hex characters) "
            f'or write "{DEFERRED_FIX_TEXT}" with a ticket link.'
        )
    elif sha == DEFERRED_FIX_TEXT:
        messages.append(f'Fix commit SHA reads "{DEFERRED_FIX_TEXT}" beside a description of '
                        "a change; a deferred fix has no SHA and no other description.")
    elif not is_commit_sha(sha):
        messages.append(f"Fix commit SHA {sha!r} is not 7–40 hexadecimal characters.")
    if not description:
        messages.append("Fix implemented does not describe the change.")
    return messages


def check_prevention(prevention: str) -> list[str]:
    """Prevention: one paragraph (no blank line inside)."""
    text = prevention.strip()
    if not text:
        return ["Prevention is empty; say how a similar failure would be detected earlier."]
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    if len(paragraphs) > 1:
        return [f"Prevention has {len(paragraphs)} paragraphs; the template asks for one."]
    return []


def check_reference(number: int, reference: Reference) -> list[str]:
    """One reference: its value fits its kind (SHA, http(s) link, or a bare identifier)."""
    value = reference.value.strip()
    label = f"Reference {number} ({reference.get_kind_display()})"
    if not value:
        return [f"{label} is empty."]
    if reference.kind == Reference.Kind.COMMIT and not is_commit_sha(value):
        return [f"{label} {value!r} is not 7–40 hexadecimal characters."]
    if reference.kind in Reference.LINK_KINDS and not is_web_link(value):
        return [f"{label} {value!r} is not an http(s) link."]
    if reference.kind == Reference.Kind.TRACE_ID and any(c.isspace() for c in value):
        return [f"{label} {value!r} contains spaces; a trace_id is one token."]
    return []


def check_references(references) -> list[str]:
    """References: 3–6 typed links, each valid for its kind."""
    messages = row_count_messages("references", len(references))
    for number, reference in enumerate(references, start=1):
        messages.extend(check_reference(number, reference))
    return messages


def check_impact(usd, users, duration_minutes) -> list[str]:
    """Impact (long-form): all three figures given (0 is an answer; empty is not)."""
    missing = [
        label for label, value in (("financial impact (USD)", usd), ("users affected", users),
                                   ("duration (minutes)", duration_minutes))
        if value is None
    ]
    if not missing:
        return []
    return ["Impact has no " + ", no ".join(missing)
            + "; the long-form template asks for all three (0 is a valid figure)."]


def check_section(label: str, text: str) -> list[str]:
    """A long-form text section (what went well / wrong, lessons learned): not empty."""
    if text.strip():
        return []
    return [f"{label} is empty; the long-form template asks for it."]


def check_long_form(postmortem: Postmortem) -> list[FieldStatus]:
    """The four long-form sections' statuses, in order (mandatory for long-form only)."""
    messages = {
        "impact": check_impact(postmortem.impact_usd, postmortem.impact_users,
                               postmortem.impact_duration_minutes),
    } | {
        key: check_section(FIELD_LABELS[key], getattr(postmortem, key))
        for key in LONG_FORM_KEYS if key != Section.IMPACT
    }
    return [FieldStatus(key, label, messages[key]) for key, label in LONG_FORM_SECTIONS]


# The seven-field template's fields held in the postmortem row itself.
_ROW_FIELD_CHECKS = {
    "summary": lambda pm: check_summary(pm.summary),
    "root_cause": lambda pm: check_root_cause(pm.root_cause),
    "fix": lambda pm: check_fix(pm.fix_commit_sha, pm.fix_description, pm.fix_ticket_link),
    "prevention": lambda pm: check_prevention(pm.prevention),
}
# The optional fields (owner sentiment, and any added to the registry as OPTIONAL).
OPTIONAL_KEYS = tuple(item.key for item in fields.OPTIONAL_FIELDS)
# Every field held in the postmortem row, whose status needs no other row.
SCALAR_FIELD_KEYS = frozenset(_ROW_FIELD_CHECKS) | frozenset(LONG_FORM_KEYS)


def check_optional_field(postmortem: Postmortem, key: str) -> FieldStatus:
    """An optional field of the registry (owner sentiment, or any added one): complete when
    its first input holds text, never required (docs/rules.md#template-owner-sentiment)."""
    first_input = fields.field(key).inputs[0].name
    text = str(getattr(postmortem, first_input) or "")
    return FieldStatus(key, FIELD_LABELS[key], [] if text.strip() else ["empty"])


def check_scalar_field(postmortem: Postmortem, key: str) -> FieldStatus:
    """The status of one field held in the postmortem row (a key of SCALAR_FIELD_KEYS, or an
    optional field of the registry), computed exactly as check_postmortem() /
    check_long_form() do.

    What an autosave answers with: saving one such field changes no other field's status.
    Raises KeyError for another key.
    """
    if key in OPTIONAL_KEYS:
        return check_optional_field(postmortem, key)
    if key not in SCALAR_FIELD_KEYS:
        raise KeyError(key)
    if key in LONG_FORM_KEYS:
        return next(status for status in check_long_form(postmortem) if status.key == key)
    return FieldStatus(key, FIELD_LABELS[key], _ROW_FIELD_CHECKS[key](postmortem))


def progress_keys(postmortem: Postmortem) -> list[str]:
    """The keys of the fields the progress panel counts, in order: the seven, then the
    four long-form sections when the postmortem's template is long-form."""
    keys = [key for key, _ in FIELDS]
    return keys + list(LONG_FORM_KEYS) if postmortem.is_long_form else keys


def check_postmortem(postmortem: Postmortem) -> list[FieldStatus]:
    """Check every field the postmortem's template asks for; a FieldStatus each, in order.

    Seven statuses for the seven-field template; eleven (the seven, then Impact, What went
    well, What went wrong, Lessons learned) for the long-form one.
    Reads postmortem.timeline_entries / contributing_factors / references through
    .all(), so callers that list many postmortems should prefetch those relations.
    """
    messages = {key: check(postmortem) for key, check in _ROW_FIELD_CHECKS.items()} | {
        "timeline": check_timeline(list(postmortem.timeline_entries.all())),
        "contributing_factors": check_contributing_factors(
            list(postmortem.contributing_factors.all())
        ),
        "references": check_references(list(postmortem.references.all())),
    }
    statuses = [FieldStatus(key, label, messages[key]) for key, label in FIELDS]
    if postmortem.is_long_form:
        statuses += check_long_form(postmortem)
    return statuses


def gaps(postmortem: Postmortem) -> list[str]:
    """All messages of check_postmortem(), flattened in template order ([] when complete)."""
    return [message for status in check_postmortem(postmortem) for message in status.messages]


# What finalize needs beyond the template fields (issue 3): the scan, the blameless
# review of flagged factors, and no field left "pending trace review".
RECORD_CHECKS = [
    ("scan", "Failure-mode scan"),
    ("blameless", "Blameless check"),
    ("pending", "Pending trace review"),
]
FIELD_LABELS |= dict(RECORD_CHECKS)


def check_scan(answers, questions) -> list[str]:
    """Failure-mode scan: every question of the postmortem's set answered (yes, no or not
    applicable).

    `answers` are the postmortem's ScanAnswer rows, `questions` the ScanQuestion rows it
    must answer (incidents.vocabulary.scan_questions). Rule: docs/rules.md#scan-answers.
    """
    answered = {answer.mode for answer in answers}
    missing = [mode for mode in questions if mode.slug not in answered]
    if not missing:
        return []
    names = ", ".join(f"{mode.number} {mode.name}" for mode in missing[:5])
    more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
    total = len(questions)
    return [(f"Failure-mode scan has {total - len(missing)} of {total} questions answered; "
             f"unanswered: {names}{more}.")]


def flagged_factors(factors, names=()) -> list[tuple[int, object, list]]:
    """(number, factor, findings) for each factor with blame-flavoured text (reviewed or not)."""
    flagged = []
    for number, factor in enumerate(factors, start=1):
        findings = blameless.check(factor.text, names)
        if findings:
            flagged.append((number, factor, findings))
    return flagged


def check_blameless(flagged) -> list[str]:
    """Blameless check: no contributing factor still flagged unless the facilitator reviewed it.

    `flagged` is flagged_factors()'s answer.
    """
    return [
        f"Contributing factor {number} reads as blame (\u201c{findings[0].phrase}\u201d); "
        f"rewrite it as a system condition, e.g. \u201c{findings[0].rewrite}\u201d, or have "
        "the facilitator mark it reviewed."
        for number, factor, findings in flagged
        if not factor.blameless_reviewed
    ]


def check_pending(marks) -> list[str]:
    """Pending trace review: no field still marked incomplete (the meeting reconvenes)."""
    return [
        f"{FIELD_LABELS.get(mark.field, mark.field)} is marked incomplete, pending trace "
        "review; clear the mark once the traces are reviewed."
        for mark in marks
    ]


def check_record(postmortem: Postmortem, flagged) -> list[FieldStatus]:
    """The checks finalize adds to the template's: scan, blameless, pending marks.

    `flagged` is flagged_factors() of the postmortem's contributing factors (computed
    once by callers that also show the findings). Reads scan_answers and pending_marks
    through .all().
    """
    messages = {
        "scan": check_scan(list(postmortem.scan_answers.all()),
                           vocabulary.scan_questions(postmortem)),
        "blameless": check_blameless(flagged),
        "pending": check_pending(list(postmortem.pending_marks.all())),
    }
    return [FieldStatus(key, label, messages[key]) for key, label in RECORD_CHECKS]
