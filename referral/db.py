"""Database wiring: one engine per app, one session per request, committed once at the boundary."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Constraint names by convention, so migrations are stable on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, decide when transactions begin (savepoints then work).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # Take the write lock up front: nearly every request writes (the access log at least), and
    # upgrading a read lock later is where SQLite reports "database is locked". A connection
    # marked read_only (health probes) reads beside a writer instead of queueing behind it.
    read_only = connection.get_execution_options().get("read_only", False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True)


class Database:
    """The app's engine and session factory; tests rebind the factory to an outer transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = sessionmaker(bind=engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name


def init_app(app: Flask) -> None:
    app.extensions["referral.db"] = Database(make_engine(app.config["REFERRAL_DATABASE_URL"]))

    @app.teardown_appcontext
    def _close_session(exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            if exc is not None or session.in_transaction():
                session.rollback()
            session.close()


def database() -> Database:
    db: Database = current_app.extensions["referral.db"]
    return db


def session() -> Session:
    """The session of the current request or command (created on first use)."""
    if "db_session" not in g:
        g.db_session = database().sessions()
    s: Session = g.db_session
    return s


def commit() -> None:
    """Commit the unit of work: called only at the boundary (end of a request or command)."""
    if "db_session" in g:
        g.db_session.commit()


def rollback() -> None:
    if "db_session" in g:
        g.db_session.rollback()


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """For commands: one transaction that commits on success and rolls back on error."""
    s = session()
    try:
        yield s
        s.commit()
    except BaseException:
        s.rollback()
        raise
