"""`referral generate`: synthetic referrals stored as the services store them, on both databases.

One run of the command fills a fresh database; its records must pass `audit verify`, read through
the API as the tables say, and cover every state and closure reason. A smaller run, played again
step by step through the services themselves, must leave the same records (versions, clocks,
documents and events included).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from referral import create_app
from referral.generate import (
    PARTITIONS,
    USER_KINDS,
    GenerateError,
    Ids,
    Options,
    Partition,
    Ref,
    Start,
    World,
    _area_world,
    area_prefix,
    area_slug,
    generate,
    play_batch,
)
from referral.models import Approval, Area, Event, Ird, Referral, ReferralAgency, ReferralLink, User
from referral.services import approvals, referrals, transitions
from referral.services.audit import verify
from referral.services.people import create_token
from referral.services.projection import document
from referral.services.referrals import load_stages
from referral.services.visibility import get_visible
from tests.conftest import BACKENDS, empty_database
from tests.referral.test_cli import ok, run
from workflow.registry import definition

CLI_AUDIT_KEY = "cli-test-audit-key-0123456789abcdef"  # what tests.referral.test_cli.run sets
V2 = definition("scotland", 2)


@pytest.fixture(params=BACKENDS)
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    from referral.migrate import upgrade

    with empty_database(request.param, tmp_path, "gen") as url:
        upgrade(url)  # what `referral db upgrade` runs
        yield url


def test_generate_fills_a_database_that_verifies_and_reads_back(fresh_url: str) -> None:
    """300 referrals in 3 batches (on PostgreSQL, one process per partition), then: every
    state and closure reason, `audit verify` clean, reads through the API as the tables say."""
    output = ok(run(fresh_url, "generate", "--referrals", "300", "--areas", "3", "--batch", "100"))
    app = create_app({"REFERRAL_DATABASE_URL": fresh_url, "REFERRAL_AUDIT_KEY": CLI_AUDIT_KEY})
    engine = create_engine(fresh_url)  # plain transactions: reading beside the app's requests
    try:
        with Session(engine) as session:
            events = session.scalar(select(func.count()).select_from(Event))
            assert (
                output.strip()
                .splitlines()[-1]
                .startswith(f"generated 300 referrals and {events} events in ")
            )
            assert session.scalar(select(func.count()).select_from(Referral)) == 300
            if engine.dialect.name == "postgresql":  # analysed after the load: planned for it
                planned = "SELECT reltuples FROM pg_class WHERE oid = CAST(:t AS regclass)"
                for table, rows in (("referrals", 300), ("events", events)):
                    assert session.execute(text(planned), {"t": table}).scalar_one() == rows
            _every_state_and_closure_reason(session)
            with app.app_context():
                checked, problems = verify(session)
            assert checked == events
            assert problems == []
            _reads_through_the_api(app, session)
    finally:
        engine.dispose()
        app.extensions["referral.db"].engine.dispose()


def _every_state_and_closure_reason(session: Session) -> None:
    found = set(session.execute(select(Referral.state, Referral.closure_reason)))
    assert {state for state, _ in found} == set(V2.state_names)
    assert {reason for _, reason in found if reason} == set(V2.closure_reasons)
    counts = {
        "pending approvals": select(Referral.id).where(Referral.pending_approval_id.isnot(None)),
        "re-referrals": select(Referral.id).where(Referral.child_match != "new"),
        "brothers and sisters": select(ReferralLink.referral_id),
        "transfers in": select(Referral.id).where(Referral.transfer_from.isnot(None)),
        "rejected approvals": select(Approval.id).where(Approval.status == "rejected"),
        "stale approvals": select(Approval.id).where(Approval.status == "stale"),
    }
    for what, query in counts.items():
        assert session.scalar(select(func.count()).select_from(query.subquery())), what
    years = {moment.year for moment in session.scalars(select(Referral.created_at))}
    assert len(years) >= 4
    assert session.scalar(select(func.count(func.distinct(Referral.area_id)))) == 3


def _reads_through_the_api(app: Flask, session: Session) -> None:
    with app.app_context():
        token = create_token(session, "gen-area-1.sw", "read", datetime.now(UTC))
        session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    area = session.scalars(select(Area.id).where(Area.slug == "gen-area-1")).one()
    one_of_each = {
        referral.state: referral
        for referral in session.scalars(select(Referral).where(Referral.area_id == area))
    }
    assert len(one_of_each) >= 5
    for referral in one_of_each.values():
        response = client.get(f"/api/v1/referrals/{referral.id}", headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        from_tables = json.loads(json.dumps(document(load_stages(session, referral.id))))
        assert body["stages"] == from_tables == referral.stages_doc
        assert body["version"] == referral.version
        assert response.headers["ETag"] == f'"{referral.id}.{referral.version}"'
        assert body["state"] == referral.state
    overdue = client.get("/api/v1/referrals?overdue=true&limit=100", headers=headers)
    assert overdue.status_code == 200
    items = overdue.get_json()["items"]
    assert items
    assert all(item["overdue"] for item in items)


# -- the same steps through the services --------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def two_databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    from referral.migrate import upgrade

    with (
        empty_database(request.param, tmp_path, "gena") as first,
        empty_database(request.param, tmp_path, "genb") as second,
    ):
        upgrade(first)
        upgrade(second)
        yield first, second


def _play_through_services(
    app: Flask, groups: list[tuple[list[Any], dict[int, str]]]
) -> dict[str, str]:
    """Each step as its own request would take it; the generated ids -> the services' ids."""
    from referral.db import database

    ids_of: dict[str, str] = {}
    with app.app_context():
        sessions = database().sessions
        for steps, generated_ids in groups:
            ids: dict[int, str] = {}
            pending: dict[int, str] = {}

            def sent(value: Any, ids: dict[int, str] = ids) -> Any:
                if isinstance(value, Ref):
                    return ids[value.key]
                if isinstance(value, list):
                    return [sent(v) for v in value]
                if isinstance(value, dict):
                    return {k: sent(v) for k, v in value.items()}
                return value

            for step in steps:
                with sessions() as session:
                    user = session.scalars(select(User).where(User.username == step.actor)).one()
                    data = sent(step.data)
                    if step.kind == "create":
                        created = referrals.create_referral(
                            session, user, data, "scotland", step.at
                        )
                        ids[step.key] = ids_of[generated_ids[step.key]] = created.id
                    elif step.kind == "fire":
                        referral = get_visible(session, user, ids[step.key], lock=True)
                        fired = transitions.fire(
                            session, user, referral, step.trigger, data, None, step.at
                        )
                        if fired.approval is not None:
                            pending[step.key] = fired.approval.id
                    else:
                        approvals.decide(
                            session,
                            user,
                            pending.pop(step.key),
                            data["decision"],
                            data["comment"],
                            step.at,
                        )
                    session.commit()
    return ids_of


COMPARED = (
    "state",
    "closure_reason",
    "closed_at",
    "version",
    "last_event_seq",
    "created_at",
    "updated_at",
    "received_at",
    "clocks",
    "next_due",
    "stages_doc",
    "child_match",
    "child_match_areas",
    "related_ids",
    "pending_approval_id",
    "transfer_from",
    "named_person",
)


def test_the_services_record_the_same_steps_the_same_way(two_databases: tuple[str, str]) -> None:
    """The generator's rows, versions and events are what the services write for its steps."""
    generated_url, served_url = two_databases
    key = b"test-audit-key-not-for-production"
    engine = create_engine(generated_url)
    summary = generate(engine, key, Options(48, areas=2, batch=48), keep_steps=True)
    app = create_app({"REFERRAL_DATABASE_URL": served_url})
    from referral.generate import prepare_world

    prepare_world(app.extensions["referral.db"].engine, 2)
    ids = _play_through_services(app, summary.groups)
    served_engine = create_engine(served_url)
    with Session(engine) as ours, Session(served_engine) as theirs:
        for ours_id, their_id in list(ids.items()):  # approvals: in the order asked for
            for a, b in zip(_approvals(ours, ours_id), _approvals(theirs, their_id), strict=True):
                ids[a] = b
        references = {
            ours.get(Referral, a).reference: theirs.get(Referral, b).reference
            for a, b in ids.items()
            if ours.get(Referral, a) is not None
        }

        def theirs_of(value: Any) -> Any:
            if isinstance(value, str):
                return ids.get(value, references.get(value, value))
            if isinstance(value, list):
                return [theirs_of(v) for v in value]
            if isinstance(value, dict):
                return {k: theirs_of(v) for k, v in value.items()}
            return value

        compared = 0
        for ours_id, their_id in ids.items():
            mine, served = ours.get(Referral, ours_id), theirs.get(Referral, their_id)
            if mine is None:
                continue  # an approval
            compared += 1
            for column in COMPARED:
                assert theirs_of(getattr(mine, column)) == getattr(served, column), (
                    f"{mine.reference} ({mine.state}): {column}"
                )
            assert _agencies(ours, ours_id) == _agencies(theirs, their_id)
            my_events = ours.scalars(
                select(Event).where(Event.referral_id == ours_id).order_by(Event.seq)
            ).all()
            served_events = theirs.scalars(
                select(Event).where(Event.referral_id == their_id).order_by(Event.seq)
            ).all()
            assert len(my_events) == len(served_events), mine.reference
            for a, b in zip(my_events, served_events, strict=True):
                for column in ("type", "trigger", "from_state", "to_state", "actor", "at"):
                    assert getattr(a, column) == getattr(b, column), (mine.reference, a.seq)
                assert theirs_of(a.data) == b.data, (mine.reference, a.seq, a.type, a.trigger)
            for a, b in zip(
                _approval_rows(ours, ours_id), _approval_rows(theirs, their_id), strict=True
            ):
                assert theirs_of(a) == b, mine.reference
        assert compared == 48
    app.extensions["referral.db"].engine.dispose()
    engine.dispose()
    served_engine.dispose()


def _approvals(session: Session, referral_id: str) -> list[str]:
    query = select(Approval.id).where(Approval.referral_id == referral_id)
    return list(session.scalars(query.order_by(Approval.requested_at)))


def _approval_rows(session: Session, referral_id: str) -> list[tuple[Any, ...]]:
    """What an approval holds besides its id (the referral's version it was asked of too)."""
    query = select(
        Approval.trigger,
        Approval.data,
        Approval.status,
        Approval.referral_version,
        Approval.requested_by,
        Approval.requested_at,
        Approval.approver_role,
        Approval.decided_by,
        Approval.decided_at,
        Approval.comment,
    ).where(Approval.referral_id == referral_id)
    return [tuple(row) for row in session.execute(query.order_by(Approval.requested_at))]


def _agencies(session: Session, referral_id: str) -> list[str]:
    return sorted(
        session.scalars(
            select(ReferralAgency.agency).where(ReferralAgency.referral_id == referral_id)
        )
    )


# -- without a database ------------------------------------------------------------------------


def _start(until: date) -> Start:
    areas = [_area_world(n, n, area_slug(n), area_prefix(n)) for n in (1, 2, 3)]
    users = {f"{a.slug}.{kind}": (agency, role) for a in areas for kind, agency, role in USER_KINDS}
    world = World(
        areas,
        {u: agency for u, (agency, _) in users.items()},
        {u: role for u, (_, role) in users.items()},
        {a.slug for a in areas},
    )
    return Start(
        world=world,
        ids=dict.fromkeys((model.__tablename__ for model in Ids.TABLES), 0),
        references={},
        existing=0,
        chis=set(),
        names=set(),
        limit=datetime(until.year, until.month, until.day, tzinfo=UTC) - timedelta(minutes=1),
    )


def _events(seed: int, until: date) -> list[Any]:
    start = _start(until)
    options = Options(120, areas=3, seed=seed, batch=60)
    rows = []
    for number in range(2):
        partition = Partition(number % PARTITIONS, start)
        played = play_batch(number, 60, partition, start, options, b"k" * 32)
        rows += played.rows["events"] + played.rows["referrals"]
    return rows


def test_the_same_seed_gives_the_same_records() -> None:
    until = date(2026, 11, 1)
    first = _events(7, until)
    assert first == _events(7, until)
    assert first != _events(8, until)
    assert max(row[10] for row in first if len(row) == 15) < datetime(2026, 11, 1, tzinfo=UTC)


def test_every_step_is_one_the_workflow_accepts() -> None:
    """The engine checks every step of a run with --check (the API's own validation)."""
    start = _start(date(2026, 11, 1))
    options = Options(200, areas=3, seed=3, batch=200, check=True)
    played = play_batch(1, 200, Partition(1, start), start, options, b"k" * 32)
    assert played.referrals == 200


def test_nothing_to_generate_and_the_future_are_refused() -> None:
    with pytest.raises(GenerateError):
        generate(create_engine("sqlite://"), b"k", Options(0))
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    with pytest.raises(GenerateError, match="future"):
        generate(create_engine("sqlite://"), b"k", Options(1, until=tomorrow))


def test_plain_rows_are_the_recorders_rows() -> None:
    """Worker processes run the recorders on plain objects: the rows are the same."""
    from referral.generate import plain_rows

    start = _start(date(2026, 11, 1))
    options = Options(150, areas=3, seed=11, batch=150)
    with_orm = play_batch(0, 150, Partition(0, start), start, options, b"k" * 32)
    with plain_rows():
        plain = play_batch(0, 150, Partition(0, start), start, options, b"k" * 32)
    assert plain.rows == with_orm.rows
    from referral.services import stages

    assert stages.Ird is Ird  # put back
