"""mailbox: message size, content hash, duplicate link, attachment outcomes, action time

Revision ID: 0002_mailbox
Revises: 0001
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002_mailbox"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("mail_messages") as batch:
        batch.add_column(sa.Column("size_bytes", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("content_sha256", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("duplicate_of_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("parts", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch.add_column(sa.Column("acted_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(
            "fk_mail_messages_duplicate_of_id_mail_messages", "mail_messages", ["duplicate_of_id"], ["id"]
        )
        batch.create_index("ix_mail_messages_content_sha256", ["content_sha256"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mail_messages") as batch:
        batch.drop_index("ix_mail_messages_content_sha256")
        batch.drop_constraint("fk_mail_messages_duplicate_of_id_mail_messages", type_="foreignkey")
        for column in ("acted_at", "parts", "duplicate_of_id", "content_sha256", "size_bytes"):
            batch.drop_column(column)
