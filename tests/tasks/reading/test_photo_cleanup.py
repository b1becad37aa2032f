"""Cleaning up a poorly read photo or scan: the paper cut out of a dark surround, coloured print
under the text and uneven light flattened, and tesseract reading the cleaned page better."""

import numpy as np
from PIL import Image, ImageDraw

from tasks.reading.ocr import OcrJob, read_page
from tasks.reading.photo_cleanup import cleaned_page, flattened, paper_box

LINES = ["THALIA BUCHER", "Quittung", "SUMME EUR 49,90", "Datum 06.05.2020", "Beleg-Nr. 7609"]


def _receipt(size=(600, 700)) -> Image.Image:
    paper = Image.new("RGB", size, (245, 245, 240))
    draw = ImageDraw.Draw(paper)
    for row, line in enumerate(LINES):
        draw.text((40, 40 + row * 70), line, fill=(20, 20, 20), font_size=36)
    return paper


def test_the_sheet_is_found_on_a_dark_table_and_a_sheet_filling_its_image_is_left_alone():
    gray = np.full((1000, 1400), 35.0)
    gray[50:950, 800:1300] = 240
    left, top, right, bottom = paper_box(gray)
    assert 780 <= left <= 800 and 1300 <= right <= 1320 and top <= 50 and bottom >= 950
    assert paper_box(np.full((1000, 700), 240.0)) is None


def test_coloured_print_and_a_shadow_turn_light_while_black_text_stays_black():
    rgb = np.full((300, 300, 3), 245, dtype=np.uint8)
    rgb[50:250, 50:250] = (150, 180, 225)  # a light blue watermark
    rgb[:, :100] = (rgb[:, :100] * 0.6).astype(np.uint8)  # a shadow over the left third
    rgb[140:160, 120:200] = (15, 15, 15)  # black text
    flat = flattened(rgb)
    assert flat[100, 200] > 200 and flat[20, 20] > 200  # watermark and shadowed paper read as paper
    assert flat[150, 160] < 80  # the text stays dark


def test_a_receipt_cut_from_a_dark_table_is_cut_to_its_paper(tmp_path):
    photo = Image.new("RGB", (2000, 1400), (25, 25, 25))
    photo.paste(_receipt(), (1300, 300))
    path = tmp_path / "photo.jpg"
    photo.save(path, quality=90)
    assert Image.open(cleaned_page(str(path), str(tmp_path))).size[0] < 800


def test_text_over_a_large_coloured_watermark_is_read_once_the_page_is_cleaned(tmp_path):
    """Tesseract alone reads the watermark's big letters and loses the receipt's lines under it."""
    image = Image.new("RGB", (900, 700), (245, 245, 240))
    draw = ImageDraw.Draw(image)
    for row, word in enumerate(["Mehr", "Freude", "am Shop"]):
        draw.text((60, 20 + row * 230), word, fill=(150, 175, 220), font_size=210)
    for row, line in enumerate(["zu zahlen     7,16", "Bar    10,00", "Summe 0,47 6,69 7,16", "UST-ID-NR: DE814689550"]):
        draw.text((40, 60 + row * 110), line, fill=(30, 30, 30), font_size=34)
    path = tmp_path / "receipt.png"
    image.save(path)
    text = " ".join(w[0] for w in read_page(OcrJob(str(path), "image", 0, "eng+deu")).words)
    assert "7,16" in text and "10,00" in text
