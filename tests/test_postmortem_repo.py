"""The postmortem log committed to a real git repository (issue 18): finalize and amend each
become one commit in postmortems/ (from the outbox, never twice), and verify_log compares
the database's chain with that history, so a re-sealed tail is caught."""
import json
import subprocess

import pytest
from django.core.management import CommandError, call_command

from incidents import postmortem_repo, seals, services
from incidents.markdown_export import postmortem_filename
from incidents.models import RepositoryCommit, Seal
from incidents.tasks import commit_postmortem_records
from tests.test_verify_log import behind_the_apps_back


def git(repo, *args) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture
def repo(tmp_path, settings):
    """An empty git repository named by SCARLOG_POSTMORTEM_REPO."""
    path = tmp_path / "postmortems-repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    settings.SCARLOG_POSTMORTEM_REPO = str(path)
    settings.SCARLOG_POSTMORTEM_REPO_AUTHOR = "Scarlog Test <scarlog@test.example>"
    return path


def commit_subjects(repo) -> list[str]:
    return git(repo, "log", "--reverse", "--format=%s").splitlines()


def run_verify_log(capsys, *args) -> tuple[bool, str]:
    try:
        call_command("verify_log", *args)
    except CommandError as error:
        return False, capsys.readouterr().out + str(error)
    return True, capsys.readouterr().out


def test_finalize_and_amend_each_become_one_commit(repo, complete_draft, alice, capsys):
    pm = services.finalize(complete_draft, alice)
    row = RepositoryCommit.objects.get()
    seal = Seal.objects.get()
    assert row.seal == seal and row.committed_utc is None

    assert commit_postmortem_records() == {"committed": 1, "marked": 0, "failed": None,
                                           "skipped": ""}
    row.refresh_from_db()
    assert row.committed_utc and row.commit_sha == git(repo, "rev-parse", "HEAD").strip()
    assert commit_subjects(repo) == [f"Postmortem {pm.pk} finalized"]
    body = git(repo, "log", "-1", "--format=%B")
    assert (f"Seal: {seal.content_sha256}\nChain head: {seal.chain_sha256}\n"
            f"Seal-Id: {seal.id}") in body
    assert git(repo, "log", "-1", "--format=%an <%ae>").strip() == (
        "Scarlog Test <scarlog@test.example>")
    files = sorted(git(repo, "ls-tree", "-r", "--name-only", "HEAD").split())
    markdown = f"postmortems/{postmortem_filename(pm)}"
    assert files == sorted([markdown, f"postmortems/{pm.pk}.jsonl"])
    assert "Position in SYNTHETIC_A" in (repo / markdown).read_text()
    lines = (repo / "postmortems" / f"{pm.pk}.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [str(pm.pk)]

    amendment = services.add_amendment(pm, alice, "The vendor confirmed the outage window.")
    assert commit_postmortem_records()["committed"] == 1
    assert commit_subjects(repo) == [f"Postmortem {pm.pk} finalized",
                                     f"Postmortem {pm.pk} amended (amendment {amendment.pk})"]
    lines = (repo / "postmortems" / f"{pm.pk}.jsonl").read_text().splitlines()
    assert json.loads(lines[1])["note"] == "The vendor confirmed the outage window."
    assert "The vendor confirmed the outage window." in (repo / markdown).read_text()

    # Nothing pending: a second run commits nothing.
    assert commit_postmortem_records()["committed"] == 0
    assert len(commit_subjects(repo)) == 2
    ok, out = run_verify_log(capsys)
    assert ok, out
    assert f"compared with {repo}" in out


def test_a_crash_after_the_commit_is_only_marked_on_the_next_run(repo, final_postmortem):
    assert commit_postmortem_records()["committed"] == 1
    row = RepositoryCommit.objects.get()
    sha = row.commit_sha
    # The process died after `git commit` but before the row was marked.
    RepositoryCommit.objects.filter(pk=row.pk).update(committed_utc=None, commit_sha="")
    assert commit_postmortem_records() == {"committed": 0, "marked": 1, "failed": None,
                                           "skipped": ""}
    assert len(commit_subjects(repo)) == 1
    row.refresh_from_db()
    assert row.committed_utc and row.commit_sha == sha


def test_a_git_failure_keeps_the_row_pending_with_its_error(repo, settings, final_postmortem):
    settings.SCARLOG_POSTMORTEM_REPO = str(repo / "missing")
    with pytest.raises(postmortem_repo.RepositoryError):
        commit_postmortem_records()
    row = RepositoryCommit.objects.get()
    assert row.committed_utc is None and row.attempts == 1 and "git" in row.last_error
    settings.SCARLOG_POSTMORTEM_REPO = str(repo)
    assert commit_postmortem_records()["committed"] == 1


def test_without_a_repository_no_outbox_row_is_written(settings, final_postmortem):
    settings.SCARLOG_POSTMORTEM_REPO = ""
    assert not RepositoryCommit.objects.exists()
    assert commit_postmortem_records()["skipped"] == "SCARLOG_POSTMORTEM_REPO is not set"


def test_verify_log_catches_a_resealed_tail_through_the_repository_and_expect_head(
        repo, complete_draft, alice, capsys):
    pm = services.finalize(complete_draft, alice)
    amendment = services.add_amendment(pm, alice, "The vendor confirmed the outage window.")
    commit_postmortem_records()
    ok, out = run_verify_log(capsys)
    assert ok, out
    old_head = Seal.objects.order_by("id").last().chain_sha256

    # An attacker with owner rights rewrites the last amendment and re-seals the tail so
    # that the database is consistent again.
    first, last = Seal.objects.order_by("id")
    behind_the_apps_back("UPDATE incidents_amendment SET note = %s WHERE id = %s",
                         ["Nothing to add.", amendment.pk])
    content = seals.amendment_content_sha256(amendment.pk)
    chain = seals.chain_sha256(first.chain_sha256, "amendment", amendment.pk, content)
    behind_the_apps_back(
        "UPDATE incidents_logseal SET content_sha256 = %s, chain_sha256 = %s WHERE id = %s",
        [content, chain, last.pk])

    ok, out = run_verify_log(capsys, "--no-repo")
    assert ok, out  # the database alone cannot tell
    assert chain in out

    ok, out = run_verify_log(capsys)
    assert not ok
    assert (f"MISMATCH seal {last.pk} (amendment {amendment.pk} of postmortem {pm.pk}): "
            "the repository's commit") in out
    assert "re-sealed" in out
    assert "1 problem(s)" in out

    ok, out = run_verify_log(capsys, "--no-repo", "--expect-head", old_head)
    assert not ok
    assert f"the chain head is {chain}, not the expected {old_head}" in out


def test_a_seal_removed_from_the_database_tail_is_in_the_repository_only(
        repo, complete_draft, alice, capsys):
    pm = services.finalize(complete_draft, alice)
    services.add_amendment(pm, alice, "A later note.")
    commit_postmortem_records()
    last = Seal.objects.order_by("id").last()
    behind_the_apps_back("DELETE FROM incidents_repositorycommit WHERE seal_id = %s", [last.pk])
    behind_the_apps_back("DELETE FROM incidents_logseal WHERE id = %s", [last.pk])
    behind_the_apps_back("DELETE FROM incidents_amendment")
    ok, out = run_verify_log(capsys)
    assert not ok
    assert f"MISMATCH seal {last.pk}: in the repository" in out


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_commits_the_record_queued_at_finalize(repo, complete_draft, alice,
                                                             tmp_path):
    """The seal's transaction commits, on_commit queues the task on Redis, and a real
    `celery worker` process makes the commit."""
    import os

    from django.conf import settings as django_settings

    from core import health
    from tests.test_reminder_worker import CELERY, PROJECT_DIR, database_url, stop, wait_until

    log = tmp_path / "worker.log"
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="tests.worker_settings",
               DATABASE_URL=database_url(), REDIS_URL=django_settings.CELERY_BROKER_URL,
               EMAIL_FILE_PATH=str(tmp_path), SCARLOG_POSTMORTEM_REPO=str(repo),
               TEST_EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
               # This run's own queue and heartbeat key (config.test_settings, conftest).
               TEST_CELERY_QUEUE=django_settings.CELERY_TASK_DEFAULT_QUEUE,
               TEST_HEARTBEAT_KEY=health.HEARTBEAT_KEY)
    pm = services.finalize(complete_draft, alice)
    process = subprocess.Popen(
        [CELERY, "-A", "config", "worker", "--pool=solo", "--without-gossip",
         "--without-mingle", "--without-heartbeat", "-l", "info"],
        cwd=PROJECT_DIR, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        wait_until(lambda: RepositoryCommit.objects.filter(committed_utc__isnull=False).exists(),
                   seconds=60, what=f"the worker's commit:\n{log.read_text()}")
    finally:
        stop(process)
    assert commit_subjects(repo) == [f"Postmortem {pm.pk} finalized"]
