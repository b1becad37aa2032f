#!/usr/bin/env sh
# The worker container: migrate, register every deployment of prefect.yaml on the work pool,
# then run a process worker that executes them.
set -eu
cd "${INVOICES_APP_DIR:-/app}"
invoices db upgrade
prefect work-pool inspect invoices >/dev/null 2>&1 || prefect work-pool create invoices --type process
prefect --no-prompt deploy --all
exec prefect worker start --pool invoices --name "worker-$(hostname)"
