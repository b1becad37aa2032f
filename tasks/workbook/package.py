"""The parts of an .xlsx package read before calamine reads a cell: the tabs (name, visibility,
zip member), the date system, and a bounded pass over the shared strings (their number, their
characters, each no longer than a cell may hold); plus Excel's column letters and cell ranges.

Every part is read within `tasks.workbook.limits`: the parts read whole (the workbook and its
relationships) are a few MB at most, and the shared strings are streamed; a part over a bound
raises WorkbookError saying which. The values themselves are read by calamine
(`tasks.workbook.read`).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from typing import IO
from xml.etree import ElementTree

from tasks.errors import WorkbookError
from tasks.workbook.limits import METADATA_PART_BYTES, Limits

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
RELATIONSHIPS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
OFFICE_RELATIONSHIP = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


@dataclass
class Package:
    sheets: list[tuple[str, bool, str]] = field(default_factory=list)  # name, hidden, zip member
    strings: int = 0  # how many shared strings there are
    strings_member: str | None = None
    date1904: bool = False


def read_package(archive: zipfile.ZipFile, limits: Limits = Limits()) -> Package:
    """Read a workbook's parts (raises KeyError or ElementTree.ParseError for a damaged package,
    WorkbookError for a part over the limits)."""
    names = set(archive.namelist())
    workbook = _parse_whole(archive, "xl/workbook.xml")
    targets = _relationships(archive, "xl/_rels/workbook.xml.rels")
    package = Package()
    properties = workbook.find(f"{MAIN}workbookPr")
    if properties is not None and properties.get("date1904") in ("1", "true"):
        package.date1904 = True
    for sheet in workbook.iter(f"{MAIN}sheet"):
        kind, member = targets.get(sheet.get(OFFICE_RELATIONSHIP) or "", ("", ""))
        if member in names and "chartsheet" not in kind:
            package.sheets.append((sheet.get("name", ""), sheet.get("state", "visible") != "visible", member))
    strings = next((m for kind, m in targets.values() if kind.endswith("/sharedStrings")), "xl/sharedStrings.xml")
    if strings in names:
        package.strings_member = strings
        package.strings = _count_shared_strings(archive, strings, limits)
    return package


def _parse_whole(archive: zipfile.ZipFile, member: str) -> ElementTree.Element:
    """A small part, parsed whole (refused when it is not small)."""
    size = archive.getinfo(member).file_size
    if size > METADATA_PART_BYTES:
        raise WorkbookError(f"its part {member} is {size / 1e6:.0f} MB, more than the "
                            f"{METADATA_PART_BYTES / 1e6:.0f} MB such a part holds in a real workbook")
    return ElementTree.fromstring(archive.read(member))


def _relationships(archive: zipfile.ZipFile, member: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, zip member it points to)."""
    found = {}
    for relation in _parse_whole(archive, member).iter(f"{RELATIONSHIPS}Relationship"):
        target = relation.get("Target", "")
        path = target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        found[relation.get("Id", "")] = (relation.get("Type", ""), path)
    return found


class _BoundedText:
    """A part's bytes, refused as soon as a stretch without markup is longer than any one text
    may be (the XML parser would otherwise gather it whole before handing it over)."""

    def __init__(self, source: IO[bytes], longest: int, member: str) -> None:
        self.source, self.longest, self.member = source, longest, member
        self.run = 0  # bytes since the last '<'

    def read(self, size: int = -1) -> bytes:
        chunk = self.source.read(size)
        first = chunk.find(b"<")
        if first < 0:
            self.run += len(chunk)
        else:
            inner = max(map(len, chunk.split(b"<"))) if len(chunk) > self.longest else 0
            if self.run + first > self.longest or inner > self.longest:
                self._refuse()
            self.run = len(chunk) - chunk.rfind(b"<") - 1
        if self.run > self.longest:
            self._refuse()
        return chunk

    def _refuse(self) -> None:
        raise WorkbookError(f"{self.member} holds a text of more than {self.longest:,} bytes; a cell holds "
                            "far less (a damaged or hostile file)")


def _count_shared_strings(archive: zipfile.ZipFile, member: str, limits: Limits) -> int:
    """How many shared strings there are, each within the length of a cell, all within the limits."""
    strings = 0
    total = parts_in_item = length = 0
    si, t = f"{MAIN}si", f"{MAIN}t"
    with archive.open(member) as raw:
        source = _BoundedText(raw, limits.max_text_run, member)
        for _event, item in ElementTree.iterparse(source):
            if item.tag != si:
                parts_in_item += 1
                if item.tag == t and item.text:
                    length += len(item.text)
                if length > limits.max_cell_characters or parts_in_item > limits.max_cell_characters:
                    raise WorkbookError(f"shared string {strings} holds more than "
                                        f"{limits.max_cell_characters:,} characters, more than a cell can")
                continue
            strings += 1
            item.clear()
            total += length
            parts_in_item = length = 0
            if strings > limits.max_shared_strings or total > limits.max_shared_text:
                raise WorkbookError(f"more than {min(strings, limits.max_shared_strings):,} shared strings "
                                    f"or {limits.max_shared_text / 1e6:.0f} MB of text (the limits: "
                                    "INVOICES_WORKBOOK__MAX_SHARED_STRINGS, __MAX_SHARED_TEXT_MB)")
    return strings


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
