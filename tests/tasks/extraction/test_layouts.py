"""Golden tests on hand-written invoices in real vendors' layouts (tests/layouts.py): header
tables, labels above values, letterheads without a legal form, tax on a stated base, credit
notes with "-€" amounts, marketplace "sold by" lines, payment terms instead of a due date; and
the same documents scanned (skewed, noisy, blurred, low resolution, upside down) through the
real tesseract."""

from __future__ import annotations

import pytest

from tasks.extraction.invoice_file import understand_file
from tasks.settings import OcrSettings
from tests.support.corpus_fixtures import mismatches
from tests.support.layouts import (
    layout_sources,
    page_count,
    render,
    render_all,
    scanned_copies,
)

OCR = OcrSettings()


@pytest.mark.parametrize("source", layout_sources(), ids=lambda p: p.stem)
def test_vendor_layouts(source, tmp_path):
    pdf = render(source, tmp_path)
    result = understand_file(pdf, pdf.name, OCR)
    assert result.error is None and result.text_source == "text"
    assert mismatches(result, pdf) == {}
    assert not result.needs_review, result.reasons


@pytest.fixture(scope="module")
def scans(tmp_path_factory):
    folder = tmp_path_factory.mktemp("layout-scans")
    return {path.stem.removeprefix("scan-"): path for path in scanned_copies(render_all(folder), folder)}


@pytest.mark.parametrize("source", [s for s in layout_sources() if page_count(s) == 1], ids=lambda p: p.stem)
def test_scanned_vendor_layouts(source, scans):
    """OCR may misread one letter of a name on a noisy scan; what a payment depends on it may not."""
    result = understand_file(scans[source.stem], scans[source.stem].name, OCR)
    assert result.error is None and result.text_source == "ocr"
    wrong = mismatches(result, scans[source.stem])
    assert len(wrong) <= 1 and not wrong.keys() & {"invoice_number", "due_date", "total", "currency", "iban"}, wrong
