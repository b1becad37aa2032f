import json
import os
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from db.models import Document, DocumentOrigin
from db.session import session_scope
from flows.ingest_folder import ingest_folder
from tests.support.pdfs import encrypted_pdf, text_pdf

pytestmark = pytest.mark.usefixtures("prefect_server")


def _documents() -> list[Document]:
    with session_scope() as session:
        return list(session.scalars(select(Document).order_by(Document.id)))


def _snapshot(root: Path) -> set[str]:
    """Every path under ``root`` except the test's own SQLite database."""
    return {str(p) for p in root.rglob("*") if "sqlite" not in p.relative_to(root).parts}


def test_a_pdf_is_stored_by_content_with_its_text_layer(settings):
    inbox = settings.inbox_dir
    inbox.mkdir(parents=True)
    (inbox / "Rechnung März.pdf").write_bytes(text_pdf(["Invoice No 4711", "Total 119.00 EUR"]))

    counts = ingest_folder()

    assert counts == {"files": 1, "stored": 1, "duplicate": 0, "quarantined": 0, "error": 0}
    [document] = _documents()
    # intake hands the PDF on to process-document, which reads it (not_invoice: no invoice fields in it)
    assert document.kind == "pdf" and document.status in {"processed", "not_invoice"} and document.page_count == 1
    assert "Invoice No 4711" in (document.text or "")
    assert document.original_name == "Rechnung März.pdf"
    stored = settings.documents_dir / document.storage_path
    assert stored.name == document.sha256 and stored.is_file()
    assert not (inbox / "Rechnung März.pdf").exists()
    assert [p.name for p in (inbox / "processed").rglob("*.pdf")] == ["Rechnung März.pdf"]


def test_the_same_file_twice_is_stored_once_and_both_arrivals_are_recorded(settings):
    inbox = settings.inbox_dir
    (inbox / "sub").mkdir(parents=True)
    data = text_pdf(["Invoice 1"])
    (inbox / "a.pdf").write_bytes(data)
    (inbox / "sub" / "copy of a.pdf").write_bytes(data)

    first = ingest_folder()
    (inbox / "a.pdf").write_bytes(data)
    second = ingest_folder()

    assert first["stored"] == 1 and first["duplicate"] == 1
    assert second == {"files": 1, "stored": 0, "duplicate": 1, "quarantined": 0, "error": 0}
    assert len(_documents()) == 1
    with session_scope() as session:
        names = sorted(session.scalars(select(DocumentOrigin.original_name)))
    assert names == ["a.pdf", "sub/copy of a.pdf"]
    assert len(list(settings.documents_dir.rglob("*"))) == 3  # two folder levels and one file


def test_bad_files_are_quarantined_with_reasons_and_the_rest_goes_on(settings, tmp_path):
    inbox = settings.inbox_dir
    inbox.mkdir(parents=True)
    (inbox / "empty.pdf").write_bytes(b"")
    (inbox / "corrupt.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage \x00\x01")
    (inbox / "locked.pdf").write_bytes(encrypted_pdf(["secret invoice"]))
    (inbox / "..%2F..%2Fetc%2Fpasswd.pdf").write_bytes(b"root:x:0:0:root:/root:/bin/bash\n")
    (inbox / "invoice.pdf").write_bytes(b"\x7fELF\x02\x01\x01" + os.urandom(200))
    (inbox / "good.pdf").write_bytes(text_pdf(["Invoice 99"]))
    (inbox / ".~lock.book.xlsx#").write_bytes(b"someone is editing")  # left alone
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "target.pdf").write_bytes(text_pdf(["not yours"]))
    os.symlink(outside / "target.pdf", inbox / "link.pdf")
    before_outside = _snapshot(tmp_path) - _snapshot(settings.data_dir)

    counts = ingest_folder()

    assert counts["stored"] == 1 and counts["quarantined"] == 6 and counts["error"] == 0
    reasons = {
        p.name.removesuffix(".reason.txt"): p.read_text()
        for p in (inbox / "quarantine").rglob("*.reason.txt")
    }
    assert set(reasons) == {"empty.pdf", "corrupt.pdf", "locked.pdf", "..%2F..%2Fetc%2Fpasswd.pdf", "invoice.pdf", "link.pdf"}
    assert "empty" in reasons["empty.pdf"]
    assert "PDF" in reasons["corrupt.pdf"]
    assert "password-protected" in reasons["locked.pdf"]
    assert "program" in reasons["invoice.pdf"]
    assert "plain text although its name ends in .pdf" in reasons["..%2F..%2Fetc%2Fpasswd.pdf"]
    assert "symbolic link" in reasons["link.pdf"]
    for name in reasons:  # every input is kept beside its reason
        assert list((inbox / "quarantine").rglob(name))
    after_outside = _snapshot(tmp_path) - _snapshot(settings.data_dir)
    assert after_outside == before_outside  # nothing written outside the data folder
    assert (outside / "target.pdf").exists()
    assert (inbox / ".~lock.book.xlsx#").exists()
    statuses = {d.original_name: d.status for d in _documents()}
    assert statuses["good.pdf"] in {"processed", "not_invoice"}  # read by process-document after intake
    assert statuses["locked.pdf"] == "quarantined"


def test_a_file_still_being_written_is_left_for_the_next_run(settings, monkeypatch):
    from tasks.settings import get_settings

    monkeypatch.setenv("INVOICES_STORAGE__SETTLE_SECONDS", "3600")
    get_settings.cache_clear()
    inbox = get_settings().inbox_dir
    inbox.mkdir(parents=True)
    (inbox / "copying.pdf").write_bytes(text_pdf(["Invoice"]))

    assert ingest_folder()["files"] == 0
    assert (inbox / "copying.pdf").exists()


def test_a_crashed_runs_claim_is_taken_by_the_next_run(settings):
    from tasks.documents import drop_folder

    inbox = settings.inbox_dir
    drop_folder.ensure_layout(inbox)
    (inbox / "left.pdf").write_bytes(text_pdf(["Invoice 5"]))
    claimed = drop_folder.claim(inbox, inbox / "left.pdf")
    assert claimed is not None
    old = 1_000_000_000
    os.utime(claimed.path.parent, (old, old))

    counts = ingest_folder()

    assert counts["stored"] == 1
    assert [d.original_name for d in _documents()] == ["left.pdf"]
    assert list((inbox / ".work").iterdir()) == []


def _stored(settings, lines: list[str], name: str, **columns) -> int:
    """A document as an earlier run left it (``columns`` set straight in its row)."""
    from sqlalchemy import update

    from tasks.documents.intake import ingest_bytes

    with session_scope() as session:
        document_id = ingest_bytes(session, settings.documents_dir, text_pdf(lines), name, "folder").document_id
        if columns:
            session.execute(update(Document).where(Document.id == document_id).values(**columns))
    return document_id


def test_documents_an_earlier_run_left_unread_are_read_by_the_next_intake_run(settings):
    from datetime import datetime, timedelta, timezone

    now = datetime.now(timezone.utc)
    invoice = ["ACME Tools GmbH", "Rechnung Nr. R-{n}", "Datum 02.05.2024", "Gesamtbetrag 119,00 EUR"]
    never_handed_on = _stored(settings, [x.format(n=1) for x in invoice], "a.pdf",
                              created_at=now - timedelta(minutes=30))
    read_stopped = _stored(settings, [x.format(n=2) for x in invoice], "b.pdf", status="processing",
                           created_at=now - timedelta(hours=3), claimed_at=now - timedelta(hours=3))
    being_read = _stored(settings, [x.format(n=3) for x in invoice], "c.pdf", status="processing",
                         created_at=now - timedelta(minutes=5), claimed_at=now - timedelta(minutes=5))
    just_stored = _stored(settings, [x.format(n=4) for x in invoice], "d.pdf")  # its own intake hands it on

    assert ingest_folder()["files"] == 0

    with session_scope() as session:
        status = {d.id: (d.status, d.error) for d in session.scalars(select(Document))}
    assert status[never_handed_on] == ("processed", None)
    assert status[read_stopped] == ("processed", None)
    assert status[being_read] == ("processing", None)
    assert status[just_stored] == ("stored", None)


def test_each_document_is_a_task_run_of_the_intake_run_and_a_failing_one_is_red_on_its_own(settings):
    """A batch: one process-document task run per document inside the intake run (no flow run
    each), the unreadable one Failed while the others complete, and a table of the batch."""
    import time

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterId,
        FlowRunFilterParentFlowRunId,
    )

    settings.inbox_dir.mkdir(parents=True)
    for n in (1, 2, 3):
        (settings.inbox_dir / f"invoice-{n}.pdf").write_bytes(
            text_pdf(["ACME Tools GmbH", f"Rechnung Nr. TR-{n}", "Datum 02.05.2024", "Gesamtbetrag 119,00 EUR"]))
    (settings.inbox_dir / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    state = ingest_folder(return_state=True)
    assert state.is_completed()
    parent = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        assert client.read_flow_runs(flow_run_filter=FlowRunFilter(
            parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[parent]))) == []
        deadline = time.monotonic() + 60
        while True:  # task run states reach the server as events, a moment after they happen
            runs = {run.name: run.state_type.value if run.state_type else None for run in client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[parent])))
                if run.name.startswith("process-document-")}
            if len(runs) == 4 and None not in runs.values() and "RUNNING" not in runs.values():
                break
            assert time.monotonic() < deadline, runs
            time.sleep(0.5)
        [table] = [a for a in client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[parent]))) if a.key == "documents-read"]
    ids = {d.original_name: d.id for d in _documents()}
    assert runs == {f"process-document-{ids['broken.png']}": "FAILED",
                    **{f"process-document-{ids[f'invoice-{n}.pdf']}": "COMPLETED" for n in (1, 2, 3)}}
    rows = {row["name"]: row for row in (json.loads(table.data) if isinstance(table.data, str) else table.data)}
    assert rows["broken.png"]["state"] == "failed" and "not a readable image" in rows["broken.png"]["reason"]
    for n in (1, 2, 3):
        row = rows[f"invoice-{n}.pdf"]
        assert (row["state"], row["vendor"], row["number"], row["total"]) == (
            "processed", "ACME Tools GmbH", f"TR-{n}", "119.00 EUR"), row


def _artifact_markdown(flow_run_id) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    return "\n".join(a.data for a in artifacts if isinstance(a.data, str))


def test_a_file_name_that_is_not_utf8_is_taken_and_shown_with_its_bytes_escaped(settings):
    inbox = settings.inbox_dir
    inbox.mkdir(parents=True)
    for raw, data in ((b"rechnung-\xff.pdf", text_pdf(["Invoice 8"])), (b"leer-\xfe\\.pdf", b"")):
        handle = os.open(os.fsencode(inbox) + b"/" + raw, os.O_CREAT | os.O_WRONLY, 0o644)
        os.write(handle, data)
        os.close(handle)

    state = ingest_folder(return_state=True)

    assert state.is_completed(), state.message
    counts = state.result()
    assert counts["stored"] == 1 and counts["quarantined"] == 1 and counts["error"] == 0
    names = {d.original_name: d.status for d in _documents()}
    assert names["rechnung-\\xff.pdf"] in {"processed", "not_invoice"}
    assert names["leer-\\xfe\\\\.pdf"] == "quarantined"  # the backslash is doubled: the escape is lossless
    with session_scope() as session:
        assert sorted(session.scalars(select(DocumentOrigin.original_name))) == ["leer-\\xfe\\\\.pdf",
                                                                               "rechnung-\\xff.pdf"]
    processed = [n for f in (inbox / "processed").iterdir() for n in os.listdir(os.fsencode(f))]
    assert processed == [b"rechnung-\xff.pdf"]  # the file itself keeps its name, byte for byte
    [reason] = (inbox / "quarantine").rglob("*.reason.txt")
    assert "file: leer-\\xfe\\\\.pdf" in reason.read_text(encoding="utf-8")
    markdown = _artifact_markdown(state.state_details.flow_run_id)
    rendered = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)  # Markdown's backslash escapes, as a viewer shows them
    assert "leer-\\xfe\\\\.pdf: the file is empty" in rendered
    again = ingest_folder(return_state=True)
    assert again.is_completed() and again.result()["files"] == 0


def _open_any_fifo_after(root: Path, seconds: float, done) -> None:
    """Unblock a run stuck reading a named pipe under ``root``: open it for writing, then close."""
    import stat

    if done.wait(seconds):
        return
    for path in root.rglob("*"):
        if stat.S_ISFIFO(path.lstat().st_mode):
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))


def test_a_fifo_a_socket_and_a_device_are_quarantined_without_being_read(settings):
    import socket
    import stat
    import threading
    import time

    inbox = settings.inbox_dir
    inbox.mkdir(parents=True)
    os.mkfifo(inbox / "fifo.pdf")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(os.path.relpath(inbox / "socket.pdf"))  # relative: socket paths are short
    kinds = {"fifo.pdf": "named pipe", "socket.pdf": "socket"}
    try:
        os.mknod(inbox / "device.pdf", stat.S_IFCHR | 0o600, os.makedev(1, 3))
        kinds["device.pdf"] = "character device"
    except PermissionError:
        pass
    (inbox / "good.pdf").write_bytes(text_pdf(["Invoice 12"]))
    done = threading.Event()
    watchdog = threading.Thread(target=_open_any_fifo_after, args=(inbox, 20, done), daemon=True)
    watchdog.start()
    started = time.monotonic()
    try:
        counts = ingest_folder()
    finally:
        done.set()
        listener.close()

    assert time.monotonic() - started < 20  # never blocked on the pipe
    assert counts["stored"] == 1 and counts["quarantined"] == len(kinds) and counts["error"] == 0
    reasons = {p.name.removesuffix(".reason.txt"): p.read_text() for p in (inbox / "quarantine").rglob("*.reason.txt")}
    assert set(reasons) == set(kinds)
    for name, kind in kinds.items():
        assert f"a {kind}, not a regular file" in reasons[name]
        [kept] = [p for p in (inbox / "quarantine").rglob(name)]
        assert not stat.S_ISREG(kept.lstat().st_mode)
    assert [d.original_name for d in _documents()] == ["good.pdf"]


def _reader_recursing_on(monkeypatch, broken: str) -> None:
    """The document check raises RecursionError for the file named ``broken``, as a reader does on a
    PDF whose page tree refers to itself; every other file is checked as usual."""
    from tasks.documents import intake

    real_check = intake.check_document

    def recursing_reader(data, file_type, name):
        if name == broken:
            raise RecursionError("maximum recursion depth exceeded while reading the page tree")
        return real_check(data, file_type, name)

    monkeypatch.setattr(intake, "check_document", recursing_reader)


def test_a_file_that_fails_the_same_way_three_times_is_quarantined(settings, monkeypatch):
    """A file that breaks the reader (here: a PDF whose structure recurses without end) is put back
    twice, then quarantined with the cause; the rest of the inbox goes on every time."""
    _reader_recursing_on(monkeypatch, "loop.pdf")
    inbox = settings.inbox_dir
    inbox.mkdir(parents=True)
    (inbox / "loop.pdf").write_bytes(text_pdf(["R-RECURSE"]))
    results = []
    for n in range(4):
        (inbox / f"good-{n}.pdf").write_bytes(text_pdf([f"Invoice G-{n}"]))
        results.append(ingest_folder())

    assert [r["error"] for r in results] == [1, 1, 0, 0]
    assert [r["quarantined"] for r in results] == [0, 0, 1, 0]
    assert [r["stored"] for r in results] == [1, 1, 1, 1]
    [reason] = (inbox / "quarantine").rglob("*.reason.txt")
    assert reason.name == "loop.pdf.reason.txt"
    assert "failed 3 times" in reason.read_text() and "RecursionError" in reason.read_text()
    assert not (inbox / "loop.pdf").exists()
    assert sorted(p.name for p in (inbox / ".work").iterdir() if p.is_dir()) == []


def test_a_new_version_of_a_failing_file_is_counted_from_one_again(settings, monkeypatch):
    _reader_recursing_on(monkeypatch, "flaky.pdf")
    inbox = settings.inbox_dir
    inbox.mkdir(parents=True)
    (inbox / "flaky.pdf").write_bytes(text_pdf(["version 1"]))
    assert [ingest_folder()["error"] for _ in range(2)] == [1, 1]
    (inbox / "flaky.pdf").write_bytes(text_pdf(["version 2 of the file"]))  # the sender sends it again
    os.utime(inbox / "flaky.pdf", (1_700_000_000, 1_700_000_000))

    runs = [ingest_folder() for _ in range(3)]

    assert [(r["error"], r["quarantined"]) for r in runs] == [(1, 0), (1, 0), (0, 1)]


def test_a_run_that_keeps_failing_the_same_way_alerts_once_and_a_new_cause_alerts_again(settings, monkeypatch):
    from tasks.settings import get_settings

    monkeypatch.setenv("INVOICES_ADMIN_EMAILS", '["admin@example.com"]')
    get_settings.cache_clear()
    outbox = get_settings().smtp.outbox_dir
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    not_a_folder = settings.data_dir / "inbox-file"
    not_a_folder.write_text("a file where the inbox folder should be")
    blocked = settings.data_dir / "inbox-blocked"
    blocked.mkdir()
    (blocked / ".work").write_text("a file where the work folder should be")

    def alerts() -> int:
        return len(list(outbox.glob("*.eml"))) if outbox.exists() else 0

    for _ in range(3):
        assert ingest_folder(inbox=str(not_a_folder), return_state=True).is_failed()
    assert alerts() == 1
    assert ingest_folder(inbox=str(blocked), return_state=True).is_failed()
    assert alerts() == 2  # a new cause is never hidden
    assert ingest_folder(inbox=str(blocked), return_state=True).is_failed()
    assert alerts() == 2
    assert ingest_folder(return_state=True).is_completed()  # the flow works again
    assert ingest_folder(inbox=str(blocked), return_state=True).is_failed()
    assert alerts() == 3  # failing again after a good run is news
