"""The vendors invoices come from, learnt from their documents, and the check that protects
payments: an invoice whose IBAN (or VAT id) differs from the one this vendor's earlier invoices
gave is held for review, because a changed bank account on an otherwise familiar invoice is the
classic invoice fraud.

A vendor is learnt only from an invoice that needed no review, or from one a person reviewed
(``confirm_vendor``), so a doubtful read never becomes the reference the next invoice is
checked against.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, case, or_, select
from sqlalchemy.orm import Session

from db.conflicts import insert_ignoring_conflicts
from db.models import Invoice, InvoiceStatus, Vendor
from tasks.invoices.records import counterparty_key

_REJECTED = frozenset({InvoiceStatus.DISPUTED.value, InvoiceStatus.CANCELLED.value})


_BY_NAME = select(Vendor).where(Vendor.name_key == bindparam("key"))
_BY_VAT_ID_OR_NAME = (
    select(Vendor).where(or_(Vendor.vat_id == bindparam("vat_id"), Vendor.name_key == bindparam("key")))
    .order_by(case((Vendor.vat_id == bindparam("vat_id"), 0), else_=1), Vendor.id).limit(1)
)


def find_vendor(session: Session, name: str, vat_id: str | None) -> Vendor | None:
    """The known vendor with this VAT id, else with this normalised name (one query)."""
    if not vat_id:
        return session.scalars(_BY_NAME, {"key": counterparty_key(name)}).one_or_none()
    return session.scalars(_BY_VAT_ID_OR_NAME, {"vat_id": vat_id, "key": counterparty_key(name)}).first()


def changed_details(vendor: Vendor, iban: str | None, vat_id: str | None) -> list[str]:
    """Why an invoice's payment details need a person's eye, compared with what ``vendor`` used before."""
    reasons = []
    if iban and vendor.iban and iban != vendor.iban:
        reasons.append(f"the IBAN {iban} differs from {vendor.iban} on earlier invoices from {vendor.name}; "
                       "confirm the change with the vendor (by phone, not by replying to the email) before paying")
    if vat_id and vendor.vat_id and vat_id != vendor.vat_id:
        reasons.append(f"the VAT id {vat_id} differs from {vendor.vat_id} on earlier invoices from {vendor.name}")
    return reasons


def check_vendor(session: Session, counterparty: str, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` of a payable invoice read from a document, with its vendor id and, when its
    IBAN or VAT id differs from the vendor's known ones, held for review with the reason."""
    if values.get("direction", "payable") != "payable":
        return values
    vendor = find_vendor(session, counterparty, values.get("counterparty_vat_id"))
    reasons = changed_details(vendor, values.get("iban"), values.get("counterparty_vat_id")) if vendor else []
    if reasons:
        values = {**values, "needs_review": True, "status": InvoiceStatus.NEEDS_REVIEW.value,
                  "review_reasons": [*values.get("review_reasons", []), *reasons]}
    elif not values.get("needs_review"):
        vendor = learn_vendor(session, counterparty, values.get("counterparty_vat_id"), values.get("iban"),
                              values.get("currency"), vendor)
    return {**values, "vendor_id": vendor.id if vendor else None}


def learn_vendor(session: Session, name: str, vat_id: str | None, iban: str | None, currency: str | None,
                 vendor: Vendor | None = None) -> Vendor:
    """The vendor row for ``name`` (created when new; a parallel writer's row is taken instead),
    with the details it did not have yet filled in."""
    if vendor is None:
        created = session.scalars(insert_ignoring_conflicts(session, Vendor, ["name_key"]).returning(Vendor), {
            "name": name, "name_key": counterparty_key(name), "vat_id": vat_id, "iban": iban,
            "default_currency": currency,
        }).one_or_none()
        if created is not None:
            return created  # new, with exactly these details
        vendor = session.scalars(_BY_NAME, {"key": counterparty_key(name)}).one()
    vendor.vat_id = vendor.vat_id or vat_id
    vendor.iban = vendor.iban or iban
    vendor.default_currency = vendor.default_currency or currency
    return vendor


def confirm_vendor(session: Session, invoice: Invoice) -> Vendor | None:
    """After a person accepted a payable invoice: its IBAN and VAT id are the vendor's from now on.
    One they disputed or cancelled (a forged invoice, say) teaches nothing."""
    if invoice.direction != "payable" or invoice.status in _REJECTED:
        return None
    vendor = find_vendor(session, invoice.counterparty, invoice.counterparty_vat_id)
    vendor = learn_vendor(session, invoice.counterparty, invoice.counterparty_vat_id, invoice.iban, invoice.currency,
                          vendor)
    vendor.iban = invoice.iban or vendor.iban
    vendor.vat_id = invoice.counterparty_vat_id or vendor.vat_id
    invoice.vendor_id = vendor.id
    return vendor
