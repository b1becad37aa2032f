#!/usr/bin/env sh
# The worker container: migrate, register every deployment of prefect.yaml on the `invoices`
# work pool (schedules in the business time zone), then run the two workers of this machine:
# a process worker that executes the deployments' runs, and a task worker (`invoices read-worker`)
# that reads the documents intake hands to the pool, so that `docker compose up --scale worker=3`
# spreads a batch over three machines' cores. Either one stopping stops the container (compose
# restarts it); a TERM stops both.
set -eu
cd "${INVOICES_APP_DIR:-/app}"
invoices db upgrade
invoices deploy
invoices read-worker &
reader=$!
prefect worker start --pool invoices --name "worker-$(hostname)" &
runner=$!
trap 'kill -TERM "$reader" "$runner" 2>/dev/null || true' TERM INT
while kill -0 "$reader" 2>/dev/null && kill -0 "$runner" 2>/dev/null; do
    sleep 2
done
kill -TERM "$reader" "$runner" 2>/dev/null || true
wait
