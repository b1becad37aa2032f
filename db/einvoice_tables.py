"""The tables of e-invoices: every invoice line, every validation finding, and the documents made
from another one (the readable rendering of an XML-only invoice), beside the core schema of
``db.models`` on the same ``Base.metadata`` (``db/__init__.py`` imports this module, so every
place that builds or compares the schema sees these tables)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base, utcnow


class InvoiceLine(Base):
    """One line of an invoice (EN 16931 BG-25), as the document that carried it states it."""

    __tablename__ = "invoice_lines"
    __table_args__ = (UniqueConstraint("invoice_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), doc="the document it was read from")
    position: Mapped[int] = mapped_column(doc="1, 2, ... in the order of the document")
    line_id: Mapped[str | None] = mapped_column(String(100), doc="the line's own identifier (BT-126)")
    description: Mapped[str | None] = mapped_column(Text, doc="item name (BT-153)")
    quantity: Mapped[Decimal | None] = mapped_column(Numeric(19, 4))
    unit: Mapped[str | None] = mapped_column(String(16), doc="UN/ECE rec. 20 unit code (BT-130)")
    unit_price: Mapped[Decimal | None] = mapped_column(Numeric(19, 6), doc="item net price (BT-146)")
    net_amount: Mapped[Decimal | None] = mapped_column(Numeric(19, 2), doc="line net amount (BT-131)")
    tax_category: Mapped[str | None] = mapped_column(String(8), doc="VAT category code (BT-151)")
    tax_rate: Mapped[Decimal | None] = mapped_column(Numeric(7, 3), doc="VAT rate in percent (BT-152)")


class EInvoiceFinding(Base):
    """What validating a document's e-invoice found: a broken rule (fatal) or a warning."""

    __tablename__ = "einvoice_findings"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id", ondelete="SET NULL"), index=True)
    layer: Mapped[str] = mapped_column(String(16), doc="schema, en16931, xrechnung, profile, page")
    rule: Mapped[str] = mapped_column(String(64), doc="BR-CO-15, BR-DE-1, XSD ...")
    severity: Mapped[str] = mapped_column(String(16), doc="fatal, warning or information")
    message: Mapped[str] = mapped_column(Text)
    location: Mapped[str] = mapped_column(Text, doc="an XPath, or a line of the XML")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DerivedDocument(Base):
    """A document made from another (a rendering of an XML-only invoice); the original never changes."""

    __tablename__ = "derived_documents"
    __table_args__ = (UniqueConstraint("original_id", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    original_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), doc="the derived document")
    purpose: Mapped[str] = mapped_column(String(32), doc="rendering-pdf, rendering-html")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
