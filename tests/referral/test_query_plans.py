"""Every query a list, a filter or a read runs has an index to use (PostgreSQL's plans).

Each request below is made over HTTP while its SQL is captured; each captured SELECT is then
explained on the same connection with sequential scans priced out (`enable_seqscan = off`), so
the planner takes an index wherever one can serve. A plan that still scans `referrals` or
`events` sequentially has no index to use, and would read the whole table at a million rows.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from tests.referral.flows import create, walk

BIG_TABLES = ("referrals", "events", "access_log", "approvals", "feed")

REQUESTS = [
    "/api/v1/referrals",
    "/api/v1/referrals?state=ird",
    "/api/v1/referrals?area=west-dunbartonshire",
    "/api/v1/referrals?overdue=true",
    "/api/v1/referrals?overdue=false",
    "/api/v1/referrals?updated_since=2026-01-01T00:00:00Z",
    "/api/v1/referrals?limit=1",  # then its next_cursor, below
    "/api/v1/referrals/{id}",
    "/api/v1/referrals/{id}/events",
    "/api/v1/referrals/{id}/chronology",
    "/api/v1/referrals/{id}/access-log",
    "/api/v1/approvals",
    "/api/v1/changes",
    "/api/v1/changes?after=1",
]


def _sequential_scans(db_connection: Any, statement: str, parameters: Any) -> list[str]:
    db_connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    plan = db_connection.exec_driver_sql("EXPLAIN " + statement, parameters).scalars().all()
    return [line for line in plan if "Seq Scan on" in line and any(t in line for t in BIG_TABLES)]


@pytest.mark.parametrize("path", REQUESTS)
def test_lists_filters_and_reads_use_an_index(
    app: Flask, as_user: Any, db_connection: Any, path: str
) -> None:
    if db_connection.dialect.name != "postgresql":
        pytest.skip("plans are read on PostgreSQL, the production database")
    rid = create(as_user)["id"]
    walk(as_user, rid, "convene_ird", "add_ird_contribution")
    create(as_user, given_name="Ben")
    reader = as_user("swsup")
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    engine = app.extensions["referral.db"].engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        response = reader.get(path.replace("{id}", rid))
        assert response.status_code == 200, response.get_json()
        cursor = response.get_json().get("next_cursor")
        if path.endswith("limit=1"):
            assert cursor
            assert reader.get(f"/api/v1/referrals?limit=1&cursor={cursor}").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert captured
    found = {
        statement: scans
        for statement, parameters in captured
        if (scans := _sequential_scans(db_connection, statement, parameters))
    }
    assert not found, found


def test_the_check_sees_a_query_no_index_serves(app: Flask, db_connection: Any) -> None:
    """The check above can fail: a filter on a column without an index is reported."""
    if db_connection.dialect.name != "postgresql":
        pytest.skip("plans are read on PostgreSQL, the production database")
    statement = "SELECT id FROM referrals WHERE concern_summary = %(summary)s"
    assert _sequential_scans(db_connection, statement, {"summary": "x"})


#: children grown to, after the plans were made on a small table
GROWN_TO = 20_000

_ADD_CHILDREN = """
WITH made AS (
    INSERT INTO child_identities (created_at)
    SELECT now() FROM generate_series(1, %(n)s) RETURNING id
)
INSERT INTO children (identity_id, given_name, family_name, name_key, date_of_birth, created_at)
SELECT id, 'Grown', 'Child' || id, 'grown|child' || id, DATE '2012-01-01', now() FROM made
"""

_SEQUENTIAL_SCANS = """
SELECT coalesce(sum(seq_scan), 0) FROM pg_stat_xact_user_tables
WHERE schemaname = current_schema() AND relname IN ('children', 'child_identities')
"""


def test_recording_a_concern_reads_no_whole_table_of_children_once_it_has_grown(
    as_user: Any, db_connection: Any
) -> None:
    """A concern is matched by the child's keys and its rows' foreign keys checked by key,
    whatever the size of the children's tables when the connection first planned them.

    A new deployment's tables are analysed while small, and each connection keeps its plans.
    With autovacuum off nothing analyses them again, so a plan made then for a few hundred
    children must still look up by key at tens of thousands. Counted in the transaction:
    `pg_stat_xact_user_tables` counts the scans this transaction began."""
    if db_connection.dialect.name != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    db_connection.exec_driver_sql(_ADD_CHILDREN, {"n": 200})
    db_connection.exec_driver_sql("ANALYZE children, child_identities")
    for n in range(12):  # prepared, then planned once for every run (psycopg, PostgreSQL)
        create(as_user, given_name=f"Early{n}")
    db_connection.exec_driver_sql(_ADD_CHILDREN, {"n": GROWN_TO})
    before = db_connection.exec_driver_sql(_SEQUENTIAL_SCANS).scalar_one()
    create(as_user, given_name="Late")
    after = db_connection.exec_driver_sql(_SEQUENTIAL_SCANS).scalar_one()
    assert after == before
