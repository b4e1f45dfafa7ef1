"""The change feed (SPEC section 8): every event a user can see, in the order it was committed.

Why positions, and why given at commit
--------------------------------------
An event's id comes from a sequence when it is inserted, but its transaction may commit later
than one that took a higher id: a consumer that read up to id 12 and stored "12" would never
see event 11 committed a moment afterwards. So the feed does not page by event id. Each event
gets a *feed position* (the `feed` table: position, event_id) as the last statement of the
transaction that wrote it, just before COMMIT:

- PostgreSQL: one statement bumps the single row of `feed_counter` (`UPDATE ... RETURNING`)
  and inserts the transaction's `feed` rows numbered from it. The UPDATE holds that row's lock
  until COMMIT, so a second writer waits at the same statement until the first has committed
  (a lock is released only after its transaction is visible to every new snapshot). Positions
  therefore increase in commit order: when a consumer sees position p, every position below p
  is already committed, and a page read after position p can only ever be followed by higher
  ones. The lock is held only for that statement and the COMMIT (it is taken after every other
  row lock of the transaction, so it cannot close a deadlock cycle).
- SQLite: every write transaction begins with `BEGIN IMMEDIATE` (referral.db), so writers are
  serialised for their whole length and `max(position) + 1` under that lock is commit order
  (`feed_counter` is kept for the schema only).

Events are append-only (the database refuses UPDATE), so the position is not a column on the
event set after its INSERT: the `feed` table is append-only too, and the position is not part
of the event's hashed content (`referral audit verify` is unaffected by it).

Every event is placed: referral.services.trail writes a transaction's events as it commits and
places them in the same statement on PostgreSQL (the same counter, the same numbering), in id
order, which within a transaction is the order they were appended (so each referral's `seq`
order). `referral generate` writes its bulk batches with `place_statement`. The migration
placed the events recorded before the feed existed in (at, id) order.

A consumer stores `next_cursor` and polls with it: it never misses an event and never sees one
twice. What a user may see is judged when the page is read (referral.services.visibility); an
event of a referral that became visible later, at a position the consumer has already passed,
is not shown again: read the referral's own events for its history.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from referral.models import AccessLogEntry, Area, Event, Referral, User
from referral.models.audit import FeedEntry
from referral.models.types import utcnow
from referral.services.visibility import visible

#: PostgreSQL: the counter's row lock and every position of the transaction, in one statement
_PLACE_POSTGRESQL = (
    "WITH taken AS ("
    "UPDATE feed_counter SET last_position = last_position + {n} WHERE id = 1 "
    "RETURNING last_position) "
    "INSERT INTO feed (position, event_id) "
    "SELECT taken.last_position - {n} + e.ord, e.event_id "
    "FROM taken, unnest(CAST({ids} AS BIGINT[])) WITH ORDINALITY AS e(event_id, ord)"
)
#: SQLite: writers hold the database's write lock from BEGIN IMMEDIATE to COMMIT
_PLACE_SQLITE = (
    "INSERT INTO feed (position, event_id) "
    "SELECT (SELECT coalesce(max(position), 0) FROM feed) + e.key + 1, e.value "
    "FROM json_each({ids}) AS e"
)


class FeedError(RuntimeError):
    """Events could not be placed in the feed (the counter row is missing): nothing commits."""


def place_statement(dialect: str, n: str, ids: str) -> str:
    """The statement placing events in the feed, with `n` and `ids` as the placeholders
    (e.g. ":n", ":ids"; or "%(n)s", "%(ids)s" for a raw psycopg cursor). On PostgreSQL `ids`
    is an array of event ids, on SQLite the JSON text of that list; `n` its length."""
    if dialect == "postgresql":
        return _PLACE_POSTGRESQL.format(n=n, ids=ids)
    return _PLACE_SQLITE.format(ids=ids)


def place_parameters(dialect: str, ids: list[int]) -> dict[str, Any]:
    if dialect == "postgresql":
        return {"n": len(ids), "ids": ids}
    return {"n": len(ids), "ids": json.dumps(ids)}


def place(session: Session, ids: list[int]) -> None:
    """Give `ids` (in this order) the next feed positions. Call last in the transaction."""
    if not ids:
        return
    dialect = session.get_bind().dialect.name
    statement = text(place_statement(dialect, ":n", ":ids"))
    placed = session.connection().execute(statement, place_parameters(dialect, ids)).rowcount
    if placed != len(ids):
        raise FeedError(
            f"{len(ids)} events to place, {placed} placed: is the feed_counter row missing?"
        )


# -- reading the feed ------------------------------------------------------------------------


def changes(session: Session, user: User, after: int, limit: int) -> dict[str, Any]:
    """The events `user` may see after feed position `after`, oldest commit first.

    `next_cursor` is always given: the position of the last item, or `after` when there is
    none (poll again later with it). A full page means more may be waiting now.
    """
    query = (
        select(FeedEntry.position, Event, Referral.reference, Area.slug)
        .join(Event, Event.id == FeedEntry.event_id)
        .join(Referral, Referral.id == Event.referral_id)
        .join(Area, Area.id == Referral.area_id)
        .where(FeedEntry.position > after, visible(user))
        .order_by(FeedEntry.position)
        .limit(limit)
    )
    rows = session.execute(query).all()
    items = [{**event_json(e), "reference": ref, "area": area} for _, e, ref, area in rows]
    last = rows[-1].position if rows else after
    return {"items": items, "next_cursor": str(last)}


def event_json(e: Event) -> dict[str, Any]:
    return {
        "id": e.id,
        "referral_id": e.referral_id,
        "seq": e.seq,
        "type": e.type,
        "trigger": e.trigger,
        "from_state": e.from_state,
        "to_state": e.to_state,
        "actor": e.actor,
        "agency": e.agency,
        "role": e.role,
        "at": e.at,
        "data": e.data,
        "reason": e.reason,
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    }


def log_feed_read(
    session: Session,
    user: User,
    via: str,
    token_prefix: str | None,
    referral_ids: list[str],
    remote_addr: str | None,
    user_agent: str | None,
) -> None:
    """One access-log entry per referral whose events a page of the feed showed."""
    if not referral_ids:
        return
    now = utcnow()
    session.execute(
        insert(AccessLogEntry),
        [
            {
                "referral_id": rid,
                "username": user.username,
                "agency": user.agency,
                "role": user.role,
                "via": via,
                "token_prefix": token_prefix,
                "at": now,
                "what": "change feed",
                "remote_addr": remote_addr,
                "user_agent": (user_agent or "")[:300] or None,
            }
            for rid in referral_ids
        ],
    )
