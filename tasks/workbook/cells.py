"""The values a workbook cell may hold beside text, numbers, booleans and dates: an Excel error,
a formula whose result was never saved, and a cell the file gets wrong."""

from __future__ import annotations


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
