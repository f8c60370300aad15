"""The seed's append-only log: postmortems as JSON lines, amendments as JSON lines.

Rule: docs/rules.md#final-log.
A postmortem line holds the `Postmortem` dataclass fields, in this order: id,
created_utc, summary, timeline ([{utc, event, trace_id}]), root_cause,
contributing_factors ([str]), fix_commit_sha, prevention, trace_id, pr_link.
Scarlog adds keys only when a record carries more than those fields can say:
fix_description, fix_ticket_link, references ([{kind, value}]), and the long-form
sections (docs/rules.md#longform-sections): template ("long-form"; absent means seven-field),
impact ({usd: "78947.00" (a string, exact cents), users, duration_minutes, description},
each key only when set), what_went_well, what_went_wrong, lessons_learned; and what the
meeting adds (issue 3): failure_mode_scan ({mode slug: {answer: yes|no|na, note}}),
factor_substitution (structural|personal|"" per contributing factor, in order) and
owner_sentiment ({quote, by}). An amendment
line is {parent_id, amended_utc, note}, plus section and impact ({usd, users,
duration_minutes}) when it adds to a long-form section. Times are ISO 8601 with a UTC
offset. A record in the seed's format, without any of these keys, imports unchanged. A
deferred fix is fix_commit_sha "no change; documented and deferred" in the line and the
fix description with no SHA in the database (docs/rules.md#template-fix).

Importing is all or nothing: every line is checked first, errors are reported with
their file, line number and key, and nothing is written unless all lines pass. A record
whose id exists with the same content is skipped; with other content it is refused
("already exists; use amend instead").

The package: records (the lines' shapes as core.validation Records, read from the field
registry incidents.fields and the model's columns, and the content records they become),
reader (import_log) and writer (export_log).
"""
from incidents.jsonl.reader import ImportRefused, ImportResult, import_log
from incidents.jsonl.writer import export_log

__all__ = ["ImportRefused", "ImportResult", "export_log", "import_log"]
