"""Golden tests on hand-written invoices in real vendors' layouts (tests/layouts.py): header
tables, labels above values, letterheads without a legal form, tax on a stated base, credit
notes with "-€" amounts, marketplace "sold by" lines, payment terms instead of a due date."""

from __future__ import annotations

import pytest

from tasks.settings import OcrSettings
from tasks.understand import understand_file
from tests.fixtures_corpus import mismatches
from tests.layouts import layout_sources, render

OCR = OcrSettings()


@pytest.mark.parametrize("source", layout_sources(), ids=lambda p: p.stem)
def test_vendor_layouts(source, tmp_path):
    pdf = render(source, tmp_path)
    result = understand_file(pdf, pdf.name, OCR)
    assert result.error is None and result.text_source == "text"
    assert mismatches(result, pdf) == {}
    assert not result.needs_review, result.reasons
