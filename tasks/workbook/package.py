"""The parts of an .xlsx package that the row reader needs, read straight from the zip: the tabs
(name, visibility, member), the shared strings, which cell styles show dates or durations, and
the date system; plus Excel's column letters and date serials.

openpyxl reads the same parts, but importing it brings numpy and PIL along (some 30 MB of a
process that otherwise needs little more than that for a whole import), so it is only imported
for the rare sheet its own reader must handle. `tests/test_workbook_read.py` checks that the
values are the ones openpyxl reads.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from xml.etree import ElementTree

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
RELATIONSHIPS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
OFFICE_RELATIONSHIP = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
WINDOWS_EPOCH = datetime(1899, 12, 30)
MAC_EPOCH = datetime(1904, 1, 1)
BUILTIN_DATES = frozenset({14, 15, 16, 17, 18, 19, 20, 21, 22, 45, 46, 47})  # Excel's built-in number formats
BUILTIN_DURATIONS = frozenset({46})  # [h]:mm:ss
_QUOTED_OR_LOCALE = re.compile(r'".*?"|\[(?!hh?\]|mm?\]|ss?\])[^\]]*\]')
_DATE_PART = re.compile(r"(?<![_\\])[dmhysDMHYS]")
_DURATION = re.compile(r"\[hh?\](:mm(:ss(\.0*)?)?)?|\[mm?\](:ss(\.0*)?)?|\[ss?\](\.0*)?", re.I)


@dataclass
class Package:
    sheets: list[tuple[str, bool, str]] = field(default_factory=list)  # name, hidden, zip member
    strings: list[str] = field(default_factory=list)
    dates: set[int] = field(default_factory=set)  # cell style indexes that show a date or time
    durations: set[int] = field(default_factory=set)  # ... that show a duration ([h]:mm)
    epoch: datetime = WINDOWS_EPOCH


def read_package(archive: zipfile.ZipFile) -> Package:
    """Read a workbook's parts (raises KeyError or ElementTree.ParseError for a damaged package)."""
    names = set(archive.namelist())
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    targets = _relationships(archive, "xl/_rels/workbook.xml.rels")
    package = Package()
    properties = workbook.find(f"{MAIN}workbookPr")
    if properties is not None and properties.get("date1904") in ("1", "true"):
        package.epoch = MAC_EPOCH
    for sheet in workbook.iter(f"{MAIN}sheet"):
        kind, member = targets.get(sheet.get(OFFICE_RELATIONSHIP) or "", ("", ""))
        if member in names and "chartsheet" not in kind:
            package.sheets.append((sheet.get("name", ""), sheet.get("state", "visible") != "visible", member))
    strings = next((m for kind, m in targets.values() if kind.endswith("/sharedStrings")), "xl/sharedStrings.xml")
    if strings in names:
        package.strings = _shared_strings(archive, strings)
    if "xl/styles.xml" in names:
        _styles(ElementTree.fromstring(archive.read("xl/styles.xml")), package)
    return package


def _relationships(archive: zipfile.ZipFile, member: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, zip member it points to)."""
    found = {}
    for relation in ElementTree.fromstring(archive.read(member)).iter(f"{RELATIONSHIPS}Relationship"):
        target = relation.get("Target", "")
        path = target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        found[relation.get("Id", "")] = (relation.get("Type", ""), path)
    return found


def _shared_strings(archive: zipfile.ZipFile, member: str) -> list[str]:
    """Each shared string as plain text: its own text, or its formatted runs joined (phonetic
    hints left out)."""
    strings = []
    with archive.open(member) as source:
        for _event, item in ElementTree.iterparse(source):
            if item.tag != f"{MAIN}si":
                continue
            parts = [item.findtext(f"{MAIN}t") or ""]
            parts += [run.findtext(f"{MAIN}t") or "" for run in item.iterfind(f"{MAIN}r")]
            strings.append("".join(parts).replace("x005F_", ""))
            item.clear()
    return strings


def _styles(styles: ElementTree.Element, package: Package) -> None:
    custom = {int(f.get("numFmtId", "-1")): f.get("formatCode", "")
              for f in styles.iterfind(f"{MAIN}numFmts/{MAIN}numFmt")}
    for index, style in enumerate(styles.iterfind(f"{MAIN}cellXfs/{MAIN}xf")):
        number_format = int(style.get("numFmtId", "0"))
        if number_format in custom:
            code = custom[number_format].split(";")[0]
            if _DATE_PART.search(_QUOTED_OR_LOCALE.sub("", code)):
                package.dates.add(index)
            if _DURATION.search(code):
                package.durations.add(index)
            continue
        if number_format in BUILTIN_DATES:
            package.dates.add(index)
        if number_format in BUILTIN_DURATIONS:
            package.durations.add(index)


def from_excel(value: float, epoch: datetime, duration: bool = False) -> Any:
    """An Excel date serial as a datetime (a time of day below 1; a timedelta for a duration)."""
    if duration:
        span = timedelta(days=value)
        if span.microseconds:  # to the millisecond
            span = timedelta(seconds=span.total_seconds() // 1, microseconds=round(span.microseconds, -3))
        return span
    day, fraction = divmod(value, 1)
    diff = timedelta(milliseconds=round(fraction * 86400 * 1000))
    if 0 <= value < 1 and diff.days == 0:
        minutes, seconds = divmod(diff.seconds, 60)
        hours, minutes = divmod(minutes, 60)
        return time(hours, minutes, seconds, diff.microseconds)
    if 0 < value < 60 and epoch == WINDOWS_EPOCH:  # Excel counts a 29 February 1900
        day += 1
    return epoch + timedelta(days=day) + diff


def column_number(letters: str) -> int:
    """'A' -> 1, 'Z' -> 26, 'AA' -> 27."""
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number


def column_letter(number: int) -> str:
    """1 -> 'A', 27 -> 'AA'."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


_CELL_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d+)")


def range_bounds(reference: str) -> tuple[int, int, int, int]:
    """'B2:C5' -> (min column, min row, max column, max row) = (2, 2, 3, 5)."""
    first, _, last = reference.partition(":")
    start, end = _CELL_REF.fullmatch(first), _CELL_REF.fullmatch(last or first)
    if start is None or end is None:
        raise ValueError(f"{reference!r} is not a cell range")
    return column_number(start[1]), int(start[2]), column_number(end[1]), int(end[2])
