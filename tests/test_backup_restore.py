"""Backup and restore with pg_dump / pg_restore, as the README's Operations section shows:
a dump of a live Scarlog database restored into an empty one holds the same records,
its hash chain verifies with the same head, and its immutability triggers still hold."""
import os
import subprocess
import sys

import psycopg
import pytest
from django.db import connection

from incidents import services
from incidents.models import Amendment, Postmortem, Seal
from tests.conftest import PROJECT_DIR

pytestmark = pytest.mark.django_db(transaction=True)


def server_url(database: str) -> str:
    s = connection.settings_dict
    return f"postgresql://{s['USER']}@{s['HOST']}:{s['PORT']}/{database}"


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{command[0]} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture
def empty_database():
    """A new empty database named after this run's test database (unique to the run, so
    two runs on one server never restore into the same one); dropped afterwards."""
    restored = f"{connection.settings_dict['NAME']}_restored"
    with psycopg.connect(server_url("postgres"), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {restored}")
    yield server_url(restored)
    with psycopg.connect(server_url("postgres"), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {restored} WITH (FORCE)")


def test_a_dump_restores_into_an_empty_database_with_chain_and_triggers(
        real_postmortems, final_postmortem, alice, empty_database, tmp_path):
    services.add_amendment(final_postmortem, alice, "Evidence found after the meeting.")
    head = Seal.objects.order_by("-id").first().chain_sha256
    dump = tmp_path / "scarlog.dump"
    run(["pg_dump", "--format=custom", f"--file={dump}",
         server_url(connection.settings_dict["NAME"])])
    run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={empty_database}", str(dump)])

    env = dict(os.environ, DATABASE_URL=empty_database.replace("postgresql://", "postgres://"),
               DJANGO_SETTINGS_MODULE="config.settings", SCARLOG_ENV="development")
    verified = run([sys.executable, "manage.py", "verify_log", "--expect-head", head],
                   cwd=PROJECT_DIR, env=env)
    assert f"OK: {Seal.objects.count()} seals verified; chain head {head}" in verified.stdout
    with psycopg.connect(empty_database) as restored:
        assert restored.execute("SELECT count(*) FROM incidents_postmortem").fetchone()[0] \
            == Postmortem.objects.count()
        assert restored.execute("SELECT count(*) FROM incidents_amendment").fetchone()[0] \
            == Amendment.objects.count()
        with pytest.raises(psycopg.errors.RestrictViolation):
            restored.execute("UPDATE incidents_postmortem SET summary = 'x' WHERE id = %s",
                             [final_postmortem.pk])
