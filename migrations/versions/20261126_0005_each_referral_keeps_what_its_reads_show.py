"""each referral keeps what its reads show

A referral's row keeps its stage records as reads show them (`stages_doc`), the approval
waiting for a decision (`pending_approval_id`) and its brothers' and sisters' referrals
(`related_ids`), so reading a referral costs the same whatever its history. The links and the
pending approval are filled here from their tables; the stage document is built by
`referral db upgrade` after the migrations, with this release's code (a referral without one
is read from its tables until then).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stages_doc", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("pending_approval_id", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("related_ids", sa.JSON(), nullable=False, server_default="[]")
        )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.alter_column("related_ids", server_default=None)

    bind = op.get_bind()
    referrals = sa.table(
        "referrals",
        sa.column("id"),
        sa.column("pending_approval_id"),
        sa.column("related_ids", sa.JSON()),
    )
    approvals = sa.table(
        "approvals",
        sa.column("id"),
        sa.column("referral_id"),
        sa.column("status"),
    )
    links = sa.table("referral_links", sa.column("referral_id"), sa.column("related_id"))
    for approval_id, referral_id in bind.execute(
        sa.select(approvals.c.id, approvals.c.referral_id).where(approvals.c.status == "pending")
    ):
        bind.execute(
            sa.update(referrals)
            .where(referrals.c.id == referral_id)
            .values(pending_approval_id=approval_id)
        )
    related: dict[str, list[str]] = {}
    for referral_id, related_id in bind.execute(sa.select(links)):
        related.setdefault(referral_id, []).append(related_id)
    for referral_id, ids in related.items():
        bind.execute(
            sa.update(referrals)
            .where(referrals.c.id == referral_id)
            .values(related_ids=sorted(ids))
        )


def downgrade() -> None:
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_column("related_ids")
        batch_op.drop_column("pending_approval_id")
        batch_op.drop_column("stages_doc")
