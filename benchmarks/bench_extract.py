"""Reading invoices: accuracy and speed, each against a baseline measured in the same run.

- field accuracy on a held-out generated corpus (another seed than the tests), text and scanned
  separately, against a naive extractor (first number after "invoice", first date, largest amount);
  the same on the hand-written vendor layouts (tests/data/layouts, drawn by another renderer) and
  their scanned copies;
- text-layer documents end to end (store, read, extract, write to PostgreSQL) against bare
  pymupdf text extraction plus one INSERT, timed as the flows do it: intake in one transaction,
  then process-document's claim (with the vendor templates), read and save tasks; and, as a
  floor, the steps any reading of a stored invoice must take (store with fsync, positioned words,
  extraction, one INSERT); the three in turns, document by document;
- OCR time per page against bare tesseract on the same image: every page, twice, in turns, after a
  warm-up of each;
- scanned pages per second with the OCR pool against two bare single-threaded tesseract
  processes in parallel, and against one default tesseract process.

Sizes: BENCH_EXTRACT_TEXT (60), BENCH_EXTRACT_SCANS (12), BENCH_EXTRACT_E2E (50),
BENCH_EXTRACT_PAGES (8), BENCH_EXTRACT_SEED (4242); BENCH_EXTRACT_PG (admin URL of PostgreSQL).
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from tasks.settings import OcrSettings


def _env(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


# ---------------------------------------------------------------- accuracy

def _naive(text: str) -> dict[str, object]:
    """The baseline: what a few generic regular expressions find."""
    from tasks.language.amounts import find_amounts
    from tasks.language.currencies import currencies_in
    from tasks.language.dates import find_dates
    from tasks.language.identifiers import find_ibans

    number = re.search(r"(?i)(?:invoice|rechnung|facture|factuur)\D{0,20}?([A-Z0-9][\w/-]*\d[\w/-]*)", text)
    amounts = [a for a, _, _ in find_amounts(text)]
    dates = find_dates(text)
    ibans = find_ibans(text)
    currencies = currencies_in(text)
    return {"invoice_number": number.group(1) if number else None, "issue_date": dates[0][0].isoformat() if dates else None,
            "total": str(max(amounts)) if amounts else None, "iban": ibans[0][0] if ibans else None,
            "currency": currencies[0] if currencies else None}


def _accuracy(folder: Path, lines: list[str], corpus: str = "generated corpus") -> None:
    from tasks.extraction.invoice_file import understand_file
    from tests.support.corpus_fixtures import SCORED_FIELDS, expected, got, same

    ocr = OcrSettings()
    for label, scanned in (("text", False), ("scanned", True)):
        cases = sorted(p for p in folder.iterdir() if p.suffix != ".json" and p.name.startswith("scan-") == scanned)
        ours = {f: 0 for f in SCORED_FIELDS}
        naive = {f: 0 for f in ("invoice_number", "issue_date", "total", "iban", "currency")}
        started = time.perf_counter()
        for path in cases:
            result, want = understand_file(path, path.name, ocr), expected(path)
            found = got(result)
            for field in SCORED_FIELDS:
                ours[field] += same(field, found.get(field), want.get(field))
            guess = _naive(result.text)
            for field in naive:
                naive[field] += same(field, guess.get(field), want.get(field))
        seconds = time.perf_counter() - started
        n = max(len(cases), 1)
        overall = sum(ours.values()) / (n * len(SCORED_FIELDS))
        same_fields = sum(ours[f] for f in naive) / (n * len(naive))
        baseline = sum(naive.values()) / (n * len(naive))
        lines.append(f"accuracy {label}, {corpus} ({len(cases)} documents, {seconds / n:.2f} s each): overall {overall:.1%} "
                     f"(target >= 95%)")
        lines.append("    per field: " + ", ".join(f"{f} {v / n:.0%}" for f, v in ours.items()))
        lines.append(f"    vs naive baseline on {', '.join(naive)}: ours {same_fields:.1%}, baseline {baseline:.1%} "
                     f"(ratio {same_fields / max(baseline, 1e-9):.2f}x)")


# ---------------------------------------------------------------- end to end, text layer

def _as_the_flows_do(documents_dir: Path, data: bytes, name: str, stages: dict[str, float]) -> None:
    """One document through the work of ingest-folder (take-file) and process-document (its
    claim, read and save tasks), each in its own transaction as there; each step's seconds are
    added to ``stages``."""
    from db.session import session_scope
    from flows.process_document import claim_document, read_document, save_invoice
    from tasks.documents.intake import ingest_bytes

    started = time.perf_counter()
    with session_scope() as session:
        document_id = ingest_bytes(session, documents_dir, data, name, "folder").document_id
    claimed = time.perf_counter()
    claim = claim_document.fn(document_id, False)
    read = time.perf_counter()
    result = read_document.fn(claim)
    saved = time.perf_counter()
    save_invoice.fn(document_id, result, None)
    for stage, seconds in zip(stages, (claimed - started, read - claimed, saved - read, time.perf_counter() - saved),
                              strict=True):
        stages[stage] += seconds


def _end_to_end(folder: Path, count: int, lines: list[str]) -> None:
    import pymupdf
    import sqlalchemy as sa

    import flows.process_document  # noqa: F401 (Prefect is imported before the clock starts)
    from db.migrate import upgrade
    from db.session import engine_for, make_engine
    from tasks.documents.store import store_bytes
    from tasks.extraction.document_fields import extract_fields
    from tasks.extraction.invoice_file import understand_file
    from tasks.reading.registry import read
    from tasks.settings import get_settings
    from tests.support.corpus import generate

    admin_url = os.environ.get("BENCH_EXTRACT_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    name = f"bench_extract_{uuid.uuid4().hex[:8]}"
    admin = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    data_dir = Path(tempfile.mkdtemp(prefix="bench-extract-"))
    try:
        upgrade(url)
        os.environ["INVOICES_DATABASE__URL"], os.environ["INVOICES_DATA_DIR"] = url, str(data_dir)
        get_settings.cache_clear()
        settings = get_settings()
        files = generate(folder / "e2e", seed=_env("BENCH_EXTRACT_SEED", 4242) + 1, text_count=count, scan_count=0)
        datas = [p.read_bytes() for p in files]
        engine = engine_for(url)
        with engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE bench_baseline (id serial primary key, sha text, body text)"))
        insert = sa.text("INSERT INTO bench_baseline (sha, body) VALUES (:s, :b)")

        def bare(data: bytes, path: Path) -> None:
            with pymupdf.open(stream=data, filetype="pdf") as document:
                text = "".join(page.get_text() for page in document)
            with engine.begin() as connection:
                connection.execute(insert, {"s": str(len(data)), "b": text})

        floor_dir = data_dir / "floor"

        def floor(data: bytes, path: Path) -> None:
            store_bytes(floor_dir, data)
            document = read(path, "pdf", path.name, settings.ocr).document
            fields, _ = extract_fields(document)
            with engine.begin() as connection:
                connection.execute(insert, {"s": str(len(data)), "b": repr(fields)})

        stages = dict.fromkeys(("store and record (ingest)", "claim", "read and extract", "save"), 0.0)

        def ours(data: bytes, path: Path) -> None:
            _as_the_flows_do(settings.documents_dir, data, path.name, stages)

        understand_file(files[0], files[0].name, settings.ocr)  # warm up imports and caches for all three
        seconds = dict.fromkeys((bare, floor, ours), 0.0)
        for data, path in zip(datas, files, strict=True):  # in turns, so that all three see the same machine
            for way in seconds:
                started = time.perf_counter()
                way(data, path)
                seconds[way] += time.perf_counter() - started
        baseline, least, total = (seconds[way] / len(datas) for way in (bare, floor, ours))
        lines.append(f"text-layer end to end ({len(datas)} PDFs, PostgreSQL): {total * 1000:.1f} ms/document vs bare "
                     f"pymupdf + one INSERT {baseline * 1000:.1f} ms (ratio {total / baseline:.2f}x, target <= 2x)")
        lines.append("  of which: " + ", ".join(f"{stage} {spent / len(datas) * 1000:.1f} ms"
                                                 for stage, spent in stages.items()))
        lines.append(f"  the steps no reading of a stored invoice can leave out (the file stored and fsync'd, its words "
                     f"with their positions in lines, field extraction, one INSERT): {least * 1000:.1f} ms "
                     f"(ratio {least / baseline:.2f}x)")
        engine.dispose()
    finally:
        engine_for.cache_clear()
        get_settings.cache_clear()
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# ---------------------------------------------------------------- OCR speed

def _page_images(folder: Path, count: int) -> list[Path]:
    import pymupdf

    from tests.support.corpus import generate

    pdfs = generate(folder / "pages", seed=_env("BENCH_EXTRACT_SEED", 4242) + 2, text_count=count, scan_count=0)
    images = []
    for pdf in pdfs:
        with pymupdf.open(pdf) as document:
            target = pdf.with_suffix(".png")
            document.load_page(0).get_pixmap(dpi=300, colorspace=pymupdf.csGRAY).save(target)
            images.append(target)
    return images


def _bare(image: Path, languages: str, single_thread: bool) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    if single_thread:
        env["OMP_THREAD_LIMIT"] = "1"
    else:
        env.pop("OMP_THREAD_LIMIT", None)
    return subprocess.Popen(["tesseract", str(image), "-", "-l", languages], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _ocr_speed(folder: Path, count: int, lines: list[str]) -> None:
    from tasks.reading.ocr import OcrJob, read_page, read_pages, shutdown_pool

    ocr = OcrSettings()
    images = _page_images(folder, count)

    def job(image: Path) -> OcrJob:
        return OcrJob(str(image), "image", 0, ocr.languages, ocr.dpi, ocr.max_pixels, ocr.page_timeout_seconds)

    _bare(images[0], ocr.languages, single_thread=True).wait()  # warm up both: the language packs in the
    read_page(job(images[0]))  # page cache, the imports of a running service
    bare = ours = 0.0
    for _ in range(2):  # every page, each way, in turns
        for image in images:
            started = time.perf_counter()
            _bare(image, ocr.languages, single_thread=True).wait()
            bare += time.perf_counter() - started
            started = time.perf_counter()
            page = read_page(job(image))
            ours += time.perf_counter() - started
            assert page.error is None, page.error
    bare, ours = bare / (2 * len(images)), ours / (2 * len(images))
    lines.append(f"OCR per page ({ocr.languages}, {len(images)} pages twice): {ours:.2f} s vs bare tesseract on the same "
                 f"image {bare:.2f} s (ratio {ours / bare:.2f}x, target <= 1.15x)")

    jobs = [job(p) for p in images]
    read_pages(jobs[:2], workers=0)  # start the pool (as a running service would have it)
    started = time.perf_counter()
    pages = read_pages(jobs, workers=0)
    pool_rate = len(jobs) / (time.perf_counter() - started)
    shutdown_pool()
    assert all(p.error is None for p in pages)
    started = time.perf_counter()
    pending = list(images)
    running: list[subprocess.Popen[bytes]] = []
    while pending or running:
        while pending and len(running) < 2:
            running.append(_bare(pending.pop(), ocr.languages, single_thread=True))
        running[0].wait()
        running.pop(0)
    two_rate = len(images) / (time.perf_counter() - started)
    started = time.perf_counter()
    for image in images:
        _bare(image, ocr.languages, single_thread=False).wait()
    default_rate = len(images) / (time.perf_counter() - started)
    lines.append(f"scanned pages/s on {os.cpu_count()} cores ({len(images)} pages): pool {pool_rate:.3f} vs two bare "
                 f"single-threaded tesseracts {two_rate:.3f} (ratio {pool_rate / two_rate:.2f}x, target >= 0.8x) vs one "
                 f"default tesseract {default_rate:.3f} (ratio {pool_rate / default_rate:.2f}x, target >= 4x)")


def run(argv: list[str]) -> list[str]:
    from tests.support.corpus import generate
    from tests.support.layouts import render_all, scanned_copies

    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-extract-") as name:
        folder = Path(name)
        generate(folder / "corpus", seed=_env("BENCH_EXTRACT_SEED", 4242), text_count=_env("BENCH_EXTRACT_TEXT", 60),
                 scan_count=_env("BENCH_EXTRACT_SCANS", 12))
        _accuracy(folder / "corpus", lines)
        layouts = render_all(folder / "layouts")
        scanned_copies(layouts, folder / "layouts")
        _accuracy(folder / "layouts", lines, "vendor layouts, tests/data/layouts")
        _end_to_end(folder, _env("BENCH_EXTRACT_E2E", 50), lines)
        _ocr_speed(folder, _env("BENCH_EXTRACT_PAGES", 8), lines)
    return lines
