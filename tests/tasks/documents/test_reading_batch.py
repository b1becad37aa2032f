"""Claims of a batch being read, on SQLite and PostgreSQL: a read keeps its claim alive, a claim
given up for dead is taken by another read, and only the read holding the claim saves."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from db.models import Document
from db.session import session_scope
from tasks.documents import processing, reading_batch
from tasks.documents.intake import ingest_bytes
from tasks.errors import ClaimLost
from tests.support.pdfs import text_pdf


def _mark(document_id: int):
    with session_scope() as session:
        return reading_batch.claim_mark(session, document_id)


def _claimed(settings) -> int:
    settings.documents_dir.mkdir(parents=True, exist_ok=True)
    with session_scope() as session:
        document_id = ingest_bytes(session, settings.documents_dir, text_pdf(["Invoice 7"]), "a.pdf",
                                   "folder").document_id
    with session_scope() as session:
        assert isinstance(processing.claim_document(session, settings.documents_dir, document_id), processing.Claim)
    return document_id


def test_a_read_given_up_for_dead_saves_nothing_and_the_new_holder_does(settings):
    document_id = _claimed(settings)
    first = _mark(document_id)
    assert reading_batch.release_dead_claims([document_id], timedelta(seconds=60)) == []  # still fresh
    later = datetime.now(timezone.utc) + timedelta(minutes=2)
    assert reading_batch.release_dead_claims([document_id], timedelta(seconds=60), now=later) == [document_id]
    with session_scope() as session:
        assert session.get(Document, document_id).status == "stored"
        assert processing.claim_document(session, settings.documents_dir, document_id).document_id == document_id
    second = _mark(document_id)
    assert second != first

    with session_scope() as session, pytest.raises(ClaimLost, match=f"document {document_id}"):
        reading_batch.hold_claim(session, document_id, first)
    with session_scope() as session:
        assert reading_batch.holds_claim(session, document_id, second)
        processing.mark_failed(session, document_id, "held by the second read")
    with session_scope() as session:
        assert session.get(Document, document_id).status == "failed"


def test_a_read_keeps_its_claim_alive_until_it_saves(settings):
    document_id = _claimed(settings)
    first = _mark(document_id)
    with reading_batch.ClaimLease(document_id, first, lease_seconds=3) as lease:
        time.sleep(2.5)  # two renewals, one a second
        mark = lease.mark()
    assert mark != first
    assert reading_batch.release_dead_claims([document_id], timedelta(seconds=3)) == []
    with session_scope() as session:
        assert not reading_batch.holds_claim(session, document_id, first)
        assert reading_batch.holds_claim(session, document_id, mark)


def test_the_batch_table_has_each_documents_state_vendor_number_and_total(settings):
    from tasks.extraction.invoice_file import understand_file

    settings.documents_dir.mkdir(parents=True, exist_ok=True)
    lines = ["ACME Tools GmbH", "Rechnung Nr. BT-1", "Datum 02.05.2024", "Gesamtbetrag 119,00 EUR"]
    with session_scope() as session:
        good = ingest_bytes(session, settings.documents_dir, text_pdf(lines), "good.pdf", "folder").document_id
        waiting = ingest_bytes(session, settings.documents_dir, text_pdf(["Invoice 8"]), "b.pdf", "folder").document_id
    with session_scope() as session:
        claim = processing.claim_document(session, settings.documents_dir, good)
    result = understand_file(Path(claim.path), claim.name, settings.ocr)
    with session_scope() as session:
        processing.save_result(session, good, result, "test")

    rows = reading_batch.batch_rows([waiting, good])
    assert [r["document"] for r in rows] == [waiting, good]
    assert rows[0]["state"] == "stored" and rows[0]["vendor"] == "" and rows[0]["total"] == ""
    assert (rows[1]["state"], rows[1]["vendor"], rows[1]["number"], rows[1]["total"]) == (
        "processed", "ACME Tools GmbH", "BT-1", "119.00 EUR")
