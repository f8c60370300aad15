"""Which runbooks, knowledge-base entries and policies apply to a file of the repository.

Rule: docs/rules.md#mcp-guidance. A path is repository-relative ("inference/inference.py";
a leading "./" or "/" is dropped, "\\" read as "/", ".." refused). It is matched against a
pattern (a runbook's key_files, an entry's reference_files) when they are equal, when the
pattern is a folder the path lies under ("backend/app/" or "backend/app"), or when the
pattern holds a shell wildcard (*, ?, [) that fnmatch matches to the whole path.

- A runbook applies when one of its key_files matches, or the path is the runbook's own
  file (its path, with or without the docs root DOCS_PREFIX).
- A knowledge-base entry applies when one of its reference_files matches, or names (under
  DOCS_PREFIX) a runbook that applies.
- A policy applies when it traces to a postmortem that an applying runbook or entry also
  traces to: the same scar.
"""
import fnmatch
from dataclasses import dataclass, field

from knowledge.models import KnowledgeEntry, Policy
from runbooks.models import DOCS_PREFIX, Runbook

MAX_PATH = 500
WILDCARDS = ("*", "?", "[")


class PathError(ValueError):
    """The path cannot be matched (empty, too long, holding NUL or a ".." part)."""

    field = "path"


def clean_path(path: str) -> str:
    """`path` as a repository-relative "/"-separated path; PathError says what is wrong."""
    cleaned = path.strip().replace("\\", "/")
    while cleaned.startswith(("./", "/")):
        cleaned = cleaned.removeprefix("./").lstrip("/")
    if not cleaned or len(cleaned) > MAX_PATH or "\x00" in cleaned:
        raise PathError(f"give a file path of the repository, at most {MAX_PATH} characters.")
    if ".." in cleaned.split("/"):
        raise PathError(f"{cleaned[:80]!r} leaves the repository (a '..' part).")
    return cleaned


def matches(pattern: str, path: str) -> bool:
    """Whether the cleaned `path` matches `pattern` (equal, under a folder, or wildcard)."""
    pattern = pattern.strip().replace("\\", "/").removeprefix("./").lstrip("/")
    if not pattern:
        return False
    if path == pattern or path.startswith(pattern.rstrip("/") + "/"):
        return True
    return any(mark in pattern for mark in WILDCARDS) and fnmatch.fnmatchcase(path, pattern)


@dataclass
class Applying:
    """What applies to a path, each with why (a sentence naming the matching pattern)."""

    runbooks: list[tuple[Runbook, str]] = field(default_factory=list)
    knowledge: list[tuple[KnowledgeEntry, str]] = field(default_factory=list)
    policies: list[tuple[Policy, str]] = field(default_factory=list)


def applying(path: str, postmortems_prefetch) -> Applying:
    """The runbooks, entries and policies that apply to the cleaned `path`, in their
    usual order; each row has its postmortems prefetched with `postmortems_prefetch`
    (a Prefetch("postmortems", queryset=the postmortems the reader may see)), and policies
    apply only through those postmortems."""
    found = Applying()
    runbooks = Runbook.objects.prefetch_related(postmortems_prefetch).order_by("path")
    by_doc = {}
    for runbook in runbooks:
        hit = next((pattern for pattern in runbook.key_files if matches(pattern, path)), None)
        if hit is not None:
            why = f"key file {hit!r}"
        elif path in (runbook.path, DOCS_PREFIX + runbook.path):
            why = "it is the runbook's own file"
        else:
            continue
        found.runbooks.append((runbook, why))
        by_doc[DOCS_PREFIX + runbook.path] = runbook
    entries = KnowledgeEntry.objects.prefetch_related(postmortems_prefetch)
    for entry in entries:
        hit = next((pattern for pattern in entry.reference_files if matches(pattern, path)), None)
        via = next((ref for ref in entry.reference_files if ref.removeprefix("./") in by_doc), None)
        if hit is not None:
            found.knowledge.append((entry, f"reference file {hit!r}"))
        elif via is not None:
            runbook = by_doc[via.removeprefix("./")]
            found.knowledge.append((entry, f"references runbook {runbook.key} ({via})"))
    scars = {}
    for target, _why in [*found.runbooks, *found.knowledge]:
        label = target.key
        for pm in target.postmortems.all():
            scars.setdefault(pm.pk, label)
    if scars:
        policies = (Policy.objects.filter(postmortems__in=list(scars)).distinct()
                    .prefetch_related("origins", postmortems_prefetch).order_by("number"))
        for policy in policies:
            shared = next(pm.pk for pm in policy.postmortems.all() if pm.pk in scars)
            found.policies.append(
                (policy, f"traces to postmortem {shared}, as {scars[shared]} does"))
    return found
