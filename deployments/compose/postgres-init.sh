#!/usr/bin/env sh
# First start of the PostgreSQL container: one database for the application, one for Prefect.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE DATABASE invoices;
CREATE DATABASE prefect;
SQL
