"""The reader registry: one entry per kind of document that can be read, and every other list of
readable kinds derived from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows._handoff import readers_by_kind
from tasks.documents.filetypes import ACCEPTED_KINDS
from tasks.errors import UnreadableDocument
from tasks.reading.registry import READABLE_KINDS, READERS, read
from tasks.settings import OcrSettings


def test_every_readable_kind_is_accepted_at_intake_and_handed_on_to_be_read():
    assert READABLE_KINDS == tuple(READERS) and set(READABLE_KINDS) == {"pdf", "image", "xml", "text"}
    assert set(READABLE_KINDS) <= ACCEPTED_KINDS
    handlers = readers_by_kind()
    assert set(READABLE_KINDS) <= set(handlers)
    assert len({handlers[kind] for kind in READABLE_KINDS}) == 1  # all read by process-document


def test_a_kind_without_a_reader_is_refused_with_the_files_name(tmp_path: Path):
    path = tmp_path / "book.xlsx"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(UnreadableDocument, match="Books 2024.xlsx: a xlsx file is not a document"):
        read(path, "xlsx", "Books 2024.xlsx", OcrSettings())


def test_an_xml_file_that_is_no_invoice_is_refused_by_its_reader(tmp_path: Path):
    path = tmp_path / "feed.xml"
    path.write_bytes(b"<?xml version='1.0'?><rss><channel/></rss>")
    with pytest.raises(UnreadableDocument, match="feed.xml: XML file, but not a UBL or CII"):
        read(path, "xml", "feed.xml", OcrSettings())
