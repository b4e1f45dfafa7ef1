"""a CPPM that went ahead without its quorum keeps the chair's reason

An initial, pre-birth, transfer or review CPPM that the quorum did not attend decides only
when the chair records why it went ahead (`inquorate_reason` on `register`, `not_register`
and `continue_registration`); its meeting is then recorded as not quorate. Meetings recorded
before this revision keep what they say: no reason, and `quorate` as it was recorded.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 02:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conference_meetings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("inquorate_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conference_meetings", schema=None) as batch_op:
        batch_op.drop_column("inquorate_reason")
