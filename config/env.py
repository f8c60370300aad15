"""Typed readers for Scarlog's environment variables.

Every setting comes from the environment (see .env.example). A variable that is set
but malformed raises ImproperlyConfigured naming it; nothing falls back silently.
A `NAME_FILE` variable, when set, names a file whose stripped content is the value
(for Docker secrets).
"""
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(name: str, default: str | None = None) -> str | None:
    """Return the variable `name` (or the content of the file `NAME_FILE`), else `default`.

    Raises ImproperlyConfigured when both `name` and `NAME_FILE` are set, or the file
    cannot be read.
    """
    file_var = f"{name}_FILE"
    if name in os.environ and file_var in os.environ:
        raise ImproperlyConfigured(f"Set {name} or {file_var}, not both.")
    if file_var in os.environ:
        path = Path(os.environ[file_var])
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{file_var}={path} cannot be read: {exc}") from exc
    return os.environ.get(name, default)


def env_required(name: str) -> str:
    """Return the variable `name`; raise ImproperlyConfigured when it is unset or empty."""
    value = env_str(name)
    if not value:
        raise ImproperlyConfigured(f"The environment variable {name} is required here.")
    return value


def env_bool(name: str, default: bool) -> bool:
    """Return `name` read as a boolean (1/true/yes/on or 0/false/no/off)."""
    value = env_str(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use true or false).")


def env_int(name: str, default: int) -> int:
    """Return `name` read as an integer; raise ImproperlyConfigured when it is not one."""
    value = env_str(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    """Return `name` split on commas, blanks dropped (e.g. ALLOWED_HOSTS)."""
    value = env_str(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_mapping(name: str) -> dict[str, str]:
    """Return `name` ("a=/path/a,b=/path/b") as {"a": "/path/a", ...}; {} when unset.

    Raises ImproperlyConfigured for an item without "=" or a repeated name.
    """
    mapping: dict[str, str] = {}
    for item in env_list(name, []):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ImproperlyConfigured(f"{name}: {item!r} is not name=/path/to/clone.")
        if key.strip() in mapping:
            raise ImproperlyConfigured(f"{name}: {key.strip()!r} is given twice.")
        mapping[key.strip()] = value.strip()
    return mapping


def env_site_url(name: str, default: str) -> str:
    """Return the variable `name` as an http(s) site address with a host and no query or
    fragment, without a trailing slash ("" when unset and `default` is ""); raise
    ImproperlyConfigured naming it otherwise (docs/rules.md#reminder-site-url)."""
    from urllib.parse import urlsplit

    value = (env_str(name, default) or "").strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query \
            or parts.fragment or any(ch.isspace() for ch in value):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not an http(s) address such as https://scarlog.example.com.")
    return value.rstrip("/")
