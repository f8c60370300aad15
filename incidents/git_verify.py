"""Shipping evidence checked against a local clone: the commit exists, the file is in it.

Configured by settings.SCARLOG_GIT_REPOS ({"name": "/path/to/clone"}, from the environment
variable of the same name). Evidence that names a `repository` is verified with `git`
(read-only: rev-parse and cat-file); evidence without one is kept as anchors only.
verify() returns the verification record stored on the item, or raises EvidenceError
naming the field that does not hold.
"""
import subprocess
from datetime import UTC, datetime

from django.conf import settings

from incidents.evidence import PATH_FIELDS, EvidenceError

GIT_TIMEOUT_SECONDS = 10
# What each path-naming evidence field points at, as an owner says it.
FILE_NOUNS = {"rules_file": "rules file", "hook_file": "hook file",
              "contract_path": "contract file", "memory_file": "memory file",
              "test_name": "test file"}


def _git(clone: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", clone, *args], capture_output=True, text=True,
                          timeout=GIT_TIMEOUT_SECONDS, check=False)


def _file_of(evidence: dict) -> tuple[str, str] | None:
    """(field, repository path) the evidence points at, if any."""
    for field in sorted(PATH_FIELDS):
        if field in evidence:
            return field, evidence[field]
    test_name = evidence.get("test_name", "")
    if "::" in test_name:
        return "test_name", test_name.split("::", 1)[0]
    return None


def verify(evidence: dict) -> dict | None:
    """Check `evidence` (cleaned) against its repository; None when it names none."""
    name = evidence.get("repository")
    if not name:
        return None
    repos = settings.SCARLOG_GIT_REPOS
    if name not in repos:
        known = ", ".join(sorted(repos)) or "none"
        raise EvidenceError("repository", f"Repository {name!r} is not in SCARLOG_GIT_REPOS "
                                          f"(configured: {known}).")
    clone = repos[name]
    wanted = evidence.get("commit_sha", "HEAD")
    resolved = _git(clone, "rev-parse", "--verify", "--quiet", f"{wanted}^{{commit}}")
    if resolved.returncode != 0:
        raise EvidenceError("commit_sha", f"Commit {wanted!r} is not in repository {name!r}.")
    commit = resolved.stdout.strip()
    checked = {"repository": name, "commit": commit,
               "checked_utc": datetime.now(UTC).isoformat(timespec="seconds")}
    target = _file_of(evidence)
    if target is not None:
        field, path = target
        if _git(clone, "cat-file", "-e", f"{commit}:{path}").returncode != 0:
            raise EvidenceError(field, f"{path!r} does not exist in repository {name!r} at "
                                       f"commit {commit[:12]}.")
        checked["file"] = path
    return checked


def still_holds(evidence: dict, verification: dict) -> str | None:
    """Re-check evidence `verify` accepted (docs/rules.md#evidence-reverified); None while
    it holds, else why not, in words an owner acts on.

    Holds when the verified commit is still reachable from the clone's default branch
    (HEAD) and the file the evidence names still exists at HEAD. Raises EvidenceError
    (field "repository") when the repository is no longer configured or git cannot read
    the clone: the caller skips the item rather than guessing.
    """
    name = verification["repository"]
    repos = settings.SCARLOG_GIT_REPOS
    if name not in repos:
        raise EvidenceError("repository", f"Repository {name!r} is no longer in "
                                          "SCARLOG_GIT_REPOS; its evidence was not re-checked.")
    clone = repos[name]
    head = _git(clone, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    if head.returncode != 0:
        raise EvidenceError("repository", f"Repository {name!r} ({clone}) has no readable "
                                          f"HEAD: {head.stderr.strip() or 'git failed'}.")
    head_sha = head.stdout.strip()
    commit = verification["commit"]
    if _git(clone, "cat-file", "-e", f"{commit}^{{commit}}").returncode != 0:
        return f"commit {commit[:12]} is no longer in repository {name} (HEAD {head_sha[:12]})"
    if _git(clone, "merge-base", "--is-ancestor", commit, head_sha).returncode != 0:
        return (f"commit {commit[:12]} is no longer reachable from the default branch of "
                f"{name} (HEAD {head_sha[:12]})")
    target = _file_of(evidence)
    if target is not None:
        field, path = target
        if _git(clone, "cat-file", "-e", f"{head_sha}:{path}").returncode != 0:
            return f"the {FILE_NOUNS[field]} {path} is gone at {head_sha[:12]} in {name}"
    return None
