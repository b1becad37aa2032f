"""OCR with the real tesseract: scans from the corpus, mixed PDFs, multi-page TIFF, limits.
Kept few and small: every page costs tesseract seconds."""

import io
import random

import pymupdf
import pytest
from PIL import Image, ImageDraw

from tasks.extraction.invoice_file import understand_bytes, understand_file
from tasks.reading.ocr import OcrJob, read_page, tesseract_available
from tasks.settings import OcrSettings
from tests.support.corpus_fixtures import corpus_cases, mismatches

OCR = OcrSettings()
SCANS = [p for p in corpus_cases(scanned=True) if any(k in p.name for k in ("upside-down", "lowres", "tiff"))]


def test_tesseract_and_the_language_packs_are_installed():
    import pytesseract

    assert tesseract_available()
    assert set(OCR.languages.split("+")) <= set(pytesseract.get_languages(config=""))


@pytest.mark.parametrize("path", SCANS, ids=lambda p: p.stem)
def test_golden_scans(path):
    result = understand_file(path, path.name, OCR)
    assert result.error is None and result.text_source == "ocr"
    assert mismatches(result, path) == {}
    assert all(f.source == "ocr" for f in result.fields.values() if f.source != "text" or f.note)


def _text_image(lines: list[str], size: tuple[int, int] = (1240, 600)) -> Image.Image:
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(lines):
        draw.text((60, 60 + row * 60), line, fill=0, font_size=36)
    return image


def test_a_scan_with_a_line_of_text_from_the_scanner_app_is_read_by_ocr():
    document = pymupdf.open()
    page = document.new_page()
    png = io.BytesIO()
    _text_image(["Northwind Traders Ltd", "Invoice No: NW-3381", "Date: 2024-06-14", "Total due: 1,250.00 USD"],
                size=(1240, 1754)).save(png, "PNG", dpi=(150, 150))
    page.insert_image(page.rect, stream=png.getvalue())
    page.insert_text((36, page.rect.height - 20), "Scanned with a phone scanner app", fontsize=8)
    result = understand_bytes(document.tobytes(), "phone-scan.pdf", OCR)
    assert result.text_source == "ocr"
    assert result.value("invoice_number") == "NW-3381" and str(result.value("total")) == "1250.00"
    assert result.fields["total"].source == "ocr"


def test_a_mixed_pdf_is_read_page_by_page_and_a_multipage_tiff_frame_by_frame():
    document = pymupdf.open()
    document.new_page().insert_text((72, 72), "ACME Tools GmbH   Rechnung Nr. R-2024-55   Datum 02.05.2024", fontsize=10)
    scanned = document.new_page()
    png = io.BytesIO()
    _text_image(["Gesamtbetrag 119,00 EUR"]).save(png, "PNG", dpi=(300, 300))
    scanned.insert_image(scanned.rect, stream=png.getvalue())
    mixed = understand_bytes(document.tobytes(), "mixed.pdf", OCR)
    assert mixed.text_source == "mixed" and mixed.page_count == 2
    assert mixed.value("invoice_number") == "R-2024-55" and str(mixed.value("total")) == "119.00"
    assert mixed.fields["invoice_number"].source == "text" and mixed.fields["total"].source == "ocr"

    frames = [_text_image(["Invoice No: T-77", "Date: 2024-05-02"]), _text_image(["Total due: 42.50 USD"])]
    tiff = io.BytesIO()
    frames[0].save(tiff, "TIFF", save_all=True, append_images=frames[1:], dpi=(300, 300))
    read = understand_bytes(tiff.getvalue(), "two-pages.tif", OCR)
    assert read.page_count == 2 and read.value("invoice_number") == "T-77" and str(read.value("total")) == "42.50"


def test_ocr_stops_at_the_page_time_limit_with_a_reason(tmp_path):
    path = tmp_path / "page.png"
    _text_image(["Invoice No: 1"] * 8).save(path)
    page = read_page(OcrJob(str(path), "image", 0, "eng", timeout=0.01))
    assert page.words == [] and "OCR stopped after 0.01 s" in (page.error or "")


def test_a_photo_that_is_not_an_invoice_is_reported_as_such():
    rng = random.Random(3)
    photo = Image.new("RGB", (640, 480), (90, 140, 200))
    draw = ImageDraw.Draw(photo)
    for _ in range(40):
        x, y = rng.randrange(640), rng.randrange(480)
        draw.ellipse((x, y, x + rng.randrange(20, 120), y + rng.randrange(20, 120)),
                     fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    jpeg = io.BytesIO()
    photo.save(jpeg, "JPEG")
    result = understand_bytes(jpeg.getvalue(), "holiday.jpg", OCR)
    assert not result.is_invoice and result.needs_review
    assert "no invoice found" in result.reasons[0] or "no text could be read" in result.reasons[0]


def _totals_box(path) -> None:
    """A page with an item line, a rule under it and a framed totals box, written to ``path``."""
    image = _text_image(["Consulting, April    12    1,800.00"], size=(1240, 700))
    draw = ImageDraw.Draw(image)
    draw.line((60, 120, 1180, 120), fill=0, width=3)
    draw.rectangle((560, 200, 1180, 330), outline=0, width=3)
    for row, (label, amount) in enumerate([("Subtotal", "1,800.00"), ("Total EUR", "2,142.00")]):
        draw.text((580, 215 + row * 55), label, fill=0, font_size=36)
        draw.text((980, 215 + row * 55), amount, fill=0, font_size=36)
    image.save(path, dpi=(300, 300))


def test_text_the_page_layout_drops_is_read_again_where_it_stands(tmp_path, monkeypatch):
    """Tesseract's page segmentation sometimes leaves out the amounts of a framed totals box;
    here the first reading is made to leave out the right of the box."""
    from tasks.reading import ocr

    path = tmp_path / "page.png"
    _totals_box(path)
    read_words = ocr._read_words

    def leaving_out_the_amounts(image, job, timeout, layout="--psm 3", languages=None):
        words, mean = read_words(image, job, timeout, layout, languages)
        if layout == "--psm 3":
            words = [w for w in words if not (w[1] > 950 and w[2] > 200)]
        return words, mean

    monkeypatch.setattr(ocr, "_read_words", leaving_out_the_amounts)
    page = read_page(OcrJob(str(path), "image", 0, "eng"))
    amounts = {w[0]: w for w in page.words if w[1] > 950 and w[2] > 200}
    assert set(amounts) == {"1,800.00", "2,142.00"}
    assert 970 <= amounts["2,142.00"][1] <= 990 and 265 <= amounts["2,142.00"][2] <= 285
    assert amounts["1,800.00"][6] != amounts["2,142.00"][6]  # each on its own line
    assert {"Subtotal", "Total", "EUR"} <= {w[0] for w in page.words}


def test_a_page_read_in_full_is_read_once_rules_and_frames_notwithstanding(tmp_path, monkeypatch):
    from tasks.reading import ocr

    path = tmp_path / "page.png"
    _totals_box(path)
    layouts = []
    read_words = ocr._read_words

    def counted(image, job, timeout, layout="--psm 3", languages=None):
        layouts.append(layout)
        return read_words(image, job, timeout, layout, languages)

    monkeypatch.setattr(ocr, "_read_words", counted)
    page = read_page(OcrJob(str(path), "image", 0, "eng"))
    assert layouts == ["--psm 3"] and {"1,800.00", "2,142.00"} <= {w[0] for w in page.words}


def test_the_language_of_a_page_is_told_by_its_invoice_words():
    from tasks.reading.ocr import page_language

    def words(text: str) -> list:
        return [(w, 0.0, 0.0, 1.0, 1.0, 0.9, 1) for w in text.split()]

    configured = "eng+deu+fra+nld"
    assert page_language(words("Rechnung Datum Betrag netto MwSt Summe"), configured) == "deu"
    assert page_language(words("Facture Montant HT TVA Échéance"), configured) == "fra"
    assert page_language(words("Factuur Bedrag BTW Vervaldatum Totaal"), configured) == "nld"
    assert page_language(words("Invoice Amount due Payment terms"), configured) == "eng"
    assert page_language(words("12 34,50"), "deu+eng") == "deu"  # cannot tell: the first configured
    assert page_language(words("Rechnung Datum Betrag"), "eng+fra") in {"eng", "fra"}  # only configured packs


def test_a_german_u_umlaut_read_as_ii_is_mended_on_german_pages_only():
    from tasks.reading.ocr import mend_umlauts

    def words(*texts):  # type: ignore[no-untyped-def]
        return [(t, 10.0 * n, 0.0, 10.0 * n + 9, 10.0, 0.8, 1) for n, t in enumerate(texts)]

    read = words("Ingenieurbiiro", "Petersen,", "Diisseldorf", "Zahlbar", "fiir", "Priifung:", "Hawaii", "DE12ii34", "II")
    mended = mend_umlauts(read, "deu")
    assert [w[0] for w in mended] == ["Ingenieurbüro", "Petersen,", "Düsseldorf", "Zahlbar", "für", "Prüfung:", "Hawaii",
                                      "DE12ii34", "II"]
    assert [w[1:] for w in mended] == [w[1:] for w in read]
    assert mend_umlauts(read, "eng") == read


def test_dropped_text_is_read_again_in_the_language_of_the_page(tmp_path, monkeypatch):
    """Read again in German, a German label keeps its umlaut."""
    from tasks.reading import ocr

    path = tmp_path / "page.png"
    _text_image(["Rechnung Nr. 2024-17   Datum 05.02.2024", "Summe netto 100,00   MwSt 19,00",
                 "Betrag 119,00 EUR", "Fälligkeit 19.02.2024"], size=(1240, 400)).save(path, dpi=(300, 300))
    read_words = ocr._read_words
    rereads = []

    def leaving_out_the_last_line(image, job, timeout, layout="--psm 3", languages=None):
        words, mean = read_words(image, job, timeout, layout, languages)
        if layout == "--psm 3":
            return [w for w in words if w[2] < 220], mean
        rereads.append(languages)
        return words, mean

    monkeypatch.setattr(ocr, "_read_words", leaving_out_the_last_line)
    page = read_page(OcrJob(str(path), "image", 0, "eng+deu"))
    assert rereads == ["deu"]
    assert "Fälligkeit" in {w[0] for w in page.words if w[2] >= 220}


def test_a_word_of_a_scan_joins_the_line_of_the_words_beside_it_not_the_middle_of_a_long_line():
    """A label read again on its own ("Date") stands level with the value beside it, while the
    other column of the same line sits lower on a skewed scan."""
    from tasks.reading.positioned_text import build_lines

    words = [("Menuiserie", 148.0, 150.0, 381.0, 214.0, 0.9), ("Lefèbvre", 395.0, 154.0, 575.0, 188.0, 0.9),
             ("SARL", 590.0, 156.0, 699.0, 188.0, 0.9),
             (":", 1338.0, 192.0, 1343.0, 207.0, 0.9), ("18/06/2024", 1355.0, 187.0, 1504.0, 208.0, 0.9),
             ("Date", 1215.0, 187.0, 1275.0, 207.0, 0.9),
             ("Echéance", 1215.0, 228.0, 1328.0, 250.0, 0.9), ("18/07/2024", 1355.0, 230.0, 1504.0, 251.0, 0.9)]
    lines = build_lines(words, 1, [1, 1, 1, 1, 1, 10_001, 2, 2])
    assert [" ".join(line.text.split()) for line in lines] == ["Menuiserie Lefèbvre SARL Date : 18/06/2024",
                                                               "Echéance 18/07/2024"]


def test_a_pool_whose_worker_was_killed_is_replaced_for_the_next_document(tmp_path):
    """A worker killed mid-document (out of memory, a signal) fails that document's pages with a
    reason; the next document gets a new pool instead of the broken one."""
    import multiprocessing
    import os
    import signal

    from tasks.reading.ocr import read_pages, shutdown_pool

    path = tmp_path / "page.png"
    _text_image(["INVOICE 2024-17", "Total 12.50 EUR"]).save(path)
    jobs = [OcrJob(str(path), "image", 0, "eng"), OcrJob(str(path), "image", 0, "eng")]
    try:
        assert all(page.error is None for page in read_pages(jobs, workers=2))
        for child in multiprocessing.active_children():
            os.kill(child.pid, signal.SIGKILL)
        read_pages(jobs, workers=2)  # may fail: its pool lost its workers
        again = read_pages(jobs, workers=2)
        assert [page.error for page in again] == [None, None]
        assert all("2024-17" in " ".join(w[0] for w in page.words) for page in again)
    finally:
        shutdown_pool()
