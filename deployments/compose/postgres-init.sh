#!/usr/bin/env sh
# First start of the PostgreSQL container (an empty pgdata volume): one role and one database
# each for the application and for Prefect. Neither role is a superuser; each owns its own
# database (and so its public schema) and nothing else. The application's role has CREATEDB:
# backup verification restores every backup into a scratch database `invoices_verify_<hex>`,
# which it creates and drops (set INVOICES_BACKUP__SCRATCH_URL to create them elsewhere).
# Passwords come from the container's environment (.env), passed to psql as variables.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v app_password="$APP_DB_PASSWORD" -v prefect_password="$PREFECT_DB_PASSWORD" <<'SQL'
CREATE ROLE invoices LOGIN NOSUPERUSER NOCREATEROLE NOREPLICATION NOBYPASSRLS CREATEDB PASSWORD :'app_password';
CREATE ROLE prefect LOGIN NOSUPERUSER NOCREATEROLE NOREPLICATION NOBYPASSRLS NOCREATEDB PASSWORD :'prefect_password';
CREATE DATABASE invoices OWNER invoices;
CREATE DATABASE prefect OWNER prefect;
REVOKE ALL ON DATABASE invoices FROM PUBLIC;
REVOKE ALL ON DATABASE prefect FROM PUBLIC;
\connect prefect
CREATE EXTENSION IF NOT EXISTS pg_trgm;
SQL
