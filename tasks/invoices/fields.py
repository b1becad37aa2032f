"""The invoice fields, in one table: what reading finds, what a template or a review may set, the
invoice column each fills and how a person calls it. Extraction, validation, vendor templates,
`invoices extract --json`, the review form and the saved invoice all take their lists from here;
a new field is one new row.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InvoiceField:
    name: str  # as extraction, templates and `invoices extract --json` call it
    kind: str  # text, date, amount, bool: how a template's rule parses it
    column: str  # the invoice column it fills
    label: str  # how a person calls it (validation reasons)
    weight: float = 0.0  # its part in an invoice's confidence (0: none)
    required: bool = False  # an invoice without it needs review
    in_json: bool = True  # printed by `invoices extract --json`
    form: str | None = None  # its field in the review form (None: a review does not set it)
    taught: bool = False  # a review's correction becomes a hint in the vendor's template
    per_vendor: bool = False  # the same on every invoice of one vendor (taught as the value itself)


INVOICE_FIELDS: tuple[InvoiceField, ...] = (
    InvoiceField("vendor", "text", "counterparty", "vendor", 2.0, True, form="counterparty"),
    InvoiceField("invoice_number", "text", "number", "invoice number", 2.0, True, form="invoice_number", taught=True),
    InvoiceField("issue_date", "date", "issue_date", "issue date", 1.0, True, form="issue_date", taught=True),
    InvoiceField("due_date", "date", "due_date", "due date", 0.5, form="due_date", taught=True),
    InvoiceField("currency", "text", "currency", "currency", 1.0, form="currency"),
    InvoiceField("net", "amount", "net", "net amount", 0.5, form="net", taught=True),
    InvoiceField("tax", "amount", "tax", "tax amount", 0.5, form="tax", taught=True),
    InvoiceField("total", "amount", "total", "total", 2.0, True, form="total", taught=True),
    InvoiceField("vendor_vat_id", "text", "counterparty_vat_id", "VAT id", 0.5, form="vat_id", taught=True,
                 per_vendor=True),
    InvoiceField("iban", "text", "iban", "IBAN", 0.5, form="iban", taught=True, per_vendor=True),
    InvoiceField("reference", "text", "reference", "reference", in_json=False, form="reference", taught=True),
    InvoiceField("customer", "text", "customer_name", "customer", in_json=False),
    InvoiceField("is_credit_note", "bool", "is_credit_note", "credit note", in_json=False),
)
BY_NAME = {field.name: field for field in INVOICE_FIELDS}
NAMES = tuple(field.name for field in INVOICE_FIELDS)
# The two fields that make an invoice's natural key (with its direction), in the review form's order.
KEY_FIELDS = ("vendor", "invoice_number")
