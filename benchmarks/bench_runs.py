"""Runs on a local Prefect server (same server, same run):

- no-op scheduled runs: ingest-folder with an empty inbox and poll-mailbox of a real (dovecot)
  account with nothing new, against an empty flow as the baseline;
- a batch of text-layer PDFs dropped into the inbox, through ingest-folder and one process-document
  task run each, per document, against one empty flow run per document inside an empty parent flow
  (what Prefect itself costs for a flow run per document, as intake read documents before), with
  Prefect's default flow-run heartbeats and without them.

Sizes: BENCH_RUNS_ROUNDS (5), BENCH_RUNS_DOCUMENTS (20)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

ROUNDS = int(os.environ.get("BENCH_RUNS_ROUNDS", "5"))
DOCUMENTS = int(os.environ.get("BENCH_RUNS_DOCUMENTS", "20"))


def _start_server(home: Path) -> tuple[subprocess.Popen, str]:
    from tests.support.prefect_server import free_port, wait_healthy

    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    log = home / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen([str(Path(sys.executable).with_name("prefect")), "server", "start",
                                    "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
    wait_healthy(api, process, log)
    return process, api


def run(argv: list[str]) -> list[str]:
    work = Path(tempfile.mkdtemp(prefix="bench-runs-"))
    os.environ.update({"INVOICES_DATA_DIR": str(work / "data"), "INVOICES_STORAGE__SETTLE_SECONDS": "0",
                       "INVOICES_DATABASE__URL": f"sqlite:///{work / 'invoices.db'}"})
    import json

    from tests.support.dovecot import DovecotServer

    imap = DovecotServer(Path(tempfile.mkdtemp(prefix="invoices-dovecot-"))).start()
    user = imap.add_user()
    os.environ["INVOICES_IMAP__ACCOUNTS"] = json.dumps([imap.account("bench", user)])
    server, api = _start_server(work)
    os.environ["PREFECT_API_URL"] = api
    try:
        from prefect import flow

        from db.migrate import upgrade
        from flows.ingest_folder import ingest_folder
        from flows.poll_mailbox import poll_mailbox
        from tasks.settings import get_settings

        get_settings.cache_clear()
        upgrade(get_settings().database.url)

        @flow(name="empty-baseline")
        def empty() -> None:
            return None

        def timed(fn) -> float:  # type: ignore[no-untyped-def]
            fn()  # warm-up: imports, flow registration
            samples = []
            for _ in range(ROUNDS):
                started = time.perf_counter()
                fn()
                samples.append(time.perf_counter() - started)
            return median(samples)

        @flow(name="empty-document-baseline")
        def empty_document(number: int) -> int:
            return number

        @flow(name="empty-batch-baseline")
        def empty_batch(count: int) -> None:
            for number in range(count):
                empty_document(number)

        base = timed(empty)
        folder = timed(ingest_folder)
        mailbox = timed(poll_mailbox)
        from flows._handoff import nested_run_settings

        per_run = _per_document(lambda: empty_batch(DOCUMENTS))
        with nested_run_settings():
            per_quiet_run = _per_document(lambda: empty_batch(DOCUMENTS))
        from tests.support.corpus import generate

        dropped = generate(work / "dropped", seed=4321, text_count=DOCUMENTS, scan_count=0)
        per_document = _per_document(lambda: _drop_and_ingest(dropped, ingest_folder))
        from prefect.logging.handlers import APILogHandler

        APILogHandler().flush()
    finally:
        server.terminate()
        server.wait(timeout=30)
        imap.stop()
        os.environ.pop("INVOICES_IMAP__ACCOUNTS", None)
    return [
        f"empty flow (baseline): {base:.2f} s per run (median of {ROUNDS})",
        f"ingest-folder, empty inbox: {folder:.2f} s ({folder / base:.2f}x baseline; target < 2 s)",
        f"poll-mailbox, one dovecot account with nothing new: {mailbox:.2f} s ({mailbox / base:.2f}x baseline; target < 2 s)",
        f"{DOCUMENTS} text-layer PDFs through ingest-folder and a process-document task run each: {per_document * 1000:.0f} "
        f"ms per document vs an empty flow run per document {per_run * 1000:.0f} ms with Prefect's default heartbeats "
        f"(ratio {per_document / per_run:.2f}x), {per_quiet_run * 1000:.0f} ms without them "
        f"(ratio {per_document / per_quiet_run:.2f}x)",
    ]


def _per_document(batch) -> float:  # type: ignore[no-untyped-def]
    """Seconds per document of ``batch`` (which handles DOCUMENTS of them)."""
    started = time.perf_counter()
    batch()
    return (time.perf_counter() - started) / DOCUMENTS


def _drop_and_ingest(files: list[Path], ingest_folder) -> None:  # type: ignore[no-untyped-def]
    """Move ``files`` into the inbox (a rename each) and take them in."""
    from tasks.settings import get_settings

    inbox = get_settings().inbox_dir
    inbox.mkdir(parents=True, exist_ok=True)
    for path in files:
        path.rename(inbox / path.name)
    counts = ingest_folder()
    assert counts["stored"] == len(files), counts
