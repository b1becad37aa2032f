"""The core schema: one table per real-world thing, each with the natural key that makes
re-running any step safe (see "How data flows" in the README).

Enumerations are stored as short strings guarded by CHECK constraints, so that the same
migrations run on PostgreSQL and SQLite.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = Numeric(14, 2)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp on every backend (SQLite drops the offset; this restores UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware value")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def _check_in(column: str, enum_type: type[enum.Enum]) -> CheckConstraint:
    values = ", ".join(f"'{member.value}'" for member in enum_type)
    return CheckConstraint(f"{column} IN ({values})", name=f"{column}_valid")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, Decimal: Money, dict[str, Any]: JSON, list[Any]: JSON}


class DocumentStatus(str, enum.Enum):
    STORED = "stored"  # bytes in the store, not yet read into an invoice
    PROCESSING = "processing"  # claimed by process-document
    PROCESSED = "processed"  # turned into (or linked to) an invoice
    NOT_INVOICE = "not_invoice"  # read fine, but holds no invoice
    FAILED = "failed"  # could not be read; error says why
    QUARANTINED = "quarantined"  # refused at intake; error says why


class Document(Base):
    """One stored file, identified by the sha256 of its bytes (the same bytes are stored once)."""

    __tablename__ = "documents"
    __table_args__ = (_check_in("status", DocumentStatus),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16), doc="pdf, image, xlsx, xml, eml, text, other")
    mime_type: Mapped[str] = mapped_column(String(100))
    storage_path: Mapped[str] = mapped_column(String(200), doc="path inside the document store")
    original_name: Mapped[str] = mapped_column(String(500), doc="first name it arrived under")
    page_count: Mapped[int | None]
    text: Mapped[str | None] = mapped_column(Text)
    text_source: Mapped[str | None] = mapped_column(String(16), doc="text, ocr, xml, mixed")
    status: Mapped[str] = mapped_column(String(16), default=DocumentStatus.STORED.value, index=True)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(doc="when a read took it (status processing)")
    processed_at: Mapped[datetime | None]

    origins: Mapped[list[DocumentOrigin]] = relationship(back_populates="document", cascade="all, delete-orphan")


class DocumentOrigin(Base):
    """Each arrival of a document: a drop-folder file, a mail attachment, an upload."""

    __tablename__ = "document_origins"
    __table_args__ = (UniqueConstraint("document_id", "mail_message_id", "original_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16), doc="folder, mail, upload, workbook")
    mail_message_id: Mapped[int | None] = mapped_column(ForeignKey("mail_messages.id"), index=True)
    original_name: Mapped[str] = mapped_column(String(500))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)

    document: Mapped[Document] = relationship(back_populates="origins")


class MailStatus(str, enum.Enum):
    CLAIMED = "claimed"  # taken by a poll; a crash leaves it here for the next poll
    PROCESSED = "processed"  # every document committed, mailbox action applied
    NO_DOCUMENTS = "no_documents"  # nothing usable in it; never fetched again
    SKIPPED = "skipped"  # filtered out by sender or subject rules
    FAILED = "failed"  # will be retried (attempts, next_attempt_at)
    GAVE_UP = "gave_up"  # moved to the failed folder for a person


class MailMessage(Base):
    """One message in one mailbox folder, keyed by (account, folder, UIDVALIDITY, UID)."""

    __tablename__ = "mail_messages"
    __table_args__ = (
        UniqueConstraint("account", "folder", "uidvalidity", "uid"),
        _check_in("status", MailStatus),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(String(100))
    folder: Mapped[str] = mapped_column(String(200))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[str | None] = mapped_column(String(500), index=True)
    subject: Mapped[str | None] = mapped_column(String(1000))
    sender: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None]
    raw_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    status: Mapped[str] = mapped_column(String(16), default=MailStatus.CLAIMED.value, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, doc="RFC822.SIZE reported by the server")
    content_sha256: Mapped[str | None] = mapped_column(String(64), index=True, doc="sha256 of the raw message")
    duplicate_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("mail_messages.id"), doc="the same message seen before (a recreated mailbox); not taken again"
    )
    parts: Mapped[list[Any]] = mapped_column(
        default=list, doc="each attachment: name, kind, outcome (stored, duplicate, quarantined, skipped ...), reason"
    )
    acted_at: Mapped[datetime | None] = mapped_column(doc="when the account's action (move, flag, seen) was applied")


class Direction(str, enum.Enum):
    PAYABLE = "payable"  # we owe the counterparty (a vendor)
    RECEIVABLE = "receivable"  # the counterparty (a customer) owes us


class InvoiceStatus(str, enum.Enum):
    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    CANCELLED = "cancelled"
    DISPUTED = "disputed"
    NEEDS_REVIEW = "needs_review"


class Vendor(Base):
    """A counterparty we know, with what identifies it on its documents."""

    __tablename__ = "vendors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    name_key: Mapped[str] = mapped_column(String(300), unique=True, doc="normalised name")
    vat_id: Mapped[str | None] = mapped_column(String(40), index=True)
    iban: Mapped[str | None] = mapped_column(String(40))
    default_currency: Mapped[str | None] = mapped_column(String(3))
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    templates: Mapped[list[VendorTemplate]] = relationship(back_populates="vendor")


class VendorTemplate(Base):
    """Extraction hints for one vendor: matched by keywords, adding or overriding field rules."""

    __tablename__ = "vendor_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("vendors.id"), index=True)
    keywords: Mapped[list[Any]] = mapped_column(default=list)
    exclude_keywords: Mapped[list[Any]] = mapped_column(default=list)
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict, doc="field name -> rule")
    options: Mapped[dict[str, Any]] = mapped_column(default=dict, doc="currency, date order, locale ...")
    origin: Mapped[str] = mapped_column(String(16), default="db", doc="db, yaml, review")
    priority: Mapped[int] = mapped_column(default=0)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    vendor: Mapped[Vendor | None] = relationship(back_populates="templates")


class Workbook(Base):
    """One imported version of a workbook file."""

    __tablename__ = "workbooks"
    __table_args__ = (UniqueConstraint("name", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300), doc="workbook identity: its normalised file name")
    sha256: Mapped[str] = mapped_column(String(64))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)


class WorkbookRow(Base):
    """One invoice row of a workbook sheet, keyed by (workbook, sheet, invoice key)."""

    __tablename__ = "workbook_rows"
    __table_args__ = (UniqueConstraint("workbook_name", "sheet", "invoice_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workbook_name: Mapped[str] = mapped_column(String(300))
    sheet: Mapped[str] = mapped_column(String(100))
    invoice_key: Mapped[str] = mapped_column(String(400))
    row_number: Mapped[int]
    values: Mapped[dict[str, Any]] = mapped_column(default=dict, doc="the row as read, by header")
    row_hash: Mapped[str] = mapped_column(String(64))
    workbook_id: Mapped[int | None] = mapped_column(ForeignKey("workbooks.id"))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), index=True)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class Invoice(Base):
    """One real-world invoice, keyed by (normalised counterparty, invoice number)."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("counterparty_key", "number"),
        _check_in("direction", Direction),
        _check_in("status", InvoiceStatus),
        CheckConstraint("confidence IS NULL OR (confidence >= 0 AND confidence <= 1)", name="confidence_range"),
        Index("ix_invoices_status_due_date", "status", "due_date"),
        # most workbook invoices have neither: only the invoices that have one are indexed
        *(Index(f"ix_invoices_{column}", column, postgresql_where=text(f"{column} IS NOT NULL"),
                sqlite_where=text(f"{column} IS NOT NULL")) for column in ("vendor_id", "document_id")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(12), default=Direction.PAYABLE.value)
    counterparty: Mapped[str] = mapped_column(String(300))
    counterparty_key: Mapped[str] = mapped_column(String(300))
    number: Mapped[str] = mapped_column(String(100))
    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("vendors.id"))
    counterparty_vat_id: Mapped[str | None] = mapped_column(String(40))
    customer_name: Mapped[str | None] = mapped_column(String(300))
    iban: Mapped[str | None] = mapped_column(String(40))
    reference: Mapped[str | None] = mapped_column(String(100), doc="purchase order or reference")
    issue_date: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    net: Mapped[Decimal | None]
    tax: Mapped[Decimal | None]
    total: Mapped[Decimal | None]
    is_credit_note: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default=InvoiceStatus.OPEN.value)
    paid_date: Mapped[date | None] = mapped_column(Date)
    paid_amount: Mapped[Decimal | None]
    contact_email: Mapped[str | None] = mapped_column(String(320))
    notes: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), doc="document, mail, workbook, manual")
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    mail_message_id: Mapped[int | None] = mapped_column(ForeignKey("mail_messages.id"))
    confidence: Mapped[float | None] = mapped_column(Double)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    review_reasons: Mapped[list[Any]] = mapped_column(default=list)
    field_sources: Mapped[dict[str, Any]] = mapped_column(default=dict, doc="field -> xml/template/text/ocr")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def balance(self) -> Decimal | None:
        if self.total is None:
            return None
        return self.total - (self.paid_amount or Decimal("0"))


class InvoiceLink(Base):
    """Every document an invoice was seen in (the same invoice, several files). Workbook rows name
    their invoice themselves (``WorkbookRow.invoice_id``); ``workbook_row_id`` here is no longer written."""

    __tablename__ = "invoice_links"
    __table_args__ = (
        UniqueConstraint("invoice_id", "document_id"),
        UniqueConstraint("invoice_id", "workbook_row_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    workbook_row_id: Mapped[int | None] = mapped_column(ForeignKey("workbook_rows.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """Every change to an invoice: who or which flow, when, and old -> new per field."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200), doc="user email or flow name")
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32), doc="create, update, payment, review ...")
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict, doc="field -> [old, new]")


class UserRole(str, enum.Enum):
    ADMIN = "admin"  # at the desk: people and settings, and everything a member does
    ACCOUNTANT = "accountant"
    MEMBER = "member"  # at the desk: acts on invoices
    VIEWER = "viewer"  # at the desk: reads only


class User(Base):
    """A person of the business: who gets reminders and alerts, in which language."""

    __tablename__ = "users"
    __table_args__ = (_check_in("role", UserRole),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default=UserRole.MEMBER.value)
    locale: Mapped[str] = mapped_column(String(16), default="en")
    active: Mapped[bool] = mapped_column(default=True)
    reminder_preferences: Mapped[dict[str, Any]] = mapped_column(
        default=dict, doc='{"directions": [...], "counterparties": [...]} ; empty = everything'
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_hash: Mapped[str | None] = mapped_column(String(200), doc="argon2; empty: cannot log in to the desk")
    password_changed_at: Mapped[datetime | None]


class ReminderStatus(str, enum.Enum):
    CLAIMED = "claimed"  # about to be sent; a crash leaves it "uncertain", never resent
    SENT = "sent"
    FAILED = "failed"  # permanent failure, recorded for a person
    UNCERTAIN = "uncertain"  # claimed but never marked: reported, not resent


class Reminder(Base):
    """The reminders ledger: one row per (invoice, level, recipient), claimed before sending."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("invoice_id", "level", "recipient"),
        _check_in("status", ReminderStatus),
        Index("ix_reminders_status_claimed_at", "status", "claimed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    level: Mapped[int] = mapped_column(Integer, doc="index of the reminder level (repeats continue the count)")
    recipient: Mapped[str] = mapped_column(String(320))
    digest_id: Mapped[str | None] = mapped_column(String(64), index=True, doc="the email it went out in")
    status: Mapped[str] = mapped_column(String(16), default=ReminderStatus.CLAIMED.value)
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    next_attempt_at: Mapped[datetime | None] = mapped_column(
        doc="failed for now (server down): a run from then on tries again; empty: not tried again"
    )


class BackupStatus(str, enum.Enum):
    RUNNING = "running"
    CREATED = "created"
    VERIFIED = "verified"
    FAILED = "failed"
    PRUNED = "pruned"


class Backup(Base):
    """One backup: a timestamped folder with a database dump, a manifest and new files."""

    __tablename__ = "backups"
    __table_args__ = (_check_in("status", BackupStatus),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True, doc="timestamped id")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=BackupStatus.RUNNING.value)
    path: Mapped[str] = mapped_column(String(1000))
    database_kind: Mapped[str] = mapped_column(String(16), doc="postgresql or sqlite")
    archive_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    file_count: Mapped[int | None]
    new_file_count: Mapped[int | None]
    invoice_count: Mapped[int | None]
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("backups.id"), doc="previous backup in the chain")
    duration_seconds: Mapped[float | None] = mapped_column(Double)
    verified_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class DeskSession(Base):
    """A person logged in to the desk: the sha256 of the cookie's token, never the token itself."""

    __tablename__ = "desk_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64), doc="sent back by every form of this session")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class LoginFailure(Base):
    """A wrong password at the desk's login, counted to throttle guessing."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True, doc="the client's IP address")
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class InvoiceAssignment(Base):
    """The person at the desk who looks after an invoice (one at most)."""

    __tablename__ = "invoice_assignments"

    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)


class SavedFilter(Base):
    """A person's named view of the invoice list; at most one is their default."""

    __tablename__ = "saved_filters"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[str] = mapped_column(String(2000), doc="the list's query string")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
