"""registered payees (登録振込先), daily transfer limits (振込限度額), and the facts a
payment's notice carries in the outbox

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kinko.store.rows import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registered_payees",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("bank_code", sa.String(length=4), nullable=False),
        sa.Column("bank_name", sa.String(length=40), nullable=False),
        sa.Column("branch_code", sa.String(length=3), nullable=False),
        sa.Column("account_type", sa.String(length=16), nullable=False),
        sa.Column("account_number", sa.String(length=7), nullable=False),
        sa.Column("kana", sa.String(length=60), nullable=False),
        sa.Column("saved_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"],
                                name=op.f("fk_registered_payees_customer_id_customers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registered_payees")),
        sa.UniqueConstraint(
            "customer_id", "bank_code", "branch_code", "account_type", "account_number",
            name=op.f("uq_registered_payees_account")),
    )
    with op.batch_alter_table("registered_payees") as batch:
        batch.create_index(batch.f("ix_registered_payees_customer_id"), ["customer_id"],
                           unique=False)
    op.create_table(
        "transfer_limits",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("daily_limit", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("daily_limit >= 0",
                           name=op.f("ck_transfer_limits_daily_limit_not_negative")),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"],
                                name=op.f("fk_transfer_limits_customer_id_customers")),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_transfer_limits")),
    )
    with op.batch_alter_table("notice_outbox") as batch:
        batch.add_column(sa.Column("facts", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notice_outbox") as batch:
        batch.drop_column("facts")
    op.drop_table("transfer_limits")
    with op.batch_alter_table("registered_payees") as batch:
        batch.drop_index(batch.f("ix_registered_payees_customer_id"))
    op.drop_table("registered_payees")
