"""audit event MAC: each event carries the HMAC its writer made, checked before sealing

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

``mac_key_id`` (the keyring key the MAC key was derived from), ``mac_nonce`` (16 random
bytes, hex) and ``mac`` (HMAC-SHA256, hex): all three NULL or all three set. Events stored
before this upgrade keep NULLs: they were "written before MACs", and the chain alone covers
them (see ``kinko.store.audit_chain``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mac_key_id", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("mac_nonce", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("mac", sa.String(length=64), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_audit_events_mac_all_or_nothing"),
            "(mac_key_id IS NULL AND mac_nonce IS NULL AND mac IS NULL)"
            " OR (mac_key_id IS NOT NULL AND mac_nonce IS NOT NULL AND mac IS NOT NULL)",
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_audit_events_mac_all_or_nothing"), type_="check")
        batch_op.drop_column("mac")
        batch_op.drop_column("mac_nonce")
        batch_op.drop_column("mac_key_id")
