"""Database wiring: one engine per app, one session per request, committed once at the boundary."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cache
from typing import Any, cast

import psycopg
from flask import Flask, current_app, g
from psycopg import pq
from psycopg.adapt import Transformer
from sqlalchemy import Column, MetaData, create_engine, event, insert, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, make_transient_to_detached, sessionmaker
from sqlalchemy.sql import Select

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


#: how long a writer waits for SQLite's write lock before "database is locked" (milliseconds)
SQLITE_BUSY_TIMEOUT_MS = 15000
#: how often a waiting writer asks again for the write lock (seconds): a write holds it for
#: 2 to 3 ms, and the lock idles for whatever is left of a waiter's sleep once it is free
SQLITE_LOCK_POLL = 0.0001


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, decide when transactions begin (savepoints then work).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def sqlite_busy(exc: BaseException | None) -> bool:
    """Whether `exc` is SQLite's "database is locked" (another writer holds the lock)."""
    if not isinstance(exc, sqlite3.Error):
        return False
    code: int | None = getattr(exc, "sqlite_errorcode", None)  # the extended code
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY


#: PostgreSQL's SQLSTATEs for a transaction it refused so that another could go on: a deadlock
#: broken, a serialisable transaction that could not be ordered. It wrote nothing, and the
#: same request made again normally succeeds.
_REFUSED_TO_LET_ANOTHER_GO_ON = frozenset({"40P01", "40001"})


def refused_for_another(exc: BaseException | None) -> bool:
    """Whether `exc` is PostgreSQL refusing this transaction so that another could go on."""
    return getattr(exc, "sqlstate", None) in _REFUSED_TO_LET_ANOTHER_GO_ON


def insert_for(dialect: str, table: Any) -> Any:
    """INSERT for `dialect` ("postgresql" or "sqlite"), with its ON CONFLICT clauses."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


#: what `column_values` gives a column the object was not given: `_NUMBERED` leaves it out
_NUMBERED = object()


@cache
def _row_plan(cls: Any) -> tuple[tuple[str, str, Any], ...]:
    """Each column of a model's row, once per model: its attribute, its name, and what it takes
    when not given (a version's first number, the column's default, else None)."""
    mapper: Any = inspect(cls)
    plan = []
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if not isinstance(column, Column):  # a value read by a query (Referral.agency_list)
            continue
        if column is mapper.version_id_col:
            default: Any = 1
        elif column.default is not None:
            default = cast(Any, column.default).arg  # a scalar or a callable (no other kind)
        elif not column.primary_key:
            default = None
        else:
            default = _NUMBERED
        plan.append((prop.key, column.name, default))
    return tuple(plan)


def column_values(obj: Any) -> dict[str, Any]:
    """A new object's row, by column name: what it was given, else each column's default (set
    on the object too), else None; a primary key the database generates is left out."""
    given = obj.__dict__
    values: dict[str, Any] = {}
    for key, name, default in _row_plan(obj.__class__):
        if key in given:
            values[name] = given[key]
        elif default is not _NUMBERED:
            values[name] = default(None) if callable(default) else default
            setattr(obj, key, values[name])
    return values


def attach_loaded(session: Session, *objects: Any) -> None:
    """Add objects whose rows were just written to the session, as though they had been loaded:
    the unit of work has nothing left to do for them."""
    for obj in objects:
        make_transient_to_detached(obj)
    session.add_all(objects)


def insert_loaded(session: Session, *objects: Any) -> None:
    """INSERT each new object (in this order) by one Core statement, then add it to the session
    as though it had been loaded (`attach_loaded`).

    For the rows a request creates and then only reads: their foreign keys are set as columns
    (not through relationships), and a column left unset takes its default, on the object too.
    A primary key the database generates is read back. Related objects given here are added
    with them; any other is added as usual (and its INSERT waits for the flush).
    """
    connection = session.connection()
    for obj in objects:
        mapper = inspect(type(obj))
        table = mapper.local_table
        values = column_values(obj)
        generated = tuple(c for c in table.primary_key.columns if c.name not in values)
        result = connection.execute(_insert_returning(table, generated), values)
        if generated:
            row = result.one()
            for column in generated:
                setattr(obj, mapper.get_property_by_column(column).key, row._mapping[column])
    attach_loaded(session, *objects)


@cache
def _insert_returning(table: Any, generated: tuple[Any, ...]) -> Any:
    """INSERT into `table`, answering with the `generated` key columns: built once each."""
    statement = insert(table)
    return statement.returning(*generated) if generated else statement


def _begin_immediate(dbapi_connection: Any) -> None:
    """BEGIN IMMEDIATE, asking again every tenth of a millisecond while another writer holds
    the lock.

    SQLite's own busy handler sleeps 1, 2, 5, 10 ... up to 100 ms between its tries, so a
    writer queued behind a 5 ms transaction often sleeps on well after the lock is free: the
    database idles while requests wait, and their p99 grows by those sleeps. Here the busy
    timeout is off only for the BEGIN, which is retried at a fine interval up to the same
    15 s; every other statement keeps SQLite's timeout (a checkpoint may still make one wait).
    A try costs some microseconds; at half a millisecond the lock sat idle in between, and
    creates under load served 12 to 20% fewer a second (bench/README.md).
    """
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout=0")
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                cursor.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not sqlite_busy(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(SQLITE_LOCK_POLL)
    finally:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # Take the write lock up front: nearly every request writes (the access log at least), and
    # upgrading a read lock later is where SQLite reports "database is locked". A connection
    # marked read_only (health probes) reads beside a writer instead of queueing behind it.
    if connection.get_execution_options().get("read_only", False):
        connection.exec_driver_sql("BEGIN")
    else:
        _begin_immediate(connection.connection.driver_connection)


#: a pooled connection left unused for longer than this (seconds) is pinged before it is used
IDLE_BEFORE_PING = 1.0


def _checked_in(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(engine: Engine) -> Any:
    """Ping a pooled connection only if it sat idle: a server restarted meanwhile is found here,
    and the pool connects again. A connection handed back moments ago is used as it is, which
    saves every request a round trip under load (`pool_pre_ping` pings on every checkout); if
    the server went away in that moment, the request fails with a 503 and the pool is
    renewed (`errors.py`)."""

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < IDLE_BEFORE_PING:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"a pooled connection was lost: {exc}") from exc

    return checkout


#: PostgreSQL's cost of reading a page out of order, against 1.0 for the next page in order:
#: 1.1 for data held in memory or on solid-state storage (the server's default, 4.0, is for
#: spinning disks)
RANDOM_PAGE_COST = 1.1


def _planner_settings(_dialect: Any, _record: Any, _args: Any, params: dict[str, Any]) -> None:
    """Each PostgreSQL connection the product opens plans for storage where a lookup by key
    costs about what a read in order does (`RANDOM_PAGE_COST`). It goes before any `options`
    the database URL sets, so a setting there wins.

    The product mostly finds rows by key. On a small table the server's default makes reading
    the whole table look cheaper than the index, and a plan the connection keeps (a foreign
    key's check, a prepared statement) keeps that choice as the table grows, until the table
    is analysed again; with autovacuum off, nothing analyses it. Each concern recorded then
    read every child twice, to check its new rows' foreign keys."""
    setting = f"-c random_page_cost={RANDOM_PAGE_COST}"
    params["options"] = f"{setting} {params['options']}" if params.get("options") else setting


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = create_engine(url)
    event.listen(engine, "do_connect", _planner_settings)
    event.listen(engine, "checkin", _checked_in)
    event.listen(engine, "checkout", _ping_if_idle(engine))
    return engine


class Database:
    """The app's engine and session factory; tests rebind the factory to an outer transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        #: the same pool, its transactions read-only (on SQLite a plain BEGIN, beside a writer)
        self.reader = engine.execution_options(read_only=True)
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
    """Commit the unit of work: called only at the boundary (end of a request or command).
    A session with no transaction (adding an object begins one) and no rows waiting for the
    commit (referral.services.trail keeps them in `info`) has nothing to commit."""
    s: Session | None = g.get("db_session")
    if s is not None and (s.in_transaction() or s.info):
        s.commit()


def commit_before_answering() -> None:
    """Commit the request's changes now, before its answer is built from them.

    The answer is then only read from objects already loaded (the session keeps them after
    the commit), so on SQLite the single write lock is released before the answer is
    serialised, and other writers wait for the write alone. A failed commit is the view's
    own error (a 503 when the database is busy or gone), never a half-sent answer. Whatever
    the answer still asks of the database runs in a read-only transaction (on SQLite a plain
    BEGIN, beside the next writer), begun only if it asks and ended with the request.
    """
    s = session()
    s.commit()
    if database().dialect == "sqlite" and isinstance(s.bind, Engine):
        s.bind = database().reader


@cache
def _begun_by(statement: Select[Any], dialect: Dialect) -> bytes:
    """`BEGIN` and `statement`, its constants written in, as one simple query (PostgreSQL)."""
    sql = statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    return f"BEGIN; {sql}".encode()


def begin_with_scalar(s: Session, statement: Select[Any]) -> Any:
    """The one value `statement` reads (or None), read as the first statement of `s`'s
    transaction.

    On PostgreSQL psycopg begins a transaction with a round trip of its own, `BEGIN`, before
    the first statement. A transaction not yet begun is begun here with the statement instead,
    as one simple query (`BEGIN; SELECT ...`): one round trip fewer for every request that
    starts this way. The statement must read one small row by constants: it is planned on
    each call, not kept prepared. Whatever is out of the ordinary (a transaction already open,
    as in the tests' joined sessions; an isolation level set on the connection; any error) goes
    the usual way, through SQLAlchemy, which reports errors and lost connections as it
    always does."""
    connection = s.connection()
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        if (
            raw is not None
            and raw.pgconn.transaction_status == pq.TransactionStatus.IDLE
            and not raw.autocommit
            and raw.isolation_level is None
            and raw.read_only is None
            and raw.deferrable is None
        ):
            try:
                result = raw.pgconn.exec_(_begun_by(statement, connection.dialect))
            except psycopg.Error:
                result = None
            if result is not None and result.status == pq.ExecStatus.TUPLES_OK:
                if result.ntuples == 0:
                    return None
                values = Transformer.from_context(raw)
                values.set_pgresult(result)
                return values.load_row(0, tuple)[0]
            if raw.pgconn.transaction_status != pq.TransactionStatus.IDLE:
                with suppress(psycopg.Error):  # the usual way below finds the connection lost
                    raw.pgconn.exec_(b"ROLLBACK")
    return connection.execute(statement).scalar()


def rollback() -> None:
    if "db_session" in g:
        g.db_session.rollback()


@contextmanager
def reading_apart(s: Session) -> Iterator[bool]:
    """On SQLite, what runs inside reads in a transaction of its own, ended on the way out, so
    the session's writing transaction (and SQLite's single write lock) starts only at its
    next statement; it yields True then. Elsewhere, and in a session already in a transaction
    (tests join one), it runs in that transaction and yields False. What runs inside must
    only read: a change left in the session would be written by the read's commit."""
    if (
        s.get_bind().dialect.name != "sqlite"
        or s.in_transaction()
        or not isinstance(s.bind, Engine)
    ):
        yield False
        return
    s.connection(execution_options={"read_only": True})
    try:
        yield True
    finally:
        if s.in_transaction():
            s.commit()  # it wrote nothing: this only ends the read


@contextmanager
def read_first() -> Iterator[None]:
    """The request's reads before its first write, apart on SQLite (`reading_apart`): a request
    authenticates without holding up other writers."""
    with reading_apart(session()):
        yield


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
