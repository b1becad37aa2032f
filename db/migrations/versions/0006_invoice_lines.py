"""invoices: their lines and the e-invoice validation findings

Revision ID: 0006_invoice_lines
Revises: 0005_partial_invoice_indexes
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0006_invoice_lines"
down_revision: Union[str, Sequence[str], None] = "0005_partial_invoice_indexes"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "invoice_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.String(length=100), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("quantity", sa.Numeric(precision=19, scale=4), nullable=True),
        sa.Column("unit", sa.String(length=16), nullable=True),
        sa.Column("unit_price", sa.Numeric(precision=19, scale=6), nullable=True),
        sa.Column("net_amount", sa.Numeric(precision=19, scale=2), nullable=True),
        sa.Column("tax_category", sa.String(length=8), nullable=True),
        sa.Column("tax_rate", sa.Numeric(precision=7, scale=3), nullable=True),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], name=op.f("fk_invoice_lines_document_id_documents")),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_lines_invoice_id_invoices"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_lines")),
        sa.UniqueConstraint("invoice_id", "position", name=op.f("uq_invoice_lines_invoice_id_position")),
    )
    op.create_index(op.f("ix_invoice_lines_invoice_id"), "invoice_lines", ["invoice_id"])
    op.create_table(
        "einvoice_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("layer", sa.String(length=16), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], name=op.f("fk_einvoice_findings_document_id_documents"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_einvoice_findings_invoice_id_invoices"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_einvoice_findings")),
    )
    op.create_index(op.f("ix_einvoice_findings_document_id"), "einvoice_findings", ["document_id"])
    op.create_index(op.f("ix_einvoice_findings_invoice_id"), "einvoice_findings", ["invoice_id"])
    op.create_table(
        "derived_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("original_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], name=op.f("fk_derived_documents_document_id_documents")),
        sa.ForeignKeyConstraint(["original_id"], ["documents.id"], name=op.f("fk_derived_documents_original_id_documents"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_derived_documents")),
        sa.UniqueConstraint("original_id", "purpose", name=op.f("uq_derived_documents_original_id_purpose")),
    )
    op.create_index(op.f("ix_derived_documents_original_id"), "derived_documents", ["original_id"])


def downgrade() -> None:
    op.drop_table("derived_documents")
    op.drop_table("einvoice_findings")
    op.drop_table("invoice_lines")
