"""events are found by their referral through one index, not two

Every event is found by its referral through the index of its unique (referral, sequence
number) pair, which begins with the referral. The index of the referral alone, made with the
table, answered nothing that one does not, and every event written kept it up to date too.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28 15:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # not in a batch: on SQLite a batch may copy the table, and the copy would lose its triggers
    op.drop_index("ix_events_referral_id", table_name="events")


def downgrade() -> None:
    op.create_index("ix_events_referral_id", "events", ["referral_id"], unique=False)
