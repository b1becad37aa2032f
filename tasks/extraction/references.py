"""The fields that name and date an invoice: its number, the issue and due dates (read in the order the
document itself shows: an unambiguous 25/03 elsewhere on the page decides how 03/04 reads), the
currency, and whether it is a credit note.
"""

from __future__ import annotations

import re
from collections import Counter

from tasks.extraction.amounts import only_amount
from tasks.extraction.label_lookup import Reader
from tasks.extraction.model import FieldValue, Found
from tasks.language import labels
from tasks.language.currencies import territory_currency
from tasks.language.dates import find_dates
from tasks.language.terms import due_from_terms, payment_terms_days
from tasks.reading.positioned_text import Line


def _other_invoice(folded: str, match: re.Match[str]) -> bool:
    return bool(labels.OTHER_INVOICE.search(folded[max(0, match.start() - 24) : match.start()]))


def number_field(reader: Reader) -> FieldValue | None:
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
                bare = reader.value_after(index, position, len(folded), reader.number, below=2)
                if bare is not None:
                    bare.score = 0.7
                    return reader.value(bare)
    return None


def date_fields(reader: Reader) -> dict[str, FieldValue]:
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




def currency_field(reader: Reader, amounts: dict[str, FieldValue], parties: dict[str, FieldValue]) -> FieldValue | None:
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
    return any(_CENTS.search(cell.text) and only_amount(cell.text) is not None for cell in line.cells[position + 1 :])


def credit_note_field(reader: Reader, amounts: dict[str, FieldValue]) -> FieldValue:
    for index, line in enumerate(reader.lines[:25]):
        for position, folded in enumerate(reader.folded[index]):
            if labels.CREDIT_NOTE.search(folded) and len(folded) < 60 and not _priced(line, position):
                return FieldValue(True, 0.9, reader.source(Found(True, 1, line, line.cells[0])))
    total = amounts.get("total")
    if total is not None and total.value < 0:
        return FieldValue(True, 0.8, total.source, "negative total")
    return FieldValue(False, 0.9, "text")
