"""One way every parser of outside input checks it: a pydantic model per record shape,
and one error type, RecordError, that says where the bad value is (file, line, key).

The five readers of outside input (postmortem JSON lines, the events API, the knowledge
base YAML, runbook frontmatter, the Markdown cost log) declare their record shapes as
`Record` subclasses and call parse_record(); a refusal names the source, the line and the
dotted key path (`timeline[2].utc`) of the first bad value, with a message a person can act
on. pydantic was chosen over hand-written checks and over a JSON-schema validator: it is
the most used Python validation library, its models double as typed records, and it
reports every error with its location.
"""
import json
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

RecordT = TypeVar("RecordT", bound="Record")


class RecordError(ValueError):
    """Outside input that does not fit its record's shape.

    source: the file name (or "request body"); line: 1-based line number, or None; key:
    the dotted path of the bad value ("" for the record as a whole); message: what is
    wrong, in words. str() gives "source, line N, key: message" with the parts known.
    """

    def __init__(self, message: str, *, source: str = "", line: int | None = None,
                 key: str = ""):
        self.message = message
        self.source = source
        self.line = line
        self.key = key
        super().__init__(self.located())

    def located(self) -> str:
        """The message prefixed with the parts of its location that are known."""
        where = [part for part in (self.source, f"line {self.line}" if self.line else "")
                 if part]
        prefix = ", ".join(where)
        if self.key:
            prefix = f"{prefix}: {self.key}" if prefix else self.key
        return f"{prefix}: {self.message}" if prefix else self.message

    def at(self, *, source: str | None = None, line: int | None = None,
           key_prefix: str = "") -> "RecordError":
        """The same error placed in a larger context (a file, a line, a parent key)."""
        key = ".".join(part for part in (key_prefix, self.key) if part)
        return RecordError(self.message, source=self.source if source is None else source,
                           line=self.line if line is None else line, key=key)


class Record(BaseModel):
    """The base of every record shape: unknown keys are refused, values are not coerced
    across types (a number is not a string), and a parsed record is immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def key_path(location: tuple) -> str:
    """pydantic's error location as a dotted path: ("timeline", 2, "utc") -> "timeline[2].utc"."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def parse_record(model: type[RecordT], data: Any, *, source: str = "",
                 line: int | None = None) -> RecordT:
    """`data` (decoded JSON/YAML) validated as `model`; raises RecordError at the first bad
    value."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        message = first["msg"]
        if first["type"] == "extra_forbidden":
            message = "is not a known key"
        elif first["type"] == "missing":
            message = "is required"
        raise RecordError(message, source=source, line=line,
                          key=key_path(first["loc"])) from None


def load_json(text: str | bytes, *, source: str = "", line: int | None = None) -> Any:
    """`text` decoded as JSON; RecordError for anything that is not JSON a record can be:
    invalid JSON or UTF-8, nesting too deep for the parser, integers over Python's 4,300
    digits. Never lets such input surface as a 500."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordError(f"not valid JSON ({exc.msg}, column {exc.colno})",
                          source=source, line=line) from None
    except UnicodeDecodeError:
        raise RecordError("not valid UTF-8", source=source, line=line) from None
    except RecursionError:
        raise RecordError("nested too deeply", source=source, line=line) from None
    except ValueError:  # int() of more than 4,300 digits
        raise RecordError("holds a number too large to read (more than 4,300 digits)",
                          source=source, line=line) from None
