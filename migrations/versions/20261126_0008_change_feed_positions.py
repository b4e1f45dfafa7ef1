"""change feed positions

`feed` gives each event its position in the change feed (`GET /api/v1/changes`), assigned as
the writing transaction commits, under the row lock of the one-row `feed_counter` (see
referral.services.feed for why an event's id is not enough). Like `events`, `feed` is
append-only: the database refuses UPDATE, DELETE and TRUNCATE.

The events recorded before this revision are placed in the order they happened, (at, id), and
the counter starts after them. Downgrading drops the feed (the events themselves stay).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import text

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLE = "feed"
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "feed_counter",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_counter")),
    )
    op.create_table(
        TABLE,
        sa.Column("position", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("event_id", BIG_ID, nullable=False),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_feed")),
        sa.UniqueConstraint("event_id", name=op.f("uq_feed_event_id")),
    )
    bind = op.get_bind()
    bind.execute(
        text(
            "INSERT INTO feed (position, event_id) "
            "SELECT row_number() OVER (ORDER BY at, id), id FROM events"
        )
    )
    bind.execute(
        text(
            "INSERT INTO feed_counter (id, last_position) "
            "SELECT 1, coalesce(max(position), 0) FROM feed"
        )
    )
    if bind.dialect.name == "postgresql":
        # refuse_change() was created by 0001 for events and access_log
        bind.execute(
            text(
                f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
                "FOR EACH ROW EXECUTE FUNCTION refuse_change()"
            )
        )
        bind.execute(
            text(
                f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
                "FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()"
            )
        )
    else:
        for statement in ("UPDATE", "DELETE"):
            bind.execute(
                text(
                    f"CREATE TRIGGER {TABLE}_refuse_{statement.lower()} BEFORE {statement} "
                    f"ON {TABLE} BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: "
                    f"{statement} refused'); END"
                )
            )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.execute(text(f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}"))
        bind.execute(text(f"DROP TRIGGER IF EXISTS {TABLE}_no_truncate ON {TABLE}"))
    else:
        for statement in ("update", "delete"):
            bind.execute(text(f"DROP TRIGGER IF EXISTS {TABLE}_refuse_{statement}"))
    op.drop_table(TABLE)
    op.drop_table("feed_counter")
