"""A transaction's events and access-log rows are written as it commits, never lost or doubled.

They, and the stage records a write appends without reading them back, wait in the session
until the commit (one statement on PostgreSQL with the events' feed positions), yet a query
made after them in the same transaction sees them, and a rollback leaves nothing of them
behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, update
from sqlalchemy.orm.exc import StaleDataError

from referral import db
from referral.models import AccessLogEntry, ChronologyEntry, Event, Referral
from referral.models.audit import FeedEntry
from referral.models.types import utcnow
from referral.services.audit import append_event
from referral.services.trail import append_row
from tests.referral.flows import create, fire, walk
from workflow import Actor

ACTOR = Actor("pc", "police", "practitioner")


def _counts(session: Any, rid: str) -> tuple[int, int, int]:
    events = session.scalar(select(func.count()).where(Event.referral_id == rid))
    placed = session.scalar(
        select(func.count())
        .select_from(FeedEntry)
        .join(Event, Event.id == FeedEntry.event_id)
        .where(Event.referral_id == rid)
    )
    logged = session.scalar(select(func.count()).where(AccessLogEntry.referral_id == rid))
    return events, placed, logged


def _append(session: Any, rid: str, n: int) -> Event:
    referral = session.get(Referral, rid)
    return append_event(
        session, referral, ACTOR, "chronology_entry", utcnow(), {"what_happened": f"Visit {n}."}
    )


@contextmanager
def _at_its_ird(app: Flask, as_user: Any) -> Iterator[tuple[str, Any, tuple[int, int, int]]]:
    """A new referral at its IRD, a session with nothing pending, and the referral's counts."""
    rid = create(as_user)["id"]
    walk(as_user, rid, "convene_ird")
    with app.app_context():
        session = db.session()
        before = _counts(session, rid)
        session.commit()
        yield rid, session, before


def test_a_query_in_the_same_transaction_sees_the_event_and_the_commit_places_it_once(
    app: Flask, as_user: Any
) -> None:
    with _at_its_ird(app, as_user) as (rid, session, before):
        appended = _append(session, rid, 1)
        of_referral = select(Event.seq).where(Event.referral_id == rid).order_by(Event.seq)
        seqs = session.scalars(of_referral).all()
        assert seqs[-1] == appended.seq == before[0] + 1  # written before the query ran
        assert appended.id is not None
        later = _append(session, rid, 2)  # waits for the commit
        session.commit()
        assert later.id is not None
        assert later.id > appended.id
        assert _counts(session, rid) == (before[0] + 2, before[1] + 2, before[2])
        positions = session.scalars(
            select(FeedEntry.position)
            .where(FeedEntry.event_id.in_([appended.id, later.id]))
            .order_by(FeedEntry.event_id)
        ).all()
        assert positions[1] == positions[0] + 1  # placed together, in the order appended
        session.commit()


def test_a_rollback_leaves_no_event_no_feed_position_and_no_access_log_row(
    app: Flask, as_user: Any
) -> None:
    rid = create(as_user)["id"]
    reader = as_user("sw")
    assert reader.get(f"/api/v1/referrals/{rid}").status_code == 200
    with app.app_context():
        session = db.session()
        before = _counts(session, rid)
        assert before[2] >= 2  # the create's answer and the GET were both logged
        session.commit()
        _append(session, rid, 1)
        session.scalars(select(Event.id).where(Event.referral_id == rid)).all()  # written early
        _append(session, rid, 2)  # still waiting
        session.rollback()
        assert _counts(session, rid) == before
        session.commit()  # nothing of the rolled-back transaction is written by the next one
        assert _counts(session, rid) == before


def test_a_referral_changed_since_it_was_read_is_refused_at_commit_with_its_event(
    app: Flask, as_user: Any
) -> None:
    """The referral's row is written with its event at commit (on PostgreSQL in the same
    statement), checked against the version it was read at: a change made in between (another
    writer's, or a hand on the table) refuses the whole transaction, its event included."""
    with _at_its_ird(app, as_user) as (rid, session, before):
        referral = session.get(Referral, rid)
        read_at = referral.version
        seq = referral.last_event_seq
        _append(session, rid, 1)  # the event, and the referral's chain tip and updated_at
        table = Referral.__table__
        session.connection().execute(  # unseen by the session's unit of work
            update(table).where(table.c.id == rid).values(version=read_at + 1)
        )
        with pytest.raises(StaleDataError):
            session.commit()
        session.rollback()
        assert _counts(session, rid) == before
        referral = session.get(Referral, rid)
        assert (referral.version, referral.last_event_seq) == (read_at, seq)
        session.commit()


def test_a_transition_writes_its_referral_once_and_versions_it_once(
    app: Flask, as_user: Any
) -> None:
    rid = create(as_user)["id"]
    version = walk(as_user, rid, "convene_ird").get_json()["version"]
    fired = fire(as_user, rid, "add_ird_contribution", information_shared="Attendance 58%")
    assert fired.status_code == 200
    answer = fired.get_json()
    assert answer["version"] == version + 1
    assert fired.headers["ETag"] == f'"{rid}.{version + 1}"'
    stored = as_user("sw").get(f"/api/v1/referrals/{rid}").get_json()
    assert stored["version"] == version + 1
    assert stored["stages"]["ird"]["contributions"][-1]["information_shared"] == "Attendance 58%"
    assert stored["stages"] == answer["stages"]
    assert stored["updated_at"] == answer["updated_at"]


def _entry(rid: str, n: int) -> ChronologyEntry:
    return ChronologyEntry(
        referral_id=rid,
        occurred_on=date(2026, 1, n),
        source_agency="health",
        what_happened=f"Seen at clinic {n}.",
        recorded_by="pc",
        recorded_agency="police",
        recorded_at=utcnow(),
    )


def _entries(session: Any, rid: str) -> list[tuple[str, date]]:
    query = select(ChronologyEntry).where(ChronologyEntry.referral_id == rid)
    rows = session.scalars(query.order_by(ChronologyEntry.id)).all()
    return [(row.what_happened, row.occurred_on) for row in rows]


def test_appended_stage_records_are_written_at_commit_in_order_and_seen_by_a_query(
    app: Flask, as_user: Any
) -> None:
    """Rows a write appends without reading them back (chronology entries, IRD contributions)
    wait for the commit like its event: written once each, in the order appended, with every
    column; a query in the same transaction sees them, and a rollback drops them."""
    with _at_its_ird(app, as_user) as (rid, session, before):
        _append(session, rid, 1)
        append_row(session, _entry(rid, 1))
        append_row(session, _entry(rid, 2))
        session.commit()
        assert _entries(session, rid) == [
            ("Seen at clinic 1.", date(2026, 1, 1)),
            ("Seen at clinic 2.", date(2026, 1, 2)),
        ]
        stored = session.scalars(
            select(ChronologyEntry).where(ChronologyEntry.referral_id == rid)
        ).first()
        assert stored is not None
        assert (stored.source_agency, stored.significance, stored.recorded_agency) == (
            "health",
            None,
            "police",
        )
        assert stored.recorded_at.tzinfo is not None
        session.commit()

        _append(session, rid, 2)
        append_row(session, _entry(rid, 3))
        assert _entries(session, rid)[-1] == ("Seen at clinic 3.", date(2026, 1, 3))
        append_row(session, _entry(rid, 4))  # waits again
        session.rollback()
        assert len(_entries(session, rid)) == 2
        session.commit()
        assert _counts(session, rid) == (before[0] + 1, before[1] + 1, before[2])
        session.commit()
