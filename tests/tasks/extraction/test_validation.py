"""Validation abstains rather than guesses: a value that fails its own check is left empty, named
in the reasons, and the invoice goes to review."""

from datetime import date
from decimal import Decimal

from tasks.extraction.model import FieldValue
from tasks.extraction.validation import validate


def _fields(**extra: FieldValue) -> dict[str, FieldValue]:
    fields = {
        "invoice_number": FieldValue("INV-1", 0.95, "text"), "issue_date": FieldValue(date(2024, 3, 1), 0.95, "text"),
        "vendor": FieldValue("Acme GmbH", 0.95, "text"), "total": FieldValue(Decimal("119.00"), 0.95, "text"),
        "currency": FieldValue("EUR", 0.95, "text"),
    }
    fields.update(extra)
    return fields


def test_a_clean_invoice_passes_without_review():
    result = validate(_fields(), 0.8, today=date(2024, 3, 10))
    assert not result.needs_review and result.reasons == []


def test_a_vat_id_that_fails_its_check_digit_is_left_empty_and_reviewed():
    # A customer's id or a misread digit: printed near "VAT", but not a valid id of anyone.
    fields = _fields(vendor_vat_id=FieldValue("DE427984273", 0.9, "text"))
    result = validate(fields, 0.8, today=date(2024, 3, 10))
    assert "vendor_vat_id" not in fields
    assert result.needs_review
    assert any("DE427984273" in r and r.endswith("left empty") for r in result.reasons)


def test_an_iban_that_fails_its_checksum_is_left_empty_and_reviewed():
    fields = _fields(iban=FieldValue("DE89370400440532013001", 0.9, "text"))  # last digit changed
    result = validate(fields, 0.8, today=date(2024, 3, 10))
    assert "iban" not in fields and result.needs_review


def test_a_valid_vat_id_is_kept():
    fields = _fields(vendor_vat_id=FieldValue("DE 136 695 976", 0.9, "text"))
    result = validate(fields, 0.8, today=date(2024, 3, 10))
    assert fields["vendor_vat_id"].value == "DE136695976" and not result.needs_review
