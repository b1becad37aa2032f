"""invoices: their lines and the e-invoice validation findings

Revision ID: 0006_invoice_lines
Revises: 0005_partial_invoice_indexes
"""
from typing import Sequence, Union

revision: str = "0006_invoice_lines"
down_revision: Union[str, Sequence[str], None] = "0005_partial_invoice_indexes"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
