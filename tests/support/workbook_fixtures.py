"""Workbooks for the workbook tests: the committed sample, and bad inputs made on the fly."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from db.models import AuditEvent, Invoice, InvoiceLink, WorkbookRow
from db.models import Workbook as WorkbookRecord
from db.session import session_scope

DATA = Path(__file__).resolve().parents[1] / "data" / "workbooks"
SAMPLE = DATA / "invoices-2024.xlsx"
EXPECTED = DATA / "invoices-2024.expected.json"


def write_book(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def good_rows(prefix: str = "G") -> list[list[Any]]:
    return [
        ["Invoice #", "Customer", "Due", "Amount", "Currency"],
        [f"{prefix}-1", "Good Customer Ltd", date(2024, 5, 1), 100.0, "EUR"],
        [f"{prefix}-2", "Good Customer Ltd", date(2024, 6, 1), 200.0, "EUR"],
    ]


def encrypted_workbook(path: Path, password: str = "secret") -> Path:
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = io.BytesIO()
    write_book(Path(path.with_suffix(".plain.xlsx")), {"Invoices": good_rows()})
    plain.write(path.with_suffix(".plain.xlsx").read_bytes())
    plain.seek(0)
    with path.open("wb") as target:
        OOXMLFile(plain).encrypt(password, target)
    path.with_suffix(".plain.xlsx").unlink()
    return path


def zip_bomb(path: Path, megabytes: int = 64) -> Path:
    """A zip named .xlsx with a workbook's parts and one member of zeros that expands ~1000x."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/sharedStrings.xml", b"\0" * (megabytes << 20))
    return path


def with_empty_formatted_rows(source: Path, target: Path, sheet: str = "xl/worksheets/sheet1.xml",
                              rows: int = 1_048_576) -> Path:
    """``source`` with formatted, empty rows added to a sheet up to Excel's last row."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as copy:
        for item in original.infolist():
            data = original.read(item.filename)
            if item.filename == sheet:
                text = data.decode()
                last = max(int(n) for n in re.findall(r'<row r="(\d+)"', text))
                filler = "".join(
                    f'<row r="{n}" s="1" customFormat="1" ht="15"><c r="A{n}" s="1"/><c r="B{n}" s="1"/></row>'
                    for n in range(last + 1, rows + 1)
                )
                text = text.replace("</sheetData>", filler + "</sheetData>")
                text = re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="A1:Z{rows}"/>', text)
                data = text.encode()
            copy.writestr(item, data)
    return target


def table_counts() -> dict[str, int]:
    with session_scope() as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
                for model in (Invoice, AuditEvent, WorkbookRow, WorkbookRecord, InvoiceLink)}


def invoice_table() -> list[dict[str, Any]]:
    """The invoices in a comparable form (no ids or timestamps)."""
    fields = ("direction", "counterparty", "counterparty_key", "number", "issue_date", "due_date", "currency",
              "total", "status", "paid_date", "notes", "source")
    with session_scope() as session:
        invoices = session.scalars(select(Invoice).order_by(Invoice.counterparty_key, Invoice.number)).all()
        return [{f: (str(getattr(i, f)) if getattr(i, f) is not None else None) for f in fields} for i in invoices]


@pytest.fixture(scope="session")
def million_row_workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("big")
    small = write_book(folder / "small.xlsx", {"Invoices": good_rows("M")})
    return with_empty_formatted_rows(small, folder / "formatted-to-the-bottom.xlsx")
