"""Single sign-on (OIDC) configuration, read from the environment by config/settings.py.

oidc_config() returns an OIDCConfig when SCARLOG_OIDC_ISSUER or SCARLOG_OIDC_DISCOVERY_URL
is set, else None (single sign-on off; only local accounts sign in) — unless the client id,
secret or role map is set without them, which raises ImproperlyConfigured naming the
missing issuer. Everything else it
needs is then required, and a missing or malformed variable raises ImproperlyConfigured
naming it. No network here: the provider's discovery document is read on the first
sign-in (core.sso.provider_metadata). docs/rules.md#sso-roles
"""
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from core.role_names import ROLES

DISCOVERY_PATH = "/.well-known/openid-configuration"


@dataclass(frozen=True)
class OIDCConfig:
    """One OpenID Connect provider: `issuer` ("" = take the discovery document's),
    `discovery_url`, the confidential client's `client_id` / `client_secret`, the
    `role_claim` name, `role_map` {claim value: Scarlog role}, the `provider_name` the
    login page shows, and the space-separated `scopes` asked for."""

    issuer: str
    discovery_url: str
    client_id: str
    client_secret: str
    role_claim: str
    role_map: dict
    provider_name: str
    scopes: str


def _http_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query \
            or parts.fragment or any(ch.isspace() for ch in value):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not an http(s) address such as https://id.example.com.")
    return value


def parse_role_map(name: str, value: str) -> dict[str, str]:
    """Read `value` ("claim-value=role,other=role") as {claim value: role}; the role is one
    of viewer, editor, admin. Raises ImproperlyConfigured naming `name` for an empty map, an
    item without "=", an unknown role or a claim value given twice. docs/rules.md#sso-roles"""
    mapping: dict[str, str] = {}
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        claim_value, sep, role = item.rpartition("=")
        claim_value, role = claim_value.strip(), role.strip()
        if not sep or not claim_value:
            raise ImproperlyConfigured(f"{name}: {item!r} is not claim-value=role.")
        if role not in ROLES:
            raise ImproperlyConfigured(
                f"{name}: {item!r} maps to {role!r}; the roles are {', '.join(ROLES)}.")
        if claim_value in mapping:
            raise ImproperlyConfigured(f"{name}: {claim_value!r} is given twice.")
        mapping[claim_value] = role
    if not mapping:
        raise ImproperlyConfigured(
            f"{name} is required with single sign-on: e.g. sre-leads=admin,engineers=editor "
            "(a user whose claim maps to no role is refused).")
    return mapping


def oidc_config(*, issuer: str, discovery_url: str, client_id: str, client_secret: str,
                role_claim: str, role_map: str, provider_name: str,
                scopes: str) -> OIDCConfig | None:
    """The OIDCConfig for these SCARLOG_OIDC_* values, or None when neither the issuer nor
    the discovery URL is set (and neither is the client id, secret or role map). Raises
    ImproperlyConfigured naming the variable at fault."""
    issuer = (issuer or "").strip().rstrip("/")
    discovery_url = (discovery_url or "").strip()
    if not issuer and not discovery_url:
        given = [name for name, value in (("SCARLOG_OIDC_CLIENT_ID", client_id),
                                          ("SCARLOG_OIDC_CLIENT_SECRET", client_secret),
                                          ("SCARLOG_OIDC_ROLE_MAP", role_map))
                 if (value or "").strip()]
        if given:
            raise ImproperlyConfigured(
                f"SCARLOG_OIDC_ISSUER (or SCARLOG_OIDC_DISCOVERY_URL) is missing: "
                f"{' and '.join(given)} {'is' if len(given) == 1 else 'are'} set, so single "
                "sign-on is meant to be on; set the provider's issuer URL, or unset them.")
        return None
    if issuer:
        _http_url("SCARLOG_OIDC_ISSUER", issuer)
    if discovery_url:
        _http_url("SCARLOG_OIDC_DISCOVERY_URL", discovery_url)
    else:
        discovery_url = issuer + DISCOVERY_PATH
    for name, value in (("SCARLOG_OIDC_CLIENT_ID", client_id),
                        ("SCARLOG_OIDC_CLIENT_SECRET", client_secret),
                        ("SCARLOG_OIDC_ROLE_CLAIM", role_claim)):
        if not (value or "").strip():
            raise ImproperlyConfigured(
                f"{name} is required when SCARLOG_OIDC_ISSUER or SCARLOG_OIDC_DISCOVERY_URL "
                "is set (single sign-on).")
    scope_list = (scopes or "").split()
    if "openid" not in scope_list:
        raise ImproperlyConfigured(f"SCARLOG_OIDC_SCOPES={scopes!r} must include openid.")
    return OIDCConfig(
        issuer=issuer, discovery_url=discovery_url, client_id=client_id.strip(),
        client_secret=client_secret.strip(), role_claim=role_claim.strip(),
        role_map=parse_role_map("SCARLOG_OIDC_ROLE_MAP", role_map or ""),
        provider_name=(provider_name or "").strip() or "single sign-on",
        scopes=" ".join(scope_list),
    )
