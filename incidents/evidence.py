"""Shipping evidence of an action item, by type: what each type must point at.

Rule: docs/rules.md#evidence-types (close-out verification "requires evidence
(commit hash, test name, hook filename) for each action item"):

    rule       rules_file                      the rules file that contains the rule
    hook       hook_file, commit_sha           the hook and the commit that added it
    test       test_name, commit_sha, [ci_run_link]
    criterion  contract_path, criterion_text   the contract/template and the criterion
    memory     memory_file, last_modified_utc  the memory file and when it last changed

Each may also name a `repository` configured in SCARLOG_GIT_REPOS, to be verified there.
Paths are repository paths (relative, "/"-separated, no ".."); SHAs are 7–40 hex digits;
last_modified_utc is read by core.utc_times.parse_utc (no offset means UTC; stored in
UTC). clean_evidence() returns the normalized dict or raises EvidenceError naming the field.
"""
import re
from datetime import timedelta

from django.utils import timezone

from core.record_types import shown
from core.utc_times import parse_utc
from core.web_links import link_problem

# A file's last change cannot lie ahead; this much allows for a clock a little fast.
FUTURE_SLACK = timedelta(minutes=5)
SHA = re.compile(r"^[0-9a-fA-F]{7,40}$")
MAX_TEXT = 500

FIELDS = {
    "rule": ("rules_file",),
    "hook": ("hook_file", "commit_sha"),
    "test": ("test_name", "commit_sha"),
    "criterion": ("contract_path", "criterion_text"),
    "memory": ("memory_file", "last_modified_utc"),
}
# "repository" names a clone in SCARLOG_GIT_REPOS to verify against (incidents.git_verify).
OPTIONAL_FIELDS = {
    "rule": ("repository",), "hook": ("repository",), "test": ("ci_run_link", "repository"),
    "criterion": ("repository",), "memory": ("repository",),
}
LABELS = {
    "rules_file": "rules file", "hook_file": "hook file", "commit_sha": "commit SHA",
    "test_name": "test name", "ci_run_link": "CI run link", "contract_path": "contract path",
    "criterion_text": "criterion text", "memory_file": "memory file",
    "last_modified_utc": "last modified (UTC)", "repository": "repository",
}
PATH_FIELDS = {"rules_file", "hook_file", "contract_path", "memory_file"}


class EvidenceError(ValueError):
    """Malformed shipping evidence; `field` names the evidence field at fault."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


def _repository_path(field: str, value: str) -> str:
    label = LABELS[field]
    if value.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z]:[\\/]", value):
        raise EvidenceError(field, f"{label} {value!r} is an absolute path; give the path "
                                   "inside the repository, such as rules/cloud-training.md.")
    if "\\" in value:
        raise EvidenceError(
            field, f"{label} {value!r} uses backslashes; separate folders with '/'."
        )
    if ".." in value.split("/"):
        raise EvidenceError(field, f"{label} {value!r} leaves the repository with '..'.")
    return value


def _timestamp(field: str, value: str) -> str:
    """The time as ISO 8601 UTC, read like every UTC input (docs/rules.md#input-utc-times);
    EvidenceError(field) for a time more than FUTURE_SLACK after now, since a file cannot
    have changed in the future (docs/rules.md#evidence-format)."""
    try:
        parsed = parse_utc(value)
    except ValueError as exc:  # core.limits.OutOfRange included: the message quotes the value
        raise EvidenceError(field, f"{LABELS[field]}: {exc}") from None
    now = timezone.now()
    if parsed > now + FUTURE_SLACK:
        raise EvidenceError(field, f"{LABELS[field]} {parsed:%Y-%m-%d %H:%M} UTC is in the "
                                   f"future (it is now {now:%Y-%m-%d %H:%M} UTC): give when "
                                   "the file last changed.")
    return parsed.isoformat()


def clean_evidence(kind: str, data: dict) -> dict:
    """The evidence for an item of `kind`, checked and normalized (str values, UTC time).

    Raises EvidenceError(field) for a missing or malformed field, and for unknown fields.
    """
    if kind not in FIELDS:
        raise EvidenceError("kind", f"type {kind!r} is not one of {', '.join(FIELDS)}.")
    required, optional = FIELDS[kind], OPTIONAL_FIELDS.get(kind, ())
    unknown = sorted(set(data) - set(required) - set(optional))
    if unknown:
        raise EvidenceError(unknown[0], f"{unknown[0]!r} is not evidence for a {kind} item; "
                                        f"it takes {', '.join(required + optional)}.")
    cleaned = {}
    for field in required + optional:
        value = data.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            if field in optional:
                continue
            raise EvidenceError(field, f"{LABELS[field]} is required to ship a {kind} item.")
        if not isinstance(value, str):
            raise EvidenceError(field, f"{LABELS[field]} must be text.")
        value = value.strip()
        if len(value) > MAX_TEXT or "\x00" in value:
            raise EvidenceError(field, f"{LABELS[field]} is longer than {MAX_TEXT} characters "
                                       "or holds a NUL character.")
        if field in PATH_FIELDS:
            value = _repository_path(field, value)
        elif field == "commit_sha" and not SHA.match(value):
            raise EvidenceError(field, f"commit SHA {value!r} is not 7–40 hexadecimal characters.")
        elif field == "ci_run_link" and (problem := link_problem(value)) is not None:
            raise EvidenceError(field, f"CI run link {shown(value)} {problem}.")
        elif field == "last_modified_utc":
            value = _timestamp(field, value)
        cleaned[field] = value.lower() if field == "commit_sha" else value
    return cleaned


def describe_missing(kind: str) -> str:
    """What evidence an open item of `kind` still lacks, for gate and dashboard messages."""
    return "needs " + " + ".join(LABELS[field] for field in FIELDS[kind])
