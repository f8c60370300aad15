"""The postmortem log committed to a git repository (issue 18): the chain head outside the database.

When settings.SCARLOG_POSTMORTEM_REPO names a local git clone, every seal (finalize,
amendment) gets an outbox row (RepositoryCommit) in the seal's own transaction
(enqueue(), called by incidents.seals). After that transaction commits, the Celery task
incidents.tasks.commit_postmortem_records is queued; beat also runs it every minute, so a
task lost with Redis is made up for. commit_pending() then, in seal order and one row per
transaction (a PostgreSQL advisory lock keeps one committer at a time, so commits follow
the chain), writes

- postmortems/<YYYY-MM-DD-slug>.md: the postmortem's Markdown (with its amendments), and
- postmortems/<postmortem id>.jsonl: its log line, then one line per amendment, in the
  formats of log.jsonl and amendments.jsonl (incidents.jsonl.writer),

and commits them with the message "Postmortem <id> finalized|amended" and the trailers
"Seal: <content sha256>", "Chain head: <chain sha256>", "Seal-Id: <n>". The row is marked
with the commit's sha. A commit already in the history for that Seal-Id (the process died
after `git commit` but before marking the row) is only marked, never made twice. A failed
git command keeps the row pending with last_error and attempts + 1 and stops the run, so
later seals never overtake it. Pushing is the operator's choice.

compare_with_database() is verify_log's check of the database's chain against the
repository's history (incidents.management.commands.verify_log).
"""
import json
import logging
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import kombu.exceptions
import redis
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

GIT_TIMEOUT_SECONDS = 60
DIRECTORY = "postmortems"
# One advisory-lock key for "commit to the postmortem repository".
REPO_LOCK_KEY = 0x5CA2_107
TRAILER = re.compile(r"^(Seal|Chain head|Seal-Id): *(\S+) *$", re.MULTILINE)
log = logging.getLogger(__name__)


class RepositoryError(RuntimeError):
    """A git command failed; the message holds the command and its output."""


def enqueue(seal) -> None:
    """Add the outbox row of a just-appended `seal` (inside its transaction) and queue the
    task once the transaction commits; nothing when SCARLOG_POSTMORTEM_REPO is unset."""
    if not settings.SCARLOG_POSTMORTEM_REPO:
        return
    from incidents.models import RepositoryCommit

    RepositoryCommit.objects.create(seal=seal)
    transaction.on_commit(_queue_task)


def _queue_task() -> None:
    from incidents.tasks import commit_postmortem_records

    try:
        commit_postmortem_records.apply_async(retry=False)
    except (kombu.exceptions.OperationalError, redis.RedisError):
        # The broker is down: the row is kept, and the beat sweep commits it later.
        log.warning("commit_postmortem_records not queued; the next sweep commits it",
                    exc_info=True)


def git(repo: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run `git -C repo args…` (no shell); RepositoryError when it fails and `check`."""
    done = subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True,
                          timeout=GIT_TIMEOUT_SECONDS, check=False)
    if check and done.returncode != 0:
        raise RepositoryError(f"git {' '.join(args)} failed ({done.returncode}): "
                              f"{(done.stderr or done.stdout).strip()}")
    return done


@dataclass
class RepoSeal:
    """What one commit's message says about a seal."""

    seal_id: int
    content_sha256: str
    chain_sha256: str
    commit: str


def repository_seals(repo: str) -> list[RepoSeal]:
    """Every commit of HEAD's history carrying a Seal-Id trailer, oldest first."""
    git(repo, "rev-parse", "--git-dir")  # fails loudly when `repo` is no git repository
    if git(repo, "rev-parse", "--verify", "--quiet", "HEAD", check=False).returncode != 0:
        return []  # no commit yet
    out = git(repo, "log", "--reverse", "--format=%H%n%B%x00").stdout
    found = []
    for block in out.split("\x00"):
        block = block.strip()
        if not block:
            continue
        sha, _, body = block.partition("\n")
        trailers = dict(TRAILER.findall(body))
        if "Seal-Id" in trailers and trailers["Seal-Id"].isdigit():
            found.append(RepoSeal(int(trailers["Seal-Id"]), trailers.get("Seal", ""),
                                  trailers.get("Chain head", ""), sha))
    return found


def _commit_of(repo: str, seal_id: int) -> str | None:
    """The sha of the commit already made for seal `seal_id`, if any."""
    git(repo, "rev-parse", "--git-dir")  # fails loudly when `repo` is no git repository
    if git(repo, "rev-parse", "--verify", "--quiet", "HEAD", check=False).returncode != 0:
        return None  # no commit yet
    out = git(repo, "log", "-F", f"--grep=Seal-Id: {seal_id}", "--format=%H%n%B%x00").stdout
    for block in out.split("\x00"):
        sha, _, body = block.strip().partition("\n")
        if re.search(rf"^Seal-Id: *{seal_id} *$", body, re.MULTILINE):
            return sha
    return None


def _author() -> tuple[str, str]:
    match = re.fullmatch(r"\s*(.*?)\s*<([^>]+)>\s*", settings.SCARLOG_POSTMORTEM_REPO_AUTHOR)
    if match is None:
        return "Scarlog", "scarlog@localhost"
    return match.group(1) or "Scarlog", match.group(2)


def message(seal) -> str:
    what = "amended" if seal.kind == "amendment" else "finalized"
    subject = f"Postmortem {seal.postmortem_id} {what}"
    if seal.amendment_id:
        subject += f" (amendment {seal.amendment_id})"
    return (f"{subject}\n\nSeal: {seal.content_sha256}\nChain head: {seal.chain_sha256}\n"
            f"Seal-Id: {seal.id}\n")


def write_files(repo: str, postmortem_id) -> list[str]:
    """Write the postmortem's Markdown and JSONL under postmortems/; the paths written."""
    from incidents.jsonl.records import AmendmentRecord, PostmortemRecord
    from incidents.jsonl.writer import amendment_json, postmortem_json
    from incidents.markdown_export import postmortem_filename, postmortem_markdown
    from incidents.models import Postmortem

    pm = (Postmortem.objects.prefetch_related("timeline_entries", "contributing_factors",
                                              "references", "amendments", "scan_answers")
          .get(pk=postmortem_id))
    directory = Path(repo) / DIRECTORY
    directory.mkdir(exist_ok=True)
    markdown = f"{DIRECTORY}/{postmortem_filename(pm)}"
    jsonl = f"{DIRECTORY}/{pm.pk}.jsonl"
    (Path(repo) / markdown).write_text(postmortem_markdown(pm), encoding="utf-8")
    lines = [postmortem_json(PostmortemRecord.from_postmortem(pm))]
    lines += [amendment_json(AmendmentRecord.from_amendment(a))
              for a in pm.amendments.order_by("amended_utc", "id")]
    (Path(repo) / jsonl).write_text(
        "".join(json.dumps(obj, ensure_ascii=False) + "\n" for obj in lines), encoding="utf-8")
    return [markdown, jsonl]


def _commit(repo: str, seal) -> str:
    """Write and commit `seal`'s record; the new commit's sha."""
    paths = write_files(repo, seal.postmortem_id)
    git(repo, "add", "--", *paths)
    name, email = _author()
    git(repo, "-c", f"user.name={name}", "-c", f"user.email={email}", "commit",
        "--allow-empty", "--no-verify", "-q", "-m", message(seal), "--", *paths)
    return git(repo, "rev-parse", "HEAD").stdout.strip()


@dataclass
class CommitResult:
    committed: list[int] = field(default_factory=list)  # seal ids committed now
    marked: list[int] = field(default_factory=list)  # already in the history: only marked
    failed: int | None = None  # the seal id whose commit failed (the run stopped there)
    skipped: str = ""  # why nothing was tried

    def counts(self) -> dict:
        return {"committed": len(self.committed), "marked": len(self.marked),
                "failed": self.failed, "skipped": self.skipped}


def _next_row(result: CommitResult):
    """Lock and return the oldest pending row, or None (also when another run holds the
    repository lock). Call inside a transaction."""
    from incidents.models import RepositoryCommit

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [REPO_LOCK_KEY])
        if not cursor.fetchone()[0]:
            result.skipped = "another run is committing"
            return None
    return (RepositoryCommit.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("seal").filter(committed_utc__isnull=True).order_by("seal_id")
            .first())


def commit_pending(repo: str | None = None) -> CommitResult:
    """Commit every pending outbox row to `repo` (default SCARLOG_POSTMORTEM_REPO), in
    seal order; stops at the first failure (recorded on the row) and re-raises it."""
    from incidents.models import RepositoryCommit

    repo = repo if repo is not None else settings.SCARLOG_POSTMORTEM_REPO
    result = CommitResult()
    if not repo:
        result.skipped = "SCARLOG_POSTMORTEM_REPO is not set"
        return result
    while True:
        error = None
        with transaction.atomic():
            row = _next_row(result)
            if row is None:
                return result
            try:
                existing = _commit_of(repo, row.seal_id)
                sha = existing or _commit(repo, row.seal)
            except (RepositoryError, OSError, subprocess.SubprocessError) as exc:
                error = exc
            else:
                row.committed_utc, row.commit_sha = timezone.now(), sha
                row.attempts += 1
                row.last_error = ""
                row.save(update_fields=["committed_utc", "commit_sha", "attempts", "last_error"])
                (result.marked if existing else result.committed).append(row.seal_id)
        if error is not None:
            RepositoryCommit.objects.filter(pk=row.pk).update(
                attempts=row.attempts + 1, last_error=str(error)[:2000])
            result.failed = row.seal_id
            log.error("seal %s not committed to %s: %s", row.seal_id, repo, error)
            raise error


def compare_with_database(repo: str) -> list[str]:
    """The first difference between the database's chain and the repository's history, as
    one sentence (an empty list when they agree).

    The repository's seals must be the database's seals in order from the first one the
    repository holds (seals sealed before the repository was configured are not in it),
    each with the same content hash and chain head; seals still pending in the outbox
    at the tail are not a difference. Reads every seal (verify_log's job is to read).
    """
    from incidents.models import RepositoryCommit, Seal

    in_repo = repository_seals(repo)
    if not in_repo:
        return []
    by_id = {s.seal_id: s for s in in_repo}
    pending = set(RepositoryCommit.objects.filter(committed_utc__isnull=True)
                  .values_list("seal_id", flat=True))
    database_ids = set()
    for seal in Seal.objects.filter(id__gte=in_repo[0].seal_id).order_by("id").iterator():
        database_ids.add(seal.id)
        label = (f"seal {seal.id} (amendment {seal.amendment_id} of postmortem "
                 f"{seal.postmortem_id})" if seal.amendment_id else
                 f"seal {seal.id} (postmortem {seal.postmortem_id})")
        found = by_id.get(seal.id)
        if found is None:
            if seal.id in pending:
                continue
            return [f"{label}: not in the repository {repo}"]
        if found.content_sha256 != seal.content_sha256:
            return [(f"{label}: the repository's commit {found.commit[:12]} records seal "
                    f"{found.content_sha256[:16]}…, the database {seal.content_sha256[:16]}…: "
                    "the record was rewritten and re-sealed")]
        if found.chain_sha256 != seal.chain_sha256:
            return [(f"{label}: the repository's commit {found.commit[:12]} records chain head "
                    f"{found.chain_sha256[:16]}…, the database {seal.chain_sha256[:16]}…: "
                    "the chain was rewritten from here")]
    for found in in_repo:
        if found.seal_id not in database_ids:
            return [(f"seal {found.seal_id}: in the repository (commit {found.commit[:12]}, "
                    f"chain head {found.chain_sha256[:16]}…) but not in the database")]
    return []
