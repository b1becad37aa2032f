"""Small .xlsx files written part by part with zipfile, each built to make a careless reader
spend memory or time it should not (or to hold a value the database cannot take), and a way to
import one in a child process and measure its time and peak memory."""

from __future__ import annotations

import json
import os
import random
import string
import subprocess
import sys
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
    'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
HEADER = ["Invoice #", "Customer", "Amount"]
ROOT = Path(__file__).resolve().parents[2]


def cell(ref: str, value: Any) -> str:
    """A cell's XML: a number, or an inline string."""
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'


def rows_xml(rows: list[list[Any]], first: int = 1) -> str:
    out = []
    for number, values in enumerate(rows, start=first):
        cells = "".join(cell(f"{chr(65 + i)}{number}", v) for i, v in enumerate(values) if v is not None)
        out.append(f'<row r="{number}">{cells}</row>')
    return "".join(out)


def invoice_rows(count: int = 2, prefix: str = "H") -> list[list[Any]]:
    return [HEADER, *([f"{prefix}-{n}", "Hostile Customer Ltd", 10.0 * n] for n in range(1, count + 1))]


def write_workbook(path: Path, sheet_data: str, *, tail: str = "", head: str = "", prefix: str = "",
                   shared_strings: str | None = None, sheet_name: str = "Invoices") -> Path:
    """A one-tab workbook whose sheet holds ``head`` + <sheetData>``sheet_data``</sheetData> + ``tail``
    (merged cells go in the tail), its elements written with ``prefix`` (e.g. "x:") if given."""
    p = prefix
    xmlns = f'xmlns:{p[:-1]}="{MAIN_NS}"' if p else f'xmlns="{MAIN_NS}"'
    if p:  # every element of the rows and the tail in the prefixed namespace
        import re

        sheet_data = re.sub(r"<(/?)(?!/)([A-Za-z]+)([ >/])", rf"<\1{p}\2\3", sheet_data)
        tail = re.sub(r"<(/?)(?!/)([A-Za-z]+)([ >/])", rf"<\1{p}\2\3", tail)
        head = re.sub(r"<(/?)(?!/)([A-Za-z]+)([ >/])", rf"<\1{p}\2\3", head)
    sheet = (f'<?xml version="1.0" encoding="UTF-8"?><{p}worksheet {xmlns} xmlns:r="{_REL}">{head}'
             f"<{p}sheetData>{sheet_data}</{p}sheetData>{tail}</{p}worksheet>")
    rels = [f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>']
    if shared_strings is not None:
        rels.append(f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", f'<workbook xmlns="{MAIN_NS}" xmlns:r="{_REL}"><sheets>'
                         f'<sheet name="{escape(sheet_name)}" sheetId="1" r:id="rId1"/></sheets></workbook>')
        archive.writestr("xl/_rels/workbook.xml.rels", '<Relationships xmlns="http://schemas.openxmlformats.org/'
                         f'package/2006/relationships">{"".join(rels)}</Relationships>')
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
        if shared_strings is not None:
            archive.writestr("xl/sharedStrings.xml", shared_strings)
    return path


def endless_merge(path: Path) -> Path:
    """A merged range down to row 999,999,999 (Excel's sheets end at row 1,048,576)."""
    return write_workbook(path, rows_xml(invoice_rows()), tail='<mergeCells count="1"><mergeCell ref="B2:B999999999"/>'
                          "</mergeCells>")


def whole_sheet_dimension(path: Path) -> Path:
    """A namespace-prefixed sheet that claims to span every cell Excel has (A1:XFD1048576)."""
    last = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>end</t></is></c></row>'
    return write_workbook(path, rows_xml(invoice_rows()) + last, head='<dimension ref="A1:XFD1048576"/>', prefix="x:")


def column_merges(path: Path, count: int = 2000) -> Path:
    """``count`` merges, each a whole column from row 2 down to Excel's last row."""
    from tasks.workbook.package import column_letter

    merges = "".join(f'<mergeCell ref="{column_letter(n)}2:{column_letter(n)}1048576"/>' for n in range(2, count + 2))
    return write_workbook(path, rows_xml(invoice_rows()), tail=f'<mergeCells count="{count}">{merges}</mergeCells>')


def _filler(megabytes: int) -> Any:
    """``megabytes`` MB of letters that deflate only about a hundred times (less than a zip
    bomb's ratio): a random stretch in every megabyte."""
    noise = "".join(random.Random(17).choices(string.ascii_letters, k=12_000))
    block = (noise + "A" * ((1 << 20) - len(noise))).encode()
    for _ in range(megabytes):
        yield block


def huge_cell(path: Path, megabytes: int = 900, shared: bool = False) -> Path:
    """One cell of ``megabytes`` MB of text (Excel holds at most 32,767 characters in a cell),
    inline in the sheet or as a shared string; the file is about a hundredth of that."""
    before = rows_xml(invoice_rows(1))
    member = "xl/sharedStrings.xml" if shared else "xl/worksheets/sheet1.xml"
    if shared:
        head, tail = f'<sst xmlns="{MAIN_NS}"><si><t>', "</t></si></sst>"
        big_row = '<row r="3"><c r="A3" t="inlineStr"><is><t>H-2</t></is></c><c r="B3" t="s"><v>0</v></c></row>'
        write_workbook(path, before + big_row, shared_strings="")
    else:
        head = (f'<worksheet xmlns="{MAIN_NS}"><sheetData>{before}<row r="3"><c r="A3" t="inlineStr"><is><t>H-2'
                '</t></is></c><c r="B3" t="inlineStr"><is><t>')
        tail = "</t></is></c></row></sheetData></worksheet>"
        write_workbook(path, before)
    _replace_member(path, member, head, _filler(megabytes), tail)
    return path


def _replace_member(path: Path, member: str, head: str, body: Any, tail: str) -> None:
    copy = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(copy, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename != member:
                target.writestr(item, source.read(item.filename))
        with target.open(member, "w", force_zip64=True) as out:
            out.write(head.encode())
            for chunk in body:
                out.write(chunk)
            out.write(tail.encode())
    copy.replace(path)


def bad_values(path: Path) -> Path:
    """Good rows (OK-1, OK-2, OK-3) around rows holding values no invoice column can take: an
    amount of 1E+26 (row 3), a shared string that does not exist (4), an amount beyond
    Numeric(14, 2) (5), a 400-character customer (6), a number that is not one (8), a
    150-character invoice number (9)."""
    rows = [HEADER, ["OK-1", "Good Customer Ltd", 100.5]]
    data = rows_xml(rows)
    data += '<row r="3"><c r="A3" t="inlineStr"><is><t>BIG-1</t></is></c>' \
            '<c r="B3" t="inlineStr"><is><t>Big Ltd</t></is></c><c r="C3"><v>1E+26</v></c></row>'
    data += '<row r="4"><c r="A4" t="inlineStr"><is><t>REF-1</t></is></c>' \
            '<c r="B4" t="s"><v>7</v></c><c r="C4"><v>5</v></c></row>'
    data += rows_xml([["WIDE-1", "Wide Ltd", 1.23e12], ["LONG-1", "V" * 400, 12.0], ["OK-2", "Good Customer Ltd", 7]],
                     first=5)
    data += '<row r="8"><c r="A8" t="inlineStr"><is><t>NAN-1</t></is></c>' \
            '<c r="B8" t="inlineStr"><is><t>Nan Ltd</t></is></c><c r="C8"><v>not a number</v></c></row>'
    data += rows_xml([["N" * 150, "Long Number Ltd", 1], ["OK-3", "Good Customer Ltd", "99,50"]], first=9)
    strings = f'<sst xmlns="{MAIN_NS}" count="1" uniqueCount="1"><si><t>Shared Ltd</t></si></sst>'
    return write_workbook(path, data, shared_strings=strings)


@dataclass
class Measured:
    seconds: float
    peak_mb: float
    outcome: dict[str, Any]


_CHILD = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[2]) << 20, int(sys.argv[2]) << 20))
from tasks.errors import WorkbookError
from tasks.workbook.importer import import_workbook
try:
    report = import_workbook(sys.argv[1], dry_run=True)
    outcome = {"counts": report.counts, "rejected": report.rejected, "sheets": report.sheets}
except WorkbookError as err:
    outcome = {"refused": str(err)}
except BaseException as err:
    outcome = {"crashed": f"{type(err).__name__}: {str(err)[:500]}"}
with open("/proc/self/status") as status:  # the high-water mark of this program (not of the forked parent)
    outcome["peak_kb"] = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps(outcome, default=str))
"""


def measure_import(path: Path, timeout: float = 60, memory_cap_mb: int = 3072) -> Measured:
    """Import ``path`` (a dry run) in a child process: its wall time, its peak resident memory and
    what it said. The child may use at most ``memory_cap_mb`` of address space and ``timeout``
    seconds, so that a reader that runs away fails the test instead of the machine. The peak is
    the child's own high-water mark (VmHWM); for a child that did not get to say it, its max RSS
    as wait4 reports it (which may count the pages of the test process it was forked from)."""
    output = path.with_name(path.name + ".out")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    started = time.monotonic()
    with output.open("w") as stdout:  # the child imports the code under test, wherever it runs
        child = subprocess.Popen([sys.executable, "-c", _CHILD, str(path), str(memory_cap_mb)], stdout=stdout,
                                 stderr=subprocess.STDOUT, env=env)
    timer = threading.Timer(timeout, child.kill)
    timer.start()
    try:
        _pid, status, usage = os.wait4(child.pid, 0)
    finally:
        timer.cancel()
    child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - started
    lines = output.read_text().strip().splitlines()
    try:
        outcome = json.loads(lines[-1])
    except (IndexError, ValueError):
        outcome = {"crashed": f"exit {child.returncode} after {seconds:.0f} s: " + "\n".join(lines[-20:])}
    peak_kb = outcome.pop("peak_kb", None) or usage.ru_maxrss
    return Measured(seconds, peak_kb / 1024, outcome)
