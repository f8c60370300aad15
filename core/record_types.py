"""Value types for Record shapes (core.validation), with messages a person can act on.

Each is an Annotated type whose validator refuses with a sentence ("must be text, not
int.") instead of pydantic's default wording; parse_record() prefixes the source, line
and key. Column lengths are read from the Django model (max_length_of), never copied.
"""
import re
from collections.abc import Callable, Iterable
from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

SHOWN_CHARACTERS = 40


def shown(value: Any) -> str:
    """`value` as a refusal quotes it: its repr, cut to SHOWN_CHARACTERS with an ellipsis,
    so a 10 MB or 5,000-digit input is never echoed whole."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARACTERS else text[:SHOWN_CHARACTERS - 3] + "…'"


def refusal(message: str) -> PydanticCustomError:
    """The error a validator raises: `message` exactly as written (no template braces)."""
    return PydanticCustomError("refused", "{message}", {"message": message})


def max_length_of(model, name: str) -> int:
    """The max_length of the CharField `name` of the Django `model`."""
    return model._meta.get_field(name).max_length


def kind_of(value: Any) -> str:
    """The JSON/YAML name of a value's type, for "must be text, not a number"."""
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, date):
        return "a date"
    return type(value).__name__


def check_text(value: Any, *, max_length: int | None = None, required: bool = True,
               strip: bool = False) -> str:
    """`value` as text; raises a refusal for a non-string, a NUL, empty text or too long."""
    if not isinstance(value, str):
        raise refusal(f"must be text, not {kind_of(value)}.")
    if strip:
        value = value.strip()
    if "\x00" in value:
        raise refusal("contains a NUL character.")
    if required and not value.strip():
        raise refusal("must not be empty.")
    if max_length is not None and len(value) > max_length:
        raise refusal(f"is {len(value)} characters; at most {max_length}.")
    return value


def Text(*, max_length: int | None = None, required: bool = True, strip: bool = False):
    """A string field: not empty unless `required` is False, at most `max_length`."""
    return Annotated[str, BeforeValidator(
        lambda value: check_text(value, max_length=max_length, required=required, strip=strip))]


def OneOf(values: Iterable[str]):
    """A string that is one of `values` (a choices enum's .values)."""
    allowed = tuple(values)

    def check(value: Any) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise refusal(f"{value!r} is not one of {', '.join(allowed)}.")
        return value
    return Annotated[str, BeforeValidator(check)]


def Matching(pattern: re.Pattern, describe: Callable[[Any], str]):
    """A string matching `pattern`; `describe(value)` is the refusal's message."""
    def check(value: Any) -> str:
        if not isinstance(value, str) or not pattern.match(value):
            raise refusal(describe(value))
        return value
    return Annotated[str, BeforeValidator(check)]


def ListOf(item_type, message: str = "must be a list of text items."):
    """A list whose items are `item_type` (each refused under its index: `tags[2]`)."""
    def check(value: Any) -> list:
        if not isinstance(value, list):
            raise refusal(message)
        return value
    return Annotated[list[item_type], BeforeValidator(check)]


def id_pattern(max_length: int) -> re.Pattern:
    """An id of letters, digits, _ . - starting with a letter or digit, at most `max_length`."""
    return re.compile(rf"^[A-Za-z0-9][A-Za-z0-9_.-]{{0,{max_length - 1}}}$")
