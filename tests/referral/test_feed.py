"""The change feed: every visible event once, in commit order, also under concurrent writes."""

from __future__ import annotations

import multiprocessing
import time
import uuid
from datetime import date
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.conftest import PASSWORD
from tests.referral.flows import concern_body, create, data, is_problem, walk

CHANGES = "/api/v1/changes"


def follow(api: Any, cursor: str | None = None, limit: int = 200) -> tuple[list[Any], str]:
    """Every item after `cursor` up to now, page by page; and the cursor to poll with next."""
    items: list[Any] = []
    while True:
        query = f"?limit={limit}" + (f"&after={cursor}" if cursor is not None else "")
        response = api.get(CHANGES + query)
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        items += page["items"]
        assert page["next_cursor"] is not None
        cursor = page["next_cursor"]
        if len(page["items"]) < limit:
            return items, cursor


def events_of(api: Any, rid: str) -> list[Any]:
    response = api.get(f"/api/v1/referrals/{rid}/events?limit=500")
    assert response.status_code == 200
    items: list[Any] = response.get_json()["items"]
    return items


def test_a_consumer_sees_each_new_event_once_with_its_referral(as_user: Any) -> None:
    sw = as_user("sw", "read")
    _, cursor = follow(sw)
    rid = create(as_user)["id"]
    walk(as_user, rid, "convene_ird")
    seen, cursor = follow(sw, cursor, limit=1)  # one at a time: the cursor moves each page
    trail = events_of(as_user("sw"), rid)
    assert [e["seq"] for e in trail] == [1, 2]
    reference = as_user("sw").get(f"/api/v1/referrals/{rid}").get_json()["reference"]
    assert seen == [{**e, "reference": reference, "area": "west-dunbartonshire"} for e in trail]
    # polling again shows nothing new, and the same cursor comes back
    again = sw.get(f"{CHANGES}?after={cursor}").get_json()
    assert again == {"items": [], "next_cursor": cursor}
    walk(as_user, rid, "add_ird_contribution")
    later, _ = follow(sw, cursor)
    assert [(e["referral_id"], e["seq"], e["trigger"]) for e in later] == [
        (rid, 3, "add_ird_contribution")
    ]


def test_the_feed_shows_only_what_the_user_may_see(as_user: Any) -> None:
    cursors = {name: follow(as_user(name))[1] for name in ("sw.hl", "teacher", "other", "sw")}
    rid = create(as_user)["id"]
    made = as_user("sw.hl").post("/api/v1/referrals", concern_body("highland", given_name="Iona"))
    hl = made.get_json()["id"]
    # another area sees none of this referral's events; its own area's, yes
    seen, _ = follow(as_user("sw.hl"), cursors["sw.hl"])
    assert {e["referral_id"] for e in seen} == {hl}
    assert {e["area"] for e in seen} == {"highland"}
    # a non-core agency sees a referral's events once its agency is on it (education is a
    # participant of the IRD), never those of a referral it is not on
    assert follow(as_user("teacher"), cursors["teacher"])[0] == []
    walk(as_user, rid, "convene_ird")
    seen, _ = follow(as_user("teacher"), cursors["teacher"])
    assert [(e["referral_id"], e["seq"]) for e in seen] == [(rid, 1), (rid, 2)]
    assert follow(as_user("other"), cursors["other"])[0] == []
    seen, _ = follow(as_user("sw"), cursors["sw"])
    assert {e["referral_id"] for e in seen} == {rid}


def test_reading_the_feed_is_access_logged(as_user: Any) -> None:
    _, cursor = follow(as_user("sw"))
    rid = create(as_user)["id"]
    follow(as_user("sw", "read"), cursor)
    log = as_user("swsup").get(f"/api/v1/referrals/{rid}/access-log").get_json()["items"]
    assert [(e["username"], e["what"]) for e in log if e["what"] == "change feed"] == [
        ("sw", "change feed")
    ]


@pytest.mark.parametrize(("username", "scope"), [("sw", "reports"), ("admin", "write")])
def test_reports_tokens_and_administrators_are_refused(
    as_user: Any, username: str, scope: str
) -> None:
    is_problem(as_user(username, scope).get(CHANGES), 403)


@pytest.mark.parametrize("query", ["after=abc", "after=-1", "after=1.5", "limit=0", "limit=201"])
def test_a_bad_cursor_or_limit_is_a_problem(as_user: Any, query: str) -> None:
    body = is_problem(as_user("sw").get(f"{CHANGES}?{query}"), 422)
    assert query.split("=")[0] in body["errors"]


def test_no_credentials_is_401(client: Any) -> None:
    is_problem(client.get(CHANGES), 401)


# -- concurrent writers --------------------------------------------------------------------------

WRITERS = 4
REFERRALS_EACH = 3
STEPS = ("convene_ird", "add_chronology_entry", "add_chronology_entry", "add_ird_contribution")


def _writer(url: str, tokens: dict[str, str], area: str, n: int, barrier: Any, out: Any) -> None:
    from referral import create_app

    app = create_app({"REFERRAL_DATABASE_URL": url})
    client = app.test_client()

    def post(token: str, path: str, body: dict[str, Any]) -> int:
        response = client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
        return response.status_code

    barrier.wait(timeout=60)
    statuses = []
    for i in range(REFERRALS_EACH):
        body = concern_body(area=area, given_name=f"W{n}R{i}")
        body["child"]["date_of_birth"] = date(2014, 1 + n, 1 + i).isoformat()
        created = client.post(
            "/api/v1/referrals", json=body, headers={"Authorization": f"Bearer {tokens['pc']}"}
        )
        statuses.append(created.status_code)
        rid = created.get_json()["id"]
        for trigger in STEPS:
            who = "pc" if trigger == "convene_ird" else "doc"
            changes = {"agency": "health"} if trigger == "add_ird_contribution" else {}
            path = f"/api/v1/referrals/{rid}/transitions"
            statuses.append(
                post(tokens[who], path, {"trigger": trigger, "data": data(trigger, **changes)})
            )
    out.put(statuses)
    app.extensions["referral.db"].engine.dispose()


def test_a_poller_under_concurrent_writers_sees_every_event_once_in_seq_order(
    app: Flask, database_url: str
) -> None:
    """Writer processes record concerns and fire triggers while this one polls the feed."""
    from referral.db import unit_of_work
    from referral.models import Event, Referral
    from referral.models.people import Area
    from referral.models.types import utcnow
    from referral.services import people

    suffix = uuid.uuid4().hex[:8]
    area = f"feed-{suffix}"
    prefix = "F" + "".join(chr(65 + int(c, 16) % 26) for c in suffix[:5])
    tokens: dict[str, str] = {}
    with app.app_context(), unit_of_work() as session:
        people.add_area(session, area, "Feed", prefix)
        for name, agency in (("pc", "police"), ("doc", "health"), ("sw", "social_work")):
            people.create_user(
                session, f"{name}-{suffix}", agency, "practitioner", [area], PASSWORD
            )
            tokens[name] = people.create_token(session, f"{name}-{suffix}", "write", utcnow())

    poller = app.test_client()
    headers = {"Authorization": f"Bearer {tokens['sw']}"}

    def poll(cursor: str | None) -> tuple[list[Any], str]:
        query = "?limit=7" + (f"&after={cursor}" if cursor else "")
        response = poller.get(CHANGES + query, headers=headers)
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        return page["items"], page["next_cursor"]

    # forked: each writer builds its own app and engine (nothing of this process's is used)
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(WRITERS)
    out = ctx.Queue()
    writers = [
        ctx.Process(target=_writer, args=(database_url, tokens, area, n, barrier, out))
        for n in range(WRITERS)
    ]
    for p in writers:
        p.start()
    seen: list[Any] = []
    cursor: str | None = None
    results: list[list[int]] = []
    while len(results) < WRITERS:
        items, cursor = poll(cursor)
        seen += items
        while not out.empty():
            results.append(out.get())
        if not items:
            time.sleep(0.01)
    for p in writers:
        p.join(timeout=60)
        assert p.exitcode == 0
    while True:  # everything is committed: catch up
        items, cursor = poll(cursor)
        seen += items
        if not items:
            break

    assert all(code in (200, 201) for statuses in results for code in statuses), results
    with app.app_context(), unit_of_work() as session:
        area_id = session.scalars(select(Area.id).where(Area.slug == area)).one()
        stored = session.execute(
            select(Event.id, Event.referral_id, Event.seq)
            .join(Referral, Referral.id == Event.referral_id)
            .where(Referral.area_id == area_id)
        ).all()
    assert len(stored) == WRITERS * REFERRALS_EACH * (1 + len(STEPS))
    ids = [e["id"] for e in seen]
    assert len(ids) == len(set(ids)), "an event was seen twice"
    assert sorted(ids) == sorted(e.id for e in stored), "an event was missed"
    by_referral: dict[str, list[int]] = {}
    for e in seen:
        by_referral.setdefault(e["referral_id"], []).append(e["seq"])
    assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in by_referral.values())
