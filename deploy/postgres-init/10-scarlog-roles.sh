#!/bin/sh
# Creates Scarlog's database and its two roles (README, "Database roles"). The postgres
# image runs this once, as its superuser, when the data volume is first initialised; it
# also runs by hand against any PostgreSQL as a superuser (PGHOST, PGPORT, PGUSER).
#   owner   (SCARLOG_OWNER_ROLE, default scarlog): LOGIN, owns the database and, through
#           migrate, every table; not a superuser, cannot create roles or databases.
#   runtime (SCARLOG_RUNTIME_ROLE, default scarlog_app): LOGIN, CONNECT only; db_roles,
#           run as the owner after migrate, grants it DML on the owner's tables.
# Passwords come from the files named by DATABASE_OWNER_PASSWORD_FILE and
# DATABASE_RUNTIME_PASSWORD_FILE (Docker secrets), never from the command line.
set -eu
db=${SCARLOG_DB:-scarlog}
owner=${SCARLOG_OWNER_ROLE:-scarlog}
runtime=${SCARLOG_RUNTIME_ROLE:-scarlog_app}
read_secret() {  # read_secret VAR-NAME FILE: fail loudly when the file is missing or empty
  [ -s "$2" ] || { echo "10-scarlog-roles.sh: $1 ($2) is missing or empty" >&2; exit 1; }
  tr -d '\n' < "$2"
}
owner_pw=$(read_secret DATABASE_OWNER_PASSWORD_FILE "${DATABASE_OWNER_PASSWORD_FILE:?set DATABASE_OWNER_PASSWORD_FILE}")
runtime_pw=$(read_secret DATABASE_RUNTIME_PASSWORD_FILE "${DATABASE_RUNTIME_PASSWORD_FILE:?set DATABASE_RUNTIME_PASSWORD_FILE}")
psql -v ON_ERROR_STOP=1 -X -q --dbname postgres \
  -v db="$db" -v owner="$owner" -v runtime="$runtime" \
  -v owner_pw="$owner_pw" -v runtime_pw="$runtime_pw" <<'SQL'
CREATE ROLE :"owner" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION
  PASSWORD :'owner_pw';
CREATE ROLE :"runtime" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION
  PASSWORD :'runtime_pw';
CREATE DATABASE :"db" OWNER :"owner";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO :"runtime";
SQL
echo "10-scarlog-roles.sh: database $db, owner $owner, runtime $runtime"
