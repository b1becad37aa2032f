"""Several workers share a batch: two real `invoices read-worker` processes against one real
Prefect server and PostgreSQL, the intake run in a process of its own, as on a work pool. Each
document is read exactly once, both workers take part, and a worker killed with SIGKILL in the
middle of a document loses nothing: the other one reads it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from db.models import Document, Invoice, InvoiceLink
from db.session import session_scope
from tests.support.corpus import generate
from tests.support.prefect_server import BIN, serve_env, stop

ROOT = Path(__file__).resolve().parents[2]
CLAIMED = re.compile(r"document (\d+) \(.*?\): claimed")
READ = re.compile(r"document (\d+) \(.*?\): (processed|not_invoice)")
HANDED_AGAIN = re.compile(r"document (\d+): its read stopped on its worker; handed on again")


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _text(log: Path) -> str:
    return log.read_text(errors="replace") if log.exists() else ""


def _in_flight(log: Path) -> set[int]:
    """Documents a worker claimed and has not finished, from its log."""
    text = _text(log)
    return {int(n) for n in CLAIMED.findall(text)} - {int(n) for n, _ in READ.findall(text)}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_workers_read_a_batch_once_each_and_a_killed_one_loses_nothing(live_prefect, settings, tmp_path):
    inbox = settings.inbox_dir
    inbox.mkdir(parents=True, exist_ok=True)
    files = generate(tmp_path / "corpus", seed=2020, text_count=28, scan_count=12)
    scans, texts = [f for f in files if f.name.startswith("scan-")], [f for f in files if not f.name.startswith("scan-")]
    # every third document a scan (seconds of OCR each), the others text-layer PDFs
    ordered = [f for triple in zip(scans, texts[0::2], texts[1::2], strict=False) for f in triple]
    ordered += [f for f in files if f not in ordered]
    assert len(ordered) == 40
    expected = {}
    for position, path in enumerate(ordered):
        name = f"{position:02d}-{path.name}"
        (inbox / name).write_bytes(path.read_bytes())
        expected[name] = json.loads(path.with_suffix(".json").read_text())
    env = {**serve_env(live_prefect), "INVOICES_WORKERS__TASK_WORKERS": "true",
           "INVOICES_WORKERS__CLAIM_LEASE_SECONDS": "6", "INVOICES_WORKERS__DOCUMENTS_AT_ONCE": "1",
           "INVOICES_WORKERS__OCR_PROCESSES": "2", "INVOICES_OCR__WORKERS": "1",
           "PREFECT_LOCAL_STORAGE_PATH": str(tmp_path / "task-parameters")}
    logs = {name: tmp_path / f"{name}.log" for name in ("a", "b", "intake")}
    workers = {name: _start([str(BIN / "invoices"), "read-worker"], env, logs[name]) for name in ("a", "b")}
    intake = None
    try:
        deadline = time.monotonic() + 180
        while not all("Subscribing to runs" in _text(logs[n]) for n in workers):
            assert time.monotonic() < deadline and all(w.poll() is None for w in workers.values()), \
                _text(logs["a"])[-2000:] + _text(logs["b"])[-2000:]
            time.sleep(0.5)
        intake = _start([sys.executable, "-c", "from flows.ingest_folder import ingest_folder; ingest_folder()"],
                        env, logs["intake"])
        # SIGKILL worker a once it has read a document and is in the middle of another one
        deadline = time.monotonic() + 300
        while not (READ.search(_text(logs["a"])) and (lost := _in_flight(logs["a"]))):
            assert time.monotonic() < deadline and intake.poll() is None, _text(logs["intake"])[-3000:]
            time.sleep(0.02)
        os.killpg(workers["a"].pid, signal.SIGKILL)
        workers["a"].wait(timeout=30)
        assert intake.wait(timeout=600) == 0, _text(logs["intake"])[-3000:]
    finally:
        for process in [intake, *workers.values()]:
            if process is not None and process.poll() is None:
                stop(process)

    read_by = {name: Counter(int(n) for n, _ in READ.findall(_text(logs[name]))) for name in workers}
    with session_scope() as session:
        documents = {d.original_name: d for d in session.scalars(select(Document))}
        numbers = dict(session.execute(select(InvoiceLink.document_id, Invoice.number)
                                       .join(Invoice, Invoice.id == InvoiceLink.invoice_id)).all())
    assert set(documents) == set(expected)
    everyone = read_by["a"] + read_by["b"]
    assert sorted(everyone) == sorted(d.id for d in documents.values())
    assert set(everyone.values()) == {1}, everyone  # each document read (saved) exactly once
    assert read_by["a"] and read_by["b"]  # both workers took part
    # what the killed one had claimed (and any it had taken, not yet claimed) was handed to b
    again = {int(n) for n in HANDED_AGAIN.findall(_text(logs["intake"]))}
    assert lost and lost <= again <= set(read_by["b"]) and not again & set(read_by["a"]), (lost, again)
    for name, document in documents.items():
        assert document.status in {"processed", "not_invoice"}, (name, document.status, document.error)
        if not name[3:].startswith("scan-"):
            assert numbers.get(document.id) == expected[name]["invoice_number"], name

    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: live_prefect["PREFECT_API_URL"]}), \
            get_client(sync_client=True) as client:
        assert client.read_global_concurrency_limit_by_name("invoices-ocr").limit == 2
