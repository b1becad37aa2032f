#!/usr/bin/env sh
# The worker container: migrate, register every deployment of prefect.yaml on the `invoices`
# work pool (schedules in the business time zone), then run a process worker that executes them.
set -eu
cd "${INVOICES_APP_DIR:-/app}"
invoices db upgrade
invoices deploy
exec prefect worker start --pool invoices --name "worker-$(hostname)"
