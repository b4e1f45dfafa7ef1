"""Failed authentication is limited per address and per account; valid tokens never are.

These tests run the app as workers would: apps of their own on the session's database, with
committed data and no per-test outer transaction, so the `database://` store (its own short
transactions) counts exactly as it does in production.
"""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, insert, select

from referral import throttle
from referral.config import ConfigError
from referral.models import AuthFailureCounter
from tests.conftest import PASSWORD, World
from tests.referral.flows import is_problem

ATTACKER = "203.0.113.66"
NEIGHBOUR = "198.51.100.7"
LIMIT = 20
PATH = "/api/v1/reference"

MakeWorker = Callable[..., Flask]


def call(app: Flask, token: str | None, address: str, path: str = PATH) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return app.test_client().get(path, headers=headers, environ_base={"REMOTE_ADDR": address})


def unique_address() -> str:
    """An address no earlier run has used (for stores this test cannot empty, like redis)."""
    part = uuid.uuid4().hex
    return f"2001:db8:{part[:4]}:{part[4:8]}::{part[8:12]}"


@pytest.fixture
def worker(database_url: str, world: World) -> Iterator[MakeWorker]:
    """Start an app as one more worker would; the database store starts empty."""
    from referral import create_app

    started: list[Flask] = []

    def start(store: str = "database://", **config: Any) -> Flask:
        app = create_app(
            {
                "REFERRAL_DATABASE_URL": database_url,
                "REFERRAL_RATELIMIT_STORAGE_URI": store,
                **config,
            }
        )
        started.append(app)
        return app

    first = start()
    with first.extensions["referral.db"].engine.begin() as connection:
        connection.execute(delete(AuthFailureCounter))
    yield start
    for app in started:
        app.extensions["referral.db"].engine.dispose()


def committed_account(app: Flask) -> tuple[str, str]:
    """A user of their own with one revoked token and one valid token: (revoked, valid)."""
    from referral.db import unit_of_work
    from referral.models.types import utcnow
    from referral.services import people

    suffix = uuid.uuid4().hex[:8]
    prefix = "T" + "".join(chr(65 + int(c, 16) % 26) for c in suffix[:5])
    with app.app_context(), unit_of_work() as session:
        area = people.add_area(session, f"throttle-{suffix}", "Throttle", prefix)
        user = people.create_user(
            session, f"locked-{suffix}", "police", "practitioner", [area.slug], PASSWORD
        )
        revoked = people.create_token(session, user.username, "read", utcnow())
        assert people.revoke_tokens(session, revoked[:12], utcnow()) == 1
        valid = people.create_token(session, user.username, "read", utcnow())
    return revoked, valid


def retry_after(response: Any) -> int:
    seconds = int(response.headers["Retry-After"])
    assert 0 < seconds <= 60
    return seconds


def test_the_21st_bad_token_is_429_and_valid_tokens_from_anywhere_still_pass(
    worker: MakeWorker, world: World
) -> None:
    app = worker()
    for attempt in range(LIMIT):
        assert call(app, f"rfl_guess-{attempt}", ATTACKER).status_code == 401, attempt
    limited = call(app, "rfl_guess-again", ATTACKER)
    body = is_problem(limited, 429)
    assert body["type"].endswith("/too-many-requests")
    retry_after(limited)
    # valid credentials are never blocked: not from the limited address, not from elsewhere
    assert call(app, world.token("pc"), ATTACKER).status_code == 200
    assert call(app, world.token("sw", "read"), NEIGHBOUR).status_code == 200
    # each address has its own count: the neighbour's first bad token is a plain 401
    is_problem(call(app, "rfl_guess-again", NEIGHBOUR), 401)
    is_problem(call(app, "rfl_guess-more", ATTACKER), 429)


def test_failures_on_two_workers_are_counted_together(worker: MakeWorker) -> None:
    workers = [worker(), worker()]
    statuses = [call(workers[i % 2], "rfl_spread", ATTACKER).status_code for i in range(LIMIT + 4)]
    assert statuses == [401] * LIMIT + [429] * 4


def test_a_revoked_tokens_account_is_limited_from_any_address(
    worker: MakeWorker, world: World
) -> None:
    app = worker()
    revoked, valid = committed_account(app)
    for attempt in range(LIMIT):
        address = f"198.51.100.{attempt + 1}"
        assert call(app, revoked, address).status_code == 401, attempt
    # a guess at the same account (the stored prefix, another secret) from a fresh address
    limited = call(app, revoked[:12] + "x" * 31, "192.0.2.200")
    is_problem(limited, 429)
    retry_after(limited)
    # a token naming no account, from another fresh address, is not limited
    is_problem(call(app, "rfl_unrelated", "192.0.2.201"), 401)
    # and the account's own valid token is served, from anywhere
    assert call(app, valid, "192.0.2.202").status_code == 200
    assert call(app, valid, "198.51.100.1").status_code == 200


def test_requests_without_credentials_are_not_failures(worker: MakeWorker, world: World) -> None:
    app = worker()
    for attempt in range(LIMIT + 5):
        assert call(app, None, ATTACKER).status_code == 401, attempt
    assert call(app, "rfl_first-guess", ATTACKER).status_code == 401


def test_a_malformed_authorization_header_counts_as_a_failure(worker: MakeWorker) -> None:
    app = worker()
    client = app.test_client()
    basic = {"Authorization": "Basic cGM6Y29ycmVjdCBob3JzZSBiYXR0ZXJ5"}
    environ = {"REMOTE_ADDR": ATTACKER}
    for attempt in range(LIMIT):
        response = client.get(PATH, headers=basic, environ_base=environ)
        assert response.status_code == 401, attempt
    is_problem(client.get(PATH, headers=basic, environ_base=environ), 429)


def test_password_sign_in_keys_never_let_other_clients_block_a_user(worker: MakeWorker) -> None:
    app = worker()
    with app.test_request_context():
        here = throttle.sign_in_keys(ATTACKER, "pc")
        for attempt in range(LIMIT):
            assert throttle.check(here) is None, attempt
            throttle.fail(here)
        wait = throttle.check(here)
        assert wait is not None
        assert 0 < wait <= 60
        # the same user signing in from another client is not blocked by those failures
        assert throttle.check(throttle.sign_in_keys(NEIGHBOUR, "pc")) is None
        # while the failing address is limited for every account it tries
        assert throttle.check(throttle.sign_in_keys(ATTACKER, "sw")) is not None
        # account names are compared as the sign-in page would: case and spaces do not matter
        assert throttle.sign_in_keys(ATTACKER, " PC ") == here


def test_expired_counters_are_overwritten_or_deleted(worker: MakeWorker) -> None:
    from referral.models.types import utcnow

    app = worker()
    engine = app.extensions["referral.db"].engine
    limit = throttle.for_app(app).limit
    own_key = limit.key_for(throttle.NAMESPACE, throttle.address_key(ATTACKER))
    passed = utcnow() - timedelta(minutes=5)
    with engine.begin() as connection:
        connection.execute(
            insert(AuthFailureCounter),
            [
                {"key": own_key, "count": 500, "window_expires_at": passed},
                {"key": "LIMITER/some-old-window", "count": 3, "window_expires_at": passed},
            ],
        )
    # a window that has passed counts as zero: this failure is the first of a new window
    is_problem(call(app, "rfl_after-a-while", ATTACKER), 401)
    with engine.connect() as connection:
        rows = connection.execute(select(AuthFailureCounter.key, AuthFailureCounter.count))
        counts = {row.key: row.count for row in rows}
    assert counts == {own_key: 1}


def test_a_database_store_that_fails_is_logged_and_never_500(
    worker: MakeWorker, world: World, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from sqlalchemy import create_engine

    app = worker()
    # a real store whose database has no counter table: every counter transaction fails
    broken = create_engine(f"sqlite:///{tmp_path / 'no-counters.db'}")
    healthy = throttle.for_app(app)
    app.extensions["referral.throttle"] = throttle.Throttle(
        throttle.DatabaseStorage(engine=broken), healthy.limit
    )
    try:
        with caplog.at_level(logging.WARNING, logger="referral.throttle"):
            for _attempt in range(LIMIT + 5):
                is_problem(call(app, "rfl_while-broken", ATTACKER), 401)
            assert call(app, world.token("pc"), ATTACKER).status_code == 200
        faults = [r for r in caplog.records if r.name == "referral.throttle"]
        assert len(faults) == LIMIT + 5  # once per failed request
        assert all(r.levelno == logging.WARNING for r in faults)
        ready = app.test_client().get("/readyz")
        assert ready.status_code == 200
        assert ready.get_json()["auth_throttle"] == "degraded"
    finally:
        broken.dispose()


def test_a_redis_store_that_is_down_is_logged_and_never_500(
    worker: MakeWorker, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("redis")
    app = worker("redis://127.0.0.1:1")  # nothing listens on port 1
    with caplog.at_level(logging.WARNING, logger="referral.throttle"):
        for _attempt in range(LIMIT + 5):
            is_problem(call(app, "rfl_while-down", ATTACKER), 401)
        assert call(app, world.token("pc"), ATTACKER).status_code == 200
    faults = [r for r in caplog.records if r.name == "referral.throttle"]
    assert len(faults) == LIMIT + 5
    assert all(r.levelno == logging.WARNING for r in faults)
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["auth_throttle"] == "degraded"


def test_readyz_says_the_store_is_ok(worker: MakeWorker) -> None:
    ready = worker().test_client().get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["auth_throttle"] == "ok"


def _redis_or_skip() -> None:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("no redis server at 127.0.0.1:6379")


def test_a_shared_redis_store_counts_failures_of_every_worker(worker: MakeWorker) -> None:
    _redis_or_skip()
    workers = [worker("redis://127.0.0.1:6379"), worker("redis://127.0.0.1:6379")]
    address = unique_address()
    statuses = [call(workers[i % 2], "rfl_spread", address).status_code for i in range(LIMIT + 2)]
    assert statuses == [401] * LIMIT + [429] * 2
    assert workers[0].test_client().get("/readyz").get_json()["auth_throttle"] == "ok"


def test_a_missing_redis_client_stops_startup_naming_the_extra(
    worker: MakeWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # as if the extra were not installed
    with pytest.raises(ConfigError, match=r"referral-engine\[redis\]"):
        worker("redis://127.0.0.1:6379")


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("REFERRAL_AUTH_FAILURE_LIMIT", "lots"),
        ("REFERRAL_RATELIMIT_STORAGE_URI", "carrier-pigeon://loft"),
    ],
)
def test_a_bad_throttle_setting_stops_startup(worker: MakeWorker, setting: str, value: str) -> None:
    with pytest.raises(ConfigError, match=setting):
        worker(**{setting: value})


def test_the_default_store_is_the_database() -> None:
    from referral.config import load

    settings = load({"REFERRAL_ENV": "development"})
    assert settings.flask_config()["REFERRAL_RATELIMIT_STORAGE_URI"] == "database://"
    assert settings.flask_config()["REFERRAL_AUTH_FAILURE_LIMIT"] == "20 per minute"
