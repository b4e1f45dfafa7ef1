"""administration is audited in admin_events; disabling a user ends their sessions for good

Every change an administrator makes (a user created, disabled, enabled, given a new password,
a new role or other areas; an area added; a token created or revoked) adds a row to
`admin_events`: who, when, what, to whom, and details (never a password, a token or case
content). Like `events` and `access_log`, the database refuses UPDATE, DELETE and TRUNCATE.

`users.session_epoch` is raised when a user is disabled and is part of their session stamp, so
a session from before stays over when the user is enabled again (0: the stamp as before, so
nobody is signed out by this upgrade).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 15:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import text

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLE = "admin_events"


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        TABLE,
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("target", sa.String(length=80), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_events")),
    )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_admin_events_target"), ["target"], unique=False)

    bind = op.get_bind()
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
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admin_events_target"))
    op.drop_table(TABLE)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_epoch")
