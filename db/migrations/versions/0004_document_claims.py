"""documents: when a read claimed the document (a claim left by a stopped run is released)

Revision ID: 0004_document_claims
Revises: 0003_reminders
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0004_document_claims"
down_revision: Union[str, Sequence[str], None] = "0003_reminders"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("claimed_at")
