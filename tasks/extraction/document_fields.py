"""Template-free field extraction from a document's positioned lines.

Each field is looked for next to its labels (tasks.labels) in English, German, French and
Dutch: the value after the label in the same cell, in the next cell to the right, or in the
line just below it (header rows). Amounts are read per summary line and the net / tax / total
triple that adds up is preferred; dates are read in the order the document itself shows
(an unambiguous 25/03 elsewhere on the page decides how 03/04 reads). Every value carries a
confidence and its source ("text" for a text layer, "ocr" for a scan).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from tasks.language import labels
from tasks.language.amounts import find_amounts
from tasks.language.currencies import currencies_in, territory_currency
from tasks.language.dates import date_order_hint, find_dates, parse_date
from tasks.language.terms import due_from_terms, payment_terms_days
from tasks.language.words import fold
from tasks.reading.positioned_text import Cell, DocumentText, Line

FIELDS = ("invoice_number", "issue_date", "due_date", "vendor", "vendor_vat_id", "iban", "currency", "net", "tax",
          "total", "reference", "customer", "is_credit_note")
_NUMBER_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-/._]*[A-Za-z0-9]|\d")
_PAYMENT_REFERENCE = re.compile(r"(?:RF\d{2}|\d{1,5})(?:\s\d{4,5}){2,}\b")
_FILLER = {"no", "nr", "number", "nummer", "numero", "n°", "n", "#", "num", "no.", "nr.", "de", "la", "id", ":", "of", "du"}


@dataclass
class FieldValue:
    value: Any
    confidence: float
    source: str  # xml, template, text, ocr
    note: str | None = None


@dataclass
class Found:
    value: Any
    score: float
    line: Line
    cell: Cell


def _fold(text: str) -> str:
    """``fold`` that keeps every character's position (so spans map back to the original)."""
    if text.isascii():
        return text.lower()  # what ``fold`` does to every ASCII character
    return "".join(_fold_character(ch) for ch in text)


@lru_cache(maxsize=4096)
def _fold_character(ch: str) -> str:
    return (fold(ch) or ch.lower())[:1]


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


class Reader:
    """One document's lines plus what the whole document says about languages and date order."""

    def __init__(self, document: DocumentText, options: dict[str, Any] | None = None) -> None:
        self.options = options or {}
        self.pages = {page.number: page for page in document.pages}
        self.lines = [line for line in document.lines if line.cells]
        self.folded = [[_fold(cell.text) for cell in line.cells] for line in self.lines]
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
                    found = self._after(index, position, match.end() - starts[position], parse, below,
                                        max(0, match.start() - starts[position]), wrapped=True)
                    if found is not None:
                        yield found
            for position, rest in self.wrapped.get(index, ()):
                match = pattern.match(f"{cells[position]} {rest}")
                if match and match.end() > len(cells[position]) + 1 and not (skip and skip(cells[position], match)):
                    found = self._after(index, position, len(cells[position]), parse, 0)
                    if found is not None:
                        yield found

    def _after(self, index: int, position: int, end: int, parse: Callable[[str], Any], below: int,
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
            if match and any(ch.isdigit() for ch in token) and len(token) <= 40 and not find_dates(token):
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
        if len(value) < 2 or not re.search(r"[^\W\d_]{2}", value) or labels.TITLE_WORDS.match(_fold(value)):
            return None
        return value[:200]


_NUMBER_PREFIX = re.compile(r"[A-Z]{2,4}")
_DIGIT_GROUP = re.compile(r"\d{2,8}")


def _spaced_number(tokens: list[str]) -> str | None:
    """A number printed as a capital-letter prefix and groups of digits ("INV 2024 117",
    "BR 2024 0588127"), as it stands; None when the tokens do not start that way."""
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


def _other_invoice(folded: str, match: re.Match[str]) -> bool:
    return bool(labels.OTHER_INVOICE.search(folded[max(0, match.start() - 24) : match.start()]))


def _number_field(reader: Reader) -> FieldValue | None:
    found = list(reader.labelled(labels.INVOICE_NUMBER, reader.number, skip=_other_invoice))
    if found:
        counts = Counter(f.value for f in found)
        best = max(found, key=lambda f: (counts[f.value], f.score))
        best.score = min(1.0, best.score * (1.0 if counts[best.value] > 1 else 0.95))
        return reader.value(best)
    titled = [f for f in reader.labelled(labels.TITLE_NUMBER, reader.number, below=1, cell_start=True)]
    if titled:
        titled[0].score = 0.7
        return reader.value(titled[0])
    for index, line in enumerate(reader.lines[:40]):
        for position, folded in enumerate(reader.folded[index]):
            if labels.BARE_NUMBER.fullmatch(folded.strip()):
                bare = reader._after(index, position, len(folded), reader.number, below=2)
                if bare is not None:
                    bare.score = 0.7
                    return reader.value(bare)
    return None


def _date_fields(reader: Reader) -> dict[str, FieldValue]:
    result: dict[str, FieldValue] = {}
    issue = list(reader.labelled(labels.ISSUE_DATE, reader.date))
    if not issue:
        def not_other(folded: str, match: re.Match[str]) -> bool:
            return bool(labels.NOT_ISSUE_DATE.search(folded[max(0, match.start() - 25) : match.start()]))

        issue = [Found(f.value, 0.85, f.line, f.cell) for f in reader.labelled(labels.GENERIC_DATE, reader.date,
                                                                              skip=not_other)]
    due = list(reader.labelled(labels.DUE_DATE, reader.date))
    if issue:
        result["issue_date"] = reader.value(issue[0])  # type: ignore[assignment]
    if due:
        result["due_date"] = reader.value(due[0])  # type: ignore[assignment]
    if "issue_date" not in result:
        due_values = {f.value for f in due}
        for index, line in enumerate(reader.lines[:60]):
            if line.page != reader.lines[0].page:
                break
            folded = reader.joined[index]
            for value, start, _ in find_dates(line.text, reader.date_order):
                if value not in due_values and not labels.NOT_ISSUE_DATE.search(folded[max(0, start - 30) : start]):
                    result["issue_date"] = reader.value(Found(value, 0.6, line, line.cells[0]))  # type: ignore[assignment]
                    break
            if "issue_date" in result:
                break
    if "due_date" not in result and "issue_date" in result:
        for index, line in enumerate(reader.lines):
            folded = reader.joined[index]
            if labels.TERMS_CONTEXT.search(folded) and not labels.NOT_TERMS.search(folded):
                days = payment_terms_days(folded)
                if days is not None:
                    issue_value = result["issue_date"]
                    due_value = due_from_terms(issue_value.value, days)
                    found = Found(due_value, 0.85 * issue_value.confidence, line, line.cells[0])
                    result["due_date"] = reader.value(found, note=f"payment terms: {days} days")  # type: ignore[assignment]
                    break
    return result


def _amount_role(label: str) -> str | None:
    if labels.TOTAL_STRONG.search(label):
        return "total"
    if labels.NET.search(label):
        return "net"
    if labels.TAX.search(label):
        return "tax"
    if labels.TOTAL.search(label):
        return "total"
    return None


def _amount_lines(reader: Reader) -> dict[str, list[Found]]:
    """Summary amounts. A line is read left to right as (label words, amount) pairs; a label
    with no amount after it on its line takes the amount just below it (header rows)."""
    roles: dict[str, list[Found]] = {"net": [], "tax": [], "total": []}
    for index, line in enumerate(reader.lines):
        label, label_cells = "", []
        whole = reader.joined[index]
        if labels.NOT_AMOUNT.search(whole):
            continue
        columns = _column_totals(reader, index) or _values_under_headings(reader, index)
        if columns:
            for role, found in columns:
                roles[role].append(found)
            continue
        for position, cell in enumerate(line.cells):
            folded = reader.folded[index][position]
            amounts = [a for a in find_amounts(cell.text) if not _PAGE_NUMBER.search(folded[: a[1]])]
            if amounts and find_dates(cell.text):
                amounts = []
            if amounts and _BASE.search(folded[: amounts[-1][1]]) and _amount_follows(line, position):
                amounts = []  # "VAT 7 % on 320.00 | 22.40": the base belongs to the label
            if not amounts:
                label = f"{label} {folded}".strip()
                label_cells.append(position)
                continue
            own = folded[: amounts[0][1]].strip()
            nearest = own or (reader.folded[index][label_cells[-1]] if label_cells else "")
            label = f"{label} {own}".strip()
            # The label next to the amount decides; the words before it only when it names no role
            # ("Taux Base HT | Montant | Total TVA | 494,25": a VAT summary's headings stand left of "Total TVA").
            role = _amount_role(nearest) if len(nearest) <= 70 else None
            if role is None:
                role = _amount_role(label) if len(label) <= 70 else None
            if role is not None:
                roles[role].append(Found(amounts[-1][0], 1.0, line, cell))
            label, label_cells = "", []
        if labels.ITEM_HEADER.search(whole):
            continue
        for position in label_cells:  # labels left without an amount: look below them
            folded = reader.folded[index][position]
            role = _amount_role(folded) if len(folded) <= 40 else None
            if role is None:
                continue
            below = reader._after(index, position, len(folded), _only_amount, 1) or _lower_right(reader, index, position)
            if below is not None and below.line is not line:
                roles[role].append(below)
    return roles


def _column_totals(reader: Reader, index: int) -> list[tuple[str, Found]] | None:
    """A totals row under columns headed net / tax / gross ("Summe | 1.000,00 | 190,00 | 1.190,00"
    below "Netto | USt. 19 % | Brutto"): each amount takes the role of its column, in order."""
    line, folded = reader.lines[index], reader.folded[index]
    if find_amounts(line.cells[0].text) or _amount_role(folded[0]) != "total":
        return None
    amounts = [(value, cell) for cell in line.cells[1:] if not find_dates(cell.text)
               for value, _, _ in find_amounts(cell.text)]
    if len(amounts) < 2:
        return None
    for above in range(index - 1, max(-1, index - 25), -1):
        if reader.lines[above].page != line.page:
            break
        if any(find_amounts(cell.text) for cell in reader.lines[above].cells):
            continue  # an item row
        header = _header_roles(reader, above, line.cells[1].x0 - line.size, len(amounts))
        if len(header) >= 2:
            if len(header) != len(amounts) or len(set(header)) != len(header):
                return None
            return [(role, Found(value, 0.95, line, cell)) for role, (value, cell) in zip(header, amounts, strict=True)]
    return None


def _header_roles(reader: Reader, index: int, left: float, count: int) -> list[str]:
    """The amount roles of the column headings of line ``index`` right of ``left``, one per
    cell; or one per word when headings set close together were read as one cell
    ("Netto MwSt. Brutto") and only that gives ``count`` columns, leaving out a word that only
    says "amount" where it stands beside one that names the column ("Montant HT TVA Montant TTC")."""
    line = reader.lines[index]
    headings = [folded for cell, folded in zip(line.cells, reader.folded[index], strict=True) if cell.x1 > left]
    roles = [role for role in map(_amount_role, headings) if role]
    if len(roles) != count:
        words = [(word, _amount_role(word)) for word in " ".join(headings).split()]
        by_word = [role for _, role in words if role]
        if len(by_word) == count:
            return by_word
        named = [role for word, role in words if role and (role != "total" or labels.TOTAL_STRONG.search(word))]
        if len(named) == count:
            return named
    return roles


def _values_under_headings(reader: Reader, index: int) -> list[tuple[str, Found]] | None:
    """A row of amounts alone under a row of amount headings ("Excl. VAT | VAT | Incl. VAT" over
    "69.16 13.82 | 82.98"): each amount takes the role of its heading, in order. Not the first
    of several such rows (a table of VAT rates)."""
    line = reader.lines[index]
    amounts = _amounts_only(line)
    if index == 0 or not amounts or len(amounts) < 2:
        return None
    above = reader.lines[index - 1]
    if above.page != line.page or line.y0 - above.y1 > 2 * max(line.size, 1) or _amounts_only(above):
        return None
    if index + 1 < len(reader.lines) and _amounts_only(reader.lines[index + 1]):
        return None
    header = _header_roles(reader, index - 1, line.cells[0].x0 - line.size, len(amounts))
    if len(header) != len(amounts) or len(set(header)) != len(header):
        return None
    return [(role, Found(value, 0.9, line, cell)) for role, (value, cell) in zip(header, amounts, strict=True)]


_NOT_AMOUNT_TEXT = re.compile(r"[^\W\d_]{4,}")


def _amounts_only(line: Line) -> list[tuple[Decimal, Cell]]:
    """The amounts of a line whose every cell holds amounts and no words; else []."""
    found = []
    for cell in line.cells:
        amounts = find_amounts(cell.text)
        if not amounts or _NOT_AMOUNT_TEXT.search(cell.text) or find_dates(cell.text):
            return []
        found += [(value, cell) for value, _, _ in amounts]
    return found


def _lower_right(reader: Reader, index: int, position: int) -> Found | None:
    """A lone amount on the next line, right of the label (a skewed scan drops the right column
    a little, and OCR then reads it as a line of its own)."""
    if index + 1 >= len(reader.lines):
        return None
    line, lower = reader.lines[index], reader.lines[index + 1]
    label = line.cells[position]
    if (lower.page != line.page or lower.y0 - line.y0 > line.size or len(lower.cells) != 1
            or lower.cells[0].x0 <= label.x1 or any(c.x0 > label.x1 for c in line.cells[position + 1 :])):
        return None
    value = _only_amount(lower.cells[0].text)
    return Found(value, 0.8, lower, lower.cells[0]) if value is not None else None


_PAGE_NUMBER = re.compile(r"\b(?:page|seite|pagina|blad|blatt)\s*(?:\d+\s*(?:of|von|sur|de|van|/)\s*)?$")
_BASE = re.compile(r"\b(?:on|of|from|auf|von|sur|de|over|van|op)\s*[€£$]?\s*$")


def _amount_follows(line: Line, position: int) -> bool:
    return any(find_amounts(cell.text) for cell in line.cells[position + 1 :])


def _only_amount(text: str) -> Decimal | None:
    found = find_amounts(text)
    return found[-1][0] if len(found) == 1 and not find_dates(text) else None


def _amount_fields(reader: Reader) -> dict[str, FieldValue]:
    roles = _amount_lines(reader)
    nets, taxes, totals = roles["net"], roles["tax"], roles["total"]
    best: tuple[float, Found | None, list[Found], Found | None] | None = None
    tax_options: list[list[Found]] = [[t] for t in taxes] + ([taxes] if len(taxes) > 1 else []) + [[]]
    for total in totals or [None]:
        for net in nets or [None]:
            for tax in tax_options:
                if total is None and net is None:
                    continue
                tax_sum = sum((t.value for t in tax), Decimal("0"))
                consistent = (total is not None and net is not None and tax
                              and abs(net.value + tax_sum - total.value) <= Decimal("0.01"))
                score = 3.0 if consistent else 0.0
                score += sum(1 for part in (total, net) if part) + (0.5 if tax else 0)
                score += 0.1 * reader.lines.index(total.line) / max(len(reader.lines), 1) if total else 0
                if best is None or score > best[0]:
                    best = (score, total, tax, net)
    result: dict[str, FieldValue] = {}
    if best is None:
        return result
    score, total, tax, net = best
    consistent = score >= 3.0
    factor = 1.0 if consistent else 0.8
    if total:
        result["total"] = reader.value(Found(total.value, total.score * factor, total.line, total.cell))  # type: ignore[assignment]
    if net:
        result["net"] = reader.value(Found(net.value, net.score * factor, net.line, net.cell))  # type: ignore[assignment]
    if tax:
        first = tax[0]
        value = sum((t.value for t in tax), Decimal("0"))
        result["tax"] = reader.value(Found(value, first.score * factor, first.line, first.cell))  # type: ignore[assignment]
    if "tax" not in result and net and total and abs(total.value) >= abs(net.value) and (total.value < 0) == (net.value < 0):
        result["tax"] = FieldValue(total.value - net.value, 0.7 * result["total"].confidence, result["total"].source,
                                   "total - net")
    if "net" not in result and tax and total:
        result["net"] = FieldValue(total.value - result["tax"].value, 0.7 * result["total"].confidence,
                                   result["total"].source, "total - tax")
    if "total" not in result and net and "tax" in result:
        result["total"] = FieldValue(net.value + result["tax"].value, 0.7 * result["net"].confidence,
                                     result["net"].source, "net + tax")
    if "tax" not in result and (total is None) != (net is None) and _charges_no_vat(reader):
        stated, missing = (result["total"], "net") if total else (result["net"], "total")
        result[missing] = FieldValue(stated.value, stated.confidence, stated.source, "no VAT charged")
        result["tax"] = FieldValue(Decimal("0.00"), stated.confidence, stated.source, "no VAT charged")
    return result


def _charges_no_vat(reader: Reader) -> bool:
    return any(labels.NO_VAT.search(joined) for joined in reader.joined)


def _currency(reader: Reader, amounts: dict[str, FieldValue], parties: dict[str, FieldValue]) -> FieldValue | None:
    total = amounts.get("total")
    if reader.currencies:
        counts = Counter(reader.currencies)
        code = counts.most_common(1)[0][0]
        source = total.source if total else "text"
        return FieldValue(code, 0.95 if len(counts) == 1 else 0.8, source)
    for key in ("iban", "vendor_vat_id"):
        if key in parties:
            code = territory_currency(str(parties[key].value)[:2].replace("EL", "GR"))
            if code:
                return FieldValue(code, 0.6, parties[key].source, f"currency of the {key} country")
    return None


_CENTS = re.compile(r"\d[.,]\d{2}(?!\d)")


def _priced(line: Line, position: int) -> bool:
    """Whether a money amount follows cell ``position`` on its line: the words are then a summary
    row ("Less: credit memo CM-2231 | -50.00", a credit deducted), not a document title."""
    return any(_CENTS.search(cell.text) and _only_amount(cell.text) is not None for cell in line.cells[position + 1 :])


def _credit_note(reader: Reader, amounts: dict[str, FieldValue]) -> FieldValue:
    for index, line in enumerate(reader.lines[:25]):
        for position, folded in enumerate(reader.folded[index]):
            if labels.CREDIT_NOTE.search(folded) and len(folded) < 60 and not _priced(line, position):
                return FieldValue(True, 0.9, reader.source(Found(True, 1, line, line.cells[0])))
    total = amounts.get("total")
    if total is not None and total.value < 0:
        return FieldValue(True, 0.8, total.source, "negative total")
    return FieldValue(False, 0.9, "text")


def extract_fields(document: DocumentText, options: dict[str, Any] | None = None) -> tuple[dict[str, FieldValue], Reader]:
    """Every field found in ``document`` (absent keys: not found), and the reader that found them."""
    from tasks.extraction.parties import party_fields

    reader = Reader(document, options)
    fields: dict[str, FieldValue] = {}
    number = _number_field(reader)
    if number:
        fields["invoice_number"] = number
    fields.update(_date_fields(reader))
    amounts = _amount_fields(reader)
    fields.update(amounts)
    parties = party_fields(reader)
    fields.update(parties)
    currency = _currency(reader, amounts, parties)
    if currency:
        fields["currency"] = currency
    references = [f for f in reader.labelled(labels.REFERENCE, reader.reference, below=1)
                  if "invoice_number" not in fields or f.value != fields["invoice_number"].value]
    if references:
        fields["reference"] = reader.value(references[0])  # type: ignore[assignment]
    fields["is_credit_note"] = _credit_note(reader, amounts)
    return fields, reader
