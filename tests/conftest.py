"""Test databases: SQLite always, PostgreSQL when REFERRAL_TEST_DATABASE_URL is set (CI sets it).

Each backend is migrated once per session with the real Alembic history; each test runs
inside an outer transaction that is rolled back ("join a session into an external transaction").
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

os.environ.setdefault("REFERRAL_ENV", "testing")
os.environ.setdefault("REFERRAL_SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("REFERRAL_AUDIT_KEY", "test-audit-key-not-for-production")

PG_URL = os.environ.get("REFERRAL_TEST_DATABASE_URL") or None  # set but empty: not set
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]
PASSWORD = "correct horse battery"


@contextmanager
def empty_database(backend: str, folder: Path, label: str) -> Iterator[str]:
    """The URL of an empty database nobody else uses: a SQLite file, or a PostgreSQL schema."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / (label + '.db')}"
        return
    assert PG_URL is not None
    schema = f"{label}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    joiner = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{joiner}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The session's database of one backend, migrated to head once."""
    from referral.migrate import upgrade

    with empty_database(request.param, tmp_path_factory.mktemp("db"), "test") as url:
        upgrade(url)
        yield url


@dataclass
class World:
    """Areas, users of every agency and role, and their tokens, committed once per backend."""

    tokens: dict[str, str]

    def token(self, username: str, scope: str = "write") -> str:
        return self.tokens[f"{username}:{scope}"]


USERS = [
    # username, agency, role, areas
    ("pc", "police", "practitioner", ["west-dunbartonshire"]),
    ("pc2", "police", "practitioner", ["west-dunbartonshire"]),
    ("doc", "health", "practitioner", ["west-dunbartonshire"]),
    ("sw", "social_work", "practitioner", ["west-dunbartonshire"]),
    ("sw2", "social_work", "practitioner", ["west-dunbartonshire"]),
    ("chair", "social_work", "practitioner", ["west-dunbartonshire"]),
    ("swsup", "social_work", "supervisor", ["west-dunbartonshire"]),
    ("swsup2", "social_work", "supervisor", ["west-dunbartonshire"]),
    ("swsm", "social_work", "senior_manager", ["west-dunbartonshire"]),
    ("polsup", "police", "supervisor", ["west-dunbartonshire"]),
    ("teacher", "education", "practitioner", ["west-dunbartonshire"]),
    ("teacher.hl", "education", "practitioner", ["highland"]),
    ("other", "other", "practitioner", ["west-dunbartonshire"]),
    ("auditor", "health", "auditor", ["west-dunbartonshire"]),
    ("admin", "social_work", "admin", ["west-dunbartonshire", "highland"]),
    ("sw.hl", "social_work", "practitioner", ["highland"]),
    ("swsup.hl", "social_work", "supervisor", ["highland"]),
]


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    from referral import create_app

    application = create_app(
        {
            "REFERRAL_DATABASE_URL": database_url,
            "TESTING": True,
            # each test's outer transaction holds SQLite's write lock, which the database://
            # store's own transactions would wait for; tests/referral/test_throttle.py covers it
            "REFERRAL_RATELIMIT_STORAGE_URI": "memory://",
        }
    )
    yield application
    application.extensions["referral.db"].engine.dispose()


@pytest.fixture(scope="session")
def world(app: Flask) -> World:
    from referral.db import unit_of_work
    from referral.models.types import utcnow
    from referral.services.people import add_area, create_token, create_user

    tokens: dict[str, str] = {}
    with app.app_context(), unit_of_work() as session:
        add_area(session, "west-dunbartonshire", "West Dunbartonshire", "WD")
        add_area(session, "highland", "Highland", "HL")
        for username, agency, role, areas in USERS:
            create_user(session, username, agency, role, areas, PASSWORD)
            for scope in ("read", "reports", "write"):
                tokens[f"{username}:{scope}"] = create_token(session, username, scope, utcnow())
    return World(tokens)


@pytest.fixture
def db_connection(app: Flask, world: World) -> Iterator[Any]:
    """Every test runs in a transaction that is rolled back afterwards."""
    database = app.extensions["referral.db"]
    connection = database.engine.connect()
    outer = connection.begin()
    original = dict(database.sessions.kw)
    database.sessions.configure(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield connection
    finally:
        database.sessions.kw.clear()
        database.sessions.kw.update(original)
        outer.rollback()
        connection.close()


@pytest.fixture
def client(app: Flask, db_connection: Any) -> FlaskClient:
    from referral import throttle

    throttle.for_app(app).reset()
    return app.test_client()


class Api:
    """A tiny JSON client speaking as one user's bearer token."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.token = token

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **(extra or {})}

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.client.post(
            path, json=body, headers=self._headers(kw.pop("headers", None)), **kw
        )

    def patch(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.client.patch(
            path, json=body, headers=self._headers(kw.pop("headers", None)), **kw
        )


@pytest.fixture
def as_user(client: FlaskClient, world: World) -> Any:
    def make(username: str, scope: str = "write") -> Api:
        return Api(client, world.token(username, scope))

    return make


#: modules whose tests start servers or commands: run first, so parallel workers share them out
SLOW_FIRST = (
    "test_schemathesis",
    "test_readme",
    "test_crash",
    "test_audit_cli",
    "test_cli",
    "test_concurrency",
    "test_audit_roles",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.stem
        return SLOW_FIRST.index(name) if name in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)  # stable: the rest keep their order
