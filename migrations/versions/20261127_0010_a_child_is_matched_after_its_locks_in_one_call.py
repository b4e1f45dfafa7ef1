"""a child is matched after its locks are taken, in one call (PostgreSQL)

`match_child_locked(keys, chi, name_key, birth)` takes a transaction-level advisory lock for
each of the child's keys (the schema's name with the key, hashed, in ascending order), then
answers the identities the child may be: the one with its CHI number (`by_chi`), then those
whose children have its name and date of birth, by id: the queries of `_known_identity`
(referral/services/referrals.py), which the preview of a match still runs. Which identity a
concern takes is decided by the app, as before.

Recording a concern took the locks, then matched, in two statements: the match must read what
was committed while it waited for the locks, and a statement reads what was committed when it
began. A function declared VOLATILE reads anew at each statement it runs, so the match in it
sees a concern about the same child that committed while this one waited. SQLite has one
writer at a time and no such function.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 20:20:00
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

FUNCTION = """
CREATE FUNCTION match_child_locked(
    p_keys TEXT[], p_chi TEXT, p_name_key TEXT, p_birth DATE
) RETURNS TABLE (identity_id INTEGER, chi_number TEXT, by_chi BOOLEAN)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(s.k) FROM (
        SELECT hashtextextended(current_schema() || ' ' || t, 0) AS k
        FROM unnest(p_keys) AS t ORDER BY 1
    ) AS s;
    RETURN QUERY
        SELECT i.id, CAST(i.chi_number AS TEXT), TRUE
        FROM child_identities AS i
        WHERE p_chi IS NOT NULL AND i.chi_number = p_chi;
    RETURN QUERY
        SELECT i.id, CAST(i.chi_number AS TEXT), FALSE
        FROM child_identities AS i JOIN children AS c ON c.identity_id = i.id
        WHERE p_birth IS NOT NULL AND c.name_key = p_name_key AND c.date_of_birth = p_birth
        ORDER BY i.id;
END
$$
"""


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.execute(text(FUNCTION))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.execute(text("DROP FUNCTION IF EXISTS match_child_locked(TEXT[], TEXT, TEXT, DATE)"))
