"""Throughput of the reading, each against a baseline measured in the same run:

1. a batch of text-layer PDFs dropped at once into the inbox of `invoices serve` (as `make run`
   runs it: a Prefect server on its own SQLite database, the settings at their defaults, the 2 s a
   dropped file settles included), documents per second until every one is read, against the
   bare per-document work in this process (store, read, save; no Prefect); target 10 per second;
2. a batch of one-page scans dropped the same way, pages per second over the batch (first claim
   to last save), against single-threaded tesseract processes, one per core, reading the same
   pages as the reader renders them (target 0.8x), and against the reader reading them one after
   another alone (what document-parallel reading adds on this machine's cores);
3. a batch of one-page scans on the work pool's task workers (`invoices read-worker`, one
   document at a time each, as a one-core machine would): two workers against one; and, for the
   choice between the two ways of spreading work, a few text-layer documents as runs of the
   `process-document` deployment on a process worker against the same as task runs on a task
   worker.

Sizes: BENCH_THROUGHPUT_DOCUMENTS (100), BENCH_THROUGHPUT_SCANS (8), BENCH_THROUGHPUT_WORKER_SCANS
(8), BENCH_THROUGHPUT_DEPLOYMENT_RUNS (4)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

DOCUMENTS = int(os.environ.get("BENCH_THROUGHPUT_DOCUMENTS", "100"))
SCANS = int(os.environ.get("BENCH_THROUGHPUT_SCANS", "8"))
WORKER_SCANS = int(os.environ.get("BENCH_THROUGHPUT_WORKER_SCANS", "8"))
DEPLOYMENT_RUNS = int(os.environ.get("BENCH_THROUGHPUT_DEPLOYMENT_RUNS", "4"))
ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
FINAL = ("processed", "not_invoice", "failed")


def wait_until(what: str, found, seconds: float = 600):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = found()
        if result:
            return result
        time.sleep(0.05)
    raise RuntimeError(f"{what}: not within {seconds} s")


def query(database: Path, sql: str, *parameters: object) -> list[tuple]:
    with sqlite3.connect(database, timeout=30) as connection:
        return connection.execute(sql, parameters).fetchall()


def finished(database: Path, names: list[str]) -> bool:
    marks = ",".join("?" * len(names))
    [(count,)] = query(database, f"SELECT count(*) FROM documents WHERE original_name IN ({marks}) "
                                 f"AND status IN ('processed', 'not_invoice', 'failed')", *names)
    return count == len(names)


def reading_span(database: Path, names: list[str]) -> float:
    """Seconds from the batch's first claim to its last save."""
    marks = ",".join("?" * len(names))
    [(first, last)] = query(database, f"SELECT min(claimed_at), max(processed_at) FROM documents "
                                      f"WHERE original_name IN ({marks})", *names)
    return (datetime.fromisoformat(last) - datetime.fromisoformat(first)).total_seconds()


def as_scans(files: list[Path], folder: Path) -> list[Path]:
    """Each PDF's first page as a one-page PDF holding only its picture (a clean scan)."""
    import pymupdf

    folder.mkdir(parents=True, exist_ok=True)
    scans = []
    for path in files:
        with pymupdf.open(path) as source:
            page = source.load_page(0)
            picture = page.get_pixmap(dpi=200, colorspace=pymupdf.csGRAY)
            scan = pymupdf.open()
            scan.new_page(width=page.rect.width, height=page.rect.height).insert_image(page.rect, pixmap=picture)
            target = folder / f"scan-{path.name}"
            target.write_bytes(scan.tobytes())
            target.with_suffix(".json").write_text(path.with_suffix(".json").read_text())
            scans.append(target)
    return scans


def tesseract_limit(scans: list[Path], work: Path, processes: int = 0) -> float:
    """Pages per second of single-threaded tesseract processes, one per core (or ``processes``),
    on the pages as the reader renders them (its resolution and languages)."""
    import pymupdf

    from tasks.reading.ocr import worker_count
    from tasks.settings import OcrSettings

    ocr = OcrSettings()
    images = []
    for index, path in enumerate(scans):
        with pymupdf.open(path) as document:
            pixmap = document.load_page(0).get_pixmap(dpi=ocr.dpi, colorspace=pymupdf.csGRAY)
            target = work / f"page-{index}.pgm"
            pixmap.save(target)
            images.append(target)
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}

    def tesseract(image: Path) -> None:
        subprocess.run(["tesseract", str(image), "stdout", "-l", ocr.languages], env=env, check=True,
                       capture_output=True)

    started = time.perf_counter()
    with ThreadPoolExecutor(processes or worker_count(ocr.workers)) as pool:
        list(pool.map(tesseract, images))
    return len(images) / (time.perf_counter() - started)


def reader_alone(scans: list[Path]) -> float:
    """Pages per second of the reader itself on one scan after another, one OCR process, in this
    process: what a core does when it reads alone (render, tesseract, the ink it missed, fields)."""
    from tasks.extraction.invoice_file import understand_file
    from tasks.settings import OcrSettings

    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    started = time.perf_counter()
    for path in scans:
        understand_file(path, path.name, OcrSettings(workers=1), [])
    return len(scans) / (time.perf_counter() - started)


def bare_work(files: list[Path], work: Path) -> float:
    """Documents per second of the work alone: store, claim, read and save each, in this process."""
    os.environ.update({"INVOICES_DATA_DIR": str(work / "bare"), "INVOICES_DATABASE__URL": ""})
    from db.migrate import upgrade
    from db.session import session_scope
    from tasks.documents import processing
    from tasks.documents.intake import ingest_bytes
    from tasks.extraction.invoice_file import understand_file
    from tasks.extraction.templates import load_templates
    from tasks.settings import get_settings

    get_settings.cache_clear()
    settings = get_settings()
    upgrade(settings.database.url)
    settings.documents_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for path in files:
        with session_scope() as session:
            document_id = ingest_bytes(session, settings.documents_dir, path.read_bytes(), path.name,
                                       "folder").document_id
        with session_scope() as session:
            claim = processing.claim_document(session, settings.documents_dir, document_id)
            templates = load_templates(settings.templates_dir, session)
        result = understand_file(Path(claim.path), claim.name, settings.ocr, templates, kind=claim.kind)
        with session_scope() as session:
            processing.save_result(session, document_id, result, "bench")
    return len(files) / (time.perf_counter() - started)


class Stack:
    """Processes started for the bench, each in its own session, stopped at the end."""

    def __init__(self, work: Path, env: dict[str, str]) -> None:
        self.work, self.env, self.processes = work, env, []

    def start(self, command: list[str], log: str, **extra: str) -> subprocess.Popen:
        with (self.work / log).open("wb") as out:
            process = subprocess.Popen(command, cwd=ROOT, env={**self.env, **extra}, stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        from tests.support.prefect_server import stop

        for process in reversed(self.processes):
            stop(process)
        self.processes = []


def drop(files: list[Path], inbox: Path) -> float:
    """Move ``files`` into the inbox at once, each new as a copied file is (the inbox waits until
    a file has not changed for 2 s); returns when."""
    inbox.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for path in files:
        path.rename(inbox / path.name)
        os.utime(inbox / path.name)
    return started


def on_workers(stack: Stack, scans: list[Path], workers: int, name: str) -> float:
    """Seconds the batch of ``scans`` takes on ``workers`` task workers (first claim to last save)."""
    data = stack.work / name
    extra = {"INVOICES_DATA_DIR": str(data), "INVOICES_WORKERS__TASK_WORKERS": "true",
             "INVOICES_WORKERS__DOCUMENTS_AT_ONCE": "1", "INVOICES_OCR__WORKERS": "1"}
    subprocess.run([str(BIN / "invoices"), "db", "upgrade"], cwd=ROOT, env={**stack.env, **extra}, check=True,
                   capture_output=True)
    logs = [f"{name}-worker-{n}.log" for n in range(workers)]
    started = [stack.start([str(BIN / "invoices"), "read-worker"], log, **extra) for log in logs]
    wait_until("task workers subscribed", lambda: all("Subscribing" in (stack.work / log).read_text() for log in logs))
    inbox = data / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    for path in scans:
        (inbox / path.name).write_bytes(path.read_bytes())
    intake = stack.start([sys.executable, "-c", "from flows.ingest_folder import ingest_folder; ingest_folder()"],
                         f"{name}-intake.log", **extra)
    if intake.wait(timeout=1800) != 0:
        raise RuntimeError(f"intake on {workers} worker(s) failed: {(stack.work / f'{name}-intake.log').read_text()[-2000:]}")
    for process in started:
        process.terminate()
        process.wait(timeout=30)
    return reading_span(data / "invoices.db", [p.name for p in scans])


def deployment_runs_vs_task_runs(stack: Stack, texts: list[Path]) -> tuple[float, float]:
    """Seconds per text-layer document: as runs of the process-document deployment on a process
    worker, and as task runs on a task worker."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    from flows.process_document import process_document

    data = stack.work / "runs"
    extra = {"INVOICES_DATA_DIR": str(data)}
    env = {**stack.env, **extra}
    subprocess.run([str(BIN / "invoices"), "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    os.environ.update(extra)
    from db.session import session_scope
    from tasks.documents.intake import ingest_bytes
    from tasks.settings import get_settings

    get_settings.cache_clear()
    settings = get_settings()
    settings.documents_dir.mkdir(parents=True, exist_ok=True)
    with session_scope() as session:
        ids = [ingest_bytes(session, settings.documents_dir, p.read_bytes(), p.name, "folder").document_id
               for p in texts]
    half = len(ids) // 2
    database = data / "invoices.db"

    def done(chosen: list[int]) -> bool:
        marks = ",".join("?" * len(chosen))
        [(count,)] = query(database, f"SELECT count(*) FROM documents WHERE id IN ({marks}) AND status IN "
                                     "('processed', 'not_invoice', 'failed')", *chosen)
        return count == len(chosen)

    with get_client(sync_client=True) as client:
        from prefect.client.schemas.actions import WorkPoolCreate

        client.create_work_pool(WorkPoolCreate(name="bench-throughput", type="process"), overwrite=True)
    with contextlib.redirect_stdout(io.StringIO()):  # its table of deployments
        process_document.from_source(source=str(ROOT), entrypoint="flows/process_document.py:process_document").deploy(
            name="bench-throughput", work_pool_name="bench-throughput", print_next_steps=False, build=False,
            push=False, ignore_warnings=True)
    stack.start([str(BIN / "prefect"), "worker", "start", "--pool", "bench-throughput"], "process-worker.log", **extra)
    started = time.perf_counter()
    for document_id in ids[:half]:
        run_deployment("process-document/bench-throughput", parameters={"document_id": document_id}, timeout=0)
    wait_until("deployment runs", lambda: done(ids[:half]), 900)
    per_run = (time.perf_counter() - started) / half

    from flows.process_document import read_document_run

    worker = stack.start([str(BIN / "invoices"), "read-worker"], "task-worker.log", **extra)
    wait_until("task worker subscribed", lambda: "Subscribing" in (stack.work / "task-worker.log").read_text())
    started = time.perf_counter()
    for document_id in ids[half:]:
        read_document_run.delay(document_id=document_id)
    wait_until("task runs", lambda: done(ids[half:]), 900)
    per_task = (time.perf_counter() - started) / (len(ids) - half)
    worker.terminate()
    return per_run, per_task


def run(argv: list[str]) -> list[str]:
    from prefect.settings import PREFECT_API_URL, PREFECT_LOCAL_STORAGE_PATH, temporary_settings

    from tests.support.corpus import generate
    from tests.support.prefect_server import free_port, wait_healthy

    work = Path(tempfile.mkdtemp(prefix="bench-throughput-"))
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "INVOICES_"))},
           "PREFECT_HOME": str(work / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_API_URL": api, "INVOICES_DATA_DIR": str(work / "data"), "INVOICES_PREFECT__API_URL": api,
           "PREFECT_LOCAL_STORAGE_PATH": str(work / "task-parameters")}
    (work / "prefect").mkdir()
    texts = generate(work / "corpus", seed=1357, text_count=DOCUMENTS + DEPLOYMENT_RUNS, scan_count=0)
    texts, for_runs = texts[:DOCUMENTS], texts[DOCUMENTS:]
    scans = as_scans(generate(work / "scan-sources", seed=9753, text_count=SCANS + WORKER_SCANS, scan_count=0),
                     work / "scans")
    scans, worker_scans = scans[:SCANS], scans[SCANS:]
    limit = tesseract_limit(scans, work)
    one_tesseract = tesseract_limit(scans, work, processes=1)
    alone = reader_alone(scans)
    bare = bare_work(texts, work)  # into a database of its own; the same files are dropped below
    stack = Stack(work, env)
    try:
        server = stack.start([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                             "server.log")
        wait_healthy(api, server, work / "server.log")
        subprocess.run([str(BIN / "invoices"), "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
        with temporary_settings({PREFECT_API_URL: api, PREFECT_LOCAL_STORAGE_PATH: work / "task-parameters"}):
            serve = stack.start([str(BIN / "invoices"), "serve"], "serve.log")
            from prefect.client.orchestration import get_client

            with get_client(sync_client=True) as client:
                wait_until("deployments served",
                           lambda: "ingest-folder" in {d.name for d in client.read_deployments()}, 300)
            database = work / "data" / "invoices.db"
            names = [p.name for p in texts]
            expected = {p.name: json.loads(p.with_suffix(".json").read_text())["invoice_number"] for p in texts}
            started = drop(texts, work / "data" / "inbox")
            wait_until("text batch read", lambda: finished(database, names))
            per_second = len(texts) / (time.perf_counter() - started)
            span = reading_span(database, names)
            read = dict(query(database, "SELECT d.original_name, i.number FROM documents d JOIN invoice_links l "
                                        "ON l.document_id = d.id JOIN invoices i ON i.id = l.invoice_id"))
            right = sum(1 for name, number in expected.items() if read.get(name) == number)
            scan_names = [p.name for p in scans]
            drop(scans, work / "data" / "inbox")
            wait_until("scan batch read", lambda: finished(database, scan_names))
            pages = len(scans) / reading_span(database, scan_names)
            serve.terminate()
            serve.wait(timeout=60)
            one = on_workers(stack, worker_scans, 1, "one-worker") if worker_scans else None
            two = on_workers(stack, worker_scans, 2, "two-workers") if worker_scans else None
            per_run, per_task = deployment_runs_vs_task_runs(stack, for_runs) if for_runs else (None, None)
    finally:
        stack.stop_all()
    from tasks.reading.ocr import worker_count

    cores = worker_count(0)
    lines = [
        (f"{DOCUMENTS} text-layer PDFs dropped at once into `invoices serve`'s inbox: {per_second:.1f} documents/s "
         f"from drop to the last read (target 10; the 2 s a file settles included), {len(texts) / span:.1f}/s from "
         f"the first claim to the last save; {right} of {len(texts)} invoice numbers right; the bare work "
         f"(store, read, save, no Prefect) {bare:.1f}/s: ratio {per_second / bare:.2f}x end to end, "
         f"{len(texts) / span / bare:.2f}x while reading"),
        (f"{SCANS} one-page scans dropped at once: {pages:.2f} pages/s over the batch vs single-threaded tesseract "
         f"processes, one per core, on the same pages {limit:.2f} pages/s: ratio {pages / limit:.2f}x (target 0.8x); "
         f"vs the reader reading them one after another alone {alone:.2f} pages/s: ratio {pages / alone:.2f}x; "
         f"one tesseract process alone {one_tesseract:.2f} pages/s (so {cores} of them at once read "
         f"{limit / one_tesseract:.2f}x of one on this machine's {cores} cores)"),
    ]
    if one is not None and two is not None:
        lines.append(f"{WORKER_SCANS} one-page scans on task workers reading one document at a time each: two "
                     f"workers {two:.1f} s vs one worker {one:.1f} s: ratio {two / one:.2f}x of the time "
                     f"({one / two:.2f}x the speed)")
    if per_run is not None and per_task is not None:
        lines.append(f"spreading work, {DEPLOYMENT_RUNS // 2} text-layer documents each way: a run of the "
                     f"process-document deployment on a process worker {per_run:.2f} s per document vs a task run "
                     f"on a task worker {per_task:.3f} s per document (ratio {per_run / per_task:.0f}x)")
    return lines
