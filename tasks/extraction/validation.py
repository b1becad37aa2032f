"""Checking extracted fields against each other and against their own rules, and turning the
per-field confidences into one confidence and a list of reasons a person should look.

Checks: net + tax = total (within 0.01), due date not before the issue date, dates in a
plausible range, IBAN checksum, VAT id format and check digits, ISO 4217 currency, required
fields present.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from tasks.extraction.model import FieldValue
from tasks.invoices.fields import INVOICE_FIELDS
from tasks.language.identifiers import normalise_iban, normalise_vat

REQUIRED = tuple(f.name for f in INVOICE_FIELDS if f.required)
WEIGHTS = {f.name: f.weight for f in INVOICE_FIELDS if f.weight}
LABELS = {f.name: f.label for f in INVOICE_FIELDS}
TOLERANCE = Decimal("0.01")


@dataclass
class Validation:
    confidence: float
    needs_review: bool
    reasons: list[str] = field(default_factory=list)


def _cap(fields: dict[str, FieldValue], name: str, at: float) -> None:
    if name in fields:
        fields[name].confidence = min(fields[name].confidence, at)


def check_fields(fields: dict[str, FieldValue], today: date | None = None) -> list[str]:
    """Cross-check ``fields`` in place (confidences go down where a check fails); returns the reasons."""
    from babel.numbers import list_currencies

    today = today or date.today()
    reasons: list[str] = []
    net, tax, total = (fields[k].value if k in fields else None for k in ("net", "tax", "total"))
    if net is not None and tax is not None and total is not None:
        if abs(Decimal(net) + Decimal(tax) - Decimal(total)) > TOLERANCE:
            reasons.append(f"net {net} + tax {tax} does not equal the total {total}")
            for name in ("net", "tax", "total"):
                _cap(fields, name, 0.5)
        else:
            for name in ("net", "tax", "total"):
                if fields[name].source in {"text", "template"}:
                    fields[name].confidence = max(fields[name].confidence, 0.97)
    issue, due = (fields[k].value if k in fields else None for k in ("issue_date", "due_date"))
    if issue and due and due < issue:
        reasons.append(f"the due date {due.isoformat()} is before the issue date {issue.isoformat()}")
        _cap(fields, "due_date", 0.4)
    for name in ("issue_date", "due_date"):
        value = fields[name].value if name in fields else None
        if value and not (today - timedelta(days=365 * 15) <= value <= today + timedelta(days=365 * 2)):
            reasons.append(f"the {LABELS[name]} {value.isoformat()} is not plausible")
            _cap(fields, name, 0.3)
    if issue and issue > today + timedelta(days=31):
        reasons.append(f"the issue date {issue.isoformat()} is in the future")
        _cap(fields, "issue_date", 0.5)
    # A value that fails its own check is not passed on as a guess: the field is left empty, and
    # the reason says what was printed (abstain rather than guess; an empty field is a review).
    if "iban" in fields and normalise_iban(str(fields["iban"].value)) is None:
        reasons.append(f"the IBAN {fields.pop('iban').value} fails its checksum; left empty")
    if "vendor_vat_id" in fields:
        valid = normalise_vat(str(fields["vendor_vat_id"].value))
        # A template's VAT id is one a person confirmed for the vendor: kept, check digit or not.
        if valid is None and fields["vendor_vat_id"].source != "template":
            reasons.append(f"the VAT id {fields.pop('vendor_vat_id').value} has a wrong format or check digit; "
                           "left empty")
        elif valid is not None and fields["vendor_vat_id"].source != "xml":
            fields["vendor_vat_id"].value = valid
    if "currency" in fields and str(fields["currency"].value) not in list_currencies():
        reasons.append(f"{fields.pop('currency').value!r} is not an ISO 4217 currency code; left empty")
    if total is not None and Decimal(total) == 0:
        reasons.append("the total is zero")
        _cap(fields, "total", 0.5)
    return reasons


def validate(fields: dict[str, FieldValue], threshold: float, today: date | None = None) -> Validation:
    """Check ``fields``; one confidence for the invoice and whether a person must review it."""
    reasons = check_fields(fields, today)
    for name in REQUIRED:
        if name not in fields:
            reasons.append(f"no {LABELS[name]} found")
    weighted = total_weight = 0.0
    for name, weight in WEIGHTS.items():
        if name in fields:
            weighted += weight * fields[name].confidence
            total_weight += weight
        elif name in REQUIRED:
            total_weight += weight
    confidence = round(weighted / total_weight, 3) if total_weight else 0.0
    for name in WEIGHTS:
        if name in fields and fields[name].confidence < threshold and not any(LABELS[name] in r for r in reasons):
            reasons.append(f"{LABELS[name]} uncertain (confidence {fields[name].confidence:.2f})")
    # An invoice that had a value left empty because it failed its own check is a review too.
    needs_review = confidence < threshold or any(
        r.startswith("no ") or "does not equal" in r or r.endswith("left empty") or r.endswith("not plausible")
        for r in reasons)
    return Validation(confidence, needs_review, reasons)
