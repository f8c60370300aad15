"""Shipping evidence verified against a real local git clone (SCARLOG_GIT_REPOS)."""
import re
from datetime import date

import pytest

from incidents import action_items
from incidents.evidence import EvidenceError
from tests.git_clones import make_clone

pytestmark = pytest.mark.django_db


@pytest.fixture
def launcher_repo(tmp_path, settings):
    clone = tmp_path / "launcher"
    head = make_clone(clone, {"hooks/watchdog.py": "print('watching')\n"}, "watchdog")
    settings.SCARLOG_GIT_REPOS = {"launcher": str(clone)}
    return head


@pytest.fixture
def hook_item(final_postmortem, alice):
    return action_items.add_item(final_postmortem, "hook", "Independent watchdog", alice,
                                 date(2026, 5, 1))


def test_evidence_naming_a_configured_repository_is_verified(launcher_repo, hook_item,
                                                             alice_client):
    shipped = action_items.ship_item(hook_item, {"hook_file": "hooks/watchdog.py",
                                                 "commit_sha": launcher_repo[:9],
                                                 "repository": "launcher"})
    assert shipped.verification["commit"] == launcher_repo
    assert shipped.verification["file"] == "hooks/watchdog.py"
    page = alice_client.get(f"/postmortems/{hook_item.postmortem_id}/").content.decode()
    assert f"Verified in <strong>launcher</strong> at <code>{launcher_repo[:12]}</code>" in page


@pytest.mark.parametrize("evidence, field, message", [
    ({"hook_file": "hooks/watchdog.py", "commit_sha": "deadbeef1", "repository": "launcher"},
     "commit_sha", "Commit 'deadbeef1' is not in repository 'launcher'"),
    ({"hook_file": "hooks/missing.py", "commit_sha": "HEAD_SHA", "repository": "launcher"},
     "hook_file", "'hooks/missing.py' does not exist in repository 'launcher' at commit"),
    ({"hook_file": "hooks/watchdog.py", "commit_sha": "HEAD_SHA", "repository": "trading"},
     "repository", "Repository 'trading' is not in SCARLOG_GIT_REPOS (configured: launcher)"),
])
def test_evidence_that_the_repository_contradicts_is_refused(launcher_repo, hook_item, evidence,
                                                             field, message):
    evidence = {key: launcher_repo if value == "HEAD_SHA" else value
                for key, value in evidence.items()}
    with pytest.raises(EvidenceError, match=re.escape(message)) as error:
        action_items.ship_item(hook_item, evidence)
    assert error.value.field == field
    hook_item.refresh_from_db()
    assert hook_item.status == "open" and hook_item.verification is None


def test_evidence_without_a_repository_is_kept_unverified(hook_item):
    shipped = action_items.ship_item(hook_item, {"hook_file": "hooks/watchdog.py",
                                                 "commit_sha": "9f1c2ab"})
    assert shipped.verification is None
