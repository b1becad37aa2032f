"""Payment terms: the days a document gives to pay ("Net 30", "30 Tage netto", "sous 30 jours").
"""

from __future__ import annotations

import re
from datetime import date, timedelta

_TERMS_RES = (
    # "Net 30", "netto 14", but not the start of an amount ("Summe netto 31'693.17", "netto 1 250,00")
    re.compile(r"\bnet(?:to)?\s*(\d{1,3})\b(?!\s*[.,'\u2019]\d|[\s\u00a0\u202f]\d{3}\b)", re.I),
    re.compile(r"(\d{1,3})\s*(?:days?|tage?n?|jours?|dagen|dgn)\b", re.I),
)
_IMMEDIATE_RE = re.compile(
    r"due (?:up)?on receipt|payable immediately|sofort (?:zahlbar|f[äa]llig)|zahlbar sofort|"
    r"[àa] r[ée]ception|d[èe]s r[ée]ception|onmiddellijk|direct te betalen", re.I
)
_EARLY_PAYMENT_DISCOUNT = re.compile(r"skonto|discount|escompte|korting", re.I)


def payment_terms_days(text: str) -> int | None:
    """The payment term in days stated in ``text`` ("Net 30", "30 Tage netto", "sous 30 jours" ...)."""
    if _IMMEDIATE_RE.search(text):
        return 0
    for pattern in _TERMS_RES:
        days = [int(found) for found in pattern.findall(text) if 0 <= int(found) <= 180]
        if days:
            # "10 Tage 2 % Skonto, 30 Tage netto": the discount's term is the shorter one
            return max(days) if _EARLY_PAYMENT_DISCOUNT.search(text) else days[0]
    return None


def due_from_terms(issue: date | None, days: int | None) -> date | None:
    if issue is None or days is None:
        return None
    return issue + timedelta(days=days)
