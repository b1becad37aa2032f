"""Finding values next to their labels on a page's positioned lines: after the label in the same cell,
in the next cell to the right, or in the line below it (header rows, labels a narrow column wraps),
with a score for how the value was found. Every field's lookup is built on this ``Reader``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

from tasks.extraction.model import FieldValue, Found
from tasks.language import labels
from tasks.language.currencies import currencies_in
from tasks.language.dates import date_order_hint, find_dates, parse_date
from tasks.language.words import fold, fold_in_place
from tasks.reading.positioned_text import Cell, DocumentText, Line

_NUMBER_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-/._]*[A-Za-z0-9]|\d")
_PAYMENT_REFERENCE = re.compile(r"(?:RF\d{2}|\d{1,5})(?:\s\d{4,5}){2,}\b")
_FILLER = {"no", "nr", "number", "nummer", "numero", "n°", "n", "#", "num", "no.", "nr.", "de", "la", "id", ":", "of", "du"}


def _cell_starts(cells: list[str]) -> list[int]:
    """Where each cell begins in the cells joined by single spaces."""
    starts, offset = [], 0
    for cell in cells:
        starts.append(offset)
        offset += len(cell) + 1
    return starts


# More label words ("Rechnungsdatum / Lieferdatum", a lone "n°" at the end of a line whose value
# starts the next one); words with a digit among them are a value ("Votre commande : courriel du
# 4 novembre 2024"), not a label.
_LABEL_TAIL = re.compile(r"(?:[/&+]\s*)?[^\W\d_](?:[^\W\d]|[.'’/ °º-]){0,40}")
_LABEL_ROW = re.compile(r"[^\W\d_][\w.'’/ :-]*")  # the other labels of a header row printed as one cell


# Dot leaders between a label and its value ("Invoice date ........ 12/03/2024"), as printed and
# as OCR reads them ("…", "eeeeseeee").
_LEADER = re.compile(r"(?:[\s:#.\-–…·_]|[eocs.…·,]{5,}(?=\s|$)|[eocs]{1,3}(?=\s+[eocs.…·,]{5,}))*")


def _without_leader(text: str) -> str:
    return text[_LEADER.match(text).end():]


def _header_label_span(cell: Cell, start: int, end: int, rest: str) -> tuple[float, float] | None:
    """Where the label at characters ``start:end`` stands on the page when it is one of several
    labels of a header row read as one cell ("Factuurnummer Factuurdatum Vervaldatum"), assuming
    characters of even width; None when the cell holds this label only."""
    others = cell.text[:start].strip() or (rest and not _LABEL_TAIL.fullmatch(rest))
    if not others or not _LABEL_ROW.fullmatch(cell.text.strip()):
        return None
    width = (cell.x1 - cell.x0) / max(len(cell.text), 1)
    return cell.x0 + start * width, cell.x0 + end * width


def _under(line: Line, position: int, lower: Line, span: tuple[float, float] | None = None) -> list[Cell]:
    """The cells of ``lower`` that stand under cell ``position`` of ``line`` (or under ``span`` of
    it, one label of a header row whose labels run together): the one in the same column of a
    header row whose values row has as many cells, then any that overlap it."""
    cell = line.cells[position]
    if span is not None:  # the value most under the label
        overlap = {id(o): min(o.x1, span[1]) - max(o.x0, span[0]) for o in lower.cells}
        return sorted((o for o in lower.cells if overlap[id(o)] > 0), key=lambda o: -overlap[id(o)])
    overlapping = [o for o in lower.cells if o.x0 < cell.x1 + line.size and o.x1 > cell.x0 - line.size]
    if len(lower.cells) == len(line.cells) > 1 and lower.cells[position] not in overlapping:
        return [lower.cells[position], *overlapping]
    return overlapping


_WRAPPED_WORD = re.compile(r"[^\W\d_][\w.'’ ]{0,20}:?")
_DIGIT = re.compile(r"\d")


def _wrapped_labels(lines: list[Line], folded: list[list[str]]) -> dict[int, list[tuple[int, str]]]:
    """Labels a narrow column wrapped onto the next line ("Purchase | HX-4471" over "Order"): line
    index -> (cell position, the folded words of the line below that finish it). Only a label with
    a value right of it, whose line below holds one short word cell at the same left edge and
    nothing under the value (other columns, such as an address beside the label, may go on)."""
    wrapped: dict[int, list[tuple[int, str]]] = {}
    for index in range(len(lines) - 1):
        line, lower = lines[index], lines[index + 1]
        if len(line.cells) < 2 or lower.page != line.page or lower.y0 - line.y1 > 0.8 * max(line.size, 1):
            continue
        for below, word in enumerate(lower.cells):
            if not _WRAPPED_WORD.fullmatch(word.text):
                continue
            for position, cell in enumerate(line.cells[:-1]):
                value = line.cells[position + 1]
                if (abs(cell.x0 - word.x0) < 2 and word.x1 < value.x0
                        and not any(other.x0 < value.x1 for other in lower.cells[below + 1 :])):
                    wrapped.setdefault(index, []).append((position, folded[index + 1][below]))
    return wrapped


_NUMBER_PREFIX = re.compile(r"[A-Z]{2,4}")
_DIGIT_GROUP = re.compile(r"\d{2,8}")


_LEADING_GROUP = re.compile(r"\d{1,3}")
_THOUSANDS_GROUP = re.compile(r"\d{3}")


def _spaced_number(tokens: list[str]) -> str | None:
    """A number printed as a capital-letter prefix and groups of digits ("INV 2024 117",
    "BR 2024 0588127"), or as digits in groups of three ("N° 12 345 678 901"), as it stands;
    None when the tokens do not start that way."""
    if tokens and _LEADING_GROUP.fullmatch(tokens[0]):
        groups = [t.rstrip(".,;)") for t in tokens[1:6]]
        count = next((i for i, t in enumerate(groups) if not _THOUSANDS_GROUP.fullmatch(t)), len(groups))
        return " ".join([tokens[0], *groups[:count]]) if count >= 2 else None
    if not tokens or not _NUMBER_PREFIX.fullmatch(tokens[0]):
        return None
    groups = []
    for token in tokens[1:4]:
        token = token.rstrip(".,;)")
        if not _DIGIT_GROUP.fullmatch(token):
            break
        groups.append(token)
    if not groups or sum(map(len, groups)) < 3:
        return None
    return " ".join([tokens[0], *groups])


def _only_a_date(token: str) -> bool:
    """Whether ``token`` is a date and nothing more ("2024-03-10", not "2024-03-10T172205")."""
    return any(start == 0 and end >= len(token.rstrip(".,;")) for _, start, end in find_dates(token))


class Reader:
    """One document's lines plus what the whole document says about languages and date order."""

    def __init__(self, document: DocumentText, options: dict[str, Any] | None = None) -> None:
        self.options = options or {}
        self.pages = {page.number: page for page in document.pages}
        self.lines = [line for line in document.lines if line.cells]
        self.folded = [[fold_in_place(cell.text) for cell in line.cells] for line in self.lines]
        self.joined = [" ".join(cells) for cells in self.folded]
        self.starts = [_cell_starts(cells) for cells in self.folded]
        self.wrapped = _wrapped_labels(self.lines, self.folded)
        self.text = "\n".join(line.text for line in self.lines)
        all_folded = "\n".join(self.joined)
        counts = {lang: len(pattern.findall(all_folded)) for lang, pattern in labels.LANGUAGE_WORDS.items()}
        self.language = self.options.get("language") or max(counts, key=lambda k: counts[k])
        self.currencies = currencies_in(self.text)
        us = self.language == "en" and ("USD" in self.currencies[:3] or "$" in self.text)
        self.date_order = (self.options.get("date_order") or date_order_hint(self.text)
                           or ("MDY" if us else "DMY"))

    def weight(self, found: Found) -> float:
        """Scale a score by how sure OCR was of the words it came from."""
        page = self.pages.get(found.line.page)
        if page is None or page.source != "ocr":
            return found.score
        return found.score * (0.6 + 0.4 * found.cell.confidence)

    def source(self, found: Found) -> str:
        page = self.pages.get(found.line.page)
        return page.source if page else "text"

    def value(self, found: Found | None, note: str | None = None) -> FieldValue | None:
        if found is None:
            return None
        return FieldValue(found.value, round(self.weight(found), 3), self.source(found), note)

    # ------------------------------------------------------------ looking next to labels

    def labelled(self, pattern: re.Pattern[str], parse: Callable[[str], Any], below: int = 2,
                 skip: Callable[[str, re.Match[str]], bool] | None = None, cell_start: bool = False) -> Iterator[Found]:
        """Values next to every match of ``pattern``; a label may run over two cells ("N°" "de facture").
        ``cell_start``: only labels that begin a cell count (a title word, not the same word in a sentence)."""
        for index, line in enumerate(self.lines):
            cells, joined, starts = self.folded[index], self.joined[index], self.starts[index]
            seen: set[tuple[int, int]] = set()
            for first, folded in enumerate(cells):
                limit = starts[first + 1] + len(cells[first + 1]) if first + 1 < len(cells) else len(joined)
                for match in pattern.finditer(joined, starts[first], limit):
                    if match.start() >= starts[first] + len(folded):
                        break  # starts in the next cell: read from there
                    crosses = match.start() + len(match.group().rstrip()) > starts[first] + len(folded)
                    if (crosses or cell_start) and match.start() != starts[first] or match.span() in seen:
                        continue  # a label runs over two cells only from the start of the first
                    seen.add(match.span())
                    if skip and skip(joined, match):
                        continue
                    position = first + 1 if crosses else first
                    found = self.value_after(index, position, match.end() - starts[position], parse, below,
                                        max(0, match.start() - starts[position]), wrapped=True)
                    if found is not None:
                        yield found
            for position, rest in self.wrapped.get(index, ()):
                match = pattern.match(f"{cells[position]} {rest}")
                if match and match.end() > len(cells[position]) + 1 and not (skip and skip(cells[position], match)):
                    found = self.value_after(index, position, len(cells[position]), parse, 0)
                    if found is not None:
                        yield found

    def value_after(self, index: int, position: int, end: int, parse: Callable[[str], Any], below: int,
               start: int | None = None, wrapped: bool = False) -> Found | None:
        """The value after the label ending at ``end`` of a cell: in the cell, right of it, or below
        it (below the label itself when ``start`` is given and more labels share its cell).
        ``wrapped``: a value a narrow column wrapped onto the next line is read whole."""
        line = self.lines[index]
        cell = line.cells[position]
        rest = _without_leader(cell.text[end:])
        if rest:
            value = parse(rest)
            if value is None and wrapped:
                width = (cell.x1 - cell.x0) / max(len(cell.text), 1)
                value = self._continued(index, cell, rest, cell.x1 - len(rest) * width, line.size, parse)
            if value is not None:
                return Found(value, 1.0, line, cell)
            if not _LABEL_TAIL.fullmatch(rest) and not (start is not None and _LABEL_ROW.fullmatch(rest)):
                return None  # the label's own cell holds something else
        span = _header_label_span(cell, start, end, rest) if start is not None else None
        for right in line.cells[position + 1 : position + 3]:
            value = parse(right.text)
            if value is None and wrapped:
                value = self._continued(index, cell, right.text, right.x0, 2.0, parse)
            if value is not None:
                return Found(value, 0.95, line, right)
            if len(_without_leader(right.text).rstrip(" :.-")) > 3:  # a short filler ("le:", ":", dots) may stand between
                break
        for lower in self.lines[index + 1 : index + 1 + below]:
            if lower.page != line.page or lower.y0 - line.y1 > 3 * max(line.size, 1):
                break
            for other in _under(line, position, lower, span):
                value = parse(other.text)
                if value is not None:
                    return Found(value, 0.85, lower, other)
        return None

    def _continued(self, index: int, label: Cell, text: str, left: float, slack: float,
                   parse: Callable[[str], Any]) -> Any:
        """A value a narrow column wrapped onto the next line ("25 november" over "2024", "KWP/"
        over "PO/2024/117"), parsed whole: ``text`` (starting at ``left``) joined with the cell of
        the line just below that starts where it starts, when nothing else stands under the label
        and its value but a wrapped label word at the label's left edge."""
        text = text.rstrip()
        if not (_DIGIT.search(text) or text.endswith(("/", "-"))):
            return None
        line, under = self.lines[index], []
        for lower in self.lines[index + 1 : index + 4]:  # the next line with words under the label's column
            if lower.page != line.page or lower.y0 - line.y1 > 0.8 * max(line.size, 1):
                return None
            under = [c for c in lower.cells if c.x1 > label.x0 - line.size and c.x0 < line.cells[-1].x1]
            if under:
                break
        tail = [c for c in under if abs(c.x0 - left) <= slack and len(c.text) <= 30]
        if len(tail) != 1:
            return None
        others = [c for c in under if c is not tail[0]]
        if others and (len(others) > 1 or abs(others[0].x0 - label.x0) >= 2
                       or not _WRAPPED_WORD.fullmatch(others[0].text) or others[0].x1 >= tail[0].x0):
            return None
        joiner = "" if text.endswith(("/", "-")) else " "
        return parse(f"{text}{joiner}{tail[0].text.strip()}")

    # ------------------------------------------------------------ value parsers

    @staticmethod
    def number(text: str) -> str | None:
        tokens = text.replace("|", " ").split()  # a ruled table's border as OCR reads it: "NC-2025-0042|07/04/2025"
        for index, token in enumerate(tokens[:3]):
            token = token.strip(":#,;()[]")
            if not token or fold(token) in _FILLER:
                continue  # a number word or a lone ":" between it and the number ("Numéro : FA24-00987")
            spaced = _spaced_number(tokens[index:])
            if spaced:
                return spaced
            match = _NUMBER_TOKEN.fullmatch(token.rstrip("."))
            if match and any(ch.isdigit() for ch in token) and len(token) <= 40 and not _only_a_date(token):
                return token.rstrip(".")
            return None
        return None

    @staticmethod
    def reference(text: str) -> str | None:
        """An order or document reference; a payment reference printed in groups of digits (a Swiss
        QR reference "21 00000 00003 13947 ...", an ISO creditor reference "RF18 5390 0754 ...") is none."""
        if _PAYMENT_REFERENCE.match(text.strip()):
            return None
        return Reader.number(text)

    def date(self, text: str) -> date | None:
        head = text[:40]
        found = find_dates(head, self.date_order)
        if found:
            return found[0][0] if found[0][1] < 12 else None
        if re.match(r"\s*\d", head):
            return parse_date(head.split("   ")[0], self.date_order)
        return None

    @staticmethod
    def words(text: str) -> str | None:
        value = text.split("   ")[0].strip(" :,-")
        if len(value) < 2 or not re.search(r"[^\W\d_]{2}", value) or labels.TITLE_WORDS.match(fold_in_place(value)):
            return None
        return value[:200]
