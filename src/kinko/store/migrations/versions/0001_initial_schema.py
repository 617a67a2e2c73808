"""customers, tokens, audit trail and accounts

Revision ID: 0001
Revises: 
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kinko.store.rows import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('occurred_at', UTCDateTime(), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('contract_id', sa.String(length=10), nullable=True),
    sa.Column('serial', sa.String(length=12), nullable=True),
    sa.Column('reason', sa.String(length=255), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_contract_id'), ['contract_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_occurred_at'), ['occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_serial'), ['serial'], unique=False)

    op.create_table('customers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('login_password_hash', sa.String(length=255), nullable=False),
    sa.Column('login_failures', sa.Integer(), nullable=False),
    sa.Column('login_locked_at', UTCDateTime(), nullable=True),
    sa.Column('confirmation_password_hash', sa.String(length=255), nullable=False),
    sa.Column('confirmation_failures', sa.Integer(), nullable=False),
    sa.Column('confirmation_locked_at', UTCDateTime(), nullable=True),
    sa.Column('login_otp_required', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers')),
    sa.UniqueConstraint('contract_id', name=op.f('uq_customers_contract_id'))
    )
    op.create_table('accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('branch_code', sa.String(length=3), nullable=False),
    sa.Column('branch_name', sa.String(length=40), nullable=False),
    sa.Column('account_type', sa.String(length=16), nullable=False),
    sa.Column('account_number', sa.String(length=7), nullable=False),
    sa.Column('holder_kana', sa.String(length=60), nullable=False),
    sa.Column('balance', sa.BigInteger(), nullable=False),
    sa.Column('opened_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_accounts_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('branch_code', 'account_type', 'account_number', name=op.f('uq_accounts_branch_code_account_type_account_number'))
    )
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accounts_customer_id'), ['customer_id'], unique=False)

    op.create_table('tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('serial', sa.String(length=12), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('algorithm', sa.String(length=8), nullable=False),
    sa.Column('digits', sa.Integer(), nullable=False),
    sa.Column('period', sa.Integer(), nullable=False),
    sa.Column('t0', sa.BigInteger(), nullable=False),
    sa.Column('seed_key_id', sa.String(length=32), nullable=False),
    sa.Column('seed_nonce', sa.LargeBinary(length=12), nullable=False),
    sa.Column('seed_ciphertext', sa.LargeBinary(length=128), nullable=False),
    sa.Column('last_step', sa.BigInteger(), nullable=True),
    sa.Column('drift', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('expires_at', UTCDateTime(), nullable=True),
    sa.Column('bound_at', UTCDateTime(), nullable=True),
    sa.Column('state_changed_at', UTCDateTime(), nullable=False),
    sa.Column('last_used_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_tokens_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tokens')),
    sa.UniqueConstraint('serial', name=op.f('uq_tokens_serial'))
    )
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.create_index('ix_tokens_state_expires_at', ['state', 'expires_at'], unique=False)
        batch_op.create_index('uq_tokens_one_bound_per_customer', ['customer_id'], unique=True, sqlite_where=sa.text("state IN ('active', 'locked', 'suspended')"), postgresql_where=sa.text("state IN ('active', 'locked', 'suspended')"))



def downgrade() -> None:
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.drop_index('uq_tokens_one_bound_per_customer', sqlite_where=sa.text("state IN ('active', 'locked', 'suspended')"), postgresql_where=sa.text("state IN ('active', 'locked', 'suspended')"))
        batch_op.drop_index('ix_tokens_state_expires_at')

    op.drop_table('tokens')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accounts_customer_id'))

    op.drop_table('accounts')
    op.drop_table('customers')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_serial'))
        batch_op.drop_index(batch_op.f('ix_audit_events_occurred_at'))
        batch_op.drop_index(batch_op.f('ix_audit_events_contract_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))

    op.drop_table('audit_events')
