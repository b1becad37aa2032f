"""Reading an .xlsx workbook sheet by sheet, row by row, without loading it into memory.

`tasks.workbook.package` reads the list of tabs, the shared strings, which cell styles are
dates and the 1900/1904 date system. The rows of each tab are then streamed from the sheet's XML
by a small tokenizer that yields the same values openpyxl would with cached formula values
(`tests/tasks/workbook/test_read.py` checks this), several times faster, because the import's speed
is the speed of this loop. A sheet written with a namespace prefix (<x:row>) is read by the same
loop, the prefix taken off as the text streams by.

Everything is read within `tasks.workbook.limits`, by what the file really holds: a row, merged
range or cell beyond the tab's last row or column, a row of more XML than a row can hold, or more
merged ranges than any real tab, refuses the workbook with a WorkbookError naming the file and the
tab; a single cell that cannot be read (a shared string that does not exist, a number that is
not one, a text longer than a cell holds) is a BadCell, which rejects its row with the reason.

Before any part is read the file is checked (`tasks.workbook.container.check_file`).
"""

from __future__ import annotations

import codecs
import html
import logging
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tasks.errors import WorkbookError
from tasks.workbook.container import check_file
from tasks.workbook.limits import Limits, limits_from_settings
from tasks.workbook.package import (
    column_letter,
    column_number,
    from_excel,
    range_bounds,
    read_package,
)

__all__ = ["NO_RESULT", "BadCell", "CellError", "Limits", "RawSheet", "WorkbookFile", "check_file",
           "limits_from_settings"]

logger = logging.getLogger(__name__)

_CHUNK = 1 << 20
_ROW = re.compile(r"<row\b([^>]*?)(?:/>|>(.*?)</row>)", re.S)
_CELL = re.compile(r"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_CELL_FAST = re.compile(
    r'<c r="([A-Z]{1,3})[0-9]+"(?: s="([0-9]+)")?(?: t="([a-zA-Z]+)")?\s*'
    r"(?:/>|>(?:<v>([^<]*)</v>|<is><t>([^<]*)</t></is>|(.*?))</c>)",
    re.S,
)
_ATTR = re.compile(r'(?:^|\s)([rst])="([^"]*)"')
_ROW_NUMBER = re.compile(r'(?:^|\s)r="(\d+)"')
_VALUE = re.compile(r"<v(?:\s[^>]*)?>(.*?)</v>", re.S)
_TEXT = re.compile(r"<t(?:\s[^>]*)?>(.*?)</t>", re.S)
_PHONETIC = re.compile(r"<rPh\b.*?</rPh>", re.S)
_MERGE = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?mergeCell\s+ref="([A-Za-z]+[0-9]+:[A-Za-z]+[0-9]+)"')
_PREFIXED = re.compile(r"<([A-Za-z_][\w.-]*):(?:worksheet|sheetData)\b")
_VALUE_MARKERS = ("<v>", "<v ", "<is>", "<f>", "<f ", "<f/")


class CellError(str):
    """An Excel error value in a cell (#REF!, #DIV/0!, #N/A ...)."""


class BadCell(CellError):
    """A cell the file gets wrong (a shared string that does not exist, a number that is not
    one, a text longer than a cell holds): its row is rejected with ``reason``."""

    reason: str

    def __new__(cls, reason: str) -> BadCell:
        cell = super().__new__(cls, "#UNREADABLE!")
        cell.reason = reason
        return cell


class _NoResult:
    """A formula cell whose result was never saved (the file was not opened in Excel)."""

    def __repr__(self) -> str:
        return "NO_RESULT"


NO_RESULT = _NoResult()


@dataclass
class RawSheet:
    """One tab: its name and where its rows come from."""

    name: str
    index: int
    hidden: bool
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)  # min_col, min_row, max_col, max_row


class WorkbookFile:
    """An open workbook: ``sheets`` and ``rows(sheet)`` (row number, {column index: value})."""

    def __init__(self, path: Path, limits: Limits = Limits(), name: str | None = None) -> None:
        self.path = Path(path)
        self.name = name or self.path.name  # how messages name the file (a stored one: as it arrived)
        self.limits = limits
        check_file(self.path, limits, self.name)
        self._handle: IO[bytes] = self.path.open("rb")
        try:
            self._zip = zipfile.ZipFile(self._handle)
            package = read_package(self._zip, limits)
        except WorkbookError as err:
            self._handle.close()
            raise WorkbookError(f"{self.name}: {err}") from err
        except Exception as err:  # a damaged part fails in many ways
            self._handle.close()
            raise WorkbookError(f"{self.name}: not a readable workbook: {type(err).__name__}: {err}") from err
        self._strings = package.strings
        self._dates = package.dates
        self._durations = package.durations
        self._epoch = package.epoch
        self._targets = [member for _, _, member in package.sheets]
        self.sheets = [RawSheet(name, i, hidden) for i, (name, hidden, _) in enumerate(package.sheets)]
        self._date_cache: dict[str, Any] = {}

    def close(self) -> None:
        self._zip.close()
        self._handle.close()

    def __enter__(self) -> WorkbookFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def where(self, sheet: RawSheet) -> str:
        """The file and the tab, for a message."""
        return f"{self.name}, tab {sheet.name[:100]!r}"

    def _member(self, sheet: RawSheet) -> str:
        return self._targets[sheet.index]

    def load_merges(self, sheet: RawSheet) -> None:
        """Merged ranges are listed after the rows, so they are read first, in one quick pass;
        a range beyond the tab's last row or column, or more ranges than the limit, refuse the
        workbook."""
        tail = b""
        sheet.merges = []
        with self._zip.open(self._member(sheet)) as source:
            while chunk := source.read(_CHUNK):
                block = tail + chunk
                for found in _MERGE.findall(block) if b"mergeCell" in block else ():  # the rows have none
                    sheet.merges.append(self._merge(sheet, found.decode()))
                cut = block.rfind(b"<")
                tail = block[cut:] if 0 <= cut and len(block) - cut < 256 else b""
                tail = b"" if _MERGE.match(tail) else tail

    def _merge(self, sheet: RawSheet, reference: str) -> tuple[int, int, int, int]:
        limits = self.limits
        if len(sheet.merges) >= limits.max_merged_ranges:
            raise WorkbookError(f"{self.where(sheet)}: more than {limits.max_merged_ranges:,} merged ranges "
                                "(the limit: INVOICES_WORKBOOK__MAX_MERGED_RANGES)")
        try:
            min_col, min_row, max_col, max_row = range_bounds(reference)
        except ValueError as err:
            raise WorkbookError(f"{self.where(sheet)}: the merged range {reference[:40]!r} is not a cell range") \
                from err
        min_col, max_col = sorted((min_col, max_col))
        min_row, max_row = sorted((min_row, max_row))
        if max_row > limits.max_rows or max_col > limits.max_columns or min_row < 1 or min_col < 1:
            raise WorkbookError(f"{self.where(sheet)}: the merged range {reference[:40]} goes beyond the last row "
                                f"({limits.max_rows:,}) or column ({column_letter(limits.max_columns)}) a tab can "
                                "have; a damaged or hostile file")
        return min_col, min_row, max_col, max_row

    def rows(self, sheet: RawSheet) -> Iterator[tuple[int, dict[int, Any]]]:
        """(row number, {column number (1-based): value}) for every row that holds a value."""
        with self._zip.open(self._member(sheet)) as source:
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            first = decoder.decode(source.read(_CHUNK))
            texts = _texts(source, decoder, first)
            prefixed = _PREFIXED.search(first[:65536])
            if prefixed:
                texts = _unprefixed(texts, prefixed.group(1))
            yield from self._stream(texts, sheet)

    def _stream(self, texts: Iterable[str], sheet: RawSheet) -> Iterator[tuple[int, dict[int, Any]]]:
        limits = self.limits
        last = limits.max_rows
        row_number = count = 0
        buffer = ""
        pending = iter(texts)
        done = False
        while not done:
            chunk = next(pending, None)
            done = chunk is None
            buffer += chunk or ""
            end = buffer.find("</sheetData>")
            if end >= 0:
                buffer, done = buffer[:end], True
            last_row = len(buffer) if done else buffer.rfind("<row")
            if last_row <= 0:
                if len(buffer) > limits.max_row_characters:
                    raise WorkbookError(f"{self.where(sheet)}: row {row_number + 1} (or what precedes the rows) is "
                                        f"more than {limits.max_row_characters / 1e6:.0f} MB of XML; a cell "
                                        f"holds at most {limits.max_cell_characters:,} characters")
                continue
            body = buffer[:last_row]
            if any(marker in body for marker in _VALUE_MARKERS):
                for match in _ROW.finditer(body):
                    number = _ROW_NUMBER.search(match.group(1))
                    row_number = int(number.group(1)) if number else row_number + 1
                    count += 1
                    if row_number > last or count > last:
                        raise WorkbookError(f"{self.where(sheet)}: a row beyond row {limits.max_rows:,}, the last "
                                            "a tab can have; a damaged or hostile file")
                    if match.group(2):
                        cells = self._row_cells(match.group(2), sheet, row_number)
                        if cells:
                            yield row_number, cells
            # else: only empty (formatted) rows, skipped without tokenizing them
            buffer = buffer[last_row:]

    def _row_cells(self, body: str, sheet: RawSheet, row_number: int) -> dict[int, Any]:
        try:
            cells = self._cells(body)
        except _NotACell as err:
            raise WorkbookError(f"{self.where(sheet)}, row {row_number}: {err}") from err
        if cells and max(cells) > self.limits.max_columns:
            raise WorkbookError(f"{self.where(sheet)}, row {row_number}: a cell right of column "
                                f"{column_letter(self.limits.max_columns)}, the last a tab can have")
        return cells

    def _cells(self, body: str) -> dict[int, Any]:
        found = _CELL_FAST.findall(body)
        if len(found) != body.count("<c "):  # unusual attributes: the general (slower) path
            return self._cells_general(body)
        cells: dict[int, Any] = {}
        strings, dates, longest = self._strings, self._dates, self.limits.max_cell_characters
        for letters, style, kind, text, inline, inner in found:
            column = _COLUMNS.get(letters) or _column(letters)
            try:
                if inline:
                    cells[column] = _unescape(inline) if len(inline) <= longest else self._long(inline)
                elif text:
                    if kind == "s":
                        cells[column] = strings[int(text)]
                    elif not kind or kind == "n":
                        if style and int(style) in dates:
                            cells[column] = self._date(text, int(style))
                        elif "." in text or "E" in text or "e" in text:
                            number = float(text)
                            cells[column] = number if -_INFINITY < number < _INFINITY else self._bad(kind, text)
                        else:
                            cells[column] = int(text)
                    else:
                        cells[column] = self._value({"t": kind, "s": style}, f"<v>{text}</v>")
                elif inner or kind == "inlineStr":
                    value = self._value({"t": kind or "n", "s": style}, inner)
                    if value is not None:
                        cells[column] = value
            except (ValueError, IndexError, OverflowError, TypeError):
                cells[column] = self._bad(kind, text or inline or inner)
        return cells

    def _bad(self, kind: str, text: str) -> BadCell:
        """Why a cell that failed to convert cannot be read."""
        shown = text[:40] + ("..." if len(text) > 40 else "")
        if kind == "s":
            return BadCell(f"the cell names shared string {shown}, which the file does not have "
                           f"(it has {len(self._strings):,})")
        return BadCell(f"the cell's value {shown!r} is not a {'date' if kind == 'd' else 'number'}"
                       if kind in ("", "n", "d", "b") else f"the cell's value {shown!r} cannot be read")

    def _long(self, text: str) -> Any:
        value = _unescape(text)
        if len(value) > self.limits.max_cell_characters:
            return BadCell(f"the cell holds {len(value):,} characters, more than the "
                           f"{self.limits.max_cell_characters:,} a cell can hold")
        return value

    def _date(self, text: str, style: int) -> Any:
        key = f"{style}:{text}"
        value = self._date_cache.get(key)
        if value is None:
            number = _number(text)
            try:
                value = from_excel(number, self._epoch, duration=style in self._durations)
            except (OverflowError, ValueError):
                value = CellError("#VALUE!")
            if len(self._date_cache) < 100_000:
                self._date_cache[key] = value
        return value

    def _cells_general(self, body: str) -> dict[int, Any]:
        cells: dict[int, Any] = {}
        column = 0
        for attributes, inner in _CELL.findall(body):
            attrs = dict(_ATTR.findall(attributes))
            ref = attrs.get("r")
            column = _column(ref) if ref else column + 1
            if not inner:
                continue
            try:
                value = self._value(attrs, inner)
            except (ValueError, IndexError, OverflowError, TypeError):
                found = _VALUE.search(inner)
                value = self._bad(attrs.get("t", "n"), found.group(1) if found else inner)
            if value is not None:
                cells[column] = value
        return cells

    def _value(self, attrs: dict[str, str], inner: str) -> Any:
        kind = attrs.get("t", "n")
        if kind == "inlineStr":
            return self._long("".join(_TEXT.findall(_PHONETIC.sub("", inner)))) if "<is" in inner else None
        found = _VALUE.search(inner)
        if found is None or found.group(1) == "":
            return NO_RESULT if "<f" in inner else None
        text = found.group(1)
        if kind == "n":
            style = int(attrs.get("s") or 0)
            if style and style in self._dates:
                return self._date(text, style)
            return _number(text)
        if kind == "s":
            return self._strings[int(text)]
        if kind == "str":
            return self._long(text)
        if kind == "b":
            return bool(int(text))
        if kind == "e":
            return CellError(_unescape(text[:100]))
        if kind == "d":
            from openpyxl.utils.datetime import from_ISO8601  # a rare kind of cell

            return from_ISO8601(text)
        return self._long(text)


_INFINITY = float("inf")


def _number(text: str) -> int | float:
    """A cell's number (ValueError for one that is not a finite number)."""
    if "." in text or "E" in text or "e" in text:
        value = float(text)
        if not -_INFINITY < value < _INFINITY:  # neither infinite nor NaN
            raise ValueError(text)
        return value
    return int(text)


def _texts(source: IO[bytes], decoder: Any, first: str) -> Iterator[str]:
    """A part's text in chunks, ``first`` already read."""
    yield first
    while chunk := source.read(_CHUNK):
        yield decoder.decode(chunk)
    yield decoder.decode(b"", final=True)


def _unprefixed(texts: Iterable[str], prefix: str) -> Iterator[str]:
    """``texts`` with the elements' namespace prefix taken off (<x:row> -> <row>); a tag cut in two
    by the chunks is joined first."""
    opening, closing = f"<{prefix}:", f"</{prefix}:"
    carry = ""
    for text in texts:
        text = carry + text
        cut = text.rfind("<")
        if cut >= 0 and len(text) - cut < len(closing):
            text, carry = text[:cut], text[cut:]
        else:
            carry = ""
        yield text.replace(closing, "</").replace(opening, "<")
    if carry:
        yield carry.replace(closing, "</").replace(opening, "<")


class _NotACell(ValueError):
    """A cell reference that names no cell."""


_COLUMNS: dict[str, int] = {}


def _column(ref: str) -> int:
    letters = ref.rstrip("0123456789")
    index = _COLUMNS.get(letters)
    if index is None:
        if not (0 < len(letters) <= 3 and letters.isascii() and letters.isalpha()):
            raise _NotACell(f"the cell reference {ref[:40]!r} names no cell")
        index = _COLUMNS[letters.upper()] = _COLUMNS[letters] = column_number(letters)
    return index


def _unescape(text: str) -> str:
    return html.unescape(text) if "&" in text else text
