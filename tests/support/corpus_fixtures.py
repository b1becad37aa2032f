"""The labelled corpus (tests/data/corpus, made by tests/corpus.py) and how its fields compare."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from tasks.extraction.invoice_file import Understanding
from tasks.invoices.records import counterparty_key

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
SCORED_FIELDS = ("invoice_number", "issue_date", "due_date", "vendor", "vendor_vat_id", "iban", "currency", "net", "tax",
                 "total", "reference", "is_credit_note")


def corpus_cases(scanned: bool) -> list[Path]:
    return sorted(p for p in CORPUS.iterdir()
                  if p.suffix != ".json" and p.with_suffix(".json").exists() and p.name.startswith("scan-") == scanned)


def expected(path: Path) -> dict[str, Any]:
    return json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))


def got(result: Understanding) -> dict[str, Any]:
    record = result.as_json()
    record.update(reference=result.value("reference"), customer=result.value("customer"),
                  is_credit_note=bool(result.value("is_credit_note")))
    return record


def same(field: str, found: Any, wanted: Any) -> bool:
    """Whether an extracted value is the expected one (names by their normalised key)."""
    if found is None or wanted is None:
        return found is None and wanted is None
    if field in {"vendor", "customer"}:
        return counterparty_key(str(found)) == counterparty_key(str(wanted))
    if field in {"net", "tax", "total"}:
        return Decimal(str(found)) == Decimal(str(wanted))
    if field == "invoice_number":
        return str(found).replace(" ", "").upper() == str(wanted).replace(" ", "").upper()
    return str(found) == str(wanted)


def mismatches(result: Understanding, path: Path) -> dict[str, tuple[Any, Any]]:
    found, wanted = got(result), expected(path)
    return {f: (found.get(f), wanted.get(f)) for f in SCORED_FIELDS if not same(f, found.get(f), wanted.get(f))}
