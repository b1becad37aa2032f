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
`BadCell`). A tab holding such a wrong cell, or whose cells spread over more than `BLOCK_CELLS`
of grid (a large tab, or a cell in A1 and one in XFD1048576), is copied into a workbook of its
own for calamine: its rows cut into blocks of at most that much grid (copied as they are, a
block at a time), the wrong cells left out, a cell naming another row than its own put in its
own row. calamine then holds one block of a tab at a time, never the whole grid.
"""

from __future__ import annotations

import bisect
import functools
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
BLOCK_CELLS = 1 << 15  # cells of grid calamine lays out at once (32,768: a MB or two)
_PREFIXED = re.compile(rb"<([A-Za-z_][\w.-]*):(?:worksheet|sheetData)\b")
_ROW_NUMBER = re.compile(rb'<row\b[^>]*?\sr="(\d+)"')
_CELL_TAG = re.compile(rb"<c[\s>/]")
_ODD_REF = re.compile(rb'<c\b[^>]*?\sr="(?![A-Za-z]{1,3}[0-9]{1,7}")([^"]*)"')
_ANY_REF = re.compile(rb'<c\b[^>]*?\sr="([^"]*)"')
_WIDE_REF = {n: re.compile(rb'<c r="([A-Za-z]{%d})[0-9]' % n) for n in (2, 3)}
_ODD_PLAIN_REF = re.compile(rb'<c r="(?![A-Za-z]{1,3}[0-9]{1,7}")([^"]*)"')
_ALL_REFS = re.compile(rb'<c\b[^>]*?\sr="([A-Za-z]{1,3})[0-9]')
_ODD_VALUE = re.compile(rb"<v>(?!\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*</v>)([^<]*)</v>")
_ERROR = re.compile(rb'<c\b[^>]*?\st="e"[^>]*>(?:(?!</c>).)*?<v>([^<]*)</v>', re.DOTALL)
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
    misplaced: set[int] = field(default_factory=set)  # rows with a cell whose reference names another row

    @property
    def rewrite(self) -> bool:
        return bool(self.left_out or self.misplaced) or self.last_row * self.widest > BLOCK_CELLS


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
        if len(numbers) != len(_CONSISTENT_ROW.findall(data)):  # a cell naming another row than its own?
            self._misplaced(data)
        if scan.last_row > limits.max_rows or scan.rows > limits.max_rows:
            raise WorkbookError(f"{self.where}: a row beyond row {limits.max_rows:,}, the last a tab can have; "
                                "a damaged or hostile file")
        self._columns(data)
        if b"mergeCell" in data:
            for found in _MERGE.findall(data):
                scan.merges.append(self._merge(found.decode()))
        self._odd_cells(data)

    def _misplaced(self, data: bytes) -> None:
        """Note the rows with a cell whose reference names another row (the row's own number wins)."""
        previous = self.scan.rows - data.count(b"<row>") - data.count(b"<row ") - data.count(b"<row/")
        for found in _ONE_ROW.finditer(data):
            number = _ROW_NUMBER.match(found.group(0))
            previous = int(number.group(1)) if number else previous + 1
            if any(int(r) != previous for r in _REFERENCE_ROW.findall(found.group(0))):
                self.scan.misplaced.add(previous)

    def _columns(self, data: bytes) -> None:
        """Refuse a reference that names no cell or a cell right of the last column; note the
        rightmost column (cells without a reference: as if they went to the last column)."""
        cells = data.count(b"<c ") + data.count(b"<c>") + data.count(b"<c/")
        if not cells:
            return
        plain = cells == data.count(b'<c r="')  # every cell's reference first, as Excel writes it
        odd = (_ODD_PLAIN_REF if plain else _ODD_REF).search(data)
        if odd:
            shown = odd.group(1)[:40].decode("utf-8", "replace")
            raise WorkbookError(f"{self.where}: the cell reference {shown!r} names no cell")
        if not plain:  # references after other attributes, or cells without one
            refs = _ALL_REFS.findall(data)
            widest = self.limits.max_columns if len(refs) != cells else max(column_number(r.decode()) for r in refs)
        else:
            for letters in (3, 2):
                found = _WIDE_REF[letters].findall(data)
                if found:
                    widest = max(column_number(f.decode()) for f in found)
                    break
            else:
                widest = _widest_letter(data)
        if widest > self.limits.max_columns:
            exact = max((column_number(f.decode()) for f in _ALL_REFS.findall(data)), default=0)
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
        large = _large_index(len(str(count)))  # only an index of as many digits as the count can be too large
        indexes = large.findall(data) if b't="s"' in data else []
        if indexes and max(map(int, indexes)) >= count:
            for found in large.finditer(data):
                if int(found.group(1)) >= count:
                    self._note(data, data.rfind(b"<c", 0, found.start()), BadCell(
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


def _widest_letter(data: bytes) -> int:
    """The rightmost column of cells whose references have one letter (found by halving A..Z)."""
    low, high = 0, 26  # some cell in column low (0: none yet); none right of high
    while low < high:
        middle = (low + high + 1) // 2
        if _LETTER_AT_LEAST[middle].search(data):
            low = middle
        else:
            high = middle - 1
    return low


_LETTER_AT_LEAST = {n: re.compile(rb'<c r="[%c-Z][0-9]' % (64 + n)) for n in range(1, 27)}


@functools.lru_cache(maxsize=8)
def _large_index(digits: int) -> re.Pattern[bytes]:
    return re.compile(rb't="s"[^>]*>\s*<v>(\d{%d,})</v>' % digits)


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
_ONE_ROW = re.compile(rb"<row\b[^>]*?(?:/>|>.*?</row>)", re.DOTALL)
_CONSISTENT_ROW = re.compile(rb'<row r="(\d+)"[^>]*>(?:<c r="[A-Za-z]{1,3}\1"[^>]*?(?:/>|>.*?</c>))*</row>',
                             re.DOTALL)
_REFERENCE_ROW = re.compile(rb'<c\b[^>]*?\sr="[A-Za-z]{1,3}([0-9]+)"')
_REFERENCE_ROW_AT = re.compile(rb'(<c\b[^>]*?\sr="[A-Za-z]{1,3})[0-9]+"')
_ONE_CELL = re.compile(rb"<c\b[^>]*?(?:/>|>.*?</c>)", re.DOTALL)


def rewrite(archive: zipfile.ZipFile, package: Package, member: str, scan: SheetScan, target: Path) -> list[str]:
    """Write the tab's rows into a workbook of its own at ``target``, without the cells calamine
    cannot parse, one tab per block of rows of at most BLOCK_CELLS of grid; returns their names."""
    special = {row for row, _ in scan.left_out} | scan.misplaced
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as out:
        writer = _BlockWriter(out, max(1, BLOCK_CELLS // max(scan.widest, 1)))
        for name in ("xl/styles.xml", package.strings_member):
            if name and name in archive.namelist():
                with archive.open(name) as source, out.open(name, "w", force_zip64=True) as copy:
                    while chunk := source.read(_CHUNK):
                        copy.write(chunk)
        for chunk in sheet_chunks(archive, member, 1 << 62):
            starts = [(m.start(), int(m.group(1))) for m in _ROW_NUMBER.finditer(chunk)]
            numbers = [n for _, n in starts]
            whole = len(starts) == chunk.count(b"<row>") + chunk.count(b"<row ") + chunk.count(b"<row/")
            if whole and not special.intersection(numbers) and all(map(int.__lt__, numbers, numbers[1:])):
                writer.rows(chunk, starts)  # as they are, a block's worth at a time
                continue
            for found in _ONE_ROW.finditer(chunk):
                xml = found.group(0)
                number = _ROW_NUMBER.match(xml)
                row = int(number.group(1)) if number else writer.previous + 1
                if number is None:
                    xml = b'<row r="%d"' % row + xml[4:]
                if row in scan.misplaced:
                    xml = _REFERENCE_ROW_AT.sub(b"\\g<1>%d\"" % row, xml)
                if row in special:
                    xml = _without_left_out(xml, row, scan)
                writer.row(row, xml)
        writer.close()
        _write_workbook(out, package, writer.names)
    return writer.names


class _BlockWriter:
    """Rows into tabs of at most ``per_block`` rows (by number) each, in the order they come."""

    def __init__(self, out: zipfile.ZipFile, per_block: int) -> None:
        self.out, self.per_block = out, per_block
        self.handle: IO[bytes] | None = None
        self.names: list[str] = []
        self.first = self.previous = 0

    def _room(self, row: int) -> None:
        if self.handle is not None and self.first <= row < self.first + self.per_block:
            return
        self.close()
        self.names.append(f"block{len(self.names) + 1}")
        self.handle = self.out.open(f"xl/worksheets/{self.names[-1]}.xml", "w", force_zip64=True)
        self.handle.write(b'<worksheet xmlns="' + _MAIN_NS + b'"><sheetData>')
        self.first = row

    def row(self, row: int, xml: bytes) -> None:
        self._room(row)
        self.handle.write(xml)  # type: ignore[union-attr]
        self.previous = row

    def rows(self, chunk: bytes, starts: list[tuple[int, int]]) -> None:
        """Rows numbered upwards, each at its position in ``chunk``, copied a block at a time."""
        end = chunk.rfind(b"</row>") + len(b"</row>")
        numbers = [n for _, n in starts]
        index = 0
        while index < len(starts):
            self._room(numbers[index])
            last = bisect.bisect_left(numbers, self.first + self.per_block, index)
            self.handle.write(chunk[starts[index][0]:starts[last][0] if last < len(starts) else end])  # type: ignore[union-attr]
            index = last
        if numbers:
            self.previous = numbers[-1]

    def close(self) -> None:
        if self.handle is not None:
            self.handle.write(b"</sheetData></worksheet>")
            self.handle.close()
            self.handle = None


def _without_left_out(row_xml: bytes, row: int, scan: SheetScan) -> bytes:
    """The row without its cells that calamine cannot parse (every cell keeps its place)."""
    parts, column, end = [], 0, 0
    for found in _ONE_CELL.finditer(row_xml):
        cell = found.group(0)
        ref = dict(_ATTRIBUTE.findall(cell[:cell.find(b">") + 1])).get(b"r")
        parsed = _REF.fullmatch(ref.decode("ascii", "replace")) if ref else None
        column = column_number(parsed.group(1)) if parsed else column + 1
        keep = (row, column) not in scan.left_out
        if not parsed and keep:
            cell = b'<c r="%s%d"' % (column_letter(column).encode(), row) + cell[2:]
        parts.append(row_xml[end:found.start()])
        parts.append(cell if keep else b"")
        end = found.end()
    parts.append(row_xml[end:])
    return b"".join(parts)


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

