"""A tab's XML checked before calamine reads a cell of it, and rewritten when calamine could not
read it as it is.

calamine lays a tab out as one dense grid from its first to its last cell and stops at the first
cell it cannot parse, so every tab is first streamed through a few regular expressions, within
`tasks.workbook.limits`: a row, merged range or cell beyond the tab's last row or column, a row of
more XML than a row can hold, more merged ranges than any real tab, or a cell reference that names
no cell refuse the workbook (WorkbookError naming the file and the tab). The same pass notes what
calamine reads as an empty cell or not at all: an error value (#REF!), a formula whose result was
never saved, and cells the file gets wrong (a shared string that does not exist, a number that is
not one), each of which becomes a value of its own for its row (`CellError`, `NO_RESULT`,
`BadCell`). A tab holding such a wrong cell, or whose cells would spread over more than
`BLOCK_CELLS` of grid (a cell in A1 and one in XFD1048576), is rewritten into a workbook of its
own for calamine: the wrong cells left out, its rows cut into blocks of at most that many cells.
"""

from __future__ import annotations

import html
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tasks.errors import WorkbookError
from tasks.workbook.cells import NO_RESULT, BadCell, CellError
from tasks.workbook.limits import Limits
from tasks.workbook.package import Package, column_letter, column_number, range_bounds

_CHUNK = 1 << 20
BLOCK_CELLS = 1 << 22  # cells of grid calamine lays out at once (some 4 million: about 100 MB)
_PREFIXED = re.compile(rb"<([A-Za-z_][\w.-]*):(?:worksheet|sheetData)\b")
_ROW_NUMBER = re.compile(rb'<row\b[^>]*?\sr="(\d+)"')
_CELL_TAG = re.compile(rb"<c[\s>/]")
_GOOD_REF = re.compile(rb'<c r="[A-Z]{1,3}[0-9]+"')
_ANY_REF = re.compile(rb'<c\b[^>]*?\sr="([^"]*)"')
_WIDE_REF = {n: re.compile(rb'<c r="([A-Z]{%d})[0-9]' % n) for n in (2, 3)}
_ALL_REFS = re.compile(rb'<c\b[^>]*?\sr="([A-Za-z]{1,3})[0-9]')
_SHARED_INDEX = re.compile(rb'<c\b[^>]*?\st="s"[^>]*>\s*<v>(\d+)</v>')
_ODD_VALUE = re.compile(rb"<v>(?!\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*</v>)([^<]*)</v>")
_ERROR = re.compile(rb'<c\b[^>]*?\st="e"[^>]*>(?:(?!</c>).)*?<v>([^<]*)</v>', re.S)
_NO_RESULT = re.compile(rb"<c\b([^>]*)>\s*<f\b[^>]*(?:/>|>[^<]*</f>)\s*(?:<v\s*/>|<v>\s*</v>)?\s*</c>")
_MERGE = re.compile(rb'<mergeCell\s+ref="([A-Za-z]+[0-9]+:[A-Za-z]+[0-9]+)"')
_ATTRIBUTE = re.compile(rb'\s([rst])="([^"]*)"')
_REF = re.compile(r"([A-Za-z]{1,3})([0-9]+)")


@dataclass
class SheetScan:
    """What the pass over a tab found."""

    merges: list[tuple[int, int, int, int]] = field(default_factory=list)  # min_col, min_row, max_col, max_row
    overrides: dict[int, dict[int, Any]] = field(default_factory=dict)  # row -> column -> value calamine misses
    left_out: set[tuple[int, int]] = field(default_factory=set)  # (row, column) of cells calamine cannot parse
    rows: int = 0
    last_row: int = 0
    widest: int = 0  # a column number no cell is right of (an upper bound)

    @property
    def rewrite(self) -> bool:
        return bool(self.left_out) or self.last_row * self.widest > BLOCK_CELLS


class RowTooLong(ValueError):
    """A row (or what precedes the rows) of more XML than a row can hold."""


def _raw_chunks(source: IO[bytes], first: bytes, prefix: bytes | None) -> Iterator[bytes]:
    """The part's bytes, with the elements' namespace prefix taken off (a tag cut in two by the
    chunks is joined first)."""
    carry, data = b"", first
    while data:
        block = carry + data
        data = source.read(_CHUNK)
        cut = block.rfind(b"<")
        carry = b""
        if data and cut >= 0 and len(block) - cut < 256:
            block, carry = block[:cut], block[cut:]
        yield _unprefixed(block, prefix) if prefix else block
    if carry:
        yield _unprefixed(carry, prefix) if prefix else carry


def sheet_chunks(archive: zipfile.ZipFile, member: str, longest: int) -> Iterator[bytes]:
    """A tab's XML in chunks of whole rows (their namespace prefix, if any, taken off); RowTooLong
    when a row grows past ``longest`` bytes."""
    with archive.open(member) as source:
        first = source.read(_CHUNK)
        found = _PREFIXED.search(first[:65536])
        buffer = b""
        for data in _raw_chunks(source, first, found.group(1) if found else None):
            buffer += data
            cut = buffer.rfind(b"<row")
            if cut > 0:
                yield buffer[:cut]
                buffer = buffer[cut:]
            elif len(buffer) > longest:
                raise RowTooLong(len(buffer))
        if buffer:
            yield buffer


def _unprefixed(data: bytes, prefix: bytes) -> bytes:
    return data.replace(b"</" + prefix + b":", b"</").replace(b"<" + prefix + b":", b"<")


class Scanner:
    """The pass over one tab of ``package`` (``where`` names the file and the tab in messages)."""

    def __init__(self, package: Package, limits: Limits, where: str) -> None:
        self.package, self.limits, self.where = package, limits, where
        self.scan = SheetScan()

    def run(self, archive: zipfile.ZipFile, member: str) -> SheetScan:
        limits = self.limits
        try:
            for chunk in sheet_chunks(archive, member, limits.max_row_characters):
                self.chunk(chunk)
        except RowTooLong as err:
            raise WorkbookError(f"{self.where}: row {self.scan.rows + 1} (or what precedes the rows) is "
                                f"more than {limits.max_row_characters / 1e6:.0f} MB of XML; a cell "
                                f"holds at most {limits.max_cell_characters:,} characters") from err
        return self.scan

    def chunk(self, data: bytes) -> None:
        limits, scan = self.limits, self.scan
        numbers = [int(n) for n in _ROW_NUMBER.findall(data)]
        scan.rows += data.count(b"<row>") + data.count(b"<row ") + data.count(b"<row/")
        scan.last_row = max(scan.last_row, *numbers, scan.rows) if numbers else max(scan.last_row, scan.rows)
        if scan.last_row > limits.max_rows or scan.rows > limits.max_rows:
            raise WorkbookError(f"{self.where}: a row beyond row {limits.max_rows:,}, the last a tab can have; "
                                "a damaged or hostile file")
        self._columns(data)
        if b"mergeCell" in data:
            for found in _MERGE.findall(data):
                scan.merges.append(self._merge(found.decode()))
        self._odd_cells(data)

    def _columns(self, data: bytes) -> None:
        """Refuse a reference that names no cell or a cell right of the last column; note a column
        no cell is right of (exact for two and three letters, 26 for one)."""
        cells = data.count(b"<c ") + data.count(b"<c>") + data.count(b"<c/")
        if not cells:
            return
        widest = 0
        if cells != len(_GOOD_REF.findall(data)):  # a reference of another shape, or none
            for ref in _ANY_REF.findall(data):
                if not re.fullmatch(rb"[A-Za-z]{1,3}[0-9]+", ref):
                    raise WorkbookError(f"{self.where}: the cell reference {ref[:40].decode('utf-8', 'replace')!r} "
                                        "names no cell")
            widest = self.limits.max_columns  # cells without a reference: placed one after another
        for letters in (3, 2):
            found = _WIDE_REF[letters].findall(data)
            if found:
                widest = max(widest, max(column_number(f.decode()) for f in found))
                break
        else:
            widest = max(widest, 26)
        if widest > self.limits.max_columns:
            exact = max(column_number(f.decode()) for f in _ALL_REFS.findall(data))
            if exact > self.limits.max_columns:
                raise WorkbookError(f"{self.where}: a cell right of column "
                                    f"{column_letter(self.limits.max_columns)}, the last a tab can have")
        self.scan.widest = max(self.scan.widest, widest)

    def _merge(self, reference: str) -> tuple[int, int, int, int]:
        limits, merges = self.limits, self.scan.merges
        if len(merges) >= limits.max_merged_ranges:
            raise WorkbookError(f"{self.where}: more than {limits.max_merged_ranges:,} merged ranges "
                                "(the limit: INVOICES_WORKBOOK__MAX_MERGED_RANGES)")
        try:
            min_col, min_row, max_col, max_row = range_bounds(reference)
        except ValueError as err:
            raise WorkbookError(f"{self.where}: the merged range {reference[:40]!r} is not a cell range") from err
        min_col, max_col = sorted((min_col, max_col))
        min_row, max_row = sorted((min_row, max_row))
        if max_row > limits.max_rows or max_col > limits.max_columns or min_row < 1 or min_col < 1:
            raise WorkbookError(f"{self.where}: the merged range {reference[:40]} goes beyond the last row "
                                f"({limits.max_rows:,}) or column ({column_letter(limits.max_columns)}) a tab can "
                                "have; a damaged or hostile file")
        return min_col, min_row, max_col, max_row

    def _odd_cells(self, data: bytes) -> None:
        """The cells calamine reads as empty, or cannot read."""
        count = self.package.strings
        indexes = _SHARED_INDEX.findall(data)
        if indexes and max(map(int, indexes)) >= count:
            for found in _SHARED_INDEX.finditer(data):
                if int(found.group(1)) >= count:
                    self._note(data, found.start(), BadCell(
                        f"the cell names shared string {found.group(1).decode()[:40]}, which the file does not have "
                        f"(it has {count:,})"), left_out=True)
        for found in _ODD_VALUE.finditer(data):
            start = data.rfind(b"<c", 0, found.start())
            kind = dict(_ATTRIBUTE.findall(data[start:data.find(b">", start) + 1])).get(b"t", b"n")
            text = _text(found.group(1))
            shown = text[:40] + ("..." if len(text) > 40 else "")
            if kind in (b"n", b"b", b"s"):
                what = "number" if kind != b"s" else "shared string number"
                self._note(data, start, BadCell(f"the cell's value {shown!r} is not a {what}"), left_out=True)
        if b't="e"' in data:
            for found in _ERROR.finditer(data):
                self._note(data, found.start(), CellError(_text(found.group(1))[:100]))
        if b"<f" in data:
            for found in _NO_RESULT.finditer(data):
                self._note(data, found.start(), NO_RESULT)

    def _note(self, data: bytes, position: int, value: Any, left_out: bool = False) -> None:
        row, column = _position(data, position, self.scan)
        self.scan.overrides.setdefault(row, {})[column] = value
        if left_out:
            self.scan.left_out.add((row, column))


def _text(raw: bytes) -> str:
    return html.unescape(raw.decode("utf-8", "replace"))


def _position(data: bytes, position: int, scan: SheetScan) -> tuple[int, int]:
    """(row, column) of the cell whose tag starts at ``position``."""
    row_start = data.rfind(b"<row", 0, position)
    tag = data[position:data.find(b">", position) + 1]
    ref = dict(_ATTRIBUTE.findall(tag)).get(b"r")
    if ref and (found := _REF.fullmatch(ref.decode("ascii", "replace"))):
        return int(found.group(2)), column_number(found.group(1))
    number = _ROW_NUMBER.match(data, row_start) if row_start >= 0 else None
    row = int(number.group(1)) if number else scan.rows - data.count(b"<row", position)
    return row, len(_CELL_TAG.findall(data, max(row_start, 0), position)) + 1


# --- the rewrite ------------------------------------------------------------------------------

_CONTENT_TYPES = (b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/'
                  b'2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
                  b'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/></Types>')
_ROOT_RELS = (b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
              b'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
              b'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
_MAIN_NS = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_ONE_ROW = re.compile(rb"<row\b[^>]*?(?:/>|>.*?</row>)", re.S)
_ONE_CELL = re.compile(rb"<c\b[^>]*?(?:/>|>.*?</c>)", re.S)


def rewrite(archive: zipfile.ZipFile, package: Package, member: str, scan: SheetScan, target: Path) -> list[str]:
    """Write the tab's rows into a workbook of its own at ``target``, without the cells calamine
    cannot parse, one tab of at most BLOCK_CELLS of grid per block of rows; returns the tabs' names."""
    blocks: list[list[bytes]] = []
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as out:
        for name in ("xl/styles.xml", package.strings_member):
            if name and name in archive.namelist():
                with archive.open(name) as source, out.open(name, "w", force_zip64=True) as copy:
                    while chunk := source.read(_CHUNK):
                        copy.write(chunk)
        handle = None
        bounds: list[int] = []  # min_row, max_row, min_col, max_col of the block being written
        previous = 0
        for chunk in sheet_chunks(archive, member, 1 << 62):
            for found in _ONE_ROW.finditer(chunk):
                row, cells = _kept_cells(found.group(0), scan, previous)
                previous = row
                if not cells:
                    continue
                columns = [c for c, _ in cells]
                if handle is None or _area(bounds, row, columns) > BLOCK_CELLS:
                    if handle is not None:
                        handle.write(b"</sheetData></worksheet>")
                        handle.close()
                    blocks.append([])
                    handle = out.open(f"xl/worksheets/block{len(blocks)}.xml", "w", force_zip64=True)
                    handle.write(b'<worksheet xmlns="' + _MAIN_NS + b'"><sheetData>')
                    bounds = [row, row, min(columns), max(columns)]
                bounds = [min(bounds[0], row), max(bounds[1], row), min(bounds[2], *columns), max(bounds[3], *columns)]
                handle.write(b'<row r="%d">' % row + b"".join(x for _, x in cells) + b"</row>")
        if handle is not None:
            handle.write(b"</sheetData></worksheet>")
            handle.close()
        names = [f"block{n}" for n in range(1, len(blocks) + 1)]
        _write_workbook(out, package, names)
    return names


def _area(bounds: list[int], row: int, columns: list[int]) -> int:
    rows = max(bounds[1], row) - min(bounds[0], row) + 1
    return rows * (max(bounds[3], *columns) - min(bounds[2], *columns) + 1)


def _kept_cells(row_xml: bytes, scan: SheetScan, previous: int) -> tuple[int, list[tuple[int, bytes]]]:
    """The row's number and its cells (column, XML) with a reference each, those left out dropped."""
    number = _ROW_NUMBER.match(row_xml)
    row = int(number.group(1)) if number else previous + 1
    kept, column = [], 0
    for found in _ONE_CELL.finditer(row_xml):
        cell = found.group(0)
        ref = dict(_ATTRIBUTE.findall(cell[:cell.find(b">") + 1])).get(b"r")
        parsed = _REF.fullmatch(ref.decode("ascii", "replace")) if ref else None
        column = column_number(parsed.group(1)) if parsed else column + 1
        if (row, column) in scan.left_out:
            continue
        if not parsed:
            cell = b'<c r="%s%d"' % (column_letter(column).encode(), row) + cell[2:]
        kept.append((column, cell))
    return row, kept


def _write_workbook(out: zipfile.ZipFile, package: Package, names: list[str]) -> None:
    flag = '<workbookPr date1904="1"/>' if package.date1904 else ""
    sheets = "".join(f'<sheet name="{n}" sheetId="{i}" r:id="rId{i}"/>' for i, n in enumerate(names, start=1))
    out.writestr("xl/workbook.xml", f'<workbook xmlns="{_MAIN_NS.decode()}" xmlns:r="{_REL_NS}">{flag}'
                                    f"<sheets>{sheets}</sheets></workbook>")
    relations = [f'<Relationship Id="rId{i}" Type="{_REL_NS}/worksheet" Target="worksheets/{n}.xml"/>'
                 for i, n in enumerate(names, start=1)]
    relations.append(f'<Relationship Id="rIdStyles" Type="{_REL_NS}/styles" Target="styles.xml"/>')
    if package.strings_member:
        target = package.strings_member.removeprefix("xl/")
        relations.append(f'<Relationship Id="rIdStrings" Type="{_REL_NS}/sharedStrings" Target="{target}"/>')
    out.writestr("xl/_rels/workbook.xml.rels", '<Relationships xmlns="http://schemas.openxmlformats.org/package/'
                                               f'2006/relationships">{"".join(relations)}</Relationships>')
    out.writestr("[Content_Types].xml", _CONTENT_TYPES)
    out.writestr("_rels/.rels", _ROOT_RELS)

