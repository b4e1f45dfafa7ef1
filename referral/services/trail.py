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
  entries; a transition costs one round trip at commit instead of three.
- SQLite: the same rows by Core statements, the feed positions last (the write lock is held
  from BEGIN IMMEDIATE anyway, and statements cost no round trip).

A query of the session that might read them (any ORM statement while rows wait) writes them
first, as autoflush does for objects, so what a request reads includes what it wrote; their
feed positions are still given at commit. A rollback drops whatever waits.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, event, insert, text
from sqlalchemy.orm import ORMExecuteState, Session

from referral.models import AccessLogEntry, Event
from referral.services.feed import FeedError, place

#: session.info keys: events and access-log rows waiting for the commit; ids of events written
#: early (before a query) but not yet placed in the feed
_EVENTS = "referral.trail.events"
_READS = "referral.trail.reads"
_UNPLACED = "referral.trail.unplaced"

_EVENT_TABLE = cast(Table, Event.__table__)
_READ_TABLE = cast(Table, AccessLogEntry.__table__)
EVENT_COLUMNS = tuple(c.name for c in _EVENT_TABLE.columns if c.name != "id")
READ_COLUMNS = tuple(c.name for c in _READ_TABLE.columns if c.name != "id")

_INSERT_EVENTS = insert(_EVENT_TABLE).returning(_EVENT_TABLE.c.id, sort_by_parameter_order=True)
_INSERT_READS = insert(_READ_TABLE)


#: PostgreSQL: the transaction's events, their feed positions and its access-log rows, at once
#: (the column names are the models'; every value is bound)
_COMMIT_POSTGRESQL = (
    "WITH ev AS ("
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
)
_WRITE_AT_COMMIT = text(
    _COMMIT_POSTGRESQL.format(events=", ".join(EVENT_COLUMNS), reads=", ".join(READ_COLUMNS))
)


def add_event(session: Session, new: Event) -> None:
    """`new` (not added to the session) is written as the transaction commits."""
    session.info.setdefault(_EVENTS, []).append(new)


def add_read(session: Session, row: dict[str, Any]) -> None:
    """An access-log row (its columns), written as the transaction commits."""
    session.info.setdefault(_READS, []).append(row)


def _event_row(e: Event) -> dict[str, Any]:
    return {name: getattr(e, name) for name in EVENT_COLUMNS}


def write_waiting(session: Session) -> None:
    """Write the waiting events and access-log rows now; the events' feed positions wait on."""
    session.flush()  # the rows they refer to first
    events, reads = session.info.pop(_EVENTS, None), session.info.pop(_READS, None)
    connection = session.connection()
    if events:
        rows = connection.execute(_INSERT_EVENTS, [_event_row(e) for e in events]).all()
        for e, row in zip(events, rows, strict=True):
            e.id = row.id
        session.info.setdefault(_UNPLACED, []).extend(e.id for e in events)
    if reads:
        connection.execute(_INSERT_READS, reads)


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _write_at_commit_postgresql(session: Session) -> None:
    events = session.info.pop(_EVENTS, None) or []
    reads = session.info.pop(_READS, None) or []
    ids = session.info.pop(_UNPLACED, None) or []
    if not (events or ids):  # a read: its access-log rows alone
        if reads:
            session.connection().execute(_INSERT_READS, reads)
        return
    rows = [{k: _json_value(v) for k, v in _event_row(e).items()} for e in events]
    logged = [{k: _json_value(v) for k, v in r.items()} for r in reads]
    n = len(ids) + len(events)
    result = (
        session.connection()
        .execute(
            _WRITE_AT_COMMIT,
            {"events": json.dumps(rows), "ids": ids, "n": n, "reads": json.dumps(logged)},
        )
        .one()
    )
    if result.placed != n:
        raise FeedError(f"{n} events to place, {result.placed} placed: is feed_counter missing?")
    for e, event_id in zip(events, result.ids, strict=True):
        e.id = event_id


@event.listens_for(Session, "before_commit")
def _write_on_commit(session: Session) -> None:
    info = session.info
    if not (info.get(_EVENTS) or info.get(_READS) or info.get(_UNPLACED)):
        return
    session.flush()  # the referral's row (and every other) before the rows that refer to it
    if session.get_bind().dialect.name == "postgresql":
        _write_at_commit_postgresql(session)
        return
    write_waiting(session)
    place(session, sorted(info.pop(_UNPLACED, None) or []))


@event.listens_for(Session, "do_orm_execute")
def _write_before_reading(state: ORMExecuteState) -> None:
    """Like autoflush: a query while rows wait sees them (never inside `no_autoflush`)."""
    session = state.session
    waiting = session.info.get(_EVENTS) or session.info.get(_READS)
    if waiting and state.is_select and session.autoflush:
        write_waiting(session)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the whole transaction ended (committed or rolled back)
        for key in (_EVENTS, _READS, _UNPLACED):
            session.info.pop(key, None)
