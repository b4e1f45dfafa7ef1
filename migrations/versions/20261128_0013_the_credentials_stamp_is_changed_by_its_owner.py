"""the credentials stamp is changed by its owner, in the schema of the table that changed

On PostgreSQL, revision 0012's trigger function named `credentials_stamp` without a schema,
so it updated whichever such table the writer's `search_path` found first: a user disabled
from a session whose `search_path` named another schema moved that schema's stamp, and
servers went on accepting the user's remembered tokens; with an empty `search_path` the
write failed. The function now updates the stamp in the schema of the table that fired it,
runs as its owner with a fixed `search_path`, and fires before each statement, so that
credential writers queue on the stamp before they lock any row of their own. The app's
role needs only to read the stamp (`db grant-app-role` grants `SELECT` and no more), so it
can never write an old stamp back. SQLite has one schema and one writer: nothing changes.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28 10:30:00
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

#: the tables whose rows say who may use which token to do what (as in 0012)
CREDENTIALS = ("users", "user_areas", "areas", "api_tokens")
#: a random whole number below 2 ** 52 (random() has 52 bits), as in 0012
NEW_STAMP = "floor(random() * 4503599627370496)::bigint"

FUNCTION = f"""
CREATE OR REPLACE FUNCTION credentials_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format(
        'UPDATE %I.credentials_stamp SET stamp = {NEW_STAMP} WHERE id = 1', TG_TABLE_SCHEMA
    );
    RETURN NULL;
END;
$$
"""

#: revision 0012's function, put back by downgrade()
FUNCTION_0012 = (
    "CREATE OR REPLACE FUNCTION credentials_changed() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN UPDATE credentials_stamp SET stamp = {NEW_STAMP} WHERE id = 1; "
    "RETURN NULL; END; $$"
)


def _triggers(when: str) -> None:
    bind = op.get_bind()
    for table in CREDENTIALS:
        bind.execute(text(f"DROP TRIGGER IF EXISTS {table}_credentials_changed ON {table}"))
        bind.execute(
            text(
                f"CREATE TRIGGER {table}_credentials_changed "
                f"{when} INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION credentials_changed()"
            )
        )


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    bind.execute(text(FUNCTION))
    # a trigger's function is checked for EXECUTE when the trigger is made, not when it fires
    bind.execute(text("REVOKE EXECUTE ON FUNCTION credentials_changed() FROM PUBLIC"))
    _triggers("BEFORE")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    _triggers("AFTER")
    bind.execute(text(FUNCTION_0012))  # replacing resets SECURITY and SET, keeps the grants
    bind.execute(text("GRANT EXECUTE ON FUNCTION credentials_changed() TO PUBLIC"))
