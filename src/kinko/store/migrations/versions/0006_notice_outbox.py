"""customer e-mail notices: the outbox the delivery worker reads

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kinko.store.rows import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notice_outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("contract_id", sa.String(length=10), nullable=False),
        sa.Column("serial", sa.String(length=12), nullable=True),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("recipient_name", sa.String(length=100), nullable=False),
        sa.Column("message_key", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("lease", sa.String(length=32), nullable=True),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("failed_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')",
                           name=op.f("ck_notice_outbox_status")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_notice_outbox_attempts_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_outbox")),
        sa.UniqueConstraint("message_key", name=op.f("uq_notice_outbox_message_key")),
    )
    with op.batch_alter_table("notice_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notice_outbox_contract_id"), ["contract_id"],
                              unique=False)
        batch_op.create_index("ix_notice_outbox_status_next_attempt_at",
                              ["status", "next_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notice_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_notice_outbox_status_next_attempt_at")
        batch_op.drop_index(batch_op.f("ix_notice_outbox_contract_id"))
    op.drop_table("notice_outbox")
