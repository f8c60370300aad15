"""Create and grant the runtime database role (docs: README, "Database roles").

Run with an owner/superuser DATABASE_URL. The runtime role used by web, worker and beat
gets only DML: USAGE on schema public, SELECT/INSERT/UPDATE/DELETE on tables, USAGE/SELECT
on sequences, and the same by default for tables the owner creates later. It never gets
ownership, TRUNCATE or CREATE, so it cannot ALTER TABLE ... DISABLE TRIGGER, DROP TRIGGER,
replace a trigger function, TRUNCATE, or SET session_replication_role (superuser only).
"""

import os

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from psycopg import sql


def grant_runtime_sql(owner: str, runtime: str) -> list[sql.Composed]:
    o, r = sql.Identifier(owner), sql.Identifier(runtime)
    return [
        sql.SQL("REVOKE ALL ON SCHEMA public FROM {r}").format(r=r),
        sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC"),
        sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {r}").format(r=r),
        sql.SQL("GRANT USAGE ON SCHEMA public TO {r}").format(r=r),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public "
                "TO {r}").format(r=r),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {r}").format(r=r),
        sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public "
                "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {r}").format(o=o, r=r),
        sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public "
                "GRANT USAGE, SELECT ON SEQUENCES TO {r}").format(o=o, r=r),
    ]


class Command(BaseCommand):
    help = "Create the runtime role (LOGIN, DML grants only) and grant it on the owner's tables."

    def add_arguments(self, parser):
        parser.add_argument("--owner", default="scarlog_owner")
        parser.add_argument("--runtime", default="scarlog_app")
        parser.add_argument("--password-env", default="DATABASE_RUNTIME_PASSWORD",
                            help="environment variable holding the runtime role's password")

    def handle(self, *, owner, runtime, password_env, **options):
        if connection.vendor != "postgresql":
            raise CommandError("db_roles needs PostgreSQL (the SQLite demo has no roles).")
        if owner == runtime:
            raise CommandError("owner and runtime roles must differ")
        password = os.environ.get(password_env)
        with connection.cursor() as cur:
            for role in (owner, runtime):
                cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
                if not cur.fetchone():
                    stmt = sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB "
                                   "NOCREATEROLE").format(sql.Identifier(role))
                    cur.execute(stmt)
            cur.execute(sql.SQL("ALTER ROLE {} NOSUPERUSER NOCREATEDB NOCREATEROLE "
                                "NOBYPASSRLS").format(sql.Identifier(runtime)))
            if password:
                cur.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(runtime), sql.Literal(password)))
            for stmt in grant_runtime_sql(owner, runtime):
                cur.execute(stmt)
        self.stdout.write(f"runtime role {runtime} granted DML on tables of {owner}")
