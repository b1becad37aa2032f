"""the desk: people who log in, their sessions, saved filters and the invoices assigned to them

Revision ID: 0007_desk_people
Revises: 0006_invoice_lines
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0007_desk_people"
down_revision: Union[str, Sequence[str], None] = "0006_invoice_lines"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ROLES_BEFORE = ("admin", "accountant", "member")
ROLES = (*ROLES_BEFORE, "viewer")


def _roles(roles: tuple[str, ...]) -> str:
    return "role IN (" + ", ".join(f"'{role}'" for role in roles) + ")"


def _users_table(roles: tuple[str, ...], with_passwords: bool) -> sa.Table:
    """The users table as it stands before the change (SQLite rebuilds it from this)."""
    columns = [
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("reminder_preferences", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    ]
    if with_passwords:
        columns += [sa.Column("password_hash", sa.String(length=200), nullable=True),
                    sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True)]
    return sa.Table(
        "users", sa.MetaData(), *columns,
        sa.CheckConstraint(_roles(roles), name="ck_users_role_valid"),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )


def upgrade() -> None:
    # users first: nothing refers to it yet, so SQLite can rebuild it safely
    with op.batch_alter_table("users", copy_from=_users_table(ROLES_BEFORE, False)) as batch:
        batch.add_column(sa.Column("password_hash", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True))
        batch.drop_constraint(op.f("ck_users_role_valid"), type_="check")
        batch.create_check_constraint(op.f("ck_users_role_valid"), _roles(ROLES))
    op.create_table(
        "desk_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_desk_sessions_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_sessions")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_desk_sessions_token_sha256")),
    )
    op.create_index(op.f("ix_desk_sessions_user_id"), "desk_sessions", ["user_id"], unique=False)
    op.create_index(op.f("ix_desk_sessions_expires_at"), "desk_sessions", ["expires_at"], unique=False)
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    for column in ("email", "address", "at"):
        op.create_index(op.f(f"ix_login_failures_{column}"), "login_failures", [column], unique=False)
    op.create_table(
        "invoice_assignments",
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_assignments_invoice_id_invoices"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_invoice_assignments_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("invoice_id", name=op.f("pk_invoice_assignments")),
    )
    op.create_index(op.f("ix_invoice_assignments_user_id"), "invoice_assignments", ["user_id"], unique=False)
    op.create_table(
        "saved_filters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("query", sa.String(length=2000), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_saved_filters_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_filters")),
        sa.UniqueConstraint("user_id", "name", name=op.f("uq_saved_filters_user_id_name")),
    )
    op.create_index(op.f("ix_saved_filters_user_id"), "saved_filters", ["user_id"], unique=False)


def downgrade() -> None:
    for table in ("saved_filters", "invoice_assignments", "login_failures", "desk_sessions"):
        op.drop_table(table)
    op.execute("UPDATE users SET role = 'member' WHERE role = 'viewer'")
    with op.batch_alter_table("users", copy_from=_users_table(ROLES, True)) as batch:
        batch.drop_constraint(op.f("ck_users_role_valid"), type_="check")
        batch.create_check_constraint(op.f("ck_users_role_valid"), _roles(ROLES_BEFORE))
        batch.drop_column("password_changed_at")
        batch.drop_column("password_hash")
