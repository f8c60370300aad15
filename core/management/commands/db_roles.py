"""Create and grant the runtime database role (docs: README, "Database roles").

Run with an owner or superuser DATABASE_URL. A superuser (or CREATEROLE) creates missing
roles and sets the runtime password; the owner alone (docker-compose, after
deploy/postgres-init/10-scarlog-roles.sh made both roles) only grants. Either way a runtime
role that is a superuser, may create roles or databases, bypasses row security, replicates
or is a member of the owner is refused. The runtime role used by web, worker and beat
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
            cur.execute("SELECT rolsuper OR rolcreaterole FROM pg_roles "
                        "WHERE rolname = current_user")
            can_manage_roles = cur.fetchone()[0]
            if can_manage_roles:
                self._create_roles(cur, owner, runtime, password)
            else:
                self._require_roles(cur, owner, runtime, password_env if password else None)
            self._refuse_unsafe_runtime(cur, owner, runtime)
            for stmt in grant_runtime_sql(owner, runtime):
                cur.execute(stmt)
        self.stdout.write(f"runtime role {runtime} granted DML on tables of {owner}")

    def _create_roles(self, cur, owner, runtime, password):
        """As a superuser (or CREATEROLE): create missing roles, strip the runtime role of
        every role attribute, set its password."""
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

    def _require_roles(self, cur, owner, runtime, password_env):
        """As the owner without role rights (docker-compose): both roles must exist
        already (deploy/postgres-init made them); the password stays as it was set."""
        for role in (owner, runtime):
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            if not cur.fetchone():
                raise CommandError(
                    f"role {role} does not exist and {self._current_user(cur)} may not create "
                    "roles: run deploy/postgres-init/10-scarlog-roles.sh as a superuser first, "
                    "or run db_roles as a superuser.")
        if password_env:
            self.stdout.write(f"{password_env} ignored: only a superuser can set the runtime "
                              "role's password (deploy/postgres-init sets it)")

    def _refuse_unsafe_runtime(self, cur, owner, runtime):
        """Refuse a runtime role that could switch the guards off: a superuser, a role with
        CREATEROLE, CREATEDB, BYPASSRLS or REPLICATION, or a member of the owner role."""
        cur.execute("SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication, "
                    "pg_has_role(rolname, %s, 'MEMBER') FROM pg_roles WHERE rolname = %s",
                    [owner, runtime])
        flags = dict(zip(("SUPERUSER", "CREATEROLE", "CREATEDB", "BYPASSRLS", "REPLICATION",
                          f"member of {owner}"), cur.fetchone(), strict=True))
        unsafe = [name for name, value in flags.items() if value]
        if unsafe:
            raise CommandError(f"the runtime role {runtime} must not have "
                               f"{', '.join(unsafe)}: it could switch the database guards off")

    @staticmethod
    def _current_user(cur):
        cur.execute("SELECT current_user")
        return cur.fetchone()[0]
