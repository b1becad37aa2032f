"""Net, tax and total: read per summary line (or from a table's columns and headings), the triple
that adds up preferred; a document that charges no VAT gets no invented tax.
"""

from __future__ import annotations

import re
from decimal import Decimal

from tasks.extraction.label_lookup import Reader
from tasks.extraction.model import FieldValue, Found
from tasks.language import labels
from tasks.language.amounts import find_amounts
from tasks.language.dates import find_dates
from tasks.reading.positioned_text import Cell, Line


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
    roles: dict[str, list[Found]] = {"net": [], "tax": [], "total": [], "tendered": [], "change": []}
    for index, line in enumerate(reader.lines):
        label, label_cells = "", []
        whole = reader.joined[index]
        skipped = {p for p, folded in enumerate(reader.folded[index]) if labels.NOT_AMOUNT.search(folded)}
        if skipped and not _total_heading_beside(reader, index, skipped):
            continue
        handed = _tendered_or_change(reader, index)
        if handed is not None:
            roles[handed[0]].append(handed[1])
            continue
        columns = _column_totals(reader, index) or _values_under_headings(reader, index)
        if columns:
            for role, found in columns:
                roles[role].append(found)
            continue
        for position, cell in enumerate(line.cells):
            if position in skipped:
                continue  # "ACCOUNT NUMBER" beside "TOTAL DUE": the account's cell is neither label nor amount
            folded = reader.folded[index][position]
            amounts = [a for a in find_amounts(cell.text) if not _PAGE_NUMBER.search(folded[: a[1]])]
            if amounts and find_dates(cell.text):
                amounts = []
            if amounts and _debris_before_amount(cell.text, amounts[-1], line, position):
                amounts = []  # "SUMME [31 | EUR | 152,00": OCR debris beside the label, the amount after it
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
            if role == "total" and _tax_included(label, " ".join([folded[amounts[-1][2]:], *reader.folded[index][position + 1:]])):
                role = "tax"
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
            below = reader.value_after(index, position, len(folded), only_amount, 1) or _lower_right(reader, index, position)
            if below is not None and below.line is not line:
                roles[role].append(below)
    return roles


_CENTS = re.compile(r"[.,]\d{2}\)?-?$")
_CURRENCY_ONLY = re.compile(r"^\W*(?:[A-Z]{3}|[€£$¥])?\W*$")


def _debris_before_amount(text: str, amount: tuple[Decimal, int, int], line: Line, position: int) -> bool:
    """Whether a whole number in a label's cell is no amount because the rest of the line holds
    one with cents after nothing but a currency ("SUMME [31 | EUR | 152,00")."""
    if _CENTS.search(text[amount[1] : amount[2]]):
        return False
    later = line.cells[position + 1 :]
    for index, cell in enumerate(later):
        found = find_amounts(cell.text)
        if found:
            words = " ".join(c.text for c in later[:index]) + " " + cell.text[: found[0][1]]
            return bool(_CENTS.search(cell.text[found[0][1] : found[0][2]])) and bool(_CURRENCY_ONLY.match(words))
    return False


def _total_heading_beside(reader: Reader, index: int, skipped: set[int]) -> bool:
    """Whether a line with an account's, a phone's or a register's words ("DUE BY | ACCOUNT NUMBER
    | TOTAL DUE") also has a cell of its own that heads the total: that cell is still read."""
    return any(labels.TOTAL_STRONG.search(folded) and not find_amounts(reader.lines[index].cells[p].text)
               for p, folded in enumerate(reader.folded[index]) if p not in skipped)


def _tax_included(label: str, after: str) -> bool:
    """Whether an amount is the tax a total holds: "Betrag enthält 3,26 € MwSt", "dont TVA 3,26"."""
    return bool(labels.TAX_INCLUDED.search(label) and (labels.TAX.search(label) or labels.TAX.search(after[:20])))


def _tendered_or_change(reader: Reader, index: int) -> tuple[str, Found] | None:
    """("tendered" | "change", its amount) for a till receipt's line of the money handed over
    ("BARGELD 40,00", "Cash 50.00") or of the change ("ZURÜCK 15,77"); None for any other line."""
    whole = reader.joined[index]
    role = "change" if labels.CHANGE.search(whole) else "tendered" if labels.TENDERED.search(whole) else None
    if role is None or labels.TOTAL_STRONG.search(whole):
        return None
    line = reader.lines[index]
    amounts = [(value, cell) for cell in line.cells for value, _, _ in find_amounts(cell.text)]
    if len(amounts) != 1:
        return None
    value, cell = amounts[0]
    return role, Found(value, 1.0, line, cell)


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
    value = only_amount(lower.cells[0].text)
    return Found(value, 0.8, lower, lower.cells[0]) if value is not None else None


_PAGE_NUMBER = re.compile(r"\b(?:page|seite|pagina|blad|blatt)\s*(?:\d+\s*(?:of|von|sur|de|van|/)\s*)?$")
_BASE = re.compile(r"\b(?:on|of|from|auf|von|sur|de|over|van|op)\s*[€£$]?\s*$")


def _amount_follows(line: Line, position: int) -> bool:
    return any(find_amounts(cell.text) for cell in line.cells[position + 1 :])


def only_amount(text: str) -> Decimal | None:
    found = find_amounts(text)
    return found[-1][0] if len(found) == 1 and not find_dates(text) else None


def _handed_over(roles: dict[str, list[Found]]) -> Decimal | None:
    """What a till receipt's money handed over less its change comes to (the total paid), when it
    prints one of each."""
    tendered, change = roles["tendered"], roles["change"]
    if len(tendered) == 1 and len(change) == 1 and tendered[0].value > abs(change[0].value):
        return tendered[0].value - abs(change[0].value)  # "Rückgeld -2,84": the change printed negative
    return None


def amount_fields(reader: Reader) -> dict[str, FieldValue]:
    roles = _amount_lines(reader)
    nets, taxes, totals = roles["net"], roles["tax"], roles["total"]
    if any(t.value for t in totals):  # "Summe 0,00" beside "zu zahlen 7,16": a nil total is no candidate
        totals = [t for t in totals if t.value]
    paid = _handed_over(roles)
    # Where no net is labelled, a total printed beside a larger one may be the subtotal ("Summe
    # 2'420.00 | MwSt. 186.35 | Rechnungstotal 2'606.35"): a candidate for the net, taken only
    # where net + tax = total.
    subtotals = [] if nets else [t for t in totals if any(o.value > t.value for o in totals)]
    best: tuple[float, Found | None, list[Found], Found | None] | None = None
    tax_options: list[list[Found]] = [[t] for t in taxes] + ([taxes] if len(taxes) > 1 else []) + [[]]
    for total in totals or [None]:
        for net in (nets or [None]) + subtotals:
            for tax in tax_options:
                if total is None and net is None or net is total:
                    continue
                tax_sum = sum((t.value for t in tax), Decimal("0"))
                consistent = (total is not None and net is not None and tax
                              and abs(net.value + tax_sum - total.value) <= Decimal("0.01"))
                if net in subtotals and not consistent:
                    continue
                score = 3.0 if consistent else 0.0
                if paid is not None and total is not None and total.value == paid:
                    score += 2.0  # the receipt's cash handed over less the change confirms it
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
    if "total" not in result and net and tax:
        printed = _unlabelled_sum(reader, tax[-1], net.value + result["tax"].value)
        if printed is not None:  # "Sub-Total $2,297.97 | Tax $218.31 | $2,516.28": the total's label lost
            result["total"] = reader.value(printed, note="net + tax, printed below them")  # type: ignore[assignment]
    if "total" not in result and net and "tax" in result:
        result["total"] = FieldValue(net.value + result["tax"].value, 0.7 * result["net"].confidence,
                                     result["net"].source, "net + tax")
    if "tax" not in result and (total is None) != (net is None) and _charges_no_vat(reader):
        stated, missing = (result["total"], "net") if total else (result["net"], "total")
        result[missing] = FieldValue(stated.value, stated.confidence, stated.source, "no VAT charged")
        result["tax"] = FieldValue(Decimal("0.00"), stated.confidence, stated.source, "no VAT charged")
    return result


def _unlabelled_sum(reader: Reader, tax: Found, expected: Decimal) -> Found | None:
    """An amount alone on one of the three lines below the tax, equal to net + tax: the total whose
    label is not printed or was not read."""
    start = reader.lines.index(tax.line)
    for line in reader.lines[start + 1 : start + 4]:
        amounts = _amounts_only(line)
        if len(amounts) == 1 and amounts[0][0] == expected:
            return Found(expected, 0.85, line, amounts[0][1])
    return None


def _charges_no_vat(reader: Reader) -> bool:
    return any(labels.NO_VAT.search(joined) for joined in reader.joined)
