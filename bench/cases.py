"""The pages the suite measures, in the order of its table."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    """`path` may hold {final} (a final postmortem id), {draft} (the client's draft id) or
    {pagea}, {pageb}, {pagec} (the signed ids of three pages on the client's draft);
    a POST case sends `form` with {version} filled from the client's draft version."""

    name: str
    method: str
    path: str
    form: tuple = ()
    token: bool = False


HELLO = "hello (bare view)"
LIVE = "live draft"
CASES = [
    Case(HELLO, "GET", "/bench/hello"),
    Case("dashboard", "GET", "/"),
    Case("postmortem page", "GET", "/postmortems/{final}/"),
    Case("postmortem list", "GET", "/postmortems/"),
    Case("list filtered", "GET",
         "/postmortems/?domain=domain-3&open_items=yes&sort=-event&q=orders&page=2"),
    # Issue 20: a draft's live poll with nothing changed (since=1: no draft has a change
    # after 1 when this runs), three editors' pages cycling on each client's draft.
    Case(LIVE, "GET", "\n".join(f"/postmortems/{{draft}}/live/?since=1&editor={{page{n}}}"
                                 for n in "abc")),
    Case("autosave", "POST", "/postmortems/{draft}/field/summary/",
         form=(("summary", "Vendor outage stopped order routing for {version} minutes."),
               ("base_version", "{version}"))),
    Case("cost totals", "GET", "/costs/"),
    Case("gate API", "GET", "/api/gate/domain-3", token=True),
    Case("search", "GET", "/search/?q=pending+orders"),
    Case("loop gaps", "GET", "/loop/"),
    Case("insights", "GET", "/insights/"),
    Case("insights filtered", "GET", "/insights/?from=2024-01&to=2025-12&domain=domain-3"
         "&root_cause=correctness&severity=SEV2"),
    Case("insights JSON", "GET", "/insights.json?domain=domain-3"),
]


def fill(case: Case, values: dict) -> tuple[str, str, dict]:
    """(method, path, form data) of `case` with `values` ({final}, {draft}, {version},
    {pagea}, {pageb}, {pagec})."""
    form = {key: value.format(**values) for key, value in case.form}
    return case.method, case.path.format(**values), form
