"""The runtime role (db_roles command) cannot switch the immutability triggers off by
ownership-level means: DISABLE TRIGGER, DROP TRIGGER, replacing the trigger function,
TRUNCATE, session_replication_role. Connects as that role with a real psycopg connection.
"""
import secrets

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from incidents.models import Postmortem

pytestmark = pytest.mark.django_db(transaction=True)


def protected_tables():
    """Every table carrying a project trigger (the guards scarlog_*, pgtrigger's search vectors)."""
    with connection.cursor() as cur:
        cur.execute("SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger "
                    "WHERE NOT tgisinternal AND (tgname LIKE 'pgtrigger\\_%%' "
                    "OR tgname LIKE 'scarlog\\_%%') ORDER BY 1")
        return [row[0] for row in cur.fetchall()]


def trigger_of(table):
    with connection.cursor() as cur:
        cur.execute("SELECT tgname, tgfoid::regproc::text FROM pg_trigger "
                    "WHERE tgrelid = %s::regclass AND NOT tgisinternal", [table])
        return cur.fetchall()


def refused(conn, statement, error=psycopg.errors.InsufficientPrivilege):
    with pytest.raises(error):
        conn.execute(statement)


def test_runtime_role_cannot_switch_triggers_off(final_postmortem, runtime_conn):
    before = Postmortem.objects.values().get(pk=final_postmortem.pk)
    pk = final_postmortem.pk
    refused(runtime_conn, f"UPDATE incidents_postmortem SET summary = 'x' WHERE id = '{pk}'",
            psycopg.errors.RestrictViolation)
    refused(runtime_conn, f"DELETE FROM incidents_postmortem WHERE id = '{pk}'",
            psycopg.errors.RestrictViolation)
    refused(runtime_conn, "SET session_replication_role = replica")
    tables = protected_tables()
    assert {"incidents_postmortem", "incidents_timelineentry", "incidents_amendment"} <= set(tables)
    for table in tables:
        triggers = trigger_of(table)
        assert triggers, table
        refused(runtime_conn, f"ALTER TABLE {table} DISABLE TRIGGER ALL")
        refused(runtime_conn, f"TRUNCATE {table} CASCADE")
        for name, func in triggers:
            refused(runtime_conn, f'DROP TRIGGER "{name}" ON {table}')
            refused(runtime_conn, f"ALTER TABLE {table} DISABLE TRIGGER \"{name}\"")
            refused(runtime_conn,
                    f"CREATE OR REPLACE FUNCTION {func}() RETURNS TRIGGER AS $$ BEGIN "
                    "RETURN NEW; END; $$ LANGUAGE plpgsql")
    refused(runtime_conn, "CREATE TABLE scarlog_rt_probe (id int)")
    # ordinary DML still works for the runtime role
    assert runtime_conn.execute("SELECT count(*) FROM incidents_postmortem").fetchone()[0] >= 1
    assert Postmortem.objects.values().get(pk=final_postmortem.pk) == before


def test_db_roles_refuses_a_runtime_role_that_is_a_member_of_the_owner():
    from django.core.management.base import CommandError
    suffix = secrets.token_hex(4)
    owner, runtime = f"scarlog_own_{suffix}", f"scarlog_rt_{suffix}"
    with connection.cursor() as cur:
        cur.execute(f'CREATE ROLE "{owner}" NOLOGIN')
        cur.execute(f'CREATE ROLE "{runtime}" LOGIN IN ROLE "{owner}"')
    try:
        with pytest.raises(CommandError, match=f"must not have member of {owner}"):
            call_command("db_roles", owner=owner, runtime=runtime)
        with connection.cursor() as cur:
            cur.execute("SELECT has_table_privilege(%s, 'incidents_postmortem', 'UPDATE') "
                        "AND NOT pg_has_role(%s, %s, 'MEMBER')", [runtime, runtime, owner])
            assert cur.fetchone() == (False,)
    finally:
        with connection.cursor() as cur:
            cur.execute(f'DROP OWNED BY "{runtime}"')
            cur.execute(f'DROP ROLE "{runtime}"')
            cur.execute(f'DROP ROLE "{owner}"')
