"""docker-compose.yml is valid, and every command it runs also works on this machine.

No Docker engine runs here, so the test runs each service's command itself, with the
environment compose would give it, against the local PostgreSQL test database and Redis.
Each wait ends on a readiness signal (an HTTP answer, a line of output); WAIT_GUARD_SECONDS
only fails a test whose signal never comes.
"""
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from tests.conftest import PROJECT_DIR

COMPOSE = yaml.safe_load((PROJECT_DIR / "docker-compose.yml").read_text())
BIN = Path(sys.executable).parent
WAIT_GUARD_SECONDS = 120
INIT_SCRIPT = PROJECT_DIR / "deploy" / "postgres-init" / "10-scarlog-roles.sh"


def superuser_connection():
    import psycopg
    db = settings.DATABASES["default"]
    return psycopg.connect(host=db["HOST"], port=db["PORT"], dbname="postgres",
                           user=db["USER"], autocommit=True)


@pytest.fixture(scope="module")
def compose_database(tmp_path_factory):
    """The database compose's postgres service makes on its first start: the init script
    run as the superuser, with its own database, owner and runtime role for this run (all
    dropped after). Yields {db, owner, runtime}."""
    suffix = f"{os.getpid()}_{secrets.token_hex(4)}"
    names = {"db": f"scarlog_compose_{suffix}", "owner": f"scarlog_own_{suffix}",
             "runtime": f"scarlog_rt_{suffix}"}
    folder = tmp_path_factory.mktemp("secrets")
    (folder / "owner").write_text(secrets.token_urlsafe(24) + "\n")
    (folder / "runtime").write_text(secrets.token_urlsafe(24) + "\n")
    db = settings.DATABASES["default"]
    env = {**os.environ, "PGHOST": db["HOST"], "PGPORT": str(db["PORT"]), "PGUSER": db["USER"],
           "SCARLOG_DB": names["db"], "SCARLOG_OWNER_ROLE": names["owner"],
           "SCARLOG_RUNTIME_ROLE": names["runtime"],
           "DATABASE_OWNER_PASSWORD_FILE": str(folder / "owner"),
           "DATABASE_RUNTIME_PASSWORD_FILE": str(folder / "runtime")}
    result = subprocess.run(["sh", str(INIT_SCRIPT)], env=env, capture_output=True, text=True)
    names["password_files"] = {"migrate": folder / "owner", "web": folder / "runtime"}
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        yield names
    finally:
        with superuser_connection() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{names["db"]}" WITH (FORCE)')
            for role in (names["runtime"], names["owner"]):
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def production_env(tmp_path: Path, database: dict | None = None, service: str = "web",
                   **extra) -> dict:
    """The environment compose gives `service`, pointed at this machine's services: the
    compose database's runtime role (the owner for "migrate"), or without `database` the
    test database."""
    db = settings.DATABASES["default"]
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    compose_env = COMPOSE["services"][service]["environment"]
    if database is None:
        url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    else:
        role = database["owner"] if service == "migrate" else database["runtime"]
        expected_role = "scarlog" if service == "migrate" else "scarlog_app"
        assert compose_env["DATABASE_URL"] == f"postgres://{expected_role}@postgres:5432/scarlog"
        url = f"postgres://{role}@{db['HOST']}:{db['PORT']}/{database['db']}"
        assert compose_env["DATABASE_PASSWORD_FILE"].startswith("/run/secrets/")
        extra.setdefault("DATABASE_PASSWORD_FILE",
                         str(database["password_files"]["migrate" if service == "migrate"
                                                        else "web"]))
        extra.setdefault("DATABASE_OWNER_ROLE", database["owner"])
        extra.setdefault("DATABASE_RUNTIME_ROLE", database["runtime"])
    env.update(
        PATH=f"{BIN}:{env['PATH']}",
        SCARLOG_ENV=compose_env["SCARLOG_ENV"],
        SECRET_KEY="test-secret-key-" + "x" * 50,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SCARLOG_SITE_URL="https://scarlog.example.com",
        DATABASE_URL=url,
        REDIS_URL="redis://127.0.0.1:6379/15",
        SCARLOG_VAR_DIR=str(tmp_path),
        **extra,
    )
    return env


def compose_command(service: str) -> list[str]:
    """The service's command as compose would run it ($$ is compose's escape for $)."""
    return [part.replace("$$", "$") for part in COMPOSE["services"][service]["command"]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    """Run `command` in the project directory with its output going to `log`."""
    with log.open("w") as out:
        return subprocess.Popen(command, cwd=PROJECT_DIR, env=env, stdout=out,
                                stderr=subprocess.STDOUT)


def wait_for_output(process, log: Path, pattern: str, seconds: float) -> str:
    """Poll `log` until `pattern` appears; fail with the output if it does not in time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        output = log.read_text(errors="replace")
        if re.search(pattern, output):
            return output
        if process.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(f"{pattern!r} not seen; output was:\n{log.read_text(errors='replace')}")


def wait_until_serving(process, log: Path, url: str) -> None:
    """Poll `url` (over "HTTPS" as the proxy tells) until the server answers it: the port
    accepts and a worker has loaded the app. Fails with the output if the process exits or
    WAIT_GUARD_SECONDS pass first."""
    deadline = time.monotonic() + WAIT_GUARD_SECONDS
    while process.poll() is None and time.monotonic() < deadline:
        request = urllib.request.Request(url, headers={"X-Forwarded-Proto": "https"})
        try:
            with urllib.request.urlopen(request, timeout=max(deadline - time.monotonic(), 1)):
                return
        except urllib.error.HTTPError:
            return  # an answer all the same; the test's own requests say what is wrong
        except (ConnectionError, urllib.error.URLError, TimeoutError):
            time.sleep(0.2)  # not listening yet: try again
    raise AssertionError(f"{url} never answered; output was:\n{log.read_text(errors='replace')}")


def stop(process) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_compose_defines_its_services_with_healthchecked_dependencies_and_split_roles():
    services = COMPOSE["services"]
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker", "beat"}
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "ping" in services["redis"]["healthcheck"]["test"]
    for name in ("migrate", "web", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
        assert services[name]["environment"]["SCARLOG_ENV"] == "production"
    assert "gunicorn config.wsgi" in compose_command("web")[-1]
    # Only the one-shot migrate job is the owner; web, worker and beat start after it, as
    # the runtime role, holding only the runtime password. The superuser is the image's own.
    assert services["postgres"]["environment"]["POSTGRES_USER"] == "postgres"
    assert "./deploy/postgres-init:/docker-entrypoint-initdb.d:ro" in \
        services["postgres"]["volumes"]
    assert services["migrate"]["secrets"] == ["database_owner_password"]
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == \
            "service_completed_successfully"
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgres://scarlog_app@")
        assert services[name]["secrets"] == ["database_runtime_password"]
        assert "migrate" not in " ".join(compose_command(name))
    assert "POSTGRES_PASSWORD" not in (PROJECT_DIR / ".env.example").read_text()


def test_every_variable_the_settings_read_is_listed_in_env_example():
    example = (PROJECT_DIR / ".env.example").read_text()
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))
    source = (PROJECT_DIR / "config" / "settings.py").read_text()
    read = set(re.findall(r'env_(?:str|bool|int|list|required)\("([A-Z0-9_]+)"', source))
    assert read - listed == set()


def test_the_migrate_and_web_commands_serve_the_app_as_the_runtime_role(tmp_path,
                                                                         compose_database):
    migrate = subprocess.run(compose_command("migrate"), cwd=PROJECT_DIR,
                             env=production_env(tmp_path, compose_database, "migrate"),
                             capture_output=True, text=True)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    assert f"runtime role {compose_database['runtime']} granted DML" in migrate.stdout
    with superuser_connection() as conn:
        owner = conn.execute("SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = %s",
                             [compose_database["owner"]]).fetchone()
    assert owner == (False, False)
    import psycopg
    db = settings.DATABASES["default"]
    with psycopg.connect(host=db["HOST"], port=db["PORT"], dbname=compose_database["db"],
                         user=compose_database["runtime"], autocommit=True) as runtime:
        tables = runtime.execute("SELECT DISTINCT tableowner FROM pg_tables "
                                 "WHERE schemaname = 'public'").fetchall()
        assert tables == [(compose_database["owner"],)]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            runtime.execute("ALTER TABLE incidents_postmortem DISABLE TRIGGER ALL")
    # The app's own commands read and check the tables as the runtime role.
    verified = subprocess.run([sys.executable, "manage.py", "verify_log", "--no-repo"],
                              cwd=PROJECT_DIR, env=production_env(tmp_path, compose_database),
                              capture_output=True, text=True)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    port = free_port()
    env = production_env(tmp_path, compose_database, PORT=str(port),
                         STATIC_ROOT=str(tmp_path / "static"))
    log = tmp_path / "web.log"
    process = start(compose_command("web"), env, log)
    try:
        wait_until_serving(process, log, f"http://127.0.0.1:{port}/accounts/login/")
        request = urllib.request.Request(f"http://127.0.0.1:{port}/accounts/login/",
                                         headers={"X-Forwarded-Proto": "https"})
        with urllib.request.urlopen(request, timeout=WAIT_GUARD_SECONDS) as response:
            page = response.read().decode()
            assert response.status == 200
            assert "Sign in to Scarlog" in page
            assert (
                "max-age=31536000; includeSubDomains"
                in response.headers["Strict-Transport-Security"]
            )
        stylesheet = re.search(r'href="(/static/css/scarlog\.[0-9a-f]+\.css)"', page).group(1)
        css = urllib.request.Request(f"http://127.0.0.1:{port}{stylesheet}",
                                     headers={"X-Forwarded-Proto": "https"})
        with urllib.request.urlopen(css, timeout=WAIT_GUARD_SECONDS) as response:
            assert response.status == 200
        missing = urllib.request.Request(f"http://127.0.0.1:{port}/no-such-page/", headers={
            "X-Forwarded-Proto": "https", "X-Request-ID": "deploy-check-1"})
        with pytest.raises(urllib.error.HTTPError) as not_found:
            urllib.request.urlopen(missing, timeout=WAIT_GUARD_SECONDS)
        assert not_found.value.headers["X-Request-ID"] == "deploy-check-1"
        unsafe = urllib.request.Request(f"http://127.0.0.1:{port}/no-such-page/", headers={
            "X-Forwarded-Proto": "https", "X-Request-ID": "<script>"})
        with pytest.raises(urllib.error.HTTPError) as replaced:
            urllib.request.urlopen(unsafe, timeout=10)
        assert re.fullmatch(r"[0-9a-f]{32}", replaced.value.headers["X-Request-ID"])
        plain_http = urllib.request.Request(f"http://127.0.0.1:{port}/accounts/login/")
        with pytest.raises(urllib.error.HTTPError) as redirect:
            urllib.request.build_opener(NoRedirect).open(plain_http,
                                                         timeout=WAIT_GUARD_SECONDS)
        assert redirect.value.code == 301
        assert redirect.value.headers["Location"].startswith("https://")
        # Logs are JSON lines; the application's and gunicorn's both carry the request id.
        output = wait_for_output(process, log, r'"request_id": "deploy-check-1".*"status": "404"',
                                 WAIT_GUARD_SECONDS)
        lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
        mine = [line for line in lines if line.get("request_id") == "deploy-check-1"]
        assert {"logger": "django.request", "level": "WARNING",
                "message": "Not Found: /no-such-page/"}.items() <= mine[0].items()
        assert "time" in mine[0]
        assert any(line["logger"] == "gunicorn.access" and line["status"] == "404" for line in mine)
        # The app reads its tables as the runtime role.
        health = urllib.request.Request(f"http://127.0.0.1:{port}/healthz",
                                        headers={"X-Forwarded-Proto": "https"})
        try:
            body = urllib.request.urlopen(health, timeout=WAIT_GUARD_SECONDS).read()
        except urllib.error.HTTPError as not_ready:  # 503: no worker heartbeat here
            body = not_ready.read()
        assert json.loads(body)["database"] == {"ok": True}
    finally:
        stop(process)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.mark.parametrize("service, ready", [
    ("worker", r"celery@\S+ ready\."),
    ("beat", r"beat: Starting\.\.\."),
])
def test_the_celery_commands_start_against_redis(tmp_path, service, ready):
    env = production_env(tmp_path, CELERY_BEAT_SCHEDULE_FILENAME=str(tmp_path / "beat"))
    log = tmp_path / f"{service}.log"
    process = start(compose_command(service), env, log)
    try:
        wait_for_output(process, log, ready, WAIT_GUARD_SECONDS)
    finally:
        stop(process)


def test_check_deploy_warns_when_the_site_url_is_unset(tmp_path):
    env = production_env(tmp_path)
    del env["SCARLOG_SITE_URL"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True,
    )
    assert result.returncode == 1
    assert "(scarlog.W001) SCARLOG_SITE_URL is not set" in result.stderr + result.stdout


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT_DIR, env=production_env(tmp_path), capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = production_env(tmp_path)
    del env["SECRET_KEY"]
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=PROJECT_DIR, env=env,
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert "The environment variable SECRET_KEY is required here." in result.stderr
