"""list filters are read by index: state and overdue get indexes in the list's order

A list page is ordered by (updated_at, id). With only an index on `state`, PostgreSQL either
sorted every referral in that state or walked `updated_at` discarding the rest, which at a
million referrals costs seconds. `(state, updated_at, id)` gives a state's referrals in list
order (and serves plain `state =` lookups, so the single-column index goes); a partial index on
`(updated_at, id)` over the referrals with a due date serves `overdue=true` (`next_due < today`
implies `next_due IS NOT NULL`), whatever today is.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

DUE = sa.text("next_due IS NOT NULL")


def upgrade() -> None:
    op.create_index("ix_referrals_state_updated", "referrals", ["state", "updated_at", "id"])
    op.create_index(
        "ix_referrals_due_updated",
        "referrals",
        ["updated_at", "id"],
        postgresql_where=DUE,
        sqlite_where=DUE,
    )
    op.drop_index("ix_referrals_state", table_name="referrals")


def downgrade() -> None:
    op.create_index("ix_referrals_state", "referrals", ["state"])
    op.drop_index("ix_referrals_due_updated", table_name="referrals")
    op.drop_index("ix_referrals_state_updated", table_name="referrals")
