"""auth failure counters shared by every worker

Failed sign-ins and bad tokens are counted per client address and per account in this
table (referral.throttle), so every worker and host shares one count without Redis.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 10:48:16.858178
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('auth_failure_counters',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('window_expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_auth_failure_counters'))
    )
    with op.batch_alter_table('auth_failure_counters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auth_failure_counters_window_expires_at'), ['window_expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('auth_failure_counters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auth_failure_counters_window_expires_at'))

    op.drop_table('auth_failure_counters')
