"""core schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21 17:16:16.647052

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    
    op.create_table('backups',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('path', sa.String(length=1000), nullable=False),
    sa.Column('database_kind', sa.String(length=16), nullable=False),
    sa.Column('archive_sha256', sa.String(length=64), nullable=True),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('file_count', sa.Integer(), nullable=True),
    sa.Column('new_file_count', sa.Integer(), nullable=True),
    sa.Column('invoice_count', sa.Integer(), nullable=True),
    sa.Column('parent_id', sa.String(length=64), nullable=True),
    sa.Column('duration_seconds', sa.Double(), nullable=True),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.CheckConstraint("status IN ('running', 'created', 'verified', 'failed', 'pruned')", name=op.f('ck_backups_status_valid')),
    sa.ForeignKeyConstraint(['parent_id'], ['backups.id'], name=op.f('fk_backups_parent_id_backups')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_backups')),
    sa.UniqueConstraint('archive_sha256', name=op.f('uq_backups_archive_sha256'))
    )
    op.create_table('documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('mime_type', sa.String(length=100), nullable=False),
    sa.Column('storage_path', sa.String(length=200), nullable=False),
    sa.Column('original_name', sa.String(length=500), nullable=False),
    sa.Column('page_count', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('text_source', sa.String(length=16), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('stored', 'processing', 'processed', 'not_invoice', 'failed', 'quarantined')", name=op.f('ck_documents_status_valid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents')),
    sa.UniqueConstraint('sha256', name=op.f('uq_documents_sha256'))
    )
    op.create_index(op.f('ix_documents_status'), 'documents', ['status'], unique=False)
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('locale', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('reminder_preferences', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('admin', 'accountant', 'member')", name=op.f('ck_users_role_valid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('vendors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('name_key', sa.String(length=300), nullable=False),
    sa.Column('vat_id', sa.String(length=40), nullable=True),
    sa.Column('iban', sa.String(length=40), nullable=True),
    sa.Column('default_currency', sa.String(length=3), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vendors')),
    sa.UniqueConstraint('name_key', name=op.f('uq_vendors_name_key'))
    )
    op.create_index(op.f('ix_vendors_vat_id'), 'vendors', ['vat_id'], unique=False)
    op.create_table('mail_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=100), nullable=False),
    sa.Column('folder', sa.String(length=200), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=False),
    sa.Column('uid', sa.BigInteger(), nullable=False),
    sa.Column('message_id', sa.String(length=500), nullable=True),
    sa.Column('subject', sa.String(length=1000), nullable=True),
    sa.Column('sender', sa.String(length=500), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('raw_document_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('claimed', 'processed', 'no_documents', 'skipped', 'failed', 'gave_up')", name=op.f('ck_mail_messages_status_valid')),
    sa.ForeignKeyConstraint(['raw_document_id'], ['documents.id'], name=op.f('fk_mail_messages_raw_document_id_documents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_messages')),
    sa.UniqueConstraint('account', 'folder', 'uidvalidity', 'uid', name=op.f('uq_mail_messages_account_folder_uidvalidity_uid'))
    )
    op.create_index(op.f('ix_mail_messages_message_id'), 'mail_messages', ['message_id'], unique=False)
    op.create_index(op.f('ix_mail_messages_status'), 'mail_messages', ['status'], unique=False)
    op.create_table('vendor_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('vendor_id', sa.Integer(), nullable=True),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('exclude_keywords', sa.JSON(), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['vendor_id'], ['vendors.id'], name=op.f('fk_vendor_templates_vendor_id_vendors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vendor_templates')),
    sa.UniqueConstraint('name', name=op.f('uq_vendor_templates_name'))
    )
    op.create_index(op.f('ix_vendor_templates_vendor_id'), 'vendor_templates', ['vendor_id'], unique=False)
    op.create_table('workbooks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_workbooks_document_id_documents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workbooks')),
    sa.UniqueConstraint('name', 'sha256', name=op.f('uq_workbooks_name_sha256'))
    )
    op.create_table('document_origins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('mail_message_id', sa.Integer(), nullable=True),
    sa.Column('original_name', sa.String(length=500), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_document_origins_document_id_documents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['mail_message_id'], ['mail_messages.id'], name=op.f('fk_document_origins_mail_message_id_mail_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_origins')),
    sa.UniqueConstraint('document_id', 'mail_message_id', 'original_name', name=op.f('uq_document_origins_document_id_mail_message_id_original_name'))
    )
    op.create_index(op.f('ix_document_origins_document_id'), 'document_origins', ['document_id'], unique=False)
    op.create_index(op.f('ix_document_origins_mail_message_id'), 'document_origins', ['mail_message_id'], unique=False)
    op.create_table('invoices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=12), nullable=False),
    sa.Column('counterparty', sa.String(length=300), nullable=False),
    sa.Column('counterparty_key', sa.String(length=300), nullable=False),
    sa.Column('number', sa.String(length=100), nullable=False),
    sa.Column('vendor_id', sa.Integer(), nullable=True),
    sa.Column('counterparty_vat_id', sa.String(length=40), nullable=True),
    sa.Column('customer_name', sa.String(length=300), nullable=True),
    sa.Column('iban', sa.String(length=40), nullable=True),
    sa.Column('reference', sa.String(length=100), nullable=True),
    sa.Column('issue_date', sa.Date(), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('net', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('tax', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('total', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('is_credit_note', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('paid_date', sa.Date(), nullable=True),
    sa.Column('paid_amount', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('contact_email', sa.String(length=320), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('mail_message_id', sa.Integer(), nullable=True),
    sa.Column('confidence', sa.Double(), nullable=True),
    sa.Column('needs_review', sa.Boolean(), nullable=False),
    sa.Column('review_reasons', sa.JSON(), nullable=False),
    sa.Column('field_sources', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("direction IN ('payable', 'receivable')", name=op.f('ck_invoices_direction_valid')),
    sa.CheckConstraint("status IN ('open', 'partially_paid', 'paid', 'cancelled', 'disputed', 'needs_review')", name=op.f('ck_invoices_status_valid')),
    sa.CheckConstraint('confidence IS NULL OR (confidence >= 0 AND confidence <= 1)', name=op.f('ck_invoices_confidence_range')),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_invoices_document_id_documents')),
    sa.ForeignKeyConstraint(['mail_message_id'], ['mail_messages.id'], name=op.f('fk_invoices_mail_message_id_mail_messages')),
    sa.ForeignKeyConstraint(['vendor_id'], ['vendors.id'], name=op.f('fk_invoices_vendor_id_vendors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoices')),
    sa.UniqueConstraint('counterparty_key', 'number', name=op.f('uq_invoices_counterparty_key_number'))
    )
    op.create_index(op.f('ix_invoices_document_id'), 'invoices', ['document_id'], unique=False)
    op.create_index('ix_invoices_status_due_date', 'invoices', ['status', 'due_date'], unique=False)
    op.create_index(op.f('ix_invoices_vendor_id'), 'invoices', ['vendor_id'], unique=False)
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('flow_run_id', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_audit_events_invoice_id_invoices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    op.create_index(op.f('ix_audit_events_invoice_id'), 'audit_events', ['invoice_id'], unique=False)
    op.create_table('reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('digest_id', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('flow_run_id', sa.String(length=64), nullable=True),
    sa.CheckConstraint("status IN ('claimed', 'sent', 'failed', 'uncertain')", name=op.f('ck_reminders_status_valid')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_reminders_invoice_id_invoices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminders')),
    sa.UniqueConstraint('invoice_id', 'level', 'recipient', name=op.f('uq_reminders_invoice_id_level_recipient'))
    )
    op.create_index(op.f('ix_reminders_digest_id'), 'reminders', ['digest_id'], unique=False)
    op.create_index(op.f('ix_reminders_invoice_id'), 'reminders', ['invoice_id'], unique=False)
    op.create_table('workbook_rows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workbook_name', sa.String(length=300), nullable=False),
    sa.Column('sheet', sa.String(length=100), nullable=False),
    sa.Column('invoice_key', sa.String(length=400), nullable=False),
    sa.Column('row_number', sa.Integer(), nullable=False),
    sa.Column('values', sa.JSON(), nullable=False),
    sa.Column('row_hash', sa.String(length=64), nullable=False),
    sa.Column('workbook_id', sa.Integer(), nullable=True),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_workbook_rows_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['workbook_id'], ['workbooks.id'], name=op.f('fk_workbook_rows_workbook_id_workbooks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workbook_rows')),
    sa.UniqueConstraint('workbook_name', 'sheet', 'invoice_key', name=op.f('uq_workbook_rows_workbook_name_sheet_invoice_key'))
    )
    op.create_index(op.f('ix_workbook_rows_invoice_id'), 'workbook_rows', ['invoice_id'], unique=False)
    op.create_table('invoice_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('workbook_row_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_invoice_links_document_id_documents')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_links_invoice_id_invoices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workbook_row_id'], ['workbook_rows.id'], name=op.f('fk_invoice_links_workbook_row_id_workbook_rows')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_links')),
    sa.UniqueConstraint('invoice_id', 'document_id', name=op.f('uq_invoice_links_invoice_id_document_id')),
    sa.UniqueConstraint('invoice_id', 'workbook_row_id', name=op.f('uq_invoice_links_invoice_id_workbook_row_id'))
    )
    op.create_index(op.f('ix_invoice_links_invoice_id'), 'invoice_links', ['invoice_id'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    
    op.drop_index(op.f('ix_invoice_links_invoice_id'), table_name='invoice_links')
    op.drop_table('invoice_links')
    op.drop_index(op.f('ix_workbook_rows_invoice_id'), table_name='workbook_rows')
    op.drop_table('workbook_rows')
    op.drop_index(op.f('ix_reminders_invoice_id'), table_name='reminders')
    op.drop_index(op.f('ix_reminders_digest_id'), table_name='reminders')
    op.drop_table('reminders')
    op.drop_index(op.f('ix_audit_events_invoice_id'), table_name='audit_events')
    op.drop_table('audit_events')
    op.drop_index(op.f('ix_invoices_vendor_id'), table_name='invoices')
    op.drop_index('ix_invoices_status_due_date', table_name='invoices')
    op.drop_index(op.f('ix_invoices_document_id'), table_name='invoices')
    op.drop_table('invoices')
    op.drop_index(op.f('ix_document_origins_mail_message_id'), table_name='document_origins')
    op.drop_index(op.f('ix_document_origins_document_id'), table_name='document_origins')
    op.drop_table('document_origins')
    op.drop_table('workbooks')
    op.drop_index(op.f('ix_vendor_templates_vendor_id'), table_name='vendor_templates')
    op.drop_table('vendor_templates')
    op.drop_index(op.f('ix_mail_messages_status'), table_name='mail_messages')
    op.drop_index(op.f('ix_mail_messages_message_id'), table_name='mail_messages')
    op.drop_table('mail_messages')
    op.drop_index(op.f('ix_vendors_vat_id'), table_name='vendors')
    op.drop_table('vendors')
    op.drop_table('users')
    op.drop_index(op.f('ix_documents_status'), table_name='documents')
    op.drop_table('documents')
    op.drop_table('backups')

