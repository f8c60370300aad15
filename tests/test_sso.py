"""Single sign-on against a real OpenID Connect provider (tests/oidc_provider).

The provider is django-oauth-toolkit in its own process on 127.0.0.1, with its own SQLite
file and an RSA key made for this run; Scarlog is the live server. Every sign-in goes
through both real servers (Chromium, or requests following the redirects): no token, key
or endpoint is mocked. The wait for the provider ends when its discovery document answers;
WAIT_GUARD_SECONDS only fails a test whose provider never does.
"""
import html
import logging
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from core import sso
from core.models import OIDCIdentity
from core.roles import ADMIN, EDITOR, VIEWER, role_of
from core.sso_config import DISCOVERY_PATH, OIDCConfig, oidc_config, parse_role_map
from tests.conftest import PROJECT_DIR, browser_context, make_user

WAIT_GUARD_SECONDS = 120
PROVIDER_NAME = "Test IdP"
CLIENT_ID = "scarlog-test"
ROLE_MAP = {"sre-leads": ADMIN, "engineers": EDITOR, "staff": VIEWER}
BACKEND = "core.sso.ScarlogOIDCBackend"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Provider:
    issuer: str
    env: dict
    secret: str
    registered_redirect: str = ""

    def manage(self, *args: str) -> None:
        """Run one of the provider's management commands (provider_user, provider_client)."""
        result = subprocess.run([sys.executable, "-m", "django", *args], cwd=PROJECT_DIR,
                                env=self.env, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr

    def user(self, username: str, *groups: str) -> str:
        """Make `username`'s scarlog_role claim exactly `groups`; returns its password."""
        self.manage("provider_user", username, *groups)
        return f"{username}-idp-password"


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    """The provider process: migrated, serving, its discovery document answering."""
    folder = tmp_path_factory.mktemp("oidc_provider")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (folder / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    port = free_port()
    issuer = f"http://127.0.0.1:{port}/o"
    env = {name: value for name, value in os.environ.items() if not name.startswith("DJANGO_")}
    env.update(DJANGO_SETTINGS_MODULE="tests.oidc_provider.settings",
               OIDC_PROVIDER_DB=str(folder / "provider.sqlite3"),
               OIDC_PROVIDER_KEY_FILE=str(folder / "key.pem"), OIDC_PROVIDER_ISSUER=issuer,
               OIDC_PROVIDER_SECRET_KEY=secrets.token_urlsafe(40))
    found = Provider(issuer=issuer, env=env, secret=secrets.token_urlsafe(32))
    found.manage("migrate", "--verbosity", "0")
    log = folder / "provider.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=PROJECT_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_discovery(process, log, issuer + "/.well-known/openid-configuration")
        yield found
    finally:
        process.terminate()
        process.wait(timeout=20)


def wait_for_discovery(process, log: Path, url: str) -> None:
    """Poll the discovery document until it answers 200 (the provider is ready)."""
    deadline = time.monotonic() + WAIT_GUARD_SECONDS
    while process.poll() is None and time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.1)  # not listening yet: poll again
    raise AssertionError(f"{url} never answered; provider output:\n{log.read_text()}")


@pytest.fixture
def sso_on(provider, live_server, settings):
    """Scarlog configured for the provider (as SCARLOG_OIDC_* would), its client registered
    with the live server's callback as redirect URI. Yields the provider."""
    redirect_uri = f"{live_server.url}/accounts/sso/callback/"
    if provider.registered_redirect != redirect_uri:
        provider.manage("provider_client", CLIENT_ID, provider.secret, redirect_uri)
        provider.registered_redirect = redirect_uri
    settings.SCARLOG_OIDC = OIDCConfig(
        issuer=provider.issuer, discovery_url=provider.issuer + DISCOVERY_PATH,
        client_id=CLIENT_ID, client_secret=provider.secret, role_claim="scarlog_role",
        role_map=ROLE_MAP, provider_name=PROVIDER_NAME, scopes="openid email profile")
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, BACKEND]
    return provider


def to_callback(session: requests.Session, live_url: str, username: str, password: str,
                nonce: str | None = None, start: str = "/accounts/sso/start/") -> str:
    """Start single sign-on at Scarlog and sign in at the provider, following every redirect
    until the one back to Scarlog's callback, which is returned unfollowed. `nonce` replaces
    the nonce of the authorization request on its way to the provider (tampering); `start`
    is the path of the login page's "Sign in with" link."""
    started = session.get(f"{live_url}{start}", allow_redirects=False)
    assert started.status_code == 302
    authorize = started.headers["Location"]
    if nonce is not None:
        parts = urlsplit(authorize)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        query["nonce"] = nonce
        authorize = urlunsplit(parts._replace(query=urlencode(query)))
    login_page = session.get(authorize)
    assert login_page.url.startswith(urlsplit(authorize).scheme + "://127.0.0.1")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text).group(1)
    next_url = html.unescape(re.search(r'name="next" value="([^"]*)"', login_page.text).group(1))
    response = session.post(login_page.url, data={
        "csrfmiddlewaretoken": token, "username": username, "password": password,
        "next": next_url}, allow_redirects=False)
    while response.status_code == 302:
        location = requests.compat.urljoin(response.url, response.headers["Location"])
        if location.startswith(f"{live_url}/accounts/sso/callback/"):
            return location
        response = session.get(location, allow_redirects=False)
    raise AssertionError(f"the provider did not send us back: {response.status_code} "
                         f"{response.text[:500]}")


def sign_in(live_url: str, username: str, password: str) -> requests.Response:
    """A whole single sign-on in a fresh session; the last answer (redirects followed)."""
    session = requests.Session()
    response = session.get(to_callback(session, live_url, username, password))
    response.session = session
    return response


def signed_in_as(response: requests.Response) -> str | None:
    match = re.search(r'<span class="who">([^<]+) <span class="role"', response.text)
    return match.group(1).strip() if match else None


def test_signing_in_with_the_provider_in_chromium_lands_on_the_dashboard(sso_on, live_server,
                                                                        browser):
    from playwright.sync_api import expect

    password = sso_on.user("dana", "engineers")
    context = browser_context(browser, live_server)
    violations = []
    page = context.new_page()
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.goto("/")
    page.get_by_role("link", name=f"Sign in with {PROVIDER_NAME}").click()
    page.get_by_label("Provider username").fill("dana")
    page.get_by_label("Provider password").fill(password)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.locator(".who")).to_contain_text("dana (editor)")
    assert page.url == f"{live_server.url}/"
    assert violations == []
    context.close()
    user = get_user_model().objects.get(username="dana")
    assert role_of(user) == EDITOR
    assert user.email == "dana@idp.test"
    assert not user.has_usable_password()
    assert OIDCIdentity.objects.get(user=user).issuer == sso_on.issuer


def test_the_role_comes_from_the_claim_and_changes_on_the_next_sign_in(sso_on, live_server):
    User = get_user_model()
    password = sso_on.user("erin", "staff")
    first = sign_in(live_server.url, "erin", password)
    assert first.url == f"{live_server.url}/"
    assert signed_in_as(first) == "erin"
    assert role_of(User.objects.get(username="erin")) == VIEWER

    sso_on.user("erin", "sre-leads")
    second = sign_in(live_server.url, "erin", password)
    assert signed_in_as(second) == "erin"
    erin = User.objects.get(username="erin")
    assert role_of(erin) == ADMIN and erin.is_superuser and erin.is_staff
    assert User.objects.filter(username__startswith="erin").count() == 1

    # Several groups: the highest mapped role wins; an unmapped one is ignored.
    sso_on.user("erin", "contractors", "engineers", "staff")
    sign_in(live_server.url, "erin", password)
    erin = User.objects.get(username="erin")
    assert role_of(erin) == EDITOR and not erin.is_superuser


def test_a_user_disabled_in_scarlog_is_refused(sso_on, live_server):
    password = sso_on.user("frank", "engineers")
    assert signed_in_as(sign_in(live_server.url, "frank", password)) == "frank"
    get_user_model().objects.filter(username="frank").update(is_active=False)

    refused = sign_in(live_server.url, "frank", password)
    assert refused.url == f"{live_server.url}/accounts/login/"
    assert html.escape(sso.REFUSAL_DISABLED, quote=True) in refused.text
    assert signed_in_as(refused) is None
    assert refused.session.get(f"{live_server.url}/", allow_redirects=False).status_code == 302


@pytest.mark.parametrize("groups", [(), ("contractors",)])
def test_a_missing_or_unmapped_role_claim_is_refused_and_no_user_is_made(sso_on, live_server,
                                                                         settings, groups):
    username = f"gus{len(groups)}"
    password = sso_on.user(username, *groups)
    refused = sign_in(live_server.url, username, password)
    assert refused.url == f"{live_server.url}/accounts/login/"
    expected = sso.refusal_no_role(settings.SCARLOG_OIDC)
    assert html.escape(expected, quote=True) in refused.text
    assert "has no Scarlog role" in refused.text
    assert not get_user_model().objects.filter(username=username).exists()
    # A role granted at the provider counts from the next sign-in.
    sso_on.user(username, "staff")
    assert signed_in_as(sign_in(live_server.url, username, password)) == username


def test_a_tampered_state_is_refused(sso_on, live_server):
    password = sso_on.user("hana", "engineers")
    session = requests.Session()
    callback = urlsplit(to_callback(session, live_server.url, "hana", password))
    query = {key: values[0] for key, values in parse_qs(callback.query).items()}
    query["state"] = "forged-" + query["state"]
    refused = session.get(urlunsplit(callback._replace(query=urlencode(query))))
    assert refused.url == f"{live_server.url}/accounts/login/"
    assert html.escape(sso.REFUSAL_TAMPERED, quote=True) in refused.text
    assert not get_user_model().objects.filter(username="hana").exists()


def test_a_tampered_nonce_is_refused(sso_on, live_server):
    password = sso_on.user("ivan", "engineers")
    session = requests.Session()
    callback = to_callback(session, live_server.url, "ivan", password, nonce="forged-nonce")
    refused = session.get(callback)
    assert refused.url == f"{live_server.url}/accounts/login/"
    assert html.escape(sso.REFUSAL_TAMPERED, quote=True) in refused.text
    assert not get_user_model().objects.filter(username="ivan").exists()


def test_a_code_used_twice_signs_in_once(sso_on, live_server):
    password = sso_on.user("jill", "engineers")
    session = requests.Session()
    callback = to_callback(session, live_server.url, "jill", password)
    assert signed_in_as(session.get(callback)) == "jill"
    replay = requests.Session().get(callback)
    assert replay.url == f"{live_server.url}/accounts/login/"
    assert signed_in_as(replay) is None


def test_a_provider_account_never_takes_over_a_local_one(sso_on, live_server):
    local = make_user("alice", role=VIEWER, password="alice-password-1")
    password = sso_on.user("alice", "sre-leads")
    response = sign_in(live_server.url, "alice", password)
    assert signed_in_as(response) == "alice-2"
    local.refresh_from_db()
    assert role_of(local) == VIEWER and local.check_password("alice-password-1")
    assert not OIDCIdentity.objects.filter(user=local).exists()


def test_local_accounts_sign_in_while_the_provider_is_down(django_app, alice, settings):
    nobody = f"http://127.0.0.1:{free_port()}/o"
    settings.SCARLOG_OIDC = OIDCConfig(
        issuer=nobody, discovery_url=nobody + DISCOVERY_PATH,
        client_id=CLIENT_ID, client_secret="unused", role_claim="scarlog_role",
        role_map=ROLE_MAP, provider_name=PROVIDER_NAME, scopes="openid")
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, BACKEND]
    page = django_app.get("/accounts/login/")
    assert f"Sign in with {PROVIDER_NAME}" in page.text
    form = page.forms[0]
    form["username"], form["password"] = "alice", "alice-password-1"
    dashboard = form.submit().follow()
    assert "Dashboard" in dashboard.text
    # The provider down: starting single sign-on says so on the login page.
    refused = django_app.get("/accounts/sso/start/").follow()
    assert sso.REFUSAL_UNAVAILABLE.split(":")[0] in refused.text


def test_without_configuration_there_is_no_single_sign_on(client, db):
    page = client.get("/accounts/login/")
    assert "Sign in with" not in page.content.decode()
    assert client.get("/accounts/sso/start/").status_code == 404
    assert client.get("/accounts/sso/callback/?code=x&state=y").status_code == 404


def test_the_configuration_names_what_is_missing_or_wrong():
    base = {"issuer": "https://id.example.com/", "discovery_url": "", "client_id": "scarlog",
            "client_secret": "s3cret", "role_claim": "groups", "role_map": "eng=editor",
            "provider_name": "Okta", "scopes": "openid email profile"}
    assert oidc_config(**{**base, "issuer": "", "client_id": "", "client_secret": "",
                          "role_map": ""}) is None
    config = oidc_config(**base)
    assert config.discovery_url == "https://id.example.com/.well-known/openid-configuration"
    assert config.role_map == {"eng": "editor"}
    for field, value, named in [("client_id", "", "SCARLOG_OIDC_CLIENT_ID"),
                                ("client_secret", " ", "SCARLOG_OIDC_CLIENT_SECRET"),
                                ("role_claim", "", "SCARLOG_OIDC_ROLE_CLAIM"),
                                ("role_map", "", "SCARLOG_OIDC_ROLE_MAP"),
                                ("role_map", "eng=owner", "SCARLOG_OIDC_ROLE_MAP"),
                                ("role_map", "eng=editor,eng=admin", "SCARLOG_OIDC_ROLE_MAP"),
                                ("issuer", "id.example.com", "SCARLOG_OIDC_ISSUER"),
                                ("scopes", "email", "SCARLOG_OIDC_SCOPES")]:
        with pytest.raises(ImproperlyConfigured, match=named):
            oidc_config(**{**base, field: value})


def test_the_settings_read_single_sign_on_from_the_environment(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-a-file\n")
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("DJANGO_", "SCARLOG_OIDC_"))}
    env.update(SCARLOG_OIDC_ISSUER="https://id.example.com", SCARLOG_OIDC_CLIENT_ID="scarlog",
               SCARLOG_OIDC_CLIENT_SECRET_FILE=str(secret_file),
               SCARLOG_OIDC_ROLE_MAP="eng=editor,/sre=admin", SCARLOG_VAR_DIR=str(tmp_path))
    code = ("from django.conf import settings; c = settings.SCARLOG_OIDC; "
            "print(c.client_secret, sorted(c.role_map.items()), "
            "settings.AUTHENTICATION_BACKENDS[-1])")
    result = subprocess.run([sys.executable, "manage.py", "shell", "-v", "0", "-c", code],
                            cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["from-a-file", "[('/sre',", "'admin'),", "('eng',",
                                     "'editor')]", BACKEND]
    del env["SCARLOG_OIDC_ROLE_MAP"]
    missing = subprocess.run([sys.executable, "manage.py", "check"], cwd=PROJECT_DIR, env=env,
                             capture_output=True, text=True)
    assert missing.returncode != 0
    assert "SCARLOG_OIDC_ROLE_MAP is required with single sign-on" in missing.stderr


@pytest.mark.parametrize("given", [{"client_id": "scarlog"}, {"client_secret": "s3cret"},
                                   {"client_id": "scarlog", "client_secret": "s3cret"},
                                   {"role_map": "editor=editor"}])
def test_a_client_without_an_issuer_is_a_configuration_error_naming_it(given):
    base = {"issuer": "", "discovery_url": "", "client_id": "", "client_secret": "",
            "role_claim": "groups", "role_map": "", "provider_name": "", "scopes": "openid"}
    with pytest.raises(ImproperlyConfigured,
                       match=r"SCARLOG_OIDC_ISSUER \(or SCARLOG_OIDC_DISCOVERY_URL\) is missing"):
        oidc_config(**{**base, **given})


def test_the_client_id_and_secret_without_an_issuer_stop_startup_config(tmp_path):
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("DJANGO_", "SCARLOG_OIDC_"))}
    env.update(SCARLOG_OIDC_CLIENT_ID="scarlog", SCARLOG_OIDC_CLIENT_SECRET="s3cret",
               SCARLOG_OIDC_ROLE_MAP="editor=editor", SCARLOG_VAR_DIR=str(tmp_path))
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=PROJECT_DIR, env=env,
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert "SCARLOG_OIDC_ISSUER (or SCARLOG_OIDC_DISCOVERY_URL) is missing" in result.stderr
    assert ("SCARLOG_OIDC_CLIENT_ID and SCARLOG_OIDC_CLIENT_SECRET and SCARLOG_OIDC_ROLE_MAP "
            "are set") in result.stderr


def test_a_claim_value_that_is_already_a_role_maps_to_it_config():
    assert parse_role_map("SCARLOG_OIDC_ROLE_MAP", "editor=editor,admin=admin") == {
        "editor": "editor", "admin": "admin"}


CONFIG = OIDCConfig(issuer="https://id.example.com", discovery_url="https://id.example.com/d",
                    client_id="c", client_secret="s", role_claim="groups", role_map=ROLE_MAP,
                    provider_name="Okta", scopes="openid")


@pytest.mark.parametrize("claim, role", [
    ("engineers", EDITOR), (["staff", "sre-leads"], ADMIN), (["contractors"], None),
    (None, None), ("", None), (["engineers", 7, None], EDITOR), ({"engineers": 1}, None),
    ("Engineers", None),
])
def test_the_role_is_the_highest_mapped_value_of_the_claim(claim, role):
    claims = {} if claim is None else {"groups": claim}
    assert sso.role_from_claims(claims, CONFIG) == role


@hypothesis_settings(max_examples=200, deadline=None)
@given(preferred=st.one_of(st.none(), st.text(max_size=400)),
       email=st.one_of(st.none(), st.text(max_size=400), st.emails()))
def test_any_claimed_name_makes_a_valid_username(preferred, email):
    from django.contrib.auth.validators import ASCIIUsernameValidator

    claims = {"preferred_username": preferred, "email": email}
    username = sso.username_base(claims)
    ASCIIUsernameValidator()(username)
    assert 1 <= len(username) <= sso.USERNAME_LENGTH - 8
    assert "\x00" not in username


def test_a_bad_role_map_names_the_item():
    with pytest.raises(ImproperlyConfigured, match="'engineers' is not claim-value=role"):
        parse_role_map("SCARLOG_OIDC_ROLE_MAP", "engineers")
    # A claim value may hold "=" (the role is after the last one); blanks are trimmed.
    assert parse_role_map("X", "cn=ops=admin, eng = editor ,") == {"cn=ops": ADMIN,
                                                                   "eng": EDITOR}


def test_refused_sign_ins_count_towards_the_address_lockout(sso_on, live_server, settings,
                                                            caplog):
    """Single sign-on refusals are failed sign-ins from the address (logged as
    "sso:<provider username>"); once the address reaches its limit, neither single sign-on
    nor a local password signs in from it (django-axes, core.login_throttle)."""
    caplog.set_level(logging.INFO, logger="scarlog.auth")
    settings.SCARLOG_LOGIN_IP_FAILURE_LIMIT = 3
    password = sso_on.user("kim")
    for _ in range(3):
        assert signed_in_as(sign_in(live_server.url, "kim", password)) is None
    failures = [r for r in caplog.records if r.name == "scarlog.auth"
                and getattr(r, "event", "") == "login_failed"]
    assert [r.username for r in failures] == ["sso:kim"] * 3
    good = sso_on.user("lou", "engineers")
    session = requests.Session()
    locked = session.get(to_callback(session, live_server.url, "lou", good))
    assert locked.status_code == 429
    assert "Sign-in locked for 15 minutes" in locked.text
    assert not get_user_model().objects.filter(username="lou").exists()
    make_user("mia", password="mia-password-1")
    login = session.get(f"{live_server.url}/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
    local = session.post(f"{live_server.url}/accounts/login/", data={
        "csrfmiddlewaretoken": token, "username": "mia", "password": "mia-password-1"},
        headers={"Referer": login.url})
    assert local.status_code == 429


def test_a_next_page_is_kept_and_an_outside_one_dropped(sso_on, live_server):
    password = sso_on.user("nora", "engineers")
    login = requests.get(f"{live_server.url}/accounts/login/?next=/postmortems/")
    assert 'href="/accounts/sso/start/?next=/postmortems/"' in login.text
    for asked, landed in [("/postmortems/", "/postmortems/"), ("https://evil.example/", "/")]:
        session = requests.Session()
        start = "/accounts/sso/start/?next=" + requests.utils.quote(asked, safe="")
        callback = to_callback(session, live_server.url, "nora", password, start=start)
        assert session.get(callback).url == f"{live_server.url}{landed}"


def test_single_sign_on_users_can_own_action_items(db):
    from core.roles import item_owners, set_role

    user = get_user_model().objects.create_user("olga")
    OIDCIdentity.objects.create(user=user, issuer="https://id.example.com", subject="o-1")
    set_role(user, EDITOR)
    service = get_user_model().objects.create_user("ci-bot")
    set_role(service, EDITOR)
    assert list(item_owners().values_list("username", flat=True)) == ["olga"]


def test_check_deploy_is_clean_with_single_sign_on_configured(tmp_path):
    from tests.test_deployment import production_env

    env = production_env(tmp_path, SCARLOG_OIDC_ISSUER="https://id.example.com/realms/ops",
                         SCARLOG_OIDC_CLIENT_ID="scarlog", SCARLOG_OIDC_CLIENT_SECRET="s3cret",
                         SCARLOG_OIDC_ROLE_MAP="engineers=editor")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_discovery_document_of_another_issuer_is_refused(sso_on, live_server, settings):
    config = settings.SCARLOG_OIDC
    settings.SCARLOG_OIDC = OIDCConfig(**{**vars(config),
                                          "issuer": "https://id.example.com/realms/ops"})
    with pytest.raises(sso.ProviderUnavailable, match="names issuer"):
        sso.provider_metadata(settings.SCARLOG_OIDC)
    refused = requests.get(f"{live_server.url}/accounts/sso/start/")
    assert refused.url == f"{live_server.url}/accounts/login/"
    assert "Single sign-on is unavailable" in refused.text
