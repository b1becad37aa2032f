"""Reading an .xlsx workbook sheet by sheet, row by row, through calamine (python-calamine).

Before calamine reads anything, the file is checked (`tasks.workbook.container.check_file`: not
empty, not encrypted, not a legacy .xls, a zip within the size and ratio limits), its parts are
read within bounds (`tasks.workbook.package`: the tabs, the date system, the number and length
of the shared strings), and each tab's XML is scanned (`tasks.workbook.sheet_scan`: its rows,
columns and merged ranges within `tasks.workbook.limits`, and the cells calamine would read as
empty or not at all). calamine then reads the values: shared and inline strings, rich text,
numbers, booleans, the cached results of formulas, and dates by their cell styles in the 1900 or
1904 date system, at most `sheet_scan.BLOCK_CELLS` of a tab at a time (`tests/tasks/workbook/test_read.py` checks them against openpyxl).

What the scan adds to calamine's values: an error value (#REF!) is a CellError, a formula whose
result was never saved is NO_RESULT, and a cell the file gets wrong (a shared string that does
not exist, a number that is not one, a text longer than a cell holds) is a BadCell, which
rejects its row with the reason; a whole number is an int, a date a datetime, as openpyxl reads
them. A tab calamine could not read as it is (a wrong cell, or more cells than one block) is read
from a copy of it cut into blocks.
"""

from __future__ import annotations

import logging
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

import python_calamine

from tasks.errors import WorkbookError
from tasks.workbook.cells import NO_RESULT, BadCell, CellError
from tasks.workbook.container import check_file
from tasks.workbook.limits import Limits, limits_from_settings
from tasks.workbook.package import read_package
from tasks.workbook.sheet_scan import Scanner, SheetScan, rewrite

__all__ = ["NO_RESULT", "BadCell", "CellError", "Limits", "RawSheet", "WorkbookFile", "check_file",
           "limits_from_settings"]

logger = logging.getLogger(__name__)
_EXACT = float(1 << 53)  # floats below this that are whole numbers are ints, as Excel wrote them
_INFINITY = float("inf")


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
            self._package = read_package(self._zip, limits)
            self._book = python_calamine.CalamineWorkbook.from_path(str(self.path))
        except WorkbookError as err:
            self._handle.close()
            raise WorkbookError(f"{self.name}: {err}") from err
        except Exception as err:  # a damaged part fails in many ways
            self._handle.close()
            raise WorkbookError(f"{self.name}: not a readable workbook: {type(err).__name__}: {err}") from err
        self._targets = [member for _, _, member in self._package.sheets]
        self.sheets = [RawSheet(name, i, hidden) for i, (name, hidden, _) in enumerate(self._package.sheets)]
        self._scans: dict[int, SheetScan] = {}

    def close(self) -> None:
        self._book.close()
        self._zip.close()
        self._handle.close()

    def __enter__(self) -> WorkbookFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def where(self, sheet: RawSheet) -> str:
        """The file and the tab, for a message."""
        return f"{self.name}, tab {sheet.name[:100]!r}"

    def _scan(self, sheet: RawSheet) -> SheetScan:
        scan = self._scans.get(sheet.index)
        if scan is None:
            scanner = Scanner(self._package, self.limits, self.where(sheet))
            try:
                scan = scanner.run(self._zip, self._targets[sheet.index])
            except (zipfile.BadZipFile, OSError, EOFError) as err:
                raise WorkbookError(f"{self.where(sheet)}: the tab cannot be unpacked: {err}") from err
            self._scans = {sheet.index: scan}  # one tab's findings at a time
        return scan

    def load_merges(self, sheet: RawSheet) -> None:
        """Scan the tab (its merged ranges are listed after its rows); a row, column or merged
        range beyond the limits refuses the workbook."""
        sheet.merges = self._scan(sheet).merges

    def rows(self, sheet: RawSheet) -> Iterator[tuple[int, dict[int, Any]]]:
        """(row number, {column number (1-based): value}) for every row that holds a value."""
        scan = self._scan(sheet)
        if not scan.rewrite:
            yield from self._read(sheet, self._book, [sheet.name], scan)
            return
        with tempfile.TemporaryDirectory(prefix="workbook-tab-") as folder:
            copy = Path(folder) / "tab.xlsx"
            blocks = rewrite(self._zip, self._package, self._targets[sheet.index], scan, copy)
            logger.info("%s: read from a copy in %d block(s)", self.where(sheet), len(blocks))
            with python_calamine.CalamineWorkbook.from_path(str(copy)) as book:
                yield from self._read(sheet, book, blocks, scan)

    def _read(self, sheet: RawSheet, book: Any, blocks: list[str],
              scan: SheetScan) -> Iterator[tuple[int, dict[int, Any]]]:
        """The rows of each tab ``blocks`` of ``book`` names, with the scan's values."""
        overrides = dict(scan.overrides)
        longest = self.limits.max_cell_characters
        for name in blocks:
            try:
                tab = book.get_sheet_by_name(name)
            except python_calamine.CalamineError as err:
                raise WorkbookError(f"{self.where(sheet)}: the tab cannot be read: {err}") from err
            start = tab.start
            if start is None:
                continue
            first_column = start[1] + 1
            for number, values in enumerate(tab.to_python(), start=start[0] + 1):  # from the first cell's row
                cells = {}
                for column, value in enumerate(values, start=first_column):
                    kind = type(value)
                    if kind is str:
                        if not value:
                            continue
                        if len(value) > longest:
                            value = BadCell(f"the cell holds {len(value):,} characters, more than the "
                                            f"{longest:,} a cell can hold")
                    elif kind is float:
                        if -_EXACT < value < _EXACT and value.is_integer():
                            value = int(value)
                        elif not -_INFINITY < value < _INFINITY:
                            value = BadCell(f"the cell's value {value!r} is not a number")
                    elif kind is date:
                        value = datetime(value.year, value.month, value.day)
                    cells[column] = value
                extra = overrides.pop(number, None)
                if extra:
                    cells.update(extra)
                if cells:
                    yield number, cells
        for number in sorted(overrides):  # rows calamine saw nothing in (a formula never calculated)
            yield number, dict(overrides[number])
