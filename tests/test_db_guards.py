"""The database guards (docs/rules.md#database-guards) hold against the application's own
runtime role and, for append-only history, against the owner too.

Every test here connects as a real runtime role created by `manage.py db_roles` (a psycopg
connection of its own, autocommit), or as the test connection's superuser, and tries what
an attacker holding that role would: pgtrigger's ignore switch with the real trigger names,
session_replication_role, DISABLE/DROP TRIGGER, replacing the guard function, TRUNCATE, a
temporary table standing in for incidents_postmortem. Each attempt is refused and the rows
stay as they were.
"""
import subprocess
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, connection, transaction

from core.api_tokens import create_token
from core.webhooks.subscriptions import create_subscription
from costlog.models import ResourceRate, RootPattern
from costlog.services import EntryInput, ResourceUse, record_entry
from incidents import action_items, gate, meetings, services, visibility
from incidents.meetings import AttendeeInput
from incidents.models import (
    ActionItem,
    ActionItemEvent,
    DomainChange,
    FieldRevision,
    Meeting,
    Postmortem,
    PostmortemAccess,
    PostmortemDomain,
)
from runbooks.models import Runbook, RunbookRevision
from runbooks.services import record_result, start_run
from tests.conftest import fill_complete_draft, make_user

# One write each guard must refuse, per protected table ({final}: the final postmortem's id).
ATTEMPTS = {
    "incidents_postmortem": "UPDATE incidents_postmortem SET summary = 'rewritten' "
                            "WHERE id = '{final}'",
    "incidents_timelineentry": "UPDATE incidents_timelineentry SET event = 'rewritten' "
                               "WHERE postmortem_id = '{final}'",
    "incidents_contributingfactor": "UPDATE incidents_contributingfactor SET "
                                    "substitution = 'personal', blameless_reviewed_text = '' "
                                    "WHERE postmortem_id = '{final}'",
    "incidents_reference": "DELETE FROM incidents_reference WHERE postmortem_id = '{final}'",
    "incidents_scananswer": "UPDATE incidents_scananswer SET answer = 'yes' "
                            "WHERE postmortem_id = '{final}'",
    "incidents_pendingmark": "INSERT INTO incidents_pendingmark (postmortem_id, field, "
                             "marked_utc) VALUES ('{final}', 'summary', now())",
    "incidents_fieldrevision": "UPDATE incidents_fieldrevision SET values = '{{}}'",
    "incidents_meeting": "INSERT INTO incidents_meeting (postmortem_id, scheduled_utc, "
                         "facilitator_id, created_utc) SELECT postmortem_id, now(), "
                         "facilitator_id, now() FROM incidents_meeting "
                         "WHERE postmortem_id = '{final}'",
    "incidents_meetingattendee": "DELETE FROM incidents_meetingattendee",
    "incidents_amendment": "UPDATE incidents_amendment SET note = 'rewritten'",
    "incidents_logseal": "UPDATE incidents_logseal SET content_sha256 = md5(content_sha256)",
    "incidents_actionitemevent": "DELETE FROM incidents_actionitemevent",
    "incidents_gateoverride": "UPDATE incidents_gateoverride "
                              "SET until_utc = until_utc + interval '1 year'",
    "incidents_actionitem": "DELETE FROM incidents_actionitem",
    "incidents_classification": "DELETE FROM incidents_classification",
    "incidents_domainchange": "UPDATE incidents_domainchange SET new_domain = 'zzz-parking'",
    "incidents_postmortemaccess": "UPDATE incidents_postmortemaccess SET group_ids = '[]'",
    "runbooks_runbookrevision": "UPDATE runbooks_runbookrevision SET body = 'rewritten'",
    "runbooks_checklistresult": "DELETE FROM runbooks_checklistresult",
    "runbooks_checklistrun": "UPDATE runbooks_checklistrun SET items = '[\"Optional: coffee\"]'",
    "runbooks_runbook": "UPDATE runbooks_runbook SET body = 'rewritten'",
    "costlog_resourcerate": "UPDATE costlog_resourcerate SET usd = usd * 2",
    "costlog_mishapentry": "DELETE FROM costlog_mishapentry",
    "costlog_entrypattern": "UPDATE costlog_entrypattern SET cost_high_usd = 0",
    "costlog_mishapresource": "UPDATE costlog_mishapresource SET cost_usd = 0",
    "core_webhookdelivery": "DELETE FROM core_webhookdelivery",
}

# Append-only history: UPDATE, DELETE and TRUNCATE refused for every role, owner included.
APPEND_ONLY = ("incidents_amendment", "incidents_logseal", "incidents_actionitemevent",
               "incidents_gateoverride", "incidents_domainchange", "incidents_fieldrevision",
               "incidents_postmortemaccess",
               "runbooks_runbookrevision",
               "runbooks_checklistresult", "runbooks_checklistrun", "costlog_resourcerate",
               "costlog_mishapentry", "costlog_entrypattern", "costlog_mishapresource")


@pytest.fixture
def world(alice, real_cost_log, real_runbooks):
    """A final postmortem with every kind of row (a held meeting and its attendees, scan
    answers, reviewed factors, an amendment, seals, a domain, an open action item with its
    history), a draft with a field revision, a gate override, a runbook revision and a
    checklist result, and the imported cost log. Returns {"final": pk, "draft": pk}."""
    bob = make_user("bob", email="bob@example.com")
    now = datetime.now(UTC)
    # A webhook subscription, so that the changes below write the delivery log.
    create_subscription("Ops", "https://hooks.example.com/ops", "json", ["postmortem.finalized"])
    pm = fill_complete_draft(Postmortem.objects.create(created_by=alice))
    meeting = meetings.schedule_meeting(pm, now + timedelta(hours=1), alice,
                                        [AttendeeInput(alice, "operator"),
                                         AttendeeInput(bob, "code_owner")])
    meetings.start_meeting(meeting, alice)
    services.set_domain(pm, "trading", user=alice)
    security = Group.objects.create(name="Security")
    alice.groups.add(security)
    visibility.set_access(pm, [security], alice)
    final = services.finalize(pm, alice)
    services.add_amendment(final, alice, "The vendor confirmed the window.")
    action_items.add_item(final, "test", "Regression test for the limit", alice,
                          now.date() + timedelta(days=7), user=alice)
    gate.override_gate("trading", "Hotfix for a live order bug", now + timedelta(hours=4), alice)
    draft = Postmortem.objects.create(created_by=alice)
    FieldRevision.objects.create(postmortem=draft, field="summary", key="summary", version=1,
                                 values={"summary": "First words"})
    run = start_run(Runbook.objects.get(key="ops-05"), alice)
    record_result(run, 0, True, "checked the dashboard", alice)
    rate = ResourceRate.objects.order_by("effective_date").first()
    record_entry(EntryInput(
        occurred_utc=now, logged_zone="UTC", title="Backtest jobs ran on a stale image",
        what_happened="Fifteen jobs ran twice.", root_cause="The image tag was never checked.",
        patterns=[RootPattern.objects.first()], prevention_items=["Pin image digests"],
        resources=[ResourceUse(rate.resource, 2, 3600)]), user=alice)
    return {"final": str(final.pk), "draft": str(draft.pk)}


def stored(table: str) -> list:
    """Every row of `table` as JSON, in a stable order (read by the superuser)."""
    with connection.cursor() as cur:
        cur.execute(f"SELECT to_jsonb(t)::text AS row FROM {table} t ORDER BY row")
        return [row[0] for row in cur.fetchall()]


def triggers_of(table: str) -> list[tuple[str, str]]:
    """(trigger name, function) of every trigger a project migration put on `table`."""
    with connection.cursor() as cur:
        cur.execute("SELECT tgname, tgfoid::regproc::text FROM pg_trigger "
                    "WHERE tgrelid = %s::regclass AND NOT tgisinternal ORDER BY 1", [table])
        return cur.fetchall()


def guarded_tables() -> set[str]:
    with connection.cursor() as cur:
        cur.execute("SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger "
                    "WHERE NOT tgisinternal AND tgname LIKE 'scarlog\\_%%'")
        return {row[0] for row in cur.fetchall()}


def in_one_transaction(conn, *statements) -> None:
    """Run `statements` in one transaction of `conn`, committed unless one is refused."""
    with conn.transaction():
        for statement in statements:
            conn.execute(statement)


def refused(conn, statement, error=psycopg.errors.RestrictViolation) -> str:
    with pytest.raises(error) as raised:
        conn.execute(statement)
    return str(raised.value)


@pytest.mark.django_db(transaction=True)
def test_every_table_with_a_guard_is_attacked_below(world):
    assert guarded_tables() == set(ATTEMPTS)
    with connection.cursor() as cur:  # no guard reads a setting a role could SET
        cur.execute("SELECT p.proname, p.prosrc FROM pg_trigger t JOIN pg_proc p "
                    "ON p.oid = t.tgfoid WHERE t.tgname LIKE 'scarlog\\_%%'")
        sources = cur.fetchall()
    assert sources and all("setting" not in src and "pgtrigger" not in src
                           for _, src in sources)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("table", sorted(ATTEMPTS))
def test_the_runtime_role_cannot_get_past_the_guard(world, runtime_conn, table):
    attempt = ATTEMPTS[table].format(**world)
    before = stored(table)
    assert before or attempt.startswith("INSERT"), f"{table} has rows to protect"
    triggers = triggers_of(table)
    assert any(name.startswith("scarlog_") for name, _ in triggers)

    refused(runtime_conn, attempt)
    # pgtrigger's switch, naming every trigger of the table by its real name
    names = "{" + ",".join(name for name, _ in triggers) + "}"
    with pytest.raises(psycopg.errors.RestrictViolation):
        in_one_transaction(runtime_conn, f"SET LOCAL pgtrigger.ignore = '{names}'", attempt)
    refused(runtime_conn, "SET session_replication_role = replica",
            psycopg.errors.InsufficientPrivilege)
    refused(runtime_conn, attempt)
    for scope in ("ALL", "USER"):
        refused(runtime_conn, f"ALTER TABLE {table} DISABLE TRIGGER {scope}",
                psycopg.errors.InsufficientPrivilege)
    for name, function in triggers:
        refused(runtime_conn, f"ALTER TABLE {table} DISABLE TRIGGER {name}",
                psycopg.errors.InsufficientPrivilege)
        refused(runtime_conn, f"DROP TRIGGER {name} ON {table}",
                psycopg.errors.InsufficientPrivilege)
        refused(runtime_conn, f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger "
                "LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END; $$",
                psycopg.errors.InsufficientPrivilege)
        refused(runtime_conn, f"ALTER FUNCTION {function}() RESET search_path",
                psycopg.errors.InsufficientPrivilege)
    refused(runtime_conn, f"TRUNCATE {table} CASCADE", psycopg.errors.InsufficientPrivilege)
    refused(runtime_conn, attempt)
    assert stored(table) == before
    assert triggers_of(table) == triggers


@pytest.mark.django_db(transaction=True)
def test_the_ignore_switch_is_set_right_and_still_skips_only_a_search_vector(
        world, runtime_conn):
    """The control for the test above: the same set_config does skip a pgtrigger trigger
    (the search vector, not a guard), so the guards hold because they never read it."""
    (search_trigger,) = [name for name, _ in triggers_of("incidents_postmortem")
                         if name.startswith("pgtrigger_search_vector")]
    in_one_transaction(runtime_conn, f"SET LOCAL pgtrigger.ignore = '{{{search_trigger}}}'",
                       "UPDATE incidents_postmortem SET summary = 'zebra crossing' "
                       f"WHERE id = '{world['draft']}'")
    found = runtime_conn.execute("SELECT count(*) FROM incidents_postmortem WHERE "
                                 "search_vector @@ plainto_tsquery('english', 'zebra')")
    assert found.fetchone()[0] == 0
    runtime_conn.execute("UPDATE incidents_postmortem SET summary = 'zebra crossing' "
                         "WHERE id = %s", [world["draft"]])
    found = runtime_conn.execute("SELECT count(*) FROM incidents_postmortem WHERE "
                                 "search_vector @@ plainto_tsquery('english', 'zebra')")
    assert found.fetchone()[0] == 1


@pytest.mark.django_db(transaction=True)
def test_a_temporary_table_cannot_stand_in_for_the_postmortems(world, runtime_conn):
    """pg_temp comes first in a role's search_path; the guards pin it last."""
    before = stored("incidents_timelineentry")
    with pytest.raises(psycopg.errors.RestrictViolation):
        in_one_transaction(runtime_conn,
                           "CREATE TEMP TABLE incidents_postmortem (id uuid, status text)",
                           ATTEMPTS["incidents_timelineentry"].format(**world))
    assert stored("incidents_timelineentry") == before


@pytest.mark.django_db(transaction=True)
def test_a_meeting_added_behind_the_app_for_a_final_postmortem_is_refused(world, runtime_conn):
    meeting = Meeting.objects.get(postmortem_id=world["final"])
    message = refused(runtime_conn, ATTEMPTS["incidents_meeting"].format(**world))
    assert "belongs to final postmortem" in message
    refused(runtime_conn, "UPDATE incidents_meeting SET started_utc = started_utc - "
            f"interval '3 days' WHERE id = {meeting.pk}")
    refused(runtime_conn, "INSERT INTO incidents_meetingattendee (meeting_id, user_id, role) "
            f"SELECT {meeting.pk}, id, 'other' FROM auth_user WHERE username = 'alice'")
    # Ending the started meeting after finalizing stays the app's flow (ended_utc only).
    meetings.end_meeting(meeting, meeting.facilitator)
    meeting.refresh_from_db()
    assert meeting.ended_utc is not None
    refused(runtime_conn, f"UPDATE incidents_meeting SET ended_utc = now() WHERE id = {meeting.pk}")


@pytest.mark.django_db(transaction=True)
def test_a_revision_goes_only_with_its_discarded_draft(world, runtime_conn):
    draft = world["draft"]
    message = refused(runtime_conn,
                      f"DELETE FROM incidents_fieldrevision WHERE postmortem_id = '{draft}'")
    assert "deleted only with its discarded draft" in message
    assert FieldRevision.objects.filter(postmortem_id=draft).count() == 1
    in_one_transaction(runtime_conn,  # the draft and its history go together
                       f"DELETE FROM incidents_fieldrevision WHERE postmortem_id = '{draft}'",
                       f"DELETE FROM incidents_postmortem WHERE id = '{draft}'")
    assert not Postmortem.objects.filter(pk=draft).exists()


@pytest.mark.django_db(transaction=True)
def test_discarding_a_draft_through_its_page_takes_its_history(django_app, alice):
    pm = Postmortem.objects.create(created_by=alice, summary="Typed, then thrown away")
    FieldRevision.objects.create(postmortem=pm, field="summary", key="summary", version=1,
                                 values={"summary": "Typed, then thrown away"})
    page = django_app.get(f"/postmortems/{pm.pk}/", user=alice)
    form = next(f for f in page.forms.values() if f.action.endswith("/discard/"))
    listing = form.submit().follow()
    assert "Draft discarded." in listing.text
    assert not Postmortem.objects.filter(pk=pm.pk).exists()
    assert not FieldRevision.objects.filter(postmortem_id=pm.pk).exists()


def owner_refused(statement: str, params=()) -> str:
    """Run `statement` as the test connection's superuser (no replica role) in a savepoint
    and return the refusal; deferred checks are asked for at once."""
    with pytest.raises(IntegrityError) as raised, transaction.atomic(), \
            connection.cursor() as cur:
        cur.execute(f"SET CONSTRAINTS ALL IMMEDIATE; {statement}", params)
    return str(raised.value)


@pytest.mark.django_db
@pytest.mark.parametrize("table", APPEND_ONLY)
def test_append_only_history_refuses_even_the_owner(world, table):
    before = stored(table)
    assert before
    assert "append-only" in owner_refused(f"UPDATE {table} SET id = id")
    assert "append-only" in owner_refused(f"DELETE FROM {table}")
    assert "cannot truncate" in owner_refused(f"TRUNCATE {table} CASCADE")
    assert stored(table) == before


@pytest.mark.django_db
def test_the_open_items_of_a_final_postmortem_keep_its_gate_closed(world):
    assert not gate.check_gate("trading", now=datetime.now(UTC) + timedelta(days=1)).open
    assert "never removed" in owner_refused("DELETE FROM incidents_actionitem")
    assert "cannot be removed" in owner_refused("DELETE FROM incidents_classification")
    other = Postmortem.objects.create()
    assert "never removed" in owner_refused(
        "UPDATE incidents_actionitem SET postmortem_id = %s", [other.pk])
    for table in ("incidents_actionitem", "incidents_classification"):
        assert "hold the planning gate" in owner_refused(f"TRUNCATE {table} CASCADE")
    assert "final postmortem records" in owner_refused("TRUNCATE incidents_postmortem CASCADE")
    assert not gate.check_gate("trading", now=datetime.now(UTC) + timedelta(days=1)).open


# --- Every change of an action item or of a final postmortem's domain leaves history ------
# (docs/rules.md#database-guards): the attacker's write without a record is refused; the
# same write after the attacker appended the record passes, and is thus on record.

def _gate_closed() -> bool:
    return not gate.check_gate("trading", now=datetime.now(UTC) + timedelta(days=1)).open


def _inserted_event(conn, item_id: int, change: str) -> int:
    return conn.execute("INSERT INTO incidents_actionitemevent (item_id, at_utc, change) "
                        "VALUES (%s, now(), %s) RETURNING id", [item_id, change]).fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_an_item_shipped_or_dropped_behind_the_app_without_an_event_is_refused(
        world, runtime_conn):
    item = ActionItem.objects.get(postmortem_id=world["final"])
    assert _gate_closed()
    items, events = stored("incidents_actionitem"), stored("incidents_actionitemevent")
    creation = ActionItemEvent.objects.get(item=item).pk
    for attempt in (
            "UPDATE incidents_actionitem SET status = 'dropped', drop_reason = 'x'",
            ("UPDATE incidents_actionitem SET status = 'shipped', "
             "evidence = '{\"test_name\": \"tests/test_x.py::t\", \"commit_sha\": "
             "\"abcdef1\", \"ci_run_link\": \"https://ci.example.com/1\"}'"),
            "UPDATE incidents_actionitem SET due_date = due_date + 400",
            "UPDATE incidents_actionitem SET owner_id = (SELECT max(id) FROM auth_user)",
            # the item's old event cannot be named again, nor last_event cleared
            (f"UPDATE incidents_actionitem SET status = 'dropped', drop_reason = 'x', "
             f"last_event_id = {creation}"),
            ("UPDATE incidents_actionitem SET status = 'dropped', drop_reason = 'x', "
             "last_event_id = NULL")):
        message = refused(runtime_conn, attempt)
        assert "without a record" in message or "newer event" in message
    other = ActionItem.objects.create(postmortem_id=world["draft"], kind="test",
                                      description="Another", owner=item.owner,
                                      due_date=item.due_date)
    foreign = _inserted_event(runtime_conn, other.pk, "someone else's")
    assert "not an event of this item" in refused(
        runtime_conn, "UPDATE incidents_actionitem SET status = 'dropped', drop_reason = 'x', "
        f"last_event_id = {foreign} WHERE id = {item.pk}")
    assert ActionItem.objects.get(pk=item.pk).status == "open"
    assert [row for row in stored("incidents_actionitem") if f'"id": {other.pk},' not in row
            ] == items
    assert ActionItemEvent.objects.filter(item=item).count() == 1
    assert len(stored("incidents_actionitemevent")) == len(events) + 1  # the foreign one
    assert _gate_closed()


@pytest.mark.django_db(transaction=True)
def test_an_item_dropped_after_an_inserted_event_is_on_record(world, runtime_conn):
    item = ActionItem.objects.get(postmortem_id=world["final"])
    with runtime_conn.transaction():
        event = _inserted_event(runtime_conn, item.pk, "dropped by hand")
        runtime_conn.execute("UPDATE incidents_actionitem SET status = 'dropped', "
                             "drop_reason = 'x', last_event_id = %s WHERE id = %s",
                             [event, item.pk])
    item.refresh_from_db()
    assert (item.status, item.last_event_id) == ("dropped", event)
    assert ActionItemEvent.objects.filter(item=item).latest("id").change == "dropped by hand"
    assert not _gate_closed()  # opened, and the history says how


@pytest.mark.django_db(transaction=True)
def test_a_final_domain_moved_behind_the_app_without_a_change_is_refused(world, runtime_conn):
    final = world["final"]
    before = stored("incidents_classification")
    recorded = DomainChange.objects.get(postmortem_id=final).pk
    assert _gate_closed()
    for attempt in (
            (f"UPDATE incidents_classification SET domain = 'zzz-parking' "
             f"WHERE postmortem_id = '{final}'"),
            # the change that recorded "trading" cannot be named again for another domain
            (f"UPDATE incidents_classification SET domain = 'zzz-parking', "
             f"last_change_id = {recorded} WHERE postmortem_id = '{final}'")):
        assert "DomainChange" in refused(runtime_conn, attempt)
    wrong = runtime_conn.execute(
        "INSERT INTO incidents_domainchange (postmortem_id, old_domain, new_domain, at_utc) "
        "VALUES (%s, 'trading', 'elsewhere', now()) RETURNING id", [final]).fetchone()[0]
    assert "does not record" in refused(
        runtime_conn, f"UPDATE incidents_classification SET domain = 'zzz-parking', "
        f"last_change_id = {wrong} WHERE postmortem_id = '{final}'")
    assert stored("incidents_classification") == before
    assert _gate_closed()


@pytest.mark.django_db(transaction=True)
def test_a_final_domain_moved_after_an_inserted_change_is_on_record(world, runtime_conn):
    final = world["final"]
    with runtime_conn.transaction():
        change = runtime_conn.execute(
            "INSERT INTO incidents_domainchange (postmortem_id, old_domain, new_domain, "
            "at_utc) VALUES (%s, 'trading', 'zzz-parking', now()) RETURNING id",
            [final]).fetchone()[0]
        runtime_conn.execute("UPDATE incidents_classification SET domain = 'zzz-parking', "
                             "last_change_id = %s WHERE postmortem_id = %s", [change, final])
    assert PostmortemDomain.objects.get(postmortem_id=final).domain == "zzz-parking"
    assert [(c.old_domain, c.new_domain) for c in DomainChange.objects.filter(
        postmortem_id=final)] == [("", "trading"), ("trading", "zzz-parking")]


def _one_new_event(item: ActionItem, before: int) -> ActionItemEvent:
    item.refresh_from_db()
    events = list(ActionItemEvent.objects.filter(item=item).order_by("id"))
    assert len(events) == before + 1
    assert item.last_event == events[-1]
    return events[-1]


@pytest.mark.django_db
@pytest.mark.usefixtures("frozen_time")
def test_the_app_s_item_changes_each_write_exactly_one_event(final_postmortem, alice, bob):
    due = date(2026, 6, 1)
    shipped = action_items.add_item(final_postmortem, "hook", "Watchdog", alice, due)
    assert _one_new_event(shipped, 0).change.startswith("created: hook")
    action_items.start_item(shipped, user=bob)
    assert _one_new_event(shipped, 1).change == "status: open → in progress"
    action_items.ship_item(shipped, {"hook_file": "hooks/watchdog.py",
                                     "commit_sha": "abcdef1234"}, user=bob)
    assert "→ shipped" in _one_new_event(shipped, 2).change
    dropped = action_items.add_item(final_postmortem, "test", "Regression", alice, due)
    action_items.drop_item(dropped, "Covered by the watchdog", user=alice)
    assert _one_new_event(dropped, 1).change.endswith("reason: Covered by the watchdog")


def _git(clone, *args) -> str:
    return subprocess.run(["git", "-C", str(clone), "-c", "user.name=ci", "-c",
                           "user.email=ci@example.com", *args], check=True,
                          capture_output=True, text=True).stdout.strip()


@pytest.mark.django_db
@pytest.mark.usefixtures("frozen_time")
def test_reopening_lapsed_evidence_writes_exactly_one_event(final_postmortem, alice, tmp_path,
                                                             settings):
    clone = tmp_path / "launcher"
    (clone / "hooks").mkdir(parents=True)
    (clone / "hooks" / "watchdog.py").write_text("print('watching')\n")
    _git(clone, "init", "-q", "-b", "main")
    _git(clone, "add", ".")
    _git(clone, "commit", "-qm", "watchdog")
    settings.SCARLOG_GIT_REPOS = {"launcher": str(clone)}
    item = action_items.add_item(final_postmortem, "hook", "Watchdog", alice, date(2026, 6, 1))
    action_items.ship_item(item, {"hook_file": "hooks/watchdog.py", "repository": "launcher",
                                  "commit_sha": _git(clone, "rev-parse", "HEAD")})
    _git(clone, "rm", "-q", "hooks/watchdog.py")
    _git(clone, "commit", "-qm", "remove the watchdog")
    assert [pk for pk, _ in action_items.reverify_shipped().reopened] == [item.pk]
    event = _one_new_event(item, 2)
    assert event.by is None and event.change.startswith("status: shipped → open")


@pytest.mark.django_db
@pytest.mark.usefixtures("frozen_time")
def test_reclassifying_through_the_page_writes_exactly_one_domain_change(
        django_app, final_postmortem, alice):
    services.set_domain(final_postmortem, "trading", user=alice)
    page = django_app.get(f"/postmortems/{final_postmortem.pk}/", user=alice)
    form = next(f for f in page.forms.values() if f.action.endswith("/domain/"))
    form["domain"] = "cloud-training"
    shown = form.submit().follow()
    assert "Domain set to cloud-training." in shown.text
    changes = list(DomainChange.objects.filter(postmortem=final_postmortem).order_by("id"))
    assert [(c.old_domain, c.new_domain, c.by) for c in changes] == [
        ("", "trading", alice), ("trading", "cloud-training", alice)]
    assert PostmortemDomain.objects.get(postmortem=final_postmortem).last_change == changes[-1]
    assert "trading → cloud-training" in shown.text


def go_no_go_of(django_app, key: str, token: str) -> dict:
    """The go/no-go answer an agent reads: GET /api/runbooks/<key>/go-no-go with a token."""
    return django_app.get(f"/api/runbooks/{key}/go-no-go",
                          headers={"Authorization": f"Bearer {token}"}).json


@pytest.mark.django_db(transaction=True)
def test_a_recorded_checklist_run_cannot_be_relabelled_or_moved(django_app, alice, real_runbooks,
                                                                runtime_conn):
    detail = django_app.get("/runbooks/ops-05/", user=alice)
    run_page = next(form for form in detail.forms.values()
                    if form.action.endswith("/runs/")).submit().follow()
    forms = [form for form in run_page.forms.values() if "/items/" in form.action]
    assert len(forms) == 6
    for position, form in enumerate(forms):
        form["evidence"] = f"looked at check {position}"
        form.submit("outcome", value="failed" if position == 5 else "passed").follow()
    _, token = create_token("morning", alice, ["docs:read"])
    answer = go_no_go_of(django_app, "ops-05", token)
    assert answer["overall_ready"] is False
    assert [item["status"] for item in answer["items"]] == ["passed"] * 5 + ["failed"]
    other = Runbook.objects.get(key="ops-03").pk
    before = stored("runbooks_checklistrun")
    for attack in ("UPDATE runbooks_checklistrun SET items = '[\"Optional: coffee\"]'",
                   f"UPDATE runbooks_checklistrun SET runbook_id = {other}",
                   ("UPDATE runbooks_checklistrun SET started_utc = started_utc - "
                    "interval '1 day'"),
                   "DELETE FROM runbooks_checklistrun"):
        assert "is append-only" in refused(runtime_conn, attack)
    assert stored("runbooks_checklistrun") == before
    assert go_no_go_of(django_app, "ops-05", token) == answer
    # A new run through the page still works and answers from its own results.
    again = next(form for form in django_app.get("/runbooks/ops-05/", user=alice).forms.values()
                 if form.action.endswith("/runs/")).submit().follow()
    for form in [form for form in again.forms.values() if "/items/" in form.action]:
        form["evidence"] = "all green this time"
        form.submit("outcome", value="passed")
    assert go_no_go_of(django_app, "ops-05", token)["overall_ready"] is True


@pytest.mark.django_db(transaction=True)
def test_a_runbook_cannot_drift_from_its_history(django_app, alice, real_runbooks, runtime_conn):
    runbook = Runbook.objects.get(key="ops-04")
    first = runbook.current_revision
    assert first == runbook.revisions.get(number=1) and first.body == runbook.body
    # Editing through the rendered form writes revision 2 and points the runbook at it.
    form = next(form for form in django_app.get("/runbooks/ops-04/edit/", user=alice)
                .forms.values() if "title" in form.fields)
    form["body"] = runbook.body + "\nFreeze pipeline state first.\n"
    assert form.submit().status_code == 302
    runbook.refresh_from_db()
    second = runbook.revisions.get(number=2)
    assert runbook.current_revision == second and second.author == alice
    assert "Freeze pipeline state first." in django_app.get("/runbooks/ops-04/", user=alice)
    before = stored("runbooks_runbook")
    other = Runbook.objects.get(key="ops-03").current_revision
    runtime_conn.execute(  # an unpointed revision holding the attacker's body
        "INSERT INTO runbooks_runbookrevision (runbook_id, number, title, perspective, tags, "
        "depends_on, key_files, last_updated, body, note, saved_utc) SELECT runbook_id, 3, "
        "title, perspective, tags, depends_on, key_files, last_updated, 'planted', '', now() "
        f"FROM runbooks_runbookrevision WHERE id = {second.pk}")
    planted = runbook.revisions.get(number=3)
    where = f"WHERE id = {runbook.pk}"
    for attack in (f"UPDATE runbooks_runbook SET body = 'rewritten' {where}",
                   f"UPDATE runbooks_runbook SET title = 'Renamed' {where}",
                   f"UPDATE runbooks_runbook SET tags = '[]' {where}",
                   f"UPDATE runbooks_runbook SET last_updated = '2099-01-01' {where}",
                   # pointed at a revision that holds other values
                   (f"UPDATE runbooks_runbook SET body = 'rewritten', "
                    f"current_revision_id = {planted.pk} {where}"),
                   # back to an older revision, with its values
                   (f"UPDATE runbooks_runbook SET body = (SELECT body FROM "
                    f"runbooks_runbookrevision WHERE id = {first.pk}), current_revision_id = "
                    f"{first.pk} {where}"),
                   # another runbook's revision
                   f"UPDATE runbooks_runbook SET current_revision_id = {other.pk} {where}"):
        assert "changes only with a new revision" in refused(runtime_conn, attack)
    assert stored("runbooks_runbook") == before
    page = django_app.get("/runbooks/ops-04/", user=alice)
    assert "Freeze pipeline state first." in page and "planted" not in page
    # Who owns it and how often it is reviewed are not history: the role may change them.
    runtime_conn.execute(f"UPDATE runbooks_runbook SET review_interval_days = 30 {where}")
    # The one way to change the page leaves its entry in History.
    runtime_conn.execute(f"UPDATE runbooks_runbook SET body = 'planted', "
                         f"current_revision_id = {planted.pk} {where}")
    history = django_app.get("/runbooks/ops-04/history/", user=alice)
    assert "Document of revision 3" in history and "planted" in history
    assert "planted" in django_app.get("/runbooks/ops-04/", user=alice)
    assert RunbookRevision.objects.filter(runbook=runbook).count() == 3


# --- A postmortem's access history (docs/rules.md#private-postmortems) ---------------------

@pytest.mark.django_db(transaction=True)
def test_access_history_is_append_only_for_the_runtime_role(world, runtime_conn):
    final, draft = world["final"], world["draft"]
    before = stored("incidents_postmortemaccess")
    assert "append-only" in refused(runtime_conn, ATTEMPTS["incidents_postmortemaccess"])
    assert "deleted only with its discarded draft" in refused(
        runtime_conn, f"DELETE FROM incidents_postmortemaccess WHERE postmortem_id = '{final}'")
    # a final record is never opened up again behind the app, nor widened
    by = PostmortemAccess.objects.get(postmortem_id=final).by_id
    assert "never lifted" in refused(
        runtime_conn, "INSERT INTO incidents_postmortemaccess (postmortem_id, group_ids, by_id, "
        f"at_utc) VALUES ('{final}', '[]', {by}, now())")
    other = Group.objects.create(name="Everyone else").pk
    assert "tightened" in refused(
        runtime_conn, "INSERT INTO incidents_postmortemaccess (postmortem_id, group_ids, by_id, "
        f"at_utc) VALUES ('{final}', '[{other}]', {by}, now())")
    refused(runtime_conn, "INSERT INTO incidents_postmortemaccess (postmortem_id, group_ids, "
            f"by_id, at_utc) VALUES ('{draft}', '{{\"a\": 1}}', {by}, now())",
            psycopg.errors.CheckViolation)
    assert stored("incidents_postmortemaccess") == before


@pytest.mark.django_db(transaction=True)
def test_a_restricted_draft_is_discarded_with_its_access_history(world, runtime_conn, alice):
    draft = world["draft"]
    security = Group.objects.get(name="Security")
    visibility.set_access(Postmortem.objects.get(pk=draft), [security], alice)
    in_one_transaction(runtime_conn,
                       f"DELETE FROM incidents_fieldrevision WHERE postmortem_id = '{draft}'",
                       f"DELETE FROM incidents_postmortemaccess WHERE postmortem_id = '{draft}'",
                       f"DELETE FROM incidents_postmortem WHERE id = '{draft}'")
    assert not PostmortemAccess.objects.filter(postmortem_id=draft).exists()
