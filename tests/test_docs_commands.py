"""The import/export commands round-trip the three real files and refuse bad ones loudly."""
import io
import shutil

import pytest
from django.core.management import CommandError, call_command

from knowledge.models import KnowledgeEntry
from runbooks.models import Runbook
from tests.conftest import TEST_DATA


def _run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_knowledge_and_policies_commands_round_trip(db, tmp_path):
    assert "4 entries created" in _run(
        "import_knowledge", str(TEST_DATA / "ai-knowledge-base.yaml")
    )
    out = _run("import_policies", str(TEST_DATA / "policies.md"))
    assert "12 policies created" in out
    assert "Policies tracing to no incident: 1, 2, 5, 8, 9, 11, 12." in out
    _run("export_knowledge", str(tmp_path / "kb.yaml"))
    _run("export_policies", str(tmp_path / "policies.md"))
    assert (tmp_path / "kb.yaml").read_bytes() == (
        TEST_DATA / "ai-knowledge-base.yaml"
    ).read_bytes()
    assert (tmp_path / "policies.md").read_bytes() == (TEST_DATA / "policies.md").read_bytes()
    assert "id: silent_fallback" in _run("export_knowledge", "--severity", "CRITICAL")
    with pytest.raises(CommandError, match="no-such"):
        _run("export_knowledge", "--id", "no-such")


def test_bad_knowledge_file_is_refused_naming_entry_and_key(db, tmp_path):
    bad = tmp_path / "kb.yaml"
    bad.write_text(
        (TEST_DATA / "ai-knowledge-base.yaml")
        .read_text()
        .replace(
            'severity: "HIGH"\n    category: "deployment"',
            'severity: "high"\n    category: "deployment"',
        )
    )
    with pytest.raises(CommandError, match=r"entry deployment_process, key severity"):
        _run("import_knowledge", str(bad))
    assert KnowledgeEntry.objects.count() == 0
    with pytest.raises(CommandError, match="Cannot read"):
        _run("import_knowledge", str(tmp_path / "missing.yaml"))


def test_runbook_commands_report_dangling_and_round_trip(db, tmp_path):
    out = _run("import_runbooks", str(TEST_DATA / "docs" / "v2"))
    assert "6 runbooks created" in out and "8 task index rows" in out
    assert "Dangling: ops-05 depends on ops-14, which is not in Scarlog." in out
    assert "points at risk/07-feature-engineering.md, which is not in Scarlog" in out
    _run("export_runbooks", str(tmp_path / "out"))
    for path in (TEST_DATA / "docs" / "v2").rglob("*.md"):
        relative = path.relative_to(TEST_DATA / "docs" / "v2")
        assert (tmp_path / "out" / relative).read_bytes() == path.read_bytes(), relative
    with pytest.raises(CommandError, match="--owner"):
        _run("import_runbooks", str(TEST_DATA / "docs" / "v2"), "--owner", "nobody")


def test_bad_runbook_is_refused_naming_file_and_key(db, tmp_path):
    copy = tmp_path / "docs"
    shutil.copytree(TEST_DATA / "docs" / "v2", copy)
    path = copy / "risk" / "15-risk-incidents-and-lessons.md"
    path.write_text(path.read_text().replace("perspective: risk", "perspective: danger"))
    with pytest.raises(
        CommandError, match=r"risk/15-risk-incidents-and-lessons.md, line 4: perspective"
    ):
        _run("import_runbooks", str(copy))
    assert Runbook.objects.count() == 0


README = (TEST_DATA.parent.parent / "README.md").read_text(encoding="utf-8")


def readme_token_commands() -> list[list[str]]:
    """Every `manage.py create_api_token …` the README shows, in its order, as argv lists."""
    import re
    import shlex
    return [shlex.split(match) for match in
            re.findall(r"`manage\.py (create_api_token [^`]+)`", README)]


def test_the_readmes_token_commands_work_as_written_on_a_fresh_install(db):
    from core.models import ApiToken
    commands = readme_token_commands()
    assert len(commands) >= 3  # the monitoring system, CI's gate, the agent URLs
    for argv in commands:
        out = _run(*argv)
        assert "It is shown only now" in out
    assert ApiToken.objects.count() == len(commands)
    assert set(ApiToken.objects.values_list("user__username", flat=True)) == {"ops", "ci", "agent"}
    ci = ApiToken.objects.filter(user__username="ci").first().user
    assert not ci.has_usable_password()  # a service account: it cannot sign in


def test_a_token_for_a_missing_user_stops_naming_the_user_and_how_to_create_it(db):
    from core.models import ApiToken
    with pytest.raises(CommandError) as refused:
        _run("create_api_token", "CI gate", "--user", "ci")
    assert refused.value.returncode == 1
    message = str(refused.value)
    assert "no user 'ci'" in message and "--create-user viewer" in message
    assert "createsuperuser" in message
    assert ApiToken.objects.count() == 0


def test_create_user_gives_the_service_account_its_role(db):
    from core import roles
    out = _run("create_api_token", "monitor", "--user", "ops", "--create-user", "editor",
               "--scope", "events:write")
    assert "Created the service account 'ops' (editor" in out
    from django.contrib.auth import get_user_model
    assert roles.role_of(get_user_model().objects.get(username="ops")) == roles.EDITOR
