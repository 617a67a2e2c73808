"""audit chain: seq, prev_hash and hash on every event, and the chain head

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26

Events already stored stay unsealed (seq NULL) and are sealed, in id order, by the first
``seal_pending`` after the upgrade, like any event written since.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: The chain starts from 32 zero bytes (``kinko.store.audit_chain.GENESIS_HASH``).
GENESIS_HASH = "0" * 64


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_audit_events_seq"), ["seq"])
        batch_op.create_check_constraint(
            op.f("ck_audit_events_sealed_all_or_nothing"),
            "(seq IS NULL AND prev_hash IS NULL AND hash IS NULL)"
            " OR (seq >= 1 AND prev_hash IS NOT NULL AND hash IS NOT NULL)",
        )
        batch_op.create_index(batch_op.f("ix_audit_events_actor"), ["actor"], unique=False)
        batch_op.create_index("ix_audit_events_unsealed_id", ["id"], unique=False, sqlite_where=sa.text("seq IS NULL"), postgresql_where=sa.text("seq IS NULL"))

    head = op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_chain_head_single_row")),
        sa.CheckConstraint("last_seq >= 0", name=op.f("ck_audit_chain_head_last_seq_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    op.bulk_insert(head, [{"id": 1, "last_seq": 0, "last_hash": GENESIS_HASH}])


def downgrade() -> None:
    op.drop_table("audit_chain_head")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_unsealed_id", sqlite_where=sa.text("seq IS NULL"), postgresql_where=sa.text("seq IS NULL"))
        batch_op.drop_index(batch_op.f("ix_audit_events_actor"))
        batch_op.drop_constraint(batch_op.f("ck_audit_events_sealed_all_or_nothing"), type_="check")
        batch_op.drop_constraint(batch_op.f("uq_audit_events_seq"), type_="unique")
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")
