"""PostgreSQL connections lost under the app (a server restart, a terminated backend): a request
on a connection that just went away answers 503 and the next one connects again; a connection
that sat idle is checked before it is used, so the request on it never sees the loss."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, text

from referral import db
from tests.conftest import PG_URL, World

pytestmark = pytest.mark.skipif(PG_URL is None, reason="set REFERRAL_TEST_DATABASE_URL")


@pytest.fixture
def own_app(app: Flask, database_url: str) -> Iterator[Flask]:
    """An app of its own on the session's PostgreSQL database: one request at a time, so its
    pool holds one connection, the one each request uses."""
    if not database_url.startswith("postgresql"):
        pytest.skip("connections are lost and pinged on PostgreSQL")
    from referral import create_app

    mine = create_app(
        {"REFERRAL_DATABASE_URL": database_url, "REFERRAL_RATELIMIT_STORAGE_URI": "memory://"}
    )
    yield mine
    mine.extensions["referral.db"].engine.dispose()


def _backend_of(app: Flask) -> int:
    with app.extensions["referral.db"].engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(pid: int) -> None:
    assert PG_URL is not None
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            assert connection.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
    finally:
        admin.dispose()


def _get(app: Flask, world: World) -> Any:
    headers = {"Authorization": f"Bearer {world.token('pc', 'read')}"}
    return app.test_client().get("/api/v1/reference", headers=headers)


def test_a_connection_lost_just_now_is_a_503_then_the_pool_connects_again(
    own_app: Flask, world: World
) -> None:
    assert _get(own_app, world).status_code == 200
    lost = _backend_of(own_app)
    _terminate(lost)
    answer = _get(own_app, world)  # at once: the connection is used without a ping
    assert answer.status_code == 503
    assert answer.mimetype == "application/problem+json"
    assert answer.headers["Retry-After"] == "1"
    assert "connection to the database was lost" in answer.get_json()["detail"]
    assert _get(own_app, world).status_code == 200
    assert _backend_of(own_app) != lost


def test_a_connection_that_sat_idle_is_checked_and_replaced_before_use(
    own_app: Flask, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "IDLE_BEFORE_PING", 0.2)
    assert _get(own_app, world).status_code == 200
    lost = _backend_of(own_app)
    _terminate(lost)
    time.sleep(0.3)
    assert _get(own_app, world).status_code == 200  # the ping found it gone: a new connection
    assert _backend_of(own_app) != lost
