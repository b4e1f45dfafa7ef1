"""SQLite's single write lock: a writer queued behind another gets it once it is free, and gives
up with "database is locked" only after the busy timeout."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import Engine

from referral import db


def _holder(path: Path, hold: float, held: threading.Event, releasing: list[float]) -> None:
    """Another process's writer, as SQLite sees it: a connection of its own holding the lock.
    `releasing` gets the moment it commits (taken just before: the waiter may write, and note
    its own time, before this thread runs again once the lock is free)."""
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO t VALUES (1)")
        held.set()
        time.sleep(hold)
        releasing.append(time.monotonic())
        other.execute("COMMIT")
    finally:
        other.close()


def _engine_and_table(tmp_path: Path) -> tuple[Path, Engine]:
    path = tmp_path / "lock.sqlite"
    engine = db.make_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
    return path, engine


def test_a_queued_writer_writes_once_the_lock_is_free(tmp_path: Path) -> None:
    path, engine = _engine_and_table(tmp_path)
    held, releasing = threading.Event(), list[float]()
    holder = threading.Thread(target=_holder, args=(path, 0.3, held, releasing))
    holder.start()
    assert held.wait(5)
    with engine.begin() as connection:
        began = time.monotonic()
        connection.execute(text("INSERT INTO t VALUES (2)"))
    holder.join()
    assert began >= releasing[0]  # it waited for the other writer's commit, then wrote
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM t ORDER BY n")).scalars().all() == [1, 2]
    # and the busy timeout is back for every other statement on the connection
    with engine.connect() as connection:
        timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    assert timeout == db.SQLITE_BUSY_TIMEOUT_MS
    engine.dispose()


def test_a_writer_gives_up_after_the_busy_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 200)
    path, engine = _engine_and_table(tmp_path)
    held, releasing = threading.Event(), list[float]()
    holder = threading.Thread(target=_holder, args=(path, 2.0, held, releasing))
    holder.start()
    assert held.wait(5)
    with (
        pytest.raises(sqlite3.OperationalError, match="database is locked"),
        engine.begin() as connection,
    ):
        connection.execute(text("INSERT INTO t VALUES (2)"))
    assert not releasing  # it gave up while the other writer still held the lock
    holder.join()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM t")).scalars().all() == [1]  # nothing lost
    engine.dispose()


def _api_on_file(tmp_path: Path, name: str) -> tuple[Path, Flask, str]:
    """The app on a SQLite file of its own (no test transaction holding its lock), a user in an
    area, and that user's write token."""
    from referral import create_app
    from referral.migrate import upgrade
    from referral.models.types import utcnow
    from referral.services.people import add_area, create_token, create_user
    from tests.conftest import PASSWORD

    path = tmp_path / name
    url = f"sqlite:///{path}"
    upgrade(url)
    app = create_app({"REFERRAL_DATABASE_URL": url, "REFERRAL_RATELIMIT_STORAGE_URI": "memory://"})
    with app.app_context(), db.unit_of_work() as session:
        add_area(session, "west-dunbartonshire", "West Dunbartonshire", "WD")
        create_user(session, "pc", "police", "practitioner", ["west-dunbartonshire"], PASSWORD)
        token = create_token(session, "pc", "write", utcnow())
    return path, app, token


def test_the_api_answers_503_and_records_nothing_when_the_lock_stays_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from referral.models import Referral
    from tests.referral.flows import concern_body

    path, app, token = _api_on_file(tmp_path, "api.sqlite")
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 200)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process's long write
    bearer = {"Authorization": f"Bearer {token}"}
    try:
        answer = app.test_client().post("/api/v1/referrals", json=concern_body(), headers=bearer)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert answer.status_code == 503
    assert answer.mimetype == "application/problem+json"
    assert answer.headers["Retry-After"] == "1"
    assert "nothing was recorded" in answer.get_json()["detail"]
    with app.app_context():
        assert db.session().query(Referral).count() == 0
    app.extensions["referral.db"].engine.dispose()


def test_the_write_lock_is_free_while_the_answer_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A create commits before its answer is built: other writers wait for the write alone."""
    from referral.api import referrals as api_referrals
    from tests.referral.flows import concern_body

    path, app, token = _api_on_file(tmp_path, "answer.sqlite")
    building = api_referrals.reading.referral_detail
    seen: list[int] = []

    def detail_while_another_writes(*args: object, **kwargs: object) -> object:
        other = sqlite3.connect(path, isolation_level=None, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")  # raises "database is locked" if the lock is held
            seen.append(other.execute("SELECT count(*) FROM referrals").fetchone()[0])
            other.execute("ROLLBACK")
        finally:
            other.close()
        return building(*args, **kwargs)

    monkeypatch.setattr(api_referrals.reading, "referral_detail", detail_while_another_writes)
    bearer = {"Authorization": f"Bearer {token}"}
    answer = app.test_client().post("/api/v1/referrals", json=concern_body(), headers=bearer)
    assert answer.status_code == 201, answer.get_json()
    assert seen == [1]  # another writer took the lock, and saw the new referral committed
    app.extensions["referral.db"].engine.dispose()


def test_the_write_lock_is_free_while_a_new_childs_concern_is_matched_and_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The child is matched, and the concern's rows made, before its write takes the lock; a
    child found known is matched again once the lock is held."""
    from referral.services import referrals
    from tests.referral.flows import concern_body

    path, app, token = _api_on_file(tmp_path, "match.sqlite")
    free: list[tuple[str, bool]] = []

    def noting_whether_the_lock_is_free(step: str, original: Any) -> Any:
        def step_then_note(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            other = sqlite3.connect(path, isolation_level=None, timeout=0)
            try:
                other.execute("BEGIN IMMEDIATE")  # "database is locked" if the lock is held
                other.execute("ROLLBACK")
                free.append((step, True))
            except sqlite3.OperationalError:
                free.append((step, False))
            finally:
                other.close()
            return result

        return step_then_note

    for step in ("_known_identity", "keep_clocks"):
        original = getattr(referrals, step)
        monkeypatch.setattr(referrals, step, noting_whether_the_lock_is_free(step, original))
    bearer = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    answer = client.post("/api/v1/referrals", json=concern_body(), headers=bearer)
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["child_match"] is None
    assert free == [("_known_identity", True), ("keep_clocks", True)]
    free.clear()
    again = client.post("/api/v1/referrals", json=concern_body(), headers=bearer)
    assert again.status_code == 201, again.get_json()
    assert again.get_json()["child_match"] == {
        "kind": "possible",
        "areas": ["west-dunbartonshire"],
    }
    # a known child: matched with the lock free, then again once the write holds it
    assert free == [("_known_identity", True), ("_known_identity", False), ("keep_clocks", False)]
    app.extensions["referral.db"].engine.dispose()


def test_a_child_recorded_while_the_concern_was_matched_is_still_matched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer records the same child between the match's read and the write: the
    concern still links to that child's identity, as though it had been recorded before."""
    from referral.models import Child, ChildIdentity
    from referral.services import referrals
    from tests.referral.flows import concern_body

    _, app, token = _api_on_file(tmp_path, "rematch.sqlite")
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 2000)  # a writer left waiting fails soon
    bearer = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    matching = referrals._known_identity
    others: list[Any] = []

    def record_the_child() -> None:
        others.append(client.post("/api/v1/referrals", json=concern_body(), headers=bearer))

    def another_records_the_child_meanwhile(*args: Any, **kwargs: Any) -> Any:
        found = matching(*args, **kwargs)
        if threading.current_thread() is threading.main_thread() and not others:
            other = threading.Thread(target=record_the_child)  # a request of its own
            other.start()
            other.join(30)
        return found

    monkeypatch.setattr(referrals, "_known_identity", another_records_the_child_meanwhile)
    answer = client.post("/api/v1/referrals", json=concern_body(), headers=bearer)
    assert others[0].status_code == 201, others[0].get_json()
    assert others[0].get_json()["child_match"] is None  # the other writer's child was new
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["child_match"] == {
        "kind": "possible",
        "areas": ["west-dunbartonshire"],
    }
    with app.app_context():
        session = db.session()
        assert session.query(Child).count() == 2
        assert session.query(ChildIdentity).count() == 1  # one child, not two
    app.extensions["referral.db"].engine.dispose()
