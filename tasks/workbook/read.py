"""Reading an .xlsx workbook sheet by sheet, row by row, without loading it into memory.

`tasks.workbook.package` reads the list of tabs, the shared strings, which cell styles are
dates and the 1900/1904 date system. The rows of each tab are then streamed from the sheet's XML
by a small tokenizer that yields the same values openpyxl would with cached formula values
(`tests/test_workbook_read.py` checks this), several times faster, because the import's speed
is the speed of this loop. A sheet written with a namespace prefix falls back to openpyxl's own
row reader.

Before openpyxl sees a file it is checked: a password-protected workbook (an OLE container
holding an EncryptedPackage), a legacy .xls, a file that is not a zip or a zip that is not a
workbook, and a zip bomb (members expanding beyond the limits) are refused with a file-level
WorkbookError that says which.
"""

from __future__ import annotations

import codecs
import html
import logging
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tasks.documents.filetypes import detect
from tasks.errors import WorkbookError
from tasks.workbook.package import column_number, from_excel, range_bounds, read_package

logger = logging.getLogger(__name__)

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
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
_MERGE = re.compile(rb'<mergeCell\s+ref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"')
_PREFIXED = re.compile(r"<[A-Za-z_][\w.-]*:(?:worksheet|sheetData)\b")
_VALUE_MARKERS = ("<v>", "<v ", "<is>", "<f>", "<f ", "<f/")


class CellError(str):
    """An Excel error value in a cell (#REF!, #DIV/0!, #N/A ...)."""


class _NoResult:
    """A formula cell whose result was never saved (the file was not opened in Excel)."""

    def __repr__(self) -> str:
        return "NO_RESULT"


NO_RESULT = _NoResult()


@dataclass(frozen=True)
class Limits:
    max_uncompressed_bytes: int = 1 << 30
    max_ratio: float = 200.0  # a member larger than 1 MB may expand at most this many times
    header_scan_rows: int = 30  # the header row is looked for among the first rows with values


def check_file(path: Path, limits: Limits = Limits()) -> None:
    """Refuse what is not a readable .xlsx before openpyxl loads it (WorkbookError, file level)."""
    name = path.name
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(4096)
            if head.startswith(_OLE):
                data = head + handle.read(64 << 20)
    except OSError as err:
        raise WorkbookError(f"{name}: cannot be read: {err}") from err
    if size == 0:
        raise WorkbookError(f"{name}: the file is empty (0 bytes)")
    if head.startswith(_OLE):
        if _ENCRYPTED_PACKAGE in data:
            raise WorkbookError(f"{name}: the workbook is password-protected; remove the password in Excel "
                                "(File > Info > Protect Workbook) and save it again")
        raise WorkbookError(f"{name}: a legacy Excel 97-2003 (.xls) or other OLE file; save it as .xlsx")
    if not head.startswith(b"PK\x03\x04"):
        kind = detect(head).kind
        raise WorkbookError(f"{name}: not an Excel workbook (.xlsx); its content looks like {kind}")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise WorkbookError(f"{name}: a damaged zip file, not a readable workbook ({err})") from err
    names = {m.filename for m in members}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise WorkbookError(f"{name}: a zip archive but not an Excel workbook (no xl/workbook.xml)")
    total = sum(m.file_size for m in members)
    if total > limits.max_uncompressed_bytes:
        raise WorkbookError(f"{name}: expands to {total / 1e6:.0f} MB, more than the limit of "
                            f"{limits.max_uncompressed_bytes / 1e6:.0f} MB (a zip bomb?)")
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > 1 << 20 and ratio > limits.max_ratio:
            raise WorkbookError(f"{name}: member {member.filename} expands {ratio:.0f} times "
                                f"({member.file_size / 1e6:.0f} MB); refused as a zip bomb")


@dataclass
class RawSheet:
    """One tab: its name and where its rows come from."""

    name: str
    index: int
    hidden: bool
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)  # min_col, min_row, max_col, max_row


class WorkbookFile:
    """An open workbook: ``sheets`` and ``rows(sheet)`` (row number, {column index: value})."""

    def __init__(self, path: Path, limits: Limits = Limits()) -> None:
        self.path = Path(path)
        self.limits = limits
        check_file(self.path, limits)
        self._handle: IO[bytes] = self.path.open("rb")
        try:
            self._zip = zipfile.ZipFile(self._handle)
            package = read_package(self._zip)
        except Exception as err:  # a damaged part fails in many ways
            self._handle.close()
            raise WorkbookError(f"{self.path.name}: not a readable workbook: {type(err).__name__}: {err}") from err
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

    def _archive(self) -> zipfile.ZipFile:
        return self._zip

    def _member(self, sheet: RawSheet) -> str:
        return self._targets[sheet.index]

    def load_merges(self, sheet: RawSheet) -> None:
        """Merged ranges are listed after the rows, so they are read first, in one quick pass."""
        tail = b""
        with self._archive().open(self._member(sheet)) as source:
            while chunk := source.read(_CHUNK):
                block = tail + chunk
                sheet.merges += [range_bounds(m.decode()) for m in _MERGE.findall(block)]
                cut = block.rfind(b"<")
                tail = block[cut:] if cut >= 0 else b""
                tail = b"" if _MERGE.match(tail) else tail

    def rows(self, sheet: RawSheet) -> Iterator[tuple[int, dict[int, Any]]]:
        """(row number, {column number (1-based): value}) for every row that holds a value."""
        with self._archive().open(self._member(sheet)) as source:
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            first = decoder.decode(source.read(_CHUNK))
            if _PREFIXED.search(first[:65536]):
                yield from self._openpyxl_rows(sheet)
                return
            yield from self._stream(source, decoder, first)

    def _openpyxl_rows(self, sheet: RawSheet) -> Iterator[tuple[int, dict[int, Any]]]:
        from openpyxl.reader.excel import ExcelReader
        from openpyxl.styles.stylesheet import apply_stylesheet
        from openpyxl.worksheet._read_only import ReadOnlyWorksheet

        reader = ExcelReader(self._handle, read_only=True, data_only=True, keep_links=False)
        reader.read_manifest()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
        reader.wb._archive = reader.archive
        worksheet = ReadOnlyWorksheet(reader.wb, sheet.name, self._member(sheet), self._strings)
        for number, row in enumerate(worksheet.iter_rows(values_only=True), start=1):
            cells = {column: value for column, value in enumerate(row, start=1) if value is not None}
            if cells:
                yield number, cells

    def _stream(self, source: IO[bytes], decoder: Any, buffer: str) -> Iterator[tuple[int, dict[int, Any]]]:
        row_number = 0
        done = False
        while not done:
            chunk = source.read(_CHUNK)
            done = not chunk
            buffer += decoder.decode(chunk, final=done)
            end = buffer.find("</sheetData>")
            if end >= 0:
                buffer, done = buffer[:end], True
            last_row = len(buffer) if done else buffer.rfind("<row")
            if last_row <= 0:
                continue
            body = buffer[:last_row]
            if any(marker in body for marker in _VALUE_MARKERS):
                for match in _ROW.finditer(body):
                    number = _ROW_NUMBER.search(match.group(1))
                    row_number = int(number.group(1)) if number else row_number + 1
                    if match.group(2):
                        cells = self._cells(match.group(2))
                        if cells:
                            yield row_number, cells
            # else: only empty (formatted) rows, skipped without tokenizing them
            buffer = buffer[last_row:]

    def _cells(self, body: str) -> dict[int, Any]:
        found = _CELL_FAST.findall(body)
        if len(found) != body.count("<c "):  # unusual attributes: the general (slower) path
            return self._cells_general(body)
        cells: dict[int, Any] = {}
        strings, dates = self._strings, self._dates
        for letters, style, kind, text, inline, inner in found:
            column = _COLUMNS.get(letters) or _column(letters)
            if inline:
                cells[column] = _unescape(inline)
            elif text:
                if kind == "s":
                    cells[column] = strings[int(text)]
                elif not kind or kind == "n":
                    if style and int(style) in dates:
                        cells[column] = self._date(text, int(style))
                    elif "." in text or "E" in text or "e" in text:
                        cells[column] = float(text)
                    else:
                        cells[column] = int(text)
                else:
                    cells[column] = self._value({"t": kind, "s": style}, f"<v>{text}</v>")
            elif inner or kind == "inlineStr":
                value = self._value({"t": kind or "n", "s": style}, inner)
                if value is not None:
                    cells[column] = value
        return cells

    def _date(self, text: str, style: int) -> Any:
        key = f"{style}:{text}"
        value = self._date_cache.get(key)
        if value is None:
            number = float(text) if ("." in text or "E" in text or "e" in text) else int(text)
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
            value = self._value(attrs, inner)
            if value is not None:
                cells[column] = value
        return cells

    def _value(self, attrs: dict[str, str], inner: str) -> Any:
        kind = attrs.get("t", "n")
        if kind == "inlineStr":
            return _unescape("".join(_TEXT.findall(_PHONETIC.sub("", inner)))) if "<is" in inner else None
        found = _VALUE.search(inner)
        if found is None or found.group(1) == "":
            return NO_RESULT if "<f" in inner else None
        text = found.group(1)
        if kind == "n":
            style = int(attrs.get("s") or 0)
            if style and style in self._dates:
                return self._date(text, style)
            return float(text) if ("." in text or "E" in text or "e" in text) else int(text)
        if kind == "s":
            return self._strings[int(text)]
        if kind == "str":
            return _unescape(text)
        if kind == "b":
            return bool(int(text))
        if kind == "e":
            return CellError(_unescape(text))
        if kind == "d":
            from openpyxl.utils.datetime import from_ISO8601  # a rare kind of cell

            return from_ISO8601(text)
        return _unescape(text)


_COLUMNS: dict[str, int] = {}


def _column(ref: str) -> int:
    letters = ref.rstrip("0123456789")
    index = _COLUMNS.get(letters)
    if index is None:
        index = _COLUMNS[letters] = column_number(letters)
    return index


def _unescape(text: str) -> str:
    return html.unescape(text) if "&" in text else text
