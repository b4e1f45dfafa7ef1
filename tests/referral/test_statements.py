"""A GET and a transition run a small, fixed number of SQL statements, whatever the history.

Counted on the connection the request uses, without the savepoints the test harness wraps each
request in. A referral with a long history (many IRD contributions and chronology entries) costs
the same number of statements as a new one: what reads show is stored on the referral's row by
the write that changed it, never rebuilt from the events.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from tests.referral.flows import create, fire, walk

MAX_GET = 8
MAX_TRANSITION = 12
LONG_HISTORY = 60


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """The SQL statements run while the block runs (savepoints aside)."""
    engine = app.extensions["referral.db"].engine
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _grow(as_user: Any, rid: str, events: int) -> None:
    for n in range(events // 2):
        assert fire(as_user, rid, "add_ird_contribution").status_code == 200
        entry = fire(as_user, rid, "add_chronology_entry", what_happened=f"Visit {n}.")
        assert entry.status_code == 200


def _counts(app: Flask, as_user: Any, rid: str) -> tuple[int, int]:
    reader = as_user("sw")
    reader.get(f"/api/v1/referrals/{rid}")  # the token's first use is not what is measured
    with statements(app) as get:
        assert reader.get(f"/api/v1/referrals/{rid}").status_code == 200
    with statements(app) as transition:
        assert fire(as_user, rid, "add_ird_contribution").status_code == 200
    return len(get), len(transition)


def test_a_get_and_a_transition_cost_the_same_few_statements_whatever_the_history(
    app: Flask, as_user: Any
) -> None:
    short = create(as_user)["id"]
    walk(as_user, short, "convene_ird")
    long = create(as_user, given_name="Ben")["id"]
    walk(as_user, long, "convene_ird")
    _grow(as_user, long, LONG_HISTORY)
    events = as_user("sw").get(f"/api/v1/referrals/{long}/events?limit=200").get_json()
    assert len(events["items"]) > LONG_HISTORY

    short_get, short_transition = _counts(app, as_user, short)
    long_get, long_transition = _counts(app, as_user, long)
    assert short_get <= MAX_GET, short_get
    assert short_transition <= MAX_TRANSITION, short_transition
    assert (long_get, long_transition) == (short_get, short_transition)


def test_an_agency_seeing_a_referral_as_a_participant_costs_no_more_statements(
    app: Flask, as_user: Any
) -> None:
    """Education sees a referral because it is recorded on it (a core agency because of its
    area): the recorded agencies are read with the referral's row, not by a query of their own,
    and the referral's row written by a transition keeps them."""
    rid = create(as_user)["id"]
    walk(as_user, rid, "convene_ird")  # education takes part: it is recorded
    counted = {}
    for username in ("sw", "teacher"):
        reader = as_user(username)
        reader.get(f"/api/v1/referrals/{rid}")
        with statements(app) as seen:
            answer = reader.get(f"/api/v1/referrals/{rid}")
        assert answer.status_code == 200
        counted[username] = len(seen)
        # education's contribution, recorded by education itself and by social work
        with statements(app) as seen:
            answer = fire(as_user, rid, "add_ird_contribution", by=username)
        assert answer.status_code == 200
        counted[f"{username} fires"] = len(seen)
    assert counted["teacher"] == counted["sw"], counted
    assert counted["teacher fires"] == counted["sw fires"], counted
    assert as_user("other").get(f"/api/v1/referrals/{rid}").status_code == 404


@pytest.mark.parametrize("path", ["", "/chronology", "/events"])
def test_reading_a_long_history_does_not_load_row_by_row(
    app: Flask, as_user: Any, path: str
) -> None:
    """The pages of a referral's own lists cost the same for 10 entries as for 60."""
    short = create(as_user)["id"]
    walk(as_user, short, "convene_ird")
    _grow(as_user, short, 10)
    long = create(as_user, given_name="Ben")["id"]
    walk(as_user, long, "convene_ird")
    _grow(as_user, long, LONG_HISTORY)
    reader = as_user("sw")
    counted = []
    for rid in (short, long):
        reader.get(f"/api/v1/referrals/{rid}{path}")
        with statements(app) as seen:
            assert reader.get(f"/api/v1/referrals/{rid}{path}").status_code == 200
        counted.append(len(seen))
    assert counted[0] == counted[1], counted


def test_psycopg_keeps_every_statement_of_a_request_converted(
    app: Flask, as_user: Any, database_url: str
) -> None:
    """psycopg turns a statement's named placeholders into PostgreSQL's once and keeps the
    result, except for a statement longer than 4096 characters or with more than 50
    parameters, which it converts again on every call. None of a create's, a transition's or a
    GET's statements is one of those (a new concern's rows, one statement, come close)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("psycopg is PostgreSQL's driver")
    from psycopg import _queries

    longest = getattr(_queries, "MAX_CACHED_STATEMENT_LENGTH", 4096)
    most = getattr(_queries, "MAX_CACHED_STATEMENT_PARAMS", 50)
    engine = app.extensions["referral.db"].engine
    seen: list[tuple[str, int]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        one = parameters[0] if isinstance(parameters, list) and parameters else parameters
        seen.append((statement, len(one or ())))

    event.listen(engine, "before_cursor_execute", record)
    try:
        rid = create(as_user)["id"]
        walk(as_user, rid, "convene_ird")
        assert fire(as_user, rid, "add_ird_contribution").status_code == 200
        assert as_user("sw").get(f"/api/v1/referrals/{rid}").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert any(n > 30 for _, n in seen)  # the new concern's rows were among them
    over = [(s[:80], len(s), n) for s, n in seen if len(s) > longest or n > most]
    assert over == []
