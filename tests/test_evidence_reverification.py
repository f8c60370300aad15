"""Shipped evidence stays true: the nightly task re-checks it against a real git clone
and re-opens what no longer holds (docs/rules.md#evidence-reverified)."""
import logging
from datetime import date

import pytest

from incidents import action_items, gate, services, tasks
from incidents.models import ActionItem, ActionItemEvent
from tests.git_clones import AUTHOR, git, make_clone

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_time")]


@pytest.fixture
def launcher(tmp_path, settings):
    """A clone holding hooks/watchdog.py and tests/test_launcher.py on its default branch."""
    clone = tmp_path / "launcher"
    make_clone(clone, {"hooks/watchdog.py": "print('watching')\n",
                       "tests/test_launcher.py": "def test_blip(): pass\n"},
               "watchdog and its test")
    settings.SCARLOG_GIT_REPOS = {"launcher": str(clone)}
    return clone


@pytest.fixture
def shipped(final_postmortem, alice, launcher):
    """The trading domain's two items, shipped with evidence verified in the clone: the
    planning gate is open."""
    services.set_domain(final_postmortem, "trading", user=alice)
    head = git(launcher, "rev-parse", "HEAD")
    hook = action_items.add_item(final_postmortem, "hook", "Independent watchdog", alice,
                                 date(2026, 5, 1))
    test = action_items.add_item(final_postmortem, "test", "Blip regression test", alice,
                                 date(2026, 5, 1))
    action_items.ship_item(hook, {"hook_file": "hooks/watchdog.py", "commit_sha": head[:10],
                                  "repository": "launcher"})
    action_items.ship_item(test, {"test_name": "tests/test_launcher.py::test_blip",
                                  "commit_sha": head, "repository": "launcher",
                                  "ci_run_link": "https://ci.example.com/runs/1"})
    assert gate.check_gate("trading").open
    return {"hook": hook, "test": test, "head": head}


def test_a_hook_file_removed_after_shipping_reopens_the_item_and_closes_the_gate(
        shipped, launcher, alice_client, caplog):
    git(launcher, "rm", "-q", "hooks/watchdog.py")
    git(launcher, *AUTHOR, "commit", "-qm", "remove the watchdog")
    new_head = git(launcher, "rev-parse", "HEAD")
    caplog.set_level(logging.WARNING, logger="incidents.tasks")

    assert tasks.reverify_shipped_evidence.apply().get() == {"held": 1, "reopened": 1,
                                                              "skipped": 0}

    hook = ActionItem.objects.get(pk=shipped["hook"].pk)
    why = f"the hook file hooks/watchdog.py is gone at {new_head[:12]} in launcher"
    assert (hook.status, hook.evidence_lapsed) == ("open", why)
    assert ActionItem.objects.get(pk=shipped["test"].pk).status == "shipped"
    answer = gate.check_gate("trading")
    assert not answer.open and [b.item.pk for b in answer.blocking] == [hook.pk]
    event = ActionItemEvent.objects.filter(item=hook).latest("id")
    assert event.by is None
    assert event.change == f"status: shipped → open; evidence no longer holds: {why}"
    assert any(why in record.getMessage() for record in caplog.records)
    dashboard = alice_client.get("/").content.decode()
    assert "re-opened" in dashboard and f"evidence no longer holds: {why}" in dashboard
    page = alice_client.get(f"/postmortems/{hook.postmortem_id}/").content.decode()
    assert f"the shipped evidence no longer holds: {why}." in page

    # A second night changes nothing more; shipping it again (the hook restored) clears it.
    assert tasks.reverify_shipped_evidence.apply().get()["reopened"] == 0
    git(launcher, *AUTHOR, "revert", "--no-edit", "HEAD")
    restored = action_items.ship_item(hook, {"hook_file": "hooks/watchdog.py",
                                             "commit_sha": git(launcher, "rev-parse", "HEAD"),
                                             "repository": "launcher"})
    assert (restored.status, restored.evidence_lapsed) == ("shipped", "")
    assert gate.check_gate("trading").open


def test_a_commit_no_longer_reachable_from_the_default_branch_reopens_its_items(
        shipped, launcher):
    # The branch is rewritten: the verified commit is replaced by another with the same files.
    git(launcher, *AUTHOR, "commit", "-q", "--amend", "-m", "rewritten history")
    rewritten = git(launcher, "rev-parse", "HEAD")
    result = action_items.reverify_shipped()
    assert result.held == 0 and result.skipped == []
    assert {why for _, why in result.reopened} == {
        (f"commit {shipped['head'][:12]} is no longer reachable from the default branch of "
        f"launcher (HEAD {rewritten[:12]})")}
    assert set(ActionItem.objects.values_list("status", flat=True)) == {"open"}


def test_the_test_file_of_a_test_item_is_checked_too(shipped, launcher):
    git(launcher, "mv", "tests/test_launcher.py", "tests/test_renamed.py")
    git(launcher, *AUTHOR, "commit", "-qm", "rename")
    head = git(launcher, "rev-parse", "HEAD")
    result = action_items.reverify_shipped()
    assert result.reopened == [(shipped["test"].pk, (f"the test file tests/test_launcher.py is "
                                                    f"gone at {head[:12]} in launcher"))]


def test_an_unconfigured_or_unreadable_repository_is_skipped_never_reopened_or_passed(
        shipped, launcher, settings, tmp_path):
    settings.SCARLOG_GIT_REPOS = {}
    result = action_items.reverify_shipped()
    assert (result.held, result.reopened) == (0, [])
    assert [why for _, why in result.skipped] == [
        ("Repository 'launcher' is no longer in SCARLOG_GIT_REPOS; its evidence was not "
        "re-checked.")] * 2
    settings.SCARLOG_GIT_REPOS = {"launcher": str(tmp_path / "gone")}
    result = action_items.reverify_shipped()
    assert result.reopened == [] and len(result.skipped) == 2
    assert all("has no readable HEAD" in why for _, why in result.skipped)
    assert set(ActionItem.objects.values_list("status", flat=True)) == {"shipped"}


def test_evidence_without_a_repository_is_not_rechecked(final_postmortem, alice, launcher):
    item = action_items.add_item(final_postmortem, "rule", "Budget rule", alice, date(2026, 5, 1))
    action_items.ship_item(item, {"rules_file": "rules/budget.md"})
    result = action_items.reverify_shipped()
    assert (result.held, result.reopened, result.skipped) == (0, [], [])


def test_beat_runs_the_reverification_every_night(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["evidence-reverification"]
    assert entry["task"] == tasks.reverify_shipped_evidence.name
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({2}, {30})
