"""Helpers for the security tests: every URL pattern made concrete, and a fingerprint of
everything stored (to prove a refused or read-only request changed nothing), or of only the
tables a request wrote to (changed_since: cheap enough to run for every example)."""
import re
import uuid
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.urls import URLPattern, URLResolver, get_resolver

from incidents import action_items, services
from incidents.failure_modes import FAILURE_MODES
from incidents.models import ContributingFactor, Postmortem, TimelineEntry
from tests.conftest import fill_complete_draft

# Regex patterns cannot be filled in generically; each gets a concrete path here. A new
# regex pattern without an entry fails the crawl, so no pattern is ever left out.
REGEX_PATHS = {
    "admin/^(?P<app_label>auth|axes|core|incidents|costlog|runbooks|knowledge)/$": "/admin/auth/",
    "admin/(?P<url>.*)$": "/admin/no-such-page/",
    "^mcp/?$": "/mcp/",
}
# Tables a read-only request may still touch: the session and the login-attempt log.
UNFINGERPRINTED = ("django_session", "axes_")
# Columns that record the request itself rather than what it asked for: an API token's
# last use is noted even when the token's request is then refused.
BOOKKEEPING_COLUMNS = {"incidents_apitoken": "last_used_utc"}
CONVERTER = re.compile(r"<(?:(?P<kind>\w+):)?(?P<name>\w+)>")


def url_patterns(patterns=None, prefix="", namespace=""):
    """Yield (route, url_name) for every URL pattern, admin included ("" when unnamed)."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, [namespace, pattern.namespace or ""]))
            yield from url_patterns(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield prefix + str(pattern.pattern), name or ""


def concrete_path(route: str, values: dict[str, str]) -> str:
    """The path for `route` with each <converter:name> replaced by values[name] (or by a
    value of the converter's kind); regex routes come from REGEX_PATHS (KeyError if new)."""
    if "(?P<" in route or route.startswith("^"):
        return REGEX_PATHS[route]
    fallback = {"uuid": str(uuid.uuid4()), "int": "1", "path": "1", "slug": "x", "str": "x"}

    def fill(match):
        name, kind = match.group("name"), match.group("kind") or "str"
        if name == "key":  # runbook ids and knowledge ids share the converter name
            return values["runbook_key" if "runbooks/" in route else "knowledge_key"]
        if name == "pk" and route.startswith("costs/") and kind != "uuid":
            return str(values.get("cost_pk", fallback[kind]))
        return str(values.get(name, fallback[kind]))

    return "/" + CONVERTER.sub(fill, route)


def fingerprinted(table: str) -> bool:
    return not table.startswith(UNFINGERPRINTED)


def fingerprint(tables=None) -> dict[str, str]:
    """{table: md5 of all its rows} for `tables` (default: every table but sessions and
    axes' attempt log)."""
    if tables is None:
        tables = [t for t in connection.introspection.table_names() if fingerprinted(t)]
    def row(table):
        column = BOOKKEEPING_COLUMNS.get(table)
        return f"(to_jsonb(x) - '{column}')::text" if column else "x::text"

    sql = " UNION ALL ".join(
        f"SELECT '{t}', md5(coalesce(string_agg({row(t)}, '|' ORDER BY {row(t)}), '')) "
        f"FROM {connection.ops.quote_name(t)} x" for t in tables)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return dict(cursor.fetchall())


def changed_tables(before: dict[str, str]) -> list[str]:
    after = fingerprint()
    return sorted(t for t in after if after[t] != before.get(t))


def write_counts() -> dict[str, int]:
    """{table: rows inserted, updated or deleted so far in this transaction}: PostgreSQL's
    own per-transaction statistics, which count writes later rolled back too, so a table
    whose count has not moved has certainly not changed."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, n_tup_ins + n_tup_upd + n_tup_del "
                       "FROM pg_stat_xact_user_tables WHERE schemaname = current_schema()")
        return dict(cursor.fetchall())


def changed_since(counts: dict[str, int], savepoint: str) -> list[str]:
    """The tables whose rows differ from when `counts` (write_counts()) and `savepoint`
    (transaction.savepoint()) were taken, inside a test's transaction.

    Only the tables written to since then are fingerprinted, each as it is now and, after
    rolling back to `savepoint`, as it was; so what stays stored is what was stored before
    (the same rows when the answer is [])."""
    written = [t for t, n in write_counts().items() if n != counts.get(t, 0) and fingerprinted(t)]
    if not written:
        transaction.savepoint_commit(savepoint)
        return []
    after = fingerprint(written)
    transaction.savepoint_rollback(savepoint)
    before = fingerprint(written)
    return sorted(t for t in written if after[t] != before[t])


def populated_site(user, real_runbooks) -> list[dict[str, str]]:
    """Data behind every URL (a draft with rows, a final postmortem with an action item,
    a cost entry, runbooks with a checklist run, knowledge) and two sets of URL values:
    one pointing at the draft, one at the final postmortem."""
    from costlog.models import MishapEntry
    from knowledge.models import KnowledgeEntry, Policy
    from runbooks.models import Runbook
    from runbooks.services import start_run

    draft = fill_complete_draft(Postmortem.objects.create(created_by=user))
    final = services.finalize(fill_complete_draft(Postmortem.objects.create(created_by=user)),
                              user)
    item = action_items.add_item(final, "test", "Add a regression test", user,
                                 datetime.now(UTC).date() + timedelta(days=7), user=user)
    runbook = Runbook.objects.get(key="ops-05")
    run = start_run(runbook, user)
    common = {
        "name": "summary", "field": "summary", "mode": FAILURE_MODES[0].slug,
        "kind": "timeline", "change": "start", "item_id": item.pk,
        "runbook_key": runbook.key, "run_id": run.pk, "position": 1,
        "knowledge_key": KnowledgeEntry.objects.order_by("position").first().key,
        "number": Policy.objects.order_by("number").first().number,
        "domain": "trading", "meeting_id": 1,
    }
    entry = MishapEntry.objects.order_by("pk").first()
    if entry is not None:
        common["cost_pk"] = entry.pk
    return [dict(common, pk=str(pm.pk),
                 row_id=TimelineEntry.objects.filter(postmortem=pm).order_by("id").first().pk,
                 factor_id=ContributingFactor.objects.filter(postmortem=pm)
                 .order_by("id").first().pk)
            for pm in (draft, final)]
