"""What a person's correction of one invoice teaches about the vendor's next ones: how to
recognise the vendor's documents (its VAT id or IBAN as printed, else its name), and for each
corrected field the label it stands behind on the page (or the value itself, for what is the
same on every invoice of one vendor: its name, VAT id, IBAN).

Plain functions of the document text: the review (tasks.invoices.review) stores what they give as
a vendor template, and the benchmark measures it on real documents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from tasks.language.amounts import find_amounts
from tasks.language.dates import find_dates

LABEL = re.compile(r"([^\W\d][\w .\-/#°]{1,40}?)\s*[:#.]?\s*$", re.UNICODE)


@dataclass
class Lesson:
    """A vendor template's parts learnt from one correction; ``keywords`` empty when the document
    gives no way to recognise the vendor (``why`` says so)."""

    keywords: list[str]
    fields: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    why: str = ""


def _spaced(identifier: str) -> str:
    """A regex for ``identifier`` as it may be printed: groups split by spaces, dots or dashes."""
    characters = [re.escape(ch) for ch in re.sub(r"[\s.-]", "", identifier)]
    return r"[\s.-]?".join(characters)


def identity_keyword(text: str, counterparty: str, vat_id: str | None, iban: str | None) -> str | None:
    """A regex that finds the vendor in its documents: its VAT id or IBAN as printed in ``text``
    (the same on every invoice, unlike a layout's words), else its name, words set apart by any
    spacing; None when ``text`` prints none of them."""
    candidates = [_spaced(v) for v in (vat_id, iban) if v and len(re.sub(r"\W", "", v)) >= 8]
    words = counterparty.split()
    if words:
        candidates.append(r"\s+".join(re.escape(word) for word in words))
    return next((c for c in candidates if re.search(c, text, re.I)), None)


def _label_before(text: str, start: int) -> str | None:
    line_start = text.rfind("\n", 0, start) + 1
    match = LABEL.search(text[line_start:start])
    return match.group(1).strip() if match else None


def rule_for(text: str, column: str, value: Any, date_order: str) -> str | None:
    """A regex that finds ``value`` after the label it stands behind in ``text``, or None."""
    if isinstance(value, Decimal):
        spans = [(s, e) for amount, s, e in find_amounts(text) if amount == value]
    elif isinstance(value, date):
        spans = [(s, e) for day, s, e in find_dates(text, date_order) if day == value]
    else:
        spans = [(m.start(), m.end()) for m in re.finditer(re.escape(str(value)), text)]
    for start, _ in spans:
        label = _label_before(text, start)
        if label:
            capture = r"([^\s]+)" if column in {"number", "reference"} else r"(.{1,40}?)(?:\s{2,}|$)"
            if isinstance(value, Decimal):
                capture = r"(-?[\d.,' ]*\d)"
            elif isinstance(value, date):
                capture = r"(\S+(?: \S+ \d{4})?)"
            return re.escape(label) + r"\s*[:#.]?\s*" + capture
    return None


def lesson(text: str, counterparty: str, values: dict[str, Any], corrected: set[str], taught: dict[str, str],
           constant: set[str], known: Lesson | None = None) -> Lesson:
    """What correcting ``corrected`` (invoice columns, their right ``values``) teaches: the rules
    for the template fields ``taught`` names (column -> field), the ``constant`` columns as their
    value, added to what an earlier correction of the vendor taught (``known``)."""
    keyword = identity_keyword(text, counterparty, values.get("counterparty_vat_id"), values.get("iban"))
    if keyword is None:
        return Lesson([], why=f"neither the name {counterparty!r} nor its VAT id or IBAN is printed in the "
                              "document's text")
    fields = {**(known.fields if known else {}), "vendor": {"value": counterparty}}
    options = dict(known.options) if known else {}
    if "currency" in corrected and values.get("currency"):
        options["currency"] = values["currency"]
    unplaced = []
    for column in sorted(corrected & set(taught)):
        value = values.get(column)
        if value is None:
            continue
        if column in constant:
            fields[taught[column]] = {"value": str(value)}
            continue
        rule = rule_for(text, column, value, str(options.get("date_order", "DMY")))
        if rule:
            fields[taught[column]] = rule
        else:
            unplaced.append(taught[column])
    why = f"no label found before {', '.join(unplaced)}" if unplaced else ""
    return Lesson([keyword], fields, options, why)
