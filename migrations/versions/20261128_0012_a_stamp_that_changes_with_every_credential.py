"""a stamp that changes with every credential

`credentials_stamp` holds one row whose `stamp` changes, in the same transaction, whenever a
user, a user's areas, an area or an API token is added, changed or removed: by trigger, so a
change made by the app, by `referral` commands or by hand in the database all change it.
Each server process keeps the tokens it has authenticated with the stamp it read then
(referral.auth), and authenticates a token again from its rows only when the stamp has moved.

Each change gives a random number (52 bits on PostgreSQL, 64 on SQLite), so no stamp comes
back: not within one transaction, nor after one that rolls back, nor after the database is
restored from a backup (as a sequence's numbers would).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 05:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import text

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLE = "credentials_stamp"
#: PostgreSQL: a random whole number below 2 ** 52 (random() has 52 bits)
NEW_STAMP_POSTGRESQL = "floor(random() * 4503599627370496)::bigint"
#: the tables whose rows say who may use which token to do what
CREDENTIALS = ("users", "user_areas", "areas", "api_tokens")


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("stamp", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credentials_stamp")),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.execute(text(f"INSERT INTO {TABLE} (id, stamp) VALUES (1, {NEW_STAMP_POSTGRESQL})"))
        bind.execute(
            text(
                "CREATE FUNCTION credentials_changed() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN UPDATE {TABLE} SET stamp = {NEW_STAMP_POSTGRESQL} WHERE id = 1; "
                "RETURN NULL; END; $$"
            )
        )
        for table in CREDENTIALS:
            bind.execute(
                text(
                    f"CREATE TRIGGER {table}_credentials_changed "
                    f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION credentials_changed()"
                )
            )
        return
    bind.execute(text(f"INSERT INTO {TABLE} (id, stamp) VALUES (1, random())"))
    for table in CREDENTIALS:
        for change in ("INSERT", "UPDATE", "DELETE"):
            bind.execute(
                text(
                    f"CREATE TRIGGER {table}_credentials_{change.lower()} AFTER {change} "
                    f"ON {table} BEGIN UPDATE {TABLE} SET stamp = random() WHERE id = 1; END"
                )
            )


def downgrade() -> None:
    bind = op.get_bind()
    for table in CREDENTIALS:
        if bind.dialect.name == "postgresql":
            bind.execute(text(f"DROP TRIGGER IF EXISTS {table}_credentials_changed ON {table}"))
        else:
            for change in ("insert", "update", "delete"):
                bind.execute(text(f"DROP TRIGGER IF EXISTS {table}_credentials_{change}"))
    if bind.dialect.name == "postgresql":
        bind.execute(text("DROP FUNCTION IF EXISTS credentials_changed()"))
    op.drop_table(TABLE)
