"""The README's two set-up commands, the demo command they run, and .ci/run using the same one."""
import re
from datetime import timedelta

from django.core.management import call_command
from django.test import Client

from costlog.models import MishapEntry
from incidents.models import Amendment, Postmortem
from tests.conftest import NOW, PROJECT_DIR, TEST_DATA

README = (PROJECT_DIR / "README.md").read_text()


def setup_commands() -> list[str]:
    section = README.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", section, re.DOTALL)]


def test_the_readme_has_exactly_two_set_up_commands_demo_and_tests():
    demo, tests = setup_commands()
    assert demo.endswith("manage.py demo")
    assert tests.endswith(".venv/bin/pytest")


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (PROJECT_DIR / ".ci" / "run").read_text()
    assert setup_commands()[1] in ci.splitlines()


def test_demo_loads_the_real_records_and_prints_a_working_login_once(capsys, root_patterns,
                                                                    frozen_time, settings):
    call_command("demo", "--no-serve")
    first = capsys.readouterr().out
    assert "8 postmortems and 2 amendments loaded" in first
    assert "Cost log: 7 mishap entries and 6 rates loaded" in first
    password = re.search(r"password '([^']+)'", first).group(1)
    signed_in = Client().post("/accounts/login/", {"username": "demo", "password": password})
    assert signed_in.status_code == 302 and signed_in.url == "/"

    call_command("demo", "--no-serve")
    second = capsys.readouterr().out
    assert password not in second
    assert "Login: user 'demo' exists" in second
    # The eight real postmortems and one draft whose meeting deadline is approaching.
    assert Postmortem.objects.count() == 9
    draft = Postmortem.objects.get(status="draft")
    assert draft.trigger == "provider_outage"
    assert draft.meeting_deadline_utc == NOW + timedelta(hours=12)
    # Its meeting is scheduled in two hours, facilitated by the demo login, so the demo can
    # start it.
    meeting = draft.meetings.get()
    assert meeting.scheduled_utc == NOW + timedelta(hours=2)
    assert meeting.facilitator.username == "demo" and meeting.started_utc is None
    assert sorted(meeting.attendees.values_list("role", flat=True)) == [
        "code_owner", "operator", "reviewer"]
    refused = Client().post("/accounts/login/", {"username": "oli-operator", "password": ""})
    assert refused.status_code == 200 and "_auth_user_id" not in refused.client.session
    # The two real amendments and the demo's Impact amendment of the KXIN postmortem.
    assert Amendment.objects.count() == 3
    # Seven real entries, and the KXIN one again as the correction linking its postmortem.
    assert MishapEntry.objects.count() == 8
    kxin = MishapEntry.objects.get(title="KXIN Concentration Loss", correction__isnull=True)
    assert str(kxin.postmortem_id) == "c3e8b7a2-6d45-4f10-a2b9-8e7c6d5b0d04"
    assert "KXIN: mishap linked to its postmortem" in second


def test_the_demo_cost_log_is_the_real_one():
    bundled = PROJECT_DIR / "costlog" / "demo_data" / "MISHAP_COST_LOG.md"
    assert bundled.read_bytes() == (TEST_DATA / "MISHAP_COST_LOG.md").read_bytes()


def test_the_demo_gives_the_insights_page_figures(capsys, root_patterns, frozen_time):
    from knowledge import insights

    call_command("demo", "--no-serve")
    call_command("demo", "--no-serve")  # idempotent: no second set of items
    assert "14 action items added" in capsys.readouterr().out
    # DEMO_ITEMS cycled twice over the 8 final records: 2 + 2 + 2 + 1 items a cycle;
    # shipped 2 + 1 per
    # cycle, dropped 1, open 1 + 1 + 1 of which overdue 1 + 1 (due 5 and 3 days ago).
    figures = insights.compute(insights.Filters(), NOW)
    assert figures.items == {"total": 14, "open": 6, "shipped": 6, "shipped_verified": 0,
                             "dropped": 2, "overdue": 4}
    assert all(domain != "unclassified" for month in figures.by_domain.values()
               for domain in month)


SQLITE_DRAFT_SCRIPT = """
import json
from django.contrib.auth import get_user_model
from django.test import Client
from incidents.models import Postmortem

draft = Postmortem.objects.get(status="draft")
client = Client(HTTP_HOST="127.0.0.1")
demo = get_user_model().objects.get(username="demo")
client.force_login(demo)
page = client.get(f"/postmortems/{draft.pk}/")
saved = client.post(f"/postmortems/{draft.pk}/field/summary/",
                    {"summary": "Orders stalled for twelve minutes.", "base_version": "0"},
                    HTTP_HX_REQUEST="true")
from incidents import live
poll = client.get(f"/postmortems/{draft.pk}/live/",
                  {"since": "0", "editor": live.page_token(draft.pk, demo.pk, "e1")})
from django.db import connection
with connection.cursor() as cursor:
    journal = cursor.execute("PRAGMA journal_mode").fetchone()[0]
print(json.dumps({"page": page.status_code, "saved": saved.status_code,
                  "poll": poll.status_code, "fields": sorted(poll.json().get("fields", {})),
                  "journal": journal}))
"""


def test_the_sqlite_demo_serves_a_draft_its_live_poll_and_an_autosave(tmp_path):
    # README's first set-up command on the embedded SQLite database: the demo schedules
    # the draft's meeting (a live change), and the draft page, its poll and a save answer.
    import json
    import os
    import subprocess
    import sys

    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "SCARLOG_SITE_URL")}
    env.update(SCARLOG_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="config.settings")
    manage = [sys.executable, str(PROJECT_DIR / "manage.py")]
    demo = subprocess.run([*manage, "demo", "--no-serve"], env=env, capture_output=True,
                          text=True, cwd=PROJECT_DIR, timeout=300)
    assert demo.returncode == 0, demo.stderr[-2000:]
    shown = subprocess.run([*manage, "shell", "-c", SQLITE_DRAFT_SCRIPT], env=env,
                           capture_output=True, text=True, cwd=PROJECT_DIR, timeout=120)
    assert shown.returncode == 0, shown.stderr[-2000:]
    answer = json.loads(shown.stdout.strip().splitlines()[-1])
    assert answer["page"] == answer["saved"] == answer["poll"] == 200, answer
    assert "summary" in answer["fields"]
    # The page polls while it saves: readers do not block the writer (no "database is
    # locked" 500, whose debug page also broke the CSP with its inline styles).
    assert answer["journal"] == "wal"


def test_the_demo_servers_address_reaches_its_other_processes(tmp_path, settings, monkeypatch):
    # `manage.py demo 127.0.0.1:8131` keeps its address in the demo's var directory, so
    # `manage.py send_due_reminders` run beside it links invitations to port 8131 too.
    import os
    import subprocess
    import sys

    from core.site_url import remember_demo_site_url, use_addrport_unless_configured

    monkeypatch.delenv("SCARLOG_SITE_URL", raising=False)
    settings.DEMO_SITE_URL_FILE = tmp_path / "demo_site_url"
    remember_demo_site_url(use_addrport_unless_configured("127.0.0.1:8131"))
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "SCARLOG_SITE_URL")}
    env.update(SCARLOG_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="config.settings")
    script = "from django.conf import settings; print(settings.SCARLOG_SITE_URL)"
    shown = subprocess.run([sys.executable, str(PROJECT_DIR / "manage.py"), "shell", "-c", script],
                           env=env, capture_output=True, text=True, cwd=PROJECT_DIR, timeout=120)
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert shown.stdout.strip().splitlines()[-1] == "http://127.0.0.1:8131"
