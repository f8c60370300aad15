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
