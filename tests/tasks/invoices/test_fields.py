"""The one table of invoice fields: every list of fields is taken from it, and every field has a
column to land in."""

from __future__ import annotations

from db.models import Invoice
from flows.review_invoice import InvoiceReview
from tasks.extraction.invoice_file import JSON_KEYS
from tasks.extraction.templates import FIELD_TYPES, KNOWN_FIELDS
from tasks.extraction.validation import LABELS, REQUIRED, WEIGHTS
from tasks.invoices.fields import INVOICE_FIELDS, NAMES
from tasks.invoices.records import SETTABLE_COLUMNS
from tasks.invoices.review import CONSTANT_FIELDS, FORM_FIELDS, TEMPLATE_FIELDS


def test_every_field_fills_a_column_of_the_invoice():
    columns = set(Invoice.__table__.columns.keys())
    for field in INVOICE_FIELDS:
        assert field.column in columns, field.name
        assert field.column == "number" or field.column in SETTABLE_COLUMNS, field.name


def test_the_lists_of_fields_come_from_the_table():
    assert KNOWN_FIELDS == NAMES
    assert set(FIELD_TYPES) == {f.name for f in INVOICE_FIELDS if f.kind != "text"}
    assert [k for k in JSON_KEYS if k in NAMES] == [f.name for f in INVOICE_FIELDS if f.in_json]
    assert set(REQUIRED) <= set(WEIGHTS) <= set(LABELS) == set(NAMES)
    assert {c for c in FORM_FIELDS.values() if c != "status"} == {f.column for f in INVOICE_FIELDS if f.form}
    assert set(TEMPLATE_FIELDS.values()) <= set(NAMES) and CONSTANT_FIELDS <= set(TEMPLATE_FIELDS)


def test_the_review_form_has_a_field_for_each_reviewable_invoice_field():
    form = [name for name in InvoiceReview.model_fields if name not in ("status", "reviewer", "remember_for_vendor")]
    assert form == [f.form for f in INVOICE_FIELDS if f.form]
    assert InvoiceReview.model_fields["counterparty"].is_required()
    assert InvoiceReview.model_fields["invoice_number"].is_required()
    assert not InvoiceReview.model_fields["total"].is_required()
