"""What a transaction leaves behind it: its events, its access-log entries and the events' feed
positions, written together as it commits.

A request that changes a referral appends an event (referral.services.audit) and logs the read
its answer is (referral.services.access). Neither row is read back by the request that writes
it, and both belong at the end of the transaction beside the feed positions, which must be
given last (referral.services.feed). So they wait here, in the session, and `before_commit`
writes them after the unit of work's last flush (the referral's own row comes first: the rows
refer to it):

- PostgreSQL: one statement inserts the events, takes their feed positions from the counter
  row (its lock held from there to the COMMIT, as `feed` explains) and inserts the access-log
  entries; a transition costs one round trip at commit instead of three. The same statement
  writes the referral's own row when the transaction changed it and nothing else of it (a
  transition): the columns that changed, checked against the version it was read at, as the
  unit of work would, which then has nothing left to do for it. It also inserts the stage
  records the transaction appended without reading them back (`append_row`: an IRD
  contribution, a chronology entry), so adding one costs no statement of its own.
- SQLite: the same rows by Core statements, the referral's changed columns first and the
  feed positions last (the write lock is held from BEGIN IMMEDIATE anyway, and statements
  cost no round trip).

A query of the session that might read them (any ORM statement while rows wait) writes them
first, as autoflush does for objects, so what a request reads includes what it wrote; their
feed positions are still given at commit. A rollback drops whatever waits.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import cache
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    BindParameter,
    Table,
    TextClause,
    TextualSelect,
    bindparam,
    column,
    event,
    insert,
    inspect,
    text,
)
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from referral.db import column_values
from referral.models import AccessLogEntry, Event, Referral
from referral.services.feed import FeedError, place

#: session.info keys: events and access-log rows waiting for the commit; the stage records a
#: transition appends, waiting the same way, by table; ids of events written early (before a
#: query) but not yet placed in the feed
_EVENTS = "referral.trail.events"
_READS = "referral.trail.reads"
_ROWS = "referral.trail.rows"
_UNPLACED = "referral.trail.unplaced"


def written_columns(table: Table) -> tuple[str, ...]:
    """The columns an insert gives: all but a primary key the database numbers."""
    return tuple(c.name for c in table.columns if c is not table.autoincrement_column)


_EVENT_TABLE = cast(Table, Event.__table__)
_READ_TABLE = cast(Table, AccessLogEntry.__table__)
EVENT_COLUMNS = written_columns(_EVENT_TABLE)
READ_COLUMNS = written_columns(_READ_TABLE)

_INSERT_EVENTS = insert(_EVENT_TABLE).returning(_EVENT_TABLE.c.id, sort_by_parameter_order=True)
_INSERT_READS = insert(_READ_TABLE)


#: PostgreSQL: the transaction's events, their feed positions and its access-log rows, at once,
#: and a referral's changed columns when `{updated}` says which (the column names are the
#: models'; every value is bound)
_COMMIT_POSTGRESQL = (
    "WITH {updated}{appended}ev AS ("
    "INSERT INTO events ({events}) SELECT {events} "
    "FROM ROWS FROM (json_populate_recordset(NULL::events, CAST(:events AS json))) "
    "WITH ORDINALITY AS r ORDER BY r.ordinality RETURNING id), "
    "to_place AS ("
    "SELECT u.event_id FROM unnest(CAST(:ids AS BIGINT[])) AS u(event_id) "
    "UNION ALL SELECT id FROM ev), "
    "taken AS ("
    "UPDATE feed_counter SET last_position = last_position + :n WHERE id = 1 "
    "RETURNING last_position), "
    "placed AS ("
    "INSERT INTO feed (position, event_id) "
    "SELECT taken.last_position - :n + row_number() OVER (ORDER BY to_place.event_id), "
    "to_place.event_id FROM taken, to_place RETURNING event_id), "
    "logged AS ("
    "INSERT INTO access_log ({reads}) SELECT {reads} "
    "FROM json_populate_recordset(NULL::access_log, CAST(:reads AS json)) RETURNING 1) "
    "SELECT (SELECT count(*) FROM placed) AS placed, ARRAY(SELECT id FROM ev ORDER BY id) AS ids"
    "{updated_count}"
)
#: one referral's changed columns, where its version is the one it was read at
_REFERRAL_UPDATE = (
    "UPDATE referrals SET {sets}, version = :u_version + 1 "
    "WHERE id = :u_id AND version = :u_version"
)
#: PostgreSQL: one table's waiting rows, in the order they were added (ids are given in it)
_APPEND_POSTGRESQL = (
    "{table}_rows AS ("
    "INSERT INTO {table} ({columns}) SELECT {columns} "
    "FROM ROWS FROM (json_populate_recordset(NULL::{table}, CAST(:{table}_rows AS json))) "
    "WITH ORDINALITY AS r ORDER BY r.ordinality), "
)
_REFERRAL_TABLE = cast(Table, Referral.__table__)
#: the referral's columns a write may change (its id never; its version by the check below)
_REFERRAL_COLUMNS = frozenset(c.name for c in _REFERRAL_TABLE.columns) - {"id", "version"}


def _referral_update(columns: tuple[str, ...]) -> tuple[str, list[BindParameter[Any]]]:
    """The UPDATE of these columns, and its parameters typed as the columns are."""
    sets = ", ".join(f"{c} = :u_{c}" for c in columns)
    binds = [bindparam(f"u_{c}", type_=_REFERRAL_TABLE.c[c].type) for c in columns]
    return _REFERRAL_UPDATE.format(sets=sets), binds


@cache
def _write_at_commit(
    columns: tuple[str, ...] = (), tables: tuple[Table, ...] = ()
) -> TextualSelect:
    """The commit's statement; with `columns`, also writing those of one referral, and with
    `tables`, the rows waiting for each (one statement for each: a trigger changes the same
    columns and appends to the same tables)."""
    updated, binds = _referral_update(columns)
    appended = "".join(
        _APPEND_POSTGRESQL.format(table=t.name, columns=", ".join(written_columns(t)))
        for t in tables
    )
    statement = _COMMIT_POSTGRESQL.format(
        events=", ".join(EVENT_COLUMNS),
        reads=", ".join(READ_COLUMNS),
        appended=appended,
        updated=f"updated AS ({updated} RETURNING 1), " if columns else "",
        updated_count=", (SELECT count(*) FROM updated) AS updated" if columns else "",
    )
    # its answer's columns named: SQLAlchemy then reads the cursor's description once, not on
    # every commit
    answer = ("placed", "ids", *(("updated",) if columns else ()))
    return text(statement).bindparams(*binds).columns(*(column(name) for name in answer))


@cache
def _update_referral(columns: tuple[str, ...]) -> TextClause:
    """SQLite: the same UPDATE by itself."""
    updated, binds = _referral_update(columns)
    return text(updated).bindparams(*binds)


class _ReferralChange(NamedTuple):
    referral: Referral
    values: dict[str, Any]  # the changed columns' new values
    version: int  # the version it was read at


def _written(change: _ReferralChange, matched: int) -> None:
    """The referral's UPDATE matched one row: its version is now one more. Any other count: it
    was changed since it was read, and the transaction is refused as the unit of work would."""
    if matched != 1:
        raise StaleDataError(
            f"UPDATE of referral {change.referral.id} at version {change.version} matched "
            f"{matched} rows: it was changed since it was read"
        )
    set_committed_value(change.referral, "version", change.version + 1)


def _change_params(change: _ReferralChange) -> dict[str, Any]:
    return {f"u_{k}": v for k, v in change.values.items()} | {
        "u_id": change.referral.id,
        "u_version": change.version,
    }


def _take_referral_change(session: Session) -> _ReferralChange | None:
    """The one referral whose own columns this transaction changed, and nothing else of it:
    its new values are taken from the unit of work (marked as written) for the commit to
    write, by its one statement on PostgreSQL. None, and the flush writes everything, in any
    other case (two referrals changed, a collection of one changed, or nothing)."""
    changed = [obj for obj in session.dirty if isinstance(obj, Referral)]
    if len(changed) != 1:
        return None
    referral = changed[0]
    state = inspect(referral)
    keys = sorted(state.committed_state)
    if not keys or not state.has_identity or not _REFERRAL_COLUMNS.issuperset(keys):
        return None
    values = {key: state.dict[key] for key in keys}
    for key, value in values.items():
        set_committed_value(referral, key, value)
    # set_committed_value leaves the object marked as modified, and the flush would then go
    # through every column of it to find nothing to write (a tenth of a transition's time on
    # PostgreSQL); SQLAlchemy's own end-of-flush step clears the mark. It has no public name:
    # without it (another SQLAlchemy), the flush only takes longer.
    commit_all = getattr(state, "_commit_all", None)
    if commit_all is not None:
        commit_all(state.dict, session.identity_map)
    return _ReferralChange(referral, values, referral.version)


def add_event(session: Session, new: Event) -> None:
    """`new` (not added to the session) is written as the transaction commits."""
    session.info.setdefault(_EVENTS, []).append(new)


def add_read(session: Session, row: dict[str, Any]) -> None:
    """An access-log row (its columns), written as the transaction commits."""
    session.info.setdefault(_READS, []).append(row)


def append_row(session: Session, row: Any) -> None:
    """`row` (a new object, not added to the session) is written as the transaction commits;
    on PostgreSQL by the commit's one statement, without the unit of work. For rows that no
    one reads back in the transaction that adds them (a query would write them first)."""
    table = cast(Table, type(row).__table__)
    session.info.setdefault(_ROWS, {}).setdefault(table, []).append(column_values(row))


def _event_row(e: Event) -> dict[str, Any]:
    return {name: getattr(e, name) for name in EVENT_COLUMNS}


def write_waiting(session: Session) -> None:
    """Write the waiting events and access-log rows now; the events' feed positions wait on."""
    session.flush()  # the rows they refer to first
    events, reads = session.info.pop(_EVENTS, None), session.info.pop(_READS, None)
    connection = session.connection()
    for table, appended in (session.info.pop(_ROWS, None) or {}).items():
        connection.execute(insert(table), appended)
    if events:
        rows = connection.execute(_INSERT_EVENTS, [_event_row(e) for e in events]).all()
        for e, row in zip(events, rows, strict=True):
            e.id = row.id
        session.info.setdefault(_UNPLACED, []).extend(e.id for e in events)
    if reads:
        connection.execute(_INSERT_READS, reads)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError("naive datetimes are not stored: give an offset")  # as UTCDateTime
    return value.isoformat() if isinstance(value, date) else value


def _json_rows(rows: list[dict[str, Any]]) -> str:
    return json.dumps([{k: _json_value(v) for k, v in row.items()} for row in rows])


def _write_at_commit_postgresql(session: Session, change: _ReferralChange | None) -> None:
    info = session.info
    if not (info.get(_EVENTS) or info.get(_UNPLACED)):  # no event: the rows alone
        write_waiting(session)
        return
    events = info.pop(_EVENTS, None) or []
    reads = info.pop(_READS, None) or []
    appended = info.pop(_ROWS, None) or {}
    ids = info.pop(_UNPLACED, None) or []
    n = len(ids) + len(events)
    params: dict[str, Any] = {
        "events": _json_rows([_event_row(e) for e in events]),
        "ids": ids,
        "n": n,
        "reads": _json_rows(reads),
    }
    params |= {f"{table.name}_rows": _json_rows(rows) for table, rows in appended.items()}
    columns: tuple[str, ...] = ()
    if change is not None:
        columns = tuple(change.values)
        params |= _change_params(change)
    statement = _write_at_commit(columns, tuple(appended))
    result = session.connection().execute(statement, params).one()
    if change is not None:
        _written(change, result.updated)
    if result.placed != n:
        raise FeedError(f"{n} events to place, {result.placed} placed: is feed_counter missing?")
    for e, event_id in zip(events, result.ids, strict=True):
        e.id = event_id


@event.listens_for(Session, "before_commit")
def _write_on_commit(session: Session) -> None:
    info = session.info
    if not (info.get(_EVENTS) or info.get(_READS) or info.get(_ROWS) or info.get(_UNPLACED)):
        return
    # a write: the referral's own row is written with its event (a read leaves all to the flush)
    wrote = info.get(_EVENTS) or info.get(_UNPLACED)
    change = _take_referral_change(session) if wrote else None
    session.flush()  # every other row first: the events and access-log rows refer to them
    if session.get_bind().dialect.name == "postgresql":
        _write_at_commit_postgresql(session, change)
        return
    if change is not None:
        updated = session.connection().execute(
            _update_referral(tuple(change.values)), _change_params(change)
        )
        _written(change, updated.rowcount)
    write_waiting(session)
    place(session, sorted(info.pop(_UNPLACED, None) or []))


@event.listens_for(Session, "do_orm_execute")
def _write_before_reading(state: ORMExecuteState) -> None:
    """Like autoflush: a query while rows wait sees them (never inside `no_autoflush`)."""
    session = state.session
    info = session.info
    waiting = info.get(_EVENTS) or info.get(_READS) or info.get(_ROWS)
    if waiting and state.is_select and session.autoflush:
        write_waiting(session)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the whole transaction ended (committed or rolled back)
        for key in (_EVENTS, _READS, _ROWS, _UNPLACED):
            session.info.pop(key, None)
