"""reminders: retry time of temporarily failed reminders, index for stale claims

Revision ID: 0003_reminders
Revises: 0002_mailbox
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0003_reminders"
down_revision: Union[str, Sequence[str], None] = "0002_mailbox"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("reminders") as batch:
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_reminders_status_claimed_at", "reminders", ["status", "claimed_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_reminders_status_claimed_at", table_name="reminders")
    with op.batch_alter_table("reminders") as batch:
        batch.drop_column("next_attempt_at")
