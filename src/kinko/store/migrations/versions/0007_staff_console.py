"""staff accounts with their own TOTP tokens, and four-eyes requests

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kinko.store.rows import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("password_failures", sa.Integer(), nullable=False),
        sa.Column("password_locked_at", UTCDateTime(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("name", name=op.f("uq_staff_name")),
    )
    op.create_table(
        "staff_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("contract_id", sa.String(length=10), nullable=False),
        sa.Column("serial", sa.String(length=12), nullable=True),
        sa.Column("password_kind", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["decided_by_id"], ["staff.id"],
                                name=op.f("fk_staff_requests_decided_by_id_staff")),
        sa.ForeignKeyConstraint(["requested_by_id"], ["staff.id"],
                                name=op.f("fk_staff_requests_requested_by_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_requests")),
    )
    with op.batch_alter_table("staff_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_requests_contract_id"), ["contract_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_staff_requests_state"), ["state"], unique=False)
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("staff_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_tokens_staff_id"), ["staff_id"])
        batch_op.create_foreign_key(batch_op.f("fk_tokens_staff_id_staff"), "staff",
                                    ["staff_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_tokens_staff_id_staff"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_tokens_staff_id"), type_="unique")
        batch_op.drop_column("staff_id")
    with op.batch_alter_table("staff_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_requests_state"))
        batch_op.drop_index(batch_op.f("ix_staff_requests_contract_id"))
    op.drop_table("staff_requests")
    op.drop_table("staff")
