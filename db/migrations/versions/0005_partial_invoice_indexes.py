"""invoices: the vendor and document indexes hold only the invoices that have one

Revision ID: 0005_partial_invoice_indexes
Revises: 0004_document_claims
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0005_partial_invoice_indexes"
down_revision: Union[str, Sequence[str], None] = "0004_document_claims"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

COLUMNS = ("vendor_id", "document_id")


def upgrade() -> None:
    for column in COLUMNS:
        op.drop_index(f"ix_invoices_{column}", table_name="invoices")
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(f"ix_invoices_{column}", "invoices", [column], postgresql_where=where, sqlite_where=where)


def downgrade() -> None:
    for column in COLUMNS:
        op.drop_index(f"ix_invoices_{column}", table_name="invoices")
        op.create_index(f"ix_invoices_{column}", "invoices", [column])
