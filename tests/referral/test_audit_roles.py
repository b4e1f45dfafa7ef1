"""The app served as a role that owns nothing: it works, and cannot touch the audit tables."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import DBAPIError

from tests.conftest import PASSWORD, PG_URL, Api, empty_database
from tests.referral.flows import concern_body, data
from tests.referral.test_cli import ok, run

needs_postgresql = pytest.mark.skipif(
    PG_URL is None,
    reason="database roles are PostgreSQL's: set REFERRAL_TEST_DATABASE_URL to run this",
)

#: what a database owner could do to hide a change; the app's role may do none of it
REFUSED = [
    "UPDATE events SET reason = 'rewritten'",
    "DELETE FROM events",
    "TRUNCATE events",
    "UPDATE access_log SET username = 'someone else'",
    "DELETE FROM access_log",
    "TRUNCATE access_log",
    "DROP TRIGGER events_append_only ON events",
    "ALTER TABLE events DISABLE TRIGGER events_append_only",
    "ALTER TABLE events DISABLE TRIGGER ALL",
    "ALTER TABLE referrals ADD COLUMN hidden integer",
    "DROP TABLE access_log",
    "SET session_replication_role = replica",
    "DELETE FROM referrals",
    "UPDATE alembic_version SET version_num = 'elsewhere'",
    "UPDATE credentials_stamp SET stamp = 1",
    "CREATE TABLE shadow (id integer)",
]


@pytest.fixture
def app_role() -> Iterator[str]:
    """A login role of its own (roles are cluster-wide), dropped with its grants afterwards."""
    assert PG_URL is not None
    role = f"referral_app_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE ROLE {role} LOGIN"))
    try:
        yield role
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP OWNED BY {role}"))
            connection.execute(text(f"DROP ROLE {role}"))
        admin.dispose()


@pytest.fixture
def owner_url(tmp_path: Path) -> Iterator[str]:
    with empty_database("postgresql", tmp_path, "roles") as url:
        yield url


def as_role(url: str, role: str) -> str:
    return make_url(url).set(username=role).render_as_string(hide_password=False)


def test_grant_app_role_refuses_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'one.db'}"
    ok(run(url, "db", "upgrade"))
    result = run(url, "db", "grant-app-role", "referral_app")
    assert result.returncode == 1
    assert "grant-app-role needs PostgreSQL" in result.stderr


@needs_postgresql
def test_grant_app_role_refuses_a_missing_role_and_the_owner(owner_url: str) -> None:
    ok(run(owner_url, "db", "upgrade"))
    missing = run(owner_url, "db", "grant-app-role", f"nobody_{uuid.uuid4().hex[:8]}")
    assert missing.returncode == 1
    assert "there is no role" in missing.stderr
    owner = make_url(owner_url).username
    assert owner is not None
    itself = run(owner_url, "db", "grant-app-role", owner)
    assert itself.returncode == 1
    assert "is the role running this command" in itself.stderr


@needs_postgresql
def test_the_app_role_serves_the_app_but_cannot_alter_the_audit_trail(
    owner_url: str, app_role: str
) -> None:
    from referral import create_app
    from referral.db import session, unit_of_work
    from referral.models.types import utcnow
    from referral.services.audit import verify
    from referral.services.people import add_area, create_token, create_user

    ok(run(owner_url, "db", "upgrade"))
    granted = ok(run(owner_url, "db", "grant-app-role", app_role))
    lines = granted.splitlines()
    for table in ("events", "access_log"):
        grant = next(line for line in lines if line.endswith(f".{table} TO {app_role}"))
        assert grant.startswith("GRANT SELECT, INSERT ON TABLE"), grant
    ok(run(owner_url, "db", "grant-app-role", app_role))  # again after an upgrade: same grants

    role_url = as_role(owner_url, app_role)
    app = create_app({"REFERRAL_DATABASE_URL": role_url})
    try:
        with app.app_context(), unit_of_work() as s:
            add_area(s, "west-dunbartonshire", "West Dunbartonshire", "WD")
            create_user(s, "pc", "police", "practitioner", ["west-dunbartonshire"], PASSWORD)
            token = create_token(s, "pc", "write", utcnow())
        api = Api(app.test_client(), token)
        created = api.post("/api/v1/referrals", concern_body())
        assert created.status_code == 201, created.get_json()
        rid = created.get_json()["id"]
        body = {"trigger": "convene_ird", "data": data("convene_ird")}
        fired = api.post(f"/api/v1/referrals/{rid}/transitions", body)
        assert fired.status_code == 200, fired.get_json()
        assert api.get(f"/api/v1/referrals/{rid}").get_json()["state"] == "ird"
        assert app.test_client().get("/readyz").status_code == 200
        with app.app_context():
            checked, problems = verify(session())
        assert (checked, problems) == (2, [])
    finally:
        app.extensions["referral.db"].engine.dispose()

    engine = create_engine(role_url)
    try:
        for statement in REFUSED:
            with engine.connect() as connection:
                with pytest.raises(DBAPIError, match="permission denied|must be owner"):
                    connection.execute(text(statement))
                connection.rollback()
        with engine.connect() as connection:  # and what the role may do still works
            counted: Any = connection.execute(text("SELECT count(*) FROM events")).scalar()
            assert counted == 2
    finally:
        engine.dispose()
