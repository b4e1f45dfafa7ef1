"""The append-only, hash-chained event log: the database refuses changes, verify finds tampering."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.referral.flows import create, walk


def _verify(app: Flask) -> tuple[int, list[Any]]:
    from referral.db import session
    from referral.services.audit import verify

    with app.app_context():
        return verify(session())


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET reason = 'rewritten' WHERE referral_id = :rid",
        "DELETE FROM events WHERE referral_id = :rid",
        "UPDATE access_log SET username = 'someone else' WHERE referral_id = :rid",
        "DELETE FROM access_log WHERE referral_id = :rid",
    ],
)
def test_the_database_refuses_to_change_the_logs(
    app: Flask, as_user: Any, db_connection: Any, statement: str
) -> None:
    rid = create(as_user)["id"]
    as_user("sw").get(f"/api/v1/referrals/{rid}")
    with pytest.raises(DBAPIError, match="append-only"), db_connection.begin_nested():
        db_connection.execute(text(statement), {"rid": rid})


def _drop_guards(connection: Any) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("DROP TRIGGER events_append_only ON events"))
    else:
        connection.execute(text("DROP TRIGGER events_refuse_update"))
        connection.execute(text("DROP TRIGGER events_refuse_delete"))


def test_verify_passes_an_untouched_history(app: Flask, as_user: Any) -> None:
    rid = create(as_user)["id"]
    walk(as_user, rid, "convene_ird", "start_investigation")
    checked, problems = _verify(app)
    assert checked >= 3
    assert problems == []


@pytest.mark.parametrize(
    ("tamper", "found"),
    [
        ("UPDATE events SET data = :fake WHERE referral_id = :rid AND seq = 2", "altered"),
        ("UPDATE events SET actor = 'nobody' WHERE referral_id = :rid AND seq = 1", "altered"),
        ("DELETE FROM events WHERE referral_id = :rid AND seq = 2", "missing"),
        ("DELETE FROM events WHERE referral_id = :rid AND seq = 3", "missing or replaced"),
    ],
)
def test_verify_catches_changes_behind_the_applications_back(
    app: Flask, as_user: Any, db_connection: Any, tamper: str, found: str
) -> None:
    rid = create(as_user)["id"]
    walk(as_user, rid, "convene_ird", "start_investigation")
    _drop_guards(db_connection)  # rolled back with the test's transaction
    db_connection.execute(text(tamper), {"rid": rid, "fake": '{"reason": "nothing happened"}'})
    _, problems = _verify(app)
    assert problems, "tampering went unnoticed"
    assert {p.referral_id for p in problems} == {rid}
    assert any(found in p.problem for p in problems)
