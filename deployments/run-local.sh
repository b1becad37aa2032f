#!/usr/bin/env bash
# `make run`: migrate the database, start a local Prefect server (UI on http://127.0.0.1:4200)
# and serve every deployment. Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

export PREFECT_HOME="${PREFECT_HOME:-$PWD/data/prefect}"
# The server every `invoices` command finds by itself: INVOICES_PREFECT__API_URL (or PREFECT_API_URL),
# http://127.0.0.1:4200/api by default.
prefect_address=$("$BIN/python" -c '
from urllib.parse import urlsplit
from tasks.operations.prefect_server import api_url
from tasks.settings import get_settings
url = api_url(get_settings())
print(url, urlsplit(url).hostname, urlsplit(url).port or 80)')
read -r PREFECT_API_URL server_host server_port <<<"$prefect_address"
export PREFECT_API_URL
export PREFECT_SERVER_ANALYTICS_ENABLED=false
export PREFECT_UI_URL="${PREFECT_UI_URL:-${PREFECT_API_URL%/api}}"
mkdir -p "$PREFECT_HOME"
healthy() { "$BIN/python" -c 'import sys, httpx; httpx.get(sys.argv[1] + "/health", timeout=2).raise_for_status()' "$PREFECT_API_URL" >/dev/null 2>&1; }

"$BIN/invoices" db upgrade

server_pid=""
serve_pid=""
desk_pid=""
stop_group() {  # stop a process group: politely, then for sure after $2 seconds
    local pid=$1 grace=$2
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 "$grace"); do kill -0 "$pid" 2>/dev/null || return 0; sleep 1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
}
cleanup() {
    trap - INT TERM EXIT
    trap '' PIPE  # where the output went may be gone already (`make run | tee run.log`, Ctrl-C stops tee too)
    { echo; echo "stopping the deployments and the Prefect server"; } 2>/dev/null || true
    stop_group "$desk_pid" 10
    stop_group "$serve_pid" 10
    stop_group "$server_pid" 20
    wait 2>/dev/null || true
}
# Ctrl-C (or a TERM) is how this script is meant to end: stop everything, quietly, with success.
trap 'cleanup; exit 0' INT TERM
trap cleanup EXIT

if healthy; then
    echo "using the Prefect server already running at $PREFECT_API_URL"
else
    setsid "$BIN/prefect" server start --host "$server_host" --port "$server_port" \
        >"$PREFECT_HOME/server.log" 2>&1 &
    server_pid=$!
    printf "starting the Prefect server"
    for _ in $(seq 1 120); do
        if healthy; then break; fi
        if ! kill -0 "$server_pid" 2>/dev/null; then
            echo; echo "the Prefect server did not start; its log:"; tail -n 30 "$PREFECT_HOME/server.log"; exit 1
        fi
        printf "."; sleep 1
    done
    echo
fi
echo "Prefect UI: $PREFECT_UI_URL   drop folder: $("$BIN/python" -c 'from tasks.settings import get_settings; print(get_settings().inbox_dir.resolve())')"
# The desk (the office's web app) at INVOICES_DESK__HOST:INVOICES_DESK__PORT, http://127.0.0.1:8080 by default.
desk_address=$("$BIN/python" -c '
from tasks.settings import get_settings
desk = get_settings().desk
host = "127.0.0.1" if desk.host in ("0.0.0.0", "::") else desk.host
print("http://%s:%d" % (host, desk.port))')
setsid "$BIN/invoices" desk &
desk_pid=$!
if [ -z "$("$BIN/python" -c '
from db.session import session_scope
from web.passwords import people_with_passwords
with session_scope() as session:
    print(people_with_passwords(session) or "")')" ]; then
    echo "the desk: $desk_address/login  nobody can log in yet: open it in a browser on this machine to create the first admin"
    echo "          (or: .venv/bin/invoices user add EMAIL --role admin --password)"
else
    echo "the desk: $desk_address/login"
fi
# Served in its own process group, so Ctrl-C stops it (and the runs it started) before the server.
setsid "$BIN/invoices" serve &
serve_pid=$!
wait "$serve_pid"
