"""As `make run` runs it: a Prefect server on its own SQLite database, `invoices serve` beside it,
the settings at their defaults (a dropped file settles for 2 s before it is taken).

- drop to read: a text-layer PDF copied into the inbox until its invoice is in the database,
  against reading the same file in this process (the work itself) as the baseline; target 5 s;
- a run started as the UI starts one (scheduled for now) until it is running, for daily-overview
  and, as the baseline, for an empty flow served by Prefect alone on the same server; target 2 s;
- runs the server's scheduler created (poll-mailbox every minute): from their time to running.

Sizes: BENCH_SERVE_DROPS (5), BENCH_SERVE_STARTS (3)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

DROPS = int(os.environ.get("BENCH_SERVE_DROPS", "5"))
STARTS = int(os.environ.get("BENCH_SERVE_STARTS", "3"))
ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

EMPTY_SERVE = """
from prefect import flow, serve

@flow(name="empty-baseline")
def empty() -> None:
    return None

if __name__ == "__main__":
    serve(empty.to_deployment(name="empty-baseline"), query_seconds=1)
"""


def _wait(what: str, found, seconds: float = 120):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = found()
        if result:
            return result
        time.sleep(0.05)
    raise RuntimeError(f"{what}: not within {seconds} s")


def _invoice_of(database: Path, name: str) -> bool:
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT 1 FROM invoices i JOIN documents d ON d.id = i.document_id WHERE d.original_name = ?", (name,)
        ).fetchone() is not None


def _ui_start(client, deployment_name: str) -> float:  # type: ignore[no-untyped-def]
    """Seconds from a run's creation (scheduled for now, as the UI's Run button makes it) to running."""
    deployment = client.read_deployment_by_name(deployment_name)
    run = client.create_flow_run_from_deployment(deployment.id)
    started = _wait(f"{deployment_name} running", lambda: client.read_flow_run(run.id).start_time)
    _wait(f"{deployment_name} finished", lambda: client.read_flow_run(run.id).state.is_final())
    return (started - run.expected_start_time).total_seconds()


def _drops(work: Path, database: Path) -> tuple[list[float], list[float]]:
    from tasks.extraction.invoice_file import understand_file
    from tasks.extraction.templates import load_yaml_templates
    from tasks.settings import OcrSettings
    from tests.support.corpus import generate

    files = generate(work / "corpus", seed=2468, text_count=DROPS, scan_count=0)
    templates = load_yaml_templates(ROOT / "templates")
    reads, drops = [], []
    for path in files:
        started = time.perf_counter()
        understand_file(path, path.name, OcrSettings(), templates)
        reads.append(time.perf_counter() - started)
        started = time.perf_counter()
        shutil.copy(path, work / "data" / "inbox" / path.name)  # as a person copies a file in
        _wait(f"{path.name} read", lambda: _invoice_of(database, path.name), 60)
        drops.append(time.perf_counter() - started)
    return reads, drops


def run(argv: list[str]) -> list[str]:
    from tests.support.prefect_server import free_port, stop, wait_healthy

    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "INVOICES_"))},
           "PREFECT_HOME": str(work / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "INVOICES_DATA_DIR": str(work / "data"), "INVOICES_PREFECT__API_URL": api,
           "INVOICES_IMAP__POLL_INTERVAL_MINUTES": "1"}
    (work / "prefect").mkdir()
    (work / "empty_serve.py").write_text(EMPTY_SERVE)
    processes: list[subprocess.Popen] = []

    def start(*command: str, log: str) -> subprocess.Popen:
        with (work / log).open("wb") as out:
            process = subprocess.Popen(list(command), cwd=work, stdout=out, stderr=subprocess.STDOUT,
                                       env={**env, "PREFECT_API_URL": api}, start_new_session=True)
        processes.append(process)
        return process

    try:
        server = start(str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port),
                       log="server.log")
        wait_healthy(api, server, work / "server.log")
        subprocess.run([str(BIN / "invoices"), "db", "upgrade"], cwd=work, env=env, check=True, capture_output=True)
        start(str(BIN / "invoices"), "serve", log="serve.log")
        start(sys.executable, str(work / "empty_serve.py"), log="empty.log")

        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import (
            DeploymentFilter,
            DeploymentFilterName,
        )
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: api}), get_client(sync_client=True) as client:
            _wait("deployments served", lambda: {"daily-overview", "empty-baseline", "ingest-folder"}
                  <= {d.name for d in client.read_deployments()})
            (work / "data" / "inbox").mkdir(parents=True, exist_ok=True)
            reads, drops = _drops(work, work / "data" / "invoices.db")
            ours = [_ui_start(client, "daily-overview/daily-overview") for _ in range(STARTS)]
            floor = [_ui_start(client, "empty-baseline/empty-baseline") for _ in range(STARTS)]

            def scheduled():  # type: ignore[no-untyped-def]
                runs = client.read_flow_runs(deployment_filter=DeploymentFilter(
                    name=DeploymentFilterName(any_=["poll-mailbox"])))
                return [r for r in runs if r.auto_scheduled and r.start_time] or None

            lags = [(r.start_time - r.expected_start_time).total_seconds()
                    for r in _wait("a scheduled poll-mailbox run", scheduled, 150)]
    finally:
        for process in reversed(processes):
            stop(process)
    read, drop = median(reads), median(drops)
    return [
        f"drop to read, {DROPS} text-layer PDFs one after another: median {drop:.1f} s ("
        + ", ".join(f"{d:.1f}" for d in drops) + "; target 5 s)"
        + f" vs reading the file {read * 1000:.0f} ms ({drop / read:.0f}x; the 2 s a dropped file "
        f"settles before it is taken is in it)",
        f"run started as from the UI until running: daily-overview median {median(ours):.1f} s vs an empty flow "
        f"served by Prefect alone {median(floor):.1f} s (ratio {median(ours) / median(floor):.2f}x; target 2 s)",
        "scheduled runs (poll-mailbox every minute), from their time to running: "
        + ", ".join(f"{lag:.1f} s" for lag in lags) + " (target 2 s)",
    ]
