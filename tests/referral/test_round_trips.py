"""On PostgreSQL, a request waits on the database no more often than a bare app doing the same
SQL (bench/floor_app.py): each round trip to the server costs a worker more than most of what it
does between them.

Counted on an app of its own, committing for real (the other tests join an outer transaction,
which a request then never begins): libpq's trace of the one pooled connection the requests
use, one `ReadyForQuery` from the server at the end of each round trip.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.conftest import PG_URL, Api, empty_database
from tests.referral.flows import create, fire, walk

pytestmark = pytest.mark.skipif(PG_URL is None, reason="set REFERRAL_TEST_DATABASE_URL")


@pytest.fixture
def own_app(tmp_path: Path) -> Iterator[tuple[Flask, Any]]:
    """An app on an empty PostgreSQL database with one area, its users and their tokens; and a
    maker of each user's API client."""
    from referral import create_app, db
    from referral.migrate import upgrade
    from referral.models.types import utcnow
    from referral.services.people import add_area, create_token, create_user

    with empty_database("postgresql", tmp_path, "trips") as url:
        upgrade(url)
        app = create_app(
            {"REFERRAL_DATABASE_URL": url, "REFERRAL_RATELIMIT_STORAGE_URI": "memory://"}
        )
        tokens = {}
        with app.app_context(), db.unit_of_work() as session:
            add_area(session, "west-dunbartonshire", "West Dunbartonshire", "WD")
            for username, agency in (
                ("pc", "police"),
                ("sw", "social_work"),
                ("teacher", "education"),
            ):
                create_user(
                    session, username, agency, "practitioner", ["west-dunbartonshire"], "pw-" * 6
                )
                tokens[username] = create_token(session, username, "write", utcnow())
        client = app.test_client()
        try:
            yield app, lambda username: Api(client, tokens[username])
        finally:
            app.extensions["referral.db"].engine.dispose()


@contextmanager
def round_trips(app: Flask, folder: Path) -> Iterator[list[str]]:
    """The messages that ended each round trip on the app's one pooled connection while the
    block ran (its `ReadyForQuery`, with the transaction status it reports)."""
    from psycopg import pq

    engine = app.extensions["referral.db"].engine
    assert engine.pool.checkedin() == 1, "one request at a time uses one connection"
    pooled = engine.raw_connection()
    libpq = pooled.driver_connection.pgconn
    pooled.close()  # back to the pool, where the next request takes it
    trace = folder / "libpq.trace"
    seen: list[str] = []
    with trace.open("w") as out:
        libpq.trace(out.fileno())
        libpq.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            yield seen
        finally:
            libpq.untrace()
    lines = trace.read_text().splitlines()
    seen.extend(line for line in lines if line.startswith("B") and "ReadyForQuery" in line)


def test_a_create_a_get_and_a_transition_wait_on_the_database_as_often_as_a_bare_app(
    own_app: tuple[Flask, Any], tmp_path: Path
) -> None:
    app, as_user = own_app
    rid = create(as_user)["id"]  # each token's first use reads its rows; not what is counted
    walk(as_user, rid, "convene_ird")
    assert as_user("sw").get(f"/api/v1/referrals/{rid}").status_code == 200
    assert fire(as_user, rid, "add_ird_contribution", by="teacher").status_code == 200

    # BEGIN with the credentials stamp; the new concern's rows; the commit's statement; COMMIT
    with round_trips(app, tmp_path) as trips:
        create(as_user, given_name="Ben")
    assert len(trips) == 4, trips
    # BEGIN with the stamp; the referral; the access-log row; COMMIT
    with round_trips(app, tmp_path) as trips:
        assert as_user("sw").get(f"/api/v1/referrals/{rid}").status_code == 200
    assert len(trips) == 4, trips
    # BEGIN with the stamp; the referral locked; the commit's statement (the contribution, the
    # referral's row, the event); COMMIT. The floor's takes five: BEGIN, lock, UPDATE, INSERT,
    # COMMIT
    with round_trips(app, tmp_path) as trips:
        assert fire(as_user, rid, "add_ird_contribution", by="teacher").status_code == 200
    assert len(trips) == 4, trips
    assert trips[-1].split()[-1] == "I", "the last round trip committed"
