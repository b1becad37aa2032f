"""Writes `invoices-2024.xlsx`: the kind of workbook a small business keeps by hand.

    python tests/data/workbooks/make_sample.py

Three invoice tabs, each in its own language and style, plus a tab that holds no invoices:

* "Kunden 2024" (German, receivable): a title, a blank row and a note above the header in
  row 4; real dates and "15.03.2024" strings; amounts as numbers, as "1.234,56 €" text and as a
  formula with its saved result; a customer name merged down over two rows; a row with an
  amount nobody can read; a "Summe" totals row (a SUM formula).
* "Vendors" (English, payable): header in row 2 under a title; US dates, an Excel serial
  typed as a plain number and ISO dates; "$1,250.00" amounts; a row entered twice; a row
  without an invoice number; a paid-on date instead of a status.
* "Factures clients" (French, receivable): header in row 3; "15 mars 2024" dates; "1 234,56"
  amounts; French status words; one invoice also in "Kunden 2024" with the same values (not a
  conflict) and one with a different amount (a conflict).
* "Feiertage": a holiday list, skipped with a note.

openpyxl does not save formula results, so they are written into the sheet XML afterwards, as
Excel would have saved them.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from datetime import date
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

HERE = Path(__file__).resolve().parent
SAMPLE = HERE / "invoices-2024.xlsx"
# cell -> saved result of its formula, per sheet file
FORMULA_RESULTS = {"xl/worksheets/sheet1.xml": {"E8": "238", "E12": "9112.06"}}


def _kunden(book: Workbook) -> None:
    sheet = book.active
    sheet.title = "Kunden 2024"
    sheet.append(["Ausgangsrechnungen 2024"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([])
    sheet.append(["Stand: 31.03.2024, Beträge brutto"])
    sheet.append(["Rechnungsnr.", "Kunde", "Datum", "Fällig am", "Betrag", "Währung", "Status", "Bezahlt am",
                  "Bemerkung"])
    sheet.append(["RE-2024-001", "Müller GmbH", date(2024, 1, 15), date(2024, 2, 14), 1190.00, "EUR", "bezahlt",
                  date(2024, 2, 10), None])
    sheet.append(["RE-2024-002", "Schmidt & Söhne KG", date(2024, 2, 1), "02.03.2024", "1.234,56 €", "EUR", "offen",
                  None, "Mahnung geschickt"])
    sheet.append(["RE-2024-003", "Weber AG", "15.02.2024", "16.03.2024", 480.0, "EUR", "teilweise bezahlt", None, None])
    sheet.append(["RE-2024-004", "Weber AG", date(2024, 3, 1), date(2024, 3, 31), "=200*1.19", "EUR", "offen",
                  None, None])
    sheet.merge_cells("B7:B8")  # "Weber AG" written once for two rows
    sheet.append(["RE-2024-005", "Fischer OHG", date(2024, 3, 5), date(2024, 4, 4), "zwölfhundert", "EUR", "offen",
                  None, None])
    sheet.append([])
    sheet.append(["F-2024-003", "Müller GmbH", date(2024, 3, 10), date(2024, 4, 9), 5950.00, "EUR", "offen",
                  None, "Auch im Tab Factures clients"])
    sheet.append([None, "Summe", None, None, "=SUM(E5:E11)"])


def _vendors(book: Workbook) -> None:
    sheet = book.create_sheet("Vendors")
    sheet.append(["Supplier invoices - Q1"])
    sheet.append(["Invoice #", "Vendor", "Invoice Date", "Due", "Amount", "Currency", "Paid on", "Notes"])
    sheet.append(["INV-7781", "Acme Office Supplies Ltd.", "01/15/2024", "02/14/2024", "$1,250.00", "USD",
                  date(2024, 2, 12), "toner"])
    sheet.append(["INV-7790", "Acme Office Supplies Ltd.", "01/22/2024", 45344, 89.9, "USD", None, None])
    sheet.append(["INV-7790", "Acme Office Supplies Ltd.", "01/22/2024", 45344, 89.9, "USD", None, None])
    sheet.append([None, "Stadtwerke Musterstadt", "2024-02-01", "2024-02-15", 312.4, "EUR", None, "no number on bill"])
    sheet.append([])
    sheet.append(["2024-118", "Stadtwerke Musterstadt", "2024-03-01", "2024-03-15", "€ 298.10", None, None, None])
    sheet.append([4711, "Cloud Hosting B.V.", date(2024, 3, 3), date(2024, 3, 17), 49.0, "EUR", date(2024, 3, 10),
                  "monthly"])


def _factures(book: Workbook) -> None:
    sheet = book.create_sheet("Factures clients")
    sheet.append(["Factures émises"])
    sheet.append(["Exercice 2024"])
    sheet.append(["N° facture", "Client", "Date de facture", "Échéance", "Montant TTC", "Devise", "Statut", "Payé le"])
    sheet.append(["F-2024-001", "Dupont SARL", "15 mars 2024", "14 avril 2024", "1 234,56", "EUR", "payé",
                  "10 avril 2024"])
    sheet.append(["F-2024-002", "Dupont SARL", "2024-03-20", "2024-04-19", 2400, "EUR", "impayé", None])
    sheet.append(["F-2024-003", "MÜLLER GMBH", date(2024, 3, 10), date(2024, 4, 9), 5900.00, "EUR", "en retard", None])
    sheet.append(["RE-2024-001", "Müller GmbH", date(2024, 1, 15), date(2024, 2, 14), 1190.00, "EUR", "payé",
                  date(2024, 2, 10)])
    sheet.append(["F-2024-004", "Bernard & Fils", "02/04/2024", "02/05/2024", "780,00 €", None, "litige", None])


def _holidays(book: Workbook) -> None:
    sheet = book.create_sheet("Feiertage")
    sheet.append(["Datum", "Feiertag"])
    sheet.append([date(2024, 1, 1), "Neujahr"])
    sheet.append([date(2024, 3, 29), "Karfreitag"])


def _save_formula_results(path: Path) -> None:
    """Put the results of formulas into the file, as Excel does when it saves."""
    with tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False) as handle:
        temporary = Path(handle.name)
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            for cell, result in FORMULA_RESULTS.get(item.filename, {}).items():
                pattern = rf'(<c r="{cell}"[^>]*>)(<f>[^<]*</f>)<v\s*/?>(?:</v>)?'
                data, count = re.subn(pattern.encode(), rb"\1\2<v>" + result.encode() + b"</v>", data)
                if count != 1:
                    raise RuntimeError(f"formula cell {cell} not found in {item.filename}")
            target.writestr(item, data)
    shutil.move(temporary, path)


def make_sample(path: Path = SAMPLE) -> Path:
    book = Workbook()
    _kunden(book)
    _vendors(book)
    _factures(book)
    _holidays(book)
    book.properties.creator = "Buchhaltung"
    book.save(path)
    _save_formula_results(path)
    return path


if __name__ == "__main__":
    print(make_sample())
