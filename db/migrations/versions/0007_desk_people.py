"""the desk: people who log in, their sessions, saved filters and the invoices assigned to them

Revision ID: 0007_desk_people
Revises: 0006_invoice_lines
"""
from typing import Sequence, Union

revision: str = "0007_desk_people"
down_revision: Union[str, Sequence[str], None] = "0006_invoice_lines"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
