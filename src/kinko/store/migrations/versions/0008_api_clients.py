"""API clients of bank systems; four-eyes requests may come from an API client

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kinko.store.rows import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_clients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("rotated_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_clients")),
        sa.UniqueConstraint("name", name=op.f("uq_api_clients_name")),
    )
    # SQLite rebuilds the table here (batch mode); PostgreSQL alters it in place.
    with op.batch_alter_table("staff_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requested_by_client_id", sa.Integer(), nullable=True))
        batch_op.alter_column("requested_by_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f("fk_staff_requests_requested_by_client_id_api_clients"),
            "api_clients", ["requested_by_client_id"], ["id"])
        batch_op.create_check_constraint(
            batch_op.f("ck_staff_requests_one_requester"),
            "(requested_by_id IS NULL) <> (requested_by_client_id IS NULL)")


def downgrade() -> None:
    # Requests made by API clients cannot be kept without a staff requester.
    op.execute("DELETE FROM staff_requests WHERE requested_by_id IS NULL")
    with op.batch_alter_table("staff_requests", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_staff_requests_one_requester"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_staff_requests_requested_by_client_id_api_clients"),
            type_="foreignkey")
        batch_op.alter_column("requested_by_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("requested_by_client_id")
    op.drop_table("api_clients")
