"""Several processes fire conflicting triggers at one referral at once: exactly one wins."""

from __future__ import annotations

import multiprocessing
import threading
import time
import uuid
from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError

from tests.conftest import PASSWORD, PG_URL, empty_database
from tests.referral.flows import concern_body, data

WORKERS = 6


def _worker(
    url: str,
    token: str,
    referral_id: str,
    trigger: str,
    body: dict[str, Any],
    barrier: Any,
    results: Any,
) -> None:
    from referral import create_app

    app = create_app({"REFERRAL_DATABASE_URL": url})
    client = app.test_client()
    barrier.wait(timeout=60)
    response = client.post(
        f"/api/v1/referrals/{referral_id}/transitions",
        json={"trigger": trigger, "data": body},
        headers={"Authorization": f"Bearer {token}"},
    )
    results.put((trigger, response.status_code))
    app.extensions["referral.db"].engine.dispose()


def _at_once(target: Any, args: list[tuple[Any, ...]]) -> list[Any]:
    """`target(*a, barrier, results)` for each `a` in a process of its own, all let go at the
    same moment; what each put on `results`.

    The processes are forked from a server process started afresh (not from this one, whose
    connections and threads they must not share), which has imported the app once: a process
    of its own each, without each importing it again."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["referral.api", "referral.web", "referral.cli"])
    barrier = ctx.Barrier(len(args))
    results = ctx.Queue()
    processes = [ctx.Process(target=target, args=(*a, barrier, results)) for a in args]
    for p in processes:
        p.start()
    outcomes = [results.get(timeout=120) for _ in processes]
    for p in processes:
        p.join(timeout=60)
        assert p.exitcode == 0
    return outcomes


@pytest.mark.parametrize(
    ("decisions", "winner_state"),
    [
        # the investigation goes one way or the other: a JII is planned, or a conference set
        (
            ("plan_jii", "schedule_case_conference"),
            {"plan_jii": "jii", "schedule_case_conference": "case_conference"},
        ),
        # decisions needing approval: only one may be pending
        (("decide_no_case_conference", "extend_timescale"), {}),
    ],
)
def test_conflicting_triggers_from_several_processes(
    app: Flask, database_url: str, decisions: tuple[str, ...], winner_state: dict[str, str]
) -> None:
    from datetime import date

    from referral.db import unit_of_work
    from referral.models import Event, Referral
    from referral.models.types import utcnow
    from referral.services import people, referrals, transitions

    # Committed data in an area of its own, so the rolled-back tests never see it.
    suffix = uuid.uuid4().hex[:8]
    area = f"race-{suffix}"
    prefix = "R" + "".join(chr(65 + int(c, 16) % 26) for c in suffix[:5])
    with app.app_context(), unit_of_work() as session:
        people.add_area(session, area, "Race", prefix)
        police = people.create_user(
            session, f"pc-{suffix}", "police", "practitioner", [area], PASSWORD
        )
        workers = [
            people.create_user(
                session, f"sw{i}-{suffix}", "social_work", "practitioner", [area], PASSWORD
            )
            for i in range(WORKERS)
        ]
        tokens = [people.create_token(session, u.username, "write", utcnow()) for u in workers]
        body = concern_body(area=area)
        body["child"]["date_of_birth"] = date(2015, 5, 5).isoformat()
        referral = referrals.create_referral(session, police, body, "scotland", utcnow())
        for trigger, changes in (
            ("convene_ird", {}),
            ("start_investigation", {"lead_professional": workers[0].username}),
        ):
            transitions.fire(
                session, workers[0], referral, trigger, data(trigger, **changes), None, utcnow()
            )
        referral_id = referral.id
        names = {
            "interviewers": [police.username, workers[1].username],
            "chair": workers[2].username,
        }

    plan = []
    for i in range(WORKERS):
        trigger = decisions[i % len(decisions)]
        changes = {k: v for k, v in names.items() if k in data(trigger)}
        plan.append((tokens[i], trigger, data(trigger, **changes)))

    outcomes = _at_once(
        _worker, [(database_url, token, referral_id, trigger, b) for token, trigger, b in plan]
    )

    winners = [o for o in outcomes if o[1] in (200, 202)]
    assert len(winners) == 1, outcomes
    assert all(code == 409 for _, code in outcomes if code not in (200, 202)), outcomes

    with app.app_context(), unit_of_work() as session:
        referral = session.get(Referral, referral_id)
        assert referral is not None
        written = session.scalar(
            select(func.count())
            .select_from(Event)
            .where(
                Event.referral_id == referral_id,
                Event.type.in_(("transition", "approval_requested")),
                Event.trigger.in_(decisions),
            )
        )
        assert written == 1
        assert referral.state == winner_state.get(winners[0][0], "investigation")


def _recorder(url: str, token: str, body: dict[str, Any], barrier: Any, results: Any) -> None:
    from referral import create_app

    app = create_app({"REFERRAL_DATABASE_URL": url})
    client = app.test_client()
    barrier.wait(timeout=60)
    response = client.post(
        "/api/v1/referrals", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    answer = response.get_json() or {}
    results.put((response.status_code, answer.get("reference"), answer.get("child_match")))
    app.extensions["referral.db"].engine.dispose()


def _area_with_officers(app: Flask, name: str, officers: int = 1) -> tuple[str, str, list[str]]:
    """An area of its own, named `name` with a suffix: its slug, its reference prefix, and a
    write token for each of `officers` police practitioners in it."""
    from referral.db import unit_of_work
    from referral.models.types import utcnow
    from referral.services import people

    suffix = uuid.uuid4().hex[:8]
    area = f"{name.lower()}-{suffix}"
    prefix = name[0].upper() + "".join(chr(65 + int(c, 16) % 26) for c in suffix[:5])
    with app.app_context(), unit_of_work() as session:
        people.add_area(session, area, name, prefix)
        tokens = []
        for i in range(officers):
            user = people.create_user(
                session, f"pc{i}-{suffix}", "police", "practitioner", [area], PASSWORD
            )
            tokens.append(people.create_token(session, user.username, "write", utcnow()))
    return area, prefix, tokens


def _lock_key(connection: Any, key: str) -> int:
    """The advisory lock a child's `key` is in the connection's schema, as
    `match_child_locked` (migration 0010) makes it."""
    hashed = text("SELECT hashtextextended(current_schema() || ' ' || :k, 0)")
    return int(connection.execute(hashed, {"k": key}).scalar_one())


def test_concerns_recorded_at_once_in_a_new_area_get_consecutive_references(
    app: Flask, database_url: str
) -> None:
    """The year's first references of an area, taken by several processes at the same moment:
    one makes the counter, none is refused, no number is given twice or skipped. They are
    concerns about one child: the first is new, and every other one matches it."""
    from referral.db import unit_of_work
    from referral.models import Child

    area, prefix, tokens = _area_with_officers(app, "Count", WORKERS)
    # a child of its own too: matching looks across areas, and these rows are committed
    body = concern_body(area=area, family_name=f"Count{prefix}")
    outcomes = _at_once(_recorder, [(database_url, t, body) for t in tokens])
    assert all(status == 201 for status, _, _ in outcomes), outcomes
    numbers = sorted(int(reference.rsplit("-", 1)[1]) for _, reference, _ in outcomes)
    assert numbers == list(range(1, WORKERS + 1)), outcomes
    # the same child each time: the first recorded is new, and each later one matches it
    matches = sorted((match or {}).get("kind", "new") for _, _, match in outcomes)
    assert matches == ["new"] + ["possible"] * (WORKERS - 1), outcomes
    with app.app_context(), unit_of_work() as session:
        identities = session.scalar(
            select(func.count(func.distinct(Child.identity_id))).where(
                Child.family_name == body["child"]["family_name"]
            )
        )
    assert identities == 1


@pytest.mark.skipif(not PG_URL, reason="advisory locks are PostgreSQL's")
def test_a_childs_lock_is_held_within_its_own_database_schema(tmp_path: Path) -> None:
    """Matching a child locks its keys until the concern commits, so a second concern about
    the same child waits for it; one recorded in another schema of the same database (another
    deployment, another test) does not wait, although PostgreSQL's advisory locks are shared
    by the whole database."""
    from referral.migrate import upgrade
    from referral.services.referrals import _LOCKED_MATCH

    child = {"chi": "0101121234", "key": "amy|brown", "birth": date(2012, 1, 1)}
    keys = ["chi:0101121234", "birth:amy|brown|2012-01-01"]
    with ExitStack() as stack:
        first, second = (
            stack.enter_context(empty_database("postgresql", tmp_path, name))
            for name in ("lock_one", "lock_two")
        )
        for url in (first, second):
            upgrade(url)
        engines = [create_engine(url) for url in (first, first, second)]
        for engine in engines:
            stack.callback(engine.dispose)
        holder, same, other = (stack.enter_context(e.connect()) for e in engines)
        holder.execute(_LOCKED_MATCH, {"keys": keys, **child})  # held: its transaction stays open
        for waiter in (same, other):
            waiter.execute(text("SET lock_timeout = '300ms'"))
        other.execute(_LOCKED_MATCH, {"keys": keys, **child})  # another schema: taken at once
        with pytest.raises(OperationalError, match="lock timeout"):
            same.execute(_LOCKED_MATCH, {"keys": keys, **child})


def _wait_for_a_lock(app: Flask, key: int) -> None:
    """Until a transaction waits for the advisory lock `key` (64 bits)."""
    from referral import db

    waiting = text(  # as pg_locks lists a 64-bit advisory lock
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND classid = :high AND objid = :low AND objsubid = 1"
    )
    key_parts = {"high": (key >> 32) & 0xFFFFFFFF, "low": key & 0xFFFFFFFF}
    with app.app_context():
        session = db.session()
        for _ in range(300):
            found = session.scalar(waiting, key_parts)
            session.rollback()
            if found:
                return
            time.sleep(0.05)
    pytest.fail("no transaction waited for the lock")


def _wait_for_the_childs_lock(app: Flask, body: dict[str, Any]) -> None:
    """Until a transaction waits for the lock on the child's name and date of birth."""
    from referral import db
    from referral.services.referrals import MatchedBy, _child_keys

    with app.app_context():
        session = db.session()
        key = _lock_key(session, _child_keys(MatchedBy.of(body["child"]))[-1])
        session.rollback()
    _wait_for_a_lock(app, key)


def test_a_concern_waits_for_the_childs_lock_and_then_matches_the_child(
    app: Flask, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: a concern takes its child's locks before it looks for the child. A second
    concern about the child, arriving while the first has written its rows but not committed
    them, waits for those locks, then matches the first's child (one identity) and takes the
    next reference number."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the child's locks are PostgreSQL's")
    from referral import db
    from referral.db import unit_of_work
    from referral.models import Child

    area, prefix, (token,) = _area_with_officers(app, "Wait")
    body = concern_body(area=area, family_name=f"Wait{prefix}")
    first_written, first_may_commit = threading.Event(), threading.Event()
    committing = db.commit_before_answering

    def first_waits_before_committing() -> None:
        if threading.current_thread().name == "first":
            first_written.set()
            assert first_may_commit.wait(30)
        committing()

    monkeypatch.setattr(db, "commit_before_answering", first_waits_before_committing)
    answers: dict[str, Any] = {}

    def record(name: str) -> None:
        answer = app.test_client().post(
            "/api/v1/referrals", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        answers[name] = (answer.status_code, answer.get_json())

    first = threading.Thread(target=record, args=("first",), name="first")
    second = threading.Thread(target=record, args=("second",), name="second")
    first.start()
    try:
        assert first_written.wait(30)  # its rows written, its locks held, not committed
        second.start()
        _wait_for_the_childs_lock(app, body)
    finally:
        first_may_commit.set()
        first.join(30)
        if second.ident is not None:  # started
            second.join(30)
    assert answers["first"][0] == 201, answers
    assert answers["first"][1]["child_match"] is None  # new
    assert answers["second"][0] == 201, answers
    assert answers["second"][1]["child_match"] == {"kind": "possible", "areas": [area]}
    numbers = [int(answers[n][1]["reference"].rsplit("-", 1)[1]) for n in ("first", "second")]
    assert numbers == [1, 2]
    with app.app_context(), unit_of_work() as session:
        identities = session.scalar(
            select(func.count(func.distinct(Child.identity_id))).where(
                Child.family_name == body["child"]["family_name"]
            )
        )
        records = session.scalar(
            select(func.count()).where(Child.family_name == body["child"]["family_name"])
        )
    assert (identities, records) == (1, 2)


def test_a_concern_refused_to_break_a_deadlock_is_a_503_and_records_nothing(
    app: Flask, database_url: str
) -> None:
    """PostgreSQL: a transaction elsewhere (another process recording several children in one
    transaction) holds one of a child's locks and then wants the other, which this concern
    holds. PostgreSQL breaks the deadlock by refusing the concern: the answer is a 503 to try
    again, with nothing recorded, and the same concern made again is recorded."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the child's locks are PostgreSQL's")
    from referral.db import unit_of_work
    from referral.demo import chi_number
    from referral.models import Referral
    from referral.services.referrals import MatchedBy, _child_keys

    area, prefix, (token,) = _area_with_officers(app, "Deadlock")
    chi = chi_number(date(2016, 4, 2), male=False)  # the concern's child's date of birth
    body = concern_body(area=area, family_name=f"Dead{prefix}", chi_number=chi)
    headers = {"Authorization": f"Bearer {token}"}
    engine = create_engine(database_url)
    answers: list[Any] = []
    try:
        with engine.connect() as other:
            keys = _child_keys(MatchedBy.of(body["child"]))
            low, high = sorted(_lock_key(other, k) for k in keys)
            other.execute(text("SET deadlock_timeout = '20s'"))  # the concern notices first
            other.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": high})

            def record() -> None:
                client = app.test_client()
                answers.append(client.post("/api/v1/referrals", json=body, headers=headers))

            concern = threading.Thread(target=record)
            concern.start()
            _wait_for_a_lock(app, high)  # the concern holds `low` and waits for `high`
            other.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": low})  # the cycle
            concern.join(30)
            other.rollback()
    finally:
        engine.dispose()
    refused = answers[0]
    assert refused.status_code == 503, refused.get_json()
    assert refused.headers["Retry-After"] == "1"
    assert refused.get_json()["type"].endswith("database-unavailable")
    assert "nothing of this one was recorded" in refused.get_json()["detail"]
    with app.app_context(), unit_of_work() as session:
        recorded = select(func.count()).select_from(Referral).join(Referral.area)
        assert session.scalar(recorded.where(text("areas.slug = :a")), {"a": area}) == 0
    again = app.test_client().post("/api/v1/referrals", json=body, headers=headers)
    assert again.status_code == 201, again.get_json()
