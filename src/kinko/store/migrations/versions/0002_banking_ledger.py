"""transfers, bill payments and ledger entries of the IB's own ledger

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kinko.store.rows import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('transfers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('receipt_number', sa.String(length=12), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('from_account_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('fee', sa.BigInteger(), nullable=False),
    sa.Column('payee_bank_code', sa.String(length=4), nullable=True),
    sa.Column('payee_bank_name', sa.String(length=40), nullable=True),
    sa.Column('payee_branch_code', sa.String(length=3), nullable=True),
    sa.Column('payee_account_type', sa.String(length=16), nullable=True),
    sa.Column('payee_account_number', sa.String(length=7), nullable=True),
    sa.Column('payee_kana', sa.String(length=60), nullable=True),
    sa.Column('biller_number', sa.String(length=5), nullable=True),
    sa.Column('biller_name', sa.String(length=40), nullable=True),
    sa.Column('customer_number', sa.String(length=20), nullable=True),
    sa.Column('confirmation_number', sa.String(length=16), nullable=True),
    sa.Column('request_key', sa.String(length=64), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('transfer', 'bill_payment')", name=op.f('ck_transfers_kind')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_transfers_amount_positive')),
    sa.CheckConstraint('fee >= 0', name=op.f('ck_transfers_fee_not_negative')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_transfers_customer_id_customers')),
    sa.ForeignKeyConstraint(['from_account_id'], ['accounts.id'], name=op.f('fk_transfers_from_account_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfers')),
    sa.UniqueConstraint('receipt_number', name=op.f('uq_transfers_receipt_number')),
    sa.UniqueConstraint('request_key', name=op.f('uq_transfers_request_key'))
    )
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transfers_customer_id'), ['customer_id'], unique=False)

    op.create_table('ledger_entries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('transfer_id', sa.Integer(), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('balance_after', sa.BigInteger(), nullable=False),
    sa.Column('description', sa.String(length=60), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_ledger_entries_account_id_accounts')),
    sa.ForeignKeyConstraint(['transfer_id'], ['transfers.id'], name=op.f('fk_ledger_entries_transfer_id_transfers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries'))
    )
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entries_account_id_id', ['account_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entries_account_id_id')

    op.drop_table('ledger_entries')
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transfers_customer_id'))

    op.drop_table('transfers')
