"""Drawing corpus invoices as PDFs (reportlab, four layouts) and turning them into scans."""

from __future__ import annotations

import io
import random
from decimal import Decimal
from pathlib import Path

from tests.support.corpus import FONTS, Invoice, money, when
from tests.support.corpus_words import LANGS, street

_VERA_READY = False


def _fonts() -> None:
    global _VERA_READY
    if _VERA_READY:
        return
    import reportlab
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    folder = Path(reportlab.__file__).parent / "fonts"
    pdfmetrics.registerFont(TTFont("Vera", str(folder / "Vera.ttf")))
    pdfmetrics.registerFont(TTFont("VeraBd", str(folder / "VeraBd.ttf")))
    _VERA_READY = True


class Sheet:
    def __init__(self, canvas, regular: str, bold: str) -> None:  # type: ignore[no-untyped-def]
        self.c, self.regular, self.bold = canvas, regular, bold

    def text(self, x: float, y: float, value: str, size: float = 9.5, bold: bool = False, right: bool = False) -> None:
        self.c.setFont(self.bold if bold else self.regular, size)
        (self.c.drawRightString if right else self.c.drawString)(x, 842 - y, value)


def render_pdf(invoice: Invoice, rng: random.Random) -> bytes:
    from reportlab.pdfgen.canvas import Canvas

    _fonts()
    words = LANGS[invoice.lang]
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(595, 842), invariant=1)
    regular, bold = rng.choice(FONTS)
    sheet = Sheet(canvas, regular, bold)
    money_style, date_style = rng.randrange(4), rng.choice([0, 1, 2, 2, 2])
    if invoice.locale == "en_US" and date_style == 0:
        date_style = 2
    label = {key: rng.choice(words[key]) for key in ("date", "due", "net", "tax", "total", "ref", "bill_to", "vat", "terms")}
    title = rng.choice(words["credit_title"] if invoice.credit else words["title"])
    label["number"] = rng.choice(words["credit_number"] if invoice.credit else words["number"])
    net, taxes, total = invoice.totals()
    sign = Decimal("-1") if invoice.negative else Decimal("1")
    meta = [(label["number"], invoice.number), (label["date"], when(invoice, invoice.issue, date_style))]
    if invoice.due and invoice.terms_days is None:
        meta.append((label["due"], when(invoice, invoice.due, date_style)))
    if invoice.reference:
        meta.append((label["ref"], invoice.reference))
    street_line, city = street(rng, invoice.vendor_country)
    layout = rng.randrange(4)
    vendor_size = rng.choice([14, 16, 18, 20])
    customer_street = f"{rng.choice(['Am Markt', 'Park Lane', 'Rue Neuve', 'Marktplein'])} {rng.randint(1, 99)}"

    # Header: vendor, title, meta, customer.
    if layout == 0:  # classic: vendor top left, meta table right
        sheet.text(50, 60, invoice.vendor, vendor_size, bold=True)
        sheet.text(50, 78, street_line)
        sheet.text(50, 90, city)
        sheet.text(545, 60, title, 18, bold=True, right=True)
        for row, (name, value) in enumerate(meta):
            sheet.text(350, 100 + 14 * row, name + ":")
            sheet.text(545, 100 + 14 * row, value, right=True)
        top = 180
    elif layout == 1:  # letter: sender line, address window, vendor on the right
        sheet.text(545, 50, invoice.vendor, vendor_size, bold=True, right=True)
        sheet.text(545, 68, street_line, right=True)
        sheet.text(545, 80, city, right=True)
        sheet.text(50, 125, f"{invoice.vendor} · {street_line} · {city}", 6.5)
        for row, (name, value) in enumerate(meta):
            sheet.text(360, 150 + 14 * row, f"{name}: {value}")
        sheet.text(50, 250, title, 15, bold=True)
        top = 140
    elif layout == 2:  # header table: labels in one row, values below
        sheet.text(297 - 3 * len(invoice.vendor), 55, invoice.vendor, vendor_size, bold=True)
        sheet.text(220, 72, f"{street_line}, {city}")
        sheet.text(50, 110, title, 16, bold=True)
        for column, (name, value) in enumerate(meta):
            sheet.text(50 + 125 * column, 135, name, 8, bold=True)
            sheet.text(50 + 125 * column, 149, value)
        top = 175
    else:  # plain: everything on the left, "label: value"
        sheet.text(50, 50, title, 16, bold=True)
        sheet.text(50, 75, invoice.vendor, 11, bold=True)
        sheet.text(50, 88, f"{street_line}, {city}")
        for row, (name, value) in enumerate(meta):
            sheet.text(50, 115 + 14 * row, f"{name}: {value}")
        top = 115 + 14 * len(meta) + 20
    bill_to = label["bill_to"]
    customer_y = top if layout != 1 else 140
    if bill_to:
        sheet.text(50, customer_y, bill_to + ":" if layout == 3 else bill_to, bold=True)
        customer_y += 13
    sheet.text(50, customer_y, invoice.customer)
    sheet.text(50, customer_y + 12, customer_street)
    y = max(customer_y + 60, 280)

    # Items.
    head = words["head"]
    sheet.text(50, y, head[0], bold=True)
    sheet.text(330, y, head[1], bold=True, right=True)
    sheet.text(430, y, head[2], bold=True, right=True)
    sheet.text(545, y, head[3] + (f" ({invoice.currency})" if money_style == 3 else ""), bold=True, right=True)
    y += 16
    for text, quantity, price, _ in invoice.items:
        sheet.text(50, y, text)
        sheet.text(330, y, str(quantity), right=True)
        sheet.text(430, y, money(invoice, price * sign, rng, 3), right=True)
        sheet.text(545, y, money(invoice, quantity * price * sign, rng, 3), right=True)
        y += 14
    y += 14
    rows = [(label["net"], net)]
    rows += [(label["tax"].format(rate=rate), value) for rate, value in sorted(taxes.items())]
    rows += [(label["total"], total)]
    for index, (name, value) in enumerate(rows):
        last = index == len(rows) - 1
        sheet.text(360, y, name, bold=last)
        sheet.text(545, y, money(invoice, value * sign, rng, money_style), bold=last, right=True)
        y += 15
    y += 20
    if invoice.terms_days is not None:
        sheet.text(50, y, label["terms"].format(d=invoice.terms_days))
        y += 14
    sheet.text(50, y, words["thanks"])

    # Footer: who we are, tax id and bank.
    iban = " ".join(invoice.iban[i : i + 4] for i in range(0, len(invoice.iban), 4))
    footer = [f"{invoice.vendor} · {street_line} · {city}", f"{label['vat']}: {invoice.vat_id}",
              f"{words['bank']}: IBAN {iban}"]
    if rng.random() < 0.5:
        sheet.text(50, 790, footer[0], 7)
        sheet.text(50, 800, footer[1], 7)
        sheet.text(50, 810, footer[2], 7)
    else:
        sheet.text(50, 795, footer[0], 7)
        sheet.text(50, 805, f"{footer[1]}   {footer[2]}", 7)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def scan(pdf: bytes, rng: random.Random, index: int) -> tuple[bytes, str, str]:
    """A scanned copy of the PDF's first page: (bytes, file suffix, what was done to it)."""
    import pymupdf
    from PIL import Image, ImageFilter

    kinds = ["skew-noise-png", "blur-jpg", "lowres-png", "upside-down-pdf", "skew-tiff", "noise-pdf"]
    how = kinds[index % len(kinds)]
    dpi = 110 if "lowres" in how else 200
    with pymupdf.open(stream=pdf, filetype="pdf") as document:
        pixmap = document.load_page(0).get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
        image = Image.open(io.BytesIO(pixmap.tobytes("png"))).convert("L")
    if "skew" in how:
        image = image.rotate(rng.uniform(-2.0, 2.0), resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
    if "noise" in how:
        # from the seeded generator (PIL's effect_noise is not seeded): about 7 % of the pixels
        speckles = Image.frombytes("L", image.size, rng.randbytes(image.size[0] * image.size[1]))
        noise = speckles.point(lambda v: 255 if v > 18 else 0)
        image = Image.composite(image, Image.new("L", image.size, 255), noise.point(lambda v: 255 - v // 3))
    if "blur" in how:
        image = image.filter(ImageFilter.GaussianBlur(0.9))
    if "upside" in how:
        image = image.rotate(180)
    out = io.BytesIO()
    if how.endswith("jpg"):
        image.save(out, "JPEG", quality=55)
        return out.getvalue(), ".jpg", how
    if how.endswith("tiff"):
        image.save(out, "TIFF", compression="tiff_lzw", dpi=(dpi, dpi))
        return out.getvalue(), ".tif", how
    image.save(out, "PNG", dpi=(dpi, dpi), optimize=True)
    if how.endswith("png"):
        return out.getvalue(), ".png", how
    document = pymupdf.open()
    page = document.new_page(width=595, height=842)
    page.insert_image(page.rect, stream=out.getvalue())
    data = document.tobytes(garbage=3, deflate=True)
    document.close()
    return data, ".pdf", how
