"""The referral record over HTTP: the list and its cursor, one referral, corrections, children,
references, and a read whose cost does not grow with the history."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import event, update

from referral.models import Referral
from tests.conftest import PASSWORD, Api
from tests.referral.flows import concern_body, create, fire, is_problem, iso, now, walk
from workflow.fields import chi_problem

LIST = "/api/v1/referrals"
ITEM_KEYS = {"id", "reference", "state", "area", "created_at", "updated_at", "overdue"}


def post_concern(api: Any, body: dict[str, Any]) -> Any:
    response = api.post(LIST, body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def old_concern(days: int = 10, **child: Any) -> dict[str, Any]:
    body = concern_body(**child)
    body["concern"]["received_at"] = iso(-timedelta(days=days))
    return body


def listed(api: Any, **query: Any) -> list[str]:
    response = api.get(LIST, query_string={"limit": 200, **query})
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


@pytest.fixture
def both_areas(app: Flask, client: Any) -> Api:
    """A social worker of both areas, created inside the test's rolled-back transaction."""
    from referral.db import unit_of_work
    from referral.services.people import create_token, create_user

    with app.app_context(), unit_of_work() as session:
        create_user(
            session,
            "sw.both",
            "social_work",
            "practitioner",
            ["west-dunbartonshire", "highland"],
            PASSWORD,
        )
        token = create_token(session, "sw.both", "write", datetime.now(UTC))
    return Api(client, token)


# -- the list ---------------------------------------------------------------------------------


def test_list_items_and_envelope(as_user: Any) -> None:
    first = create(as_user, "pc")
    second = create(as_user, "sw", given_name="Ben")
    body = as_user("doc").get(LIST).get_json()
    assert set(body) == {"items", "next_cursor"}
    assert body["next_cursor"] is None
    assert [item["id"] for item in body["items"]] == [first["id"], second["id"]]
    item = body["items"][0]
    assert set(item) >= ITEM_KEYS
    assert item["reference"] == first["reference"]
    assert (item["state"], item["area"], item["overdue"]) == (
        "concern",
        "west-dunbartonshire",
        False,
    )
    assert datetime.fromisoformat(item["created_at"]).utcoffset() is not None
    assert item["updated_at"] == first["updated_at"]


def test_filter_by_state(as_user: Any) -> None:
    stays = create(as_user)["id"]
    moves = create(as_user)["id"]
    walk(as_user, moves, "convene_ird")
    api = as_user("sw")
    assert listed(api, state="ird") == [moves]
    assert listed(api, state="concern") == [stays]
    assert listed(api, state="closed") == []
    bad = api.get(LIST, query_string={"state": "limbo"})
    assert bad.status_code == 422
    assert "state" in bad.get_json()["errors"]


def test_filter_by_area(as_user: Any, both_areas: Api) -> None:
    wd = post_concern(both_areas, concern_body("west-dunbartonshire"))["id"]
    hl = post_concern(both_areas, concern_body("highland"))["id"]
    assert set(listed(both_areas)) == {wd, hl}
    assert listed(both_areas, area="west-dunbartonshire") == [wd]
    assert listed(both_areas, area="highland") == [hl]
    assert listed(as_user("sw"), area="highland") == []  # not one of sw's areas


def test_overdue_flag_and_filter(as_user: Any) -> None:
    api = as_user("sw")
    late = post_concern(api, old_concern(days=10))
    fresh = post_concern(api, concern_body())
    items = {item["id"]: item for item in api.get(LIST).get_json()["items"]}
    assert items[late["id"]]["overdue"] is True
    assert items[fresh["id"]]["overdue"] is False
    assert listed(api, overdue="true") == [late["id"]]
    assert listed(api, overdue="false") == [fresh["id"]]
    rule = {t["rule"]: t for t in late["timescales"]}["ird_convened"]
    assert rule["status"] == "overdue"
    # convening the IRD, late, ends the overdue timescale
    convened = fire(as_user, late["id"], "convene_ird").get_json()
    assert {t["rule"]: t for t in convened["timescales"]}["ird_convened"]["status"] == "met_late"
    assert listed(api, overdue="true") == []
    assert set(listed(api, overdue="false")) == {late["id"], fresh["id"]}


def test_filter_updated_since(as_user: Any) -> None:
    earlier = create(as_user)["id"]
    since = datetime.now(UTC)
    later = create(as_user)["id"]
    api = as_user("sw")
    assert listed(api, updated_since=since.isoformat()) == [later]
    walk(as_user, earlier, "convene_ird")  # a change brings it back into the window
    assert listed(api, updated_since=since.isoformat()) == [later, earlier]
    assert listed(api, updated_since=datetime.now(UTC).isoformat()) == []
    naive = api.get(LIST, query_string={"updated_since": "2026-01-01T09:00:00"})
    assert naive.status_code == 422
    assert "updated_since" in naive.get_json()["errors"]


def walk_pages(api: Any, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    query: dict[str, Any] = {"limit": limit}
    while True:
        response = api.get(LIST, query_string=query)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        pages.append([item["id"] for item in body["items"]])
        if body["next_cursor"] is None:
            return pages
        query = {"limit": limit, "cursor": body["next_cursor"]}
        assert len(pages) < 20, "the cursor does not advance"


def test_cursor_walks_every_referral_exactly_once(as_user: Any) -> None:
    ids = [create(as_user)["id"] for _ in range(7)]
    pages = walk_pages(as_user("sw"), limit=3)
    assert [len(page) for page in pages] == [3, 3, 1]
    assert [rid for page in pages for rid in page] == ids


def test_cursor_survives_referrals_changed_at_the_same_instant(
    as_user: Any, db_connection: Any
) -> None:
    ids = {create(as_user)["id"] for _ in range(7)}
    same = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    db_connection.execute(update(Referral).values(updated_at=same))
    pages = walk_pages(as_user("sw"), limit=3)
    walked = [rid for page in pages for rid in page]
    assert len(walked) == len(set(walked)) == 7
    assert set(walked) == ids


def _cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor!",
        _cursor("only-one-part"),
        _cursor("not a date", "abc"),
        _cursor(1, 2),
        _cursor(None, None),
        _cursor("2026-01-05T09:30:00", "abc"),  # no offset
        _cursor("2026-01-05T09:30:00+00:00", 5),
    ],
)
def test_a_bad_cursor_is_422(as_user: Any, cursor: str) -> None:
    create(as_user)
    response = as_user("sw").get(LIST, query_string={"cursor": cursor})
    assert response.status_code == 422, response.get_json()
    assert "cursor" in response.get_json()["errors"]


@pytest.mark.parametrize("cursor", ["not-a-cursor!", _cursor("x"), _cursor(True), _cursor(2**70)])
def test_a_bad_events_cursor_is_422(as_user: Any, cursor: str) -> None:
    rid = create(as_user)["id"]
    response = as_user("sw").get(f"{LIST}/{rid}/events", query_string={"cursor": cursor})
    assert response.status_code == 422, response.get_json()
    assert "cursor" in response.get_json()["errors"]


@pytest.mark.parametrize("limit", ["201", "0", "-1", "lots"])
def test_limit_out_of_range_is_422(as_user: Any, limit: str) -> None:
    response = as_user("sw").get(LIST, query_string={"limit": limit})
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert "limit" in response.get_json()["errors"]


def test_limit_200_is_allowed(as_user: Any) -> None:
    create(as_user)
    response = as_user("sw").get(LIST, query_string={"limit": "200"})
    assert response.status_code == 200
    assert len(response.get_json()["items"]) == 1


# -- one referral -----------------------------------------------------------------------------


def test_one_referral_in_full(as_user: Any) -> None:
    rid = create(as_user, "pc")["id"]
    response = as_user("pc").get(f"{LIST}/{rid}")
    assert response.status_code == 200
    body = response.get_json()
    assert response.headers["ETag"]
    assert isinstance(body["version"], int)
    assert str(body["version"]) in response.headers["ETag"]
    assert body["state"] == "concern"
    assert "convene_ird" in body["allowed_triggers"]
    assert "close" not in body["allowed_triggers"]  # only social work closes a referral
    assert "close" in as_user("sw").get(f"{LIST}/{rid}").get_json()["allowed_triggers"]
    assert body["stages"]["ird"] is None
    assert body["stages"]["jiis"] == []
    assert body["pending_approval"] is None
    assert body["child"]["family_name"] == "Brown"
    assert body["concern"]["categories"] == ["physical_abuse"]
    rule = {t["rule"]: t for t in body["timescales"]}["ird_convened"]
    assert rule["status"] == "pending"
    assert rule["met_at"] is None
    due = datetime.strptime(rule["due"], "%Y-%m-%d").date()
    assert due >= datetime.now(ZoneInfo("Europe/London")).date()


def test_stage_records_and_etag_follow_the_lifecycle(as_user: Any) -> None:
    rid = create(as_user)["id"]
    before = as_user("sw").get(f"{LIST}/{rid}")
    after = walk(as_user, rid, "convene_ird")
    assert after.headers["ETag"] != before.headers["ETag"]
    body = after.get_json()
    assert body["version"] > before.get_json()["version"]
    assert body["stages"]["ird"]["reason"] == "Disclosure"
    assert body["stages"]["ird"]["convened_by"] == "pc"
    assert "education" in [p["agency"] for p in body["stages"]["ird"]["participants"]]
    rule = {t["rule"]: t for t in body["timescales"]}["ird_convened"]
    assert rule["status"] == "met"
    assert rule["met_at"] is not None


# -- corrections ------------------------------------------------------------------------------


def test_a_correction_needs_if_match(as_user: Any) -> None:
    rid = create(as_user)["id"]
    api = as_user("sw")
    missing = api.patch(f"{LIST}/{rid}", {"child": {"family_name": "Green"}})
    assert missing.status_code == 428, missing.get_json()
    stale = api.patch(
        f"{LIST}/{rid}", {"child": {"family_name": "Green"}}, headers={"If-Match": '"stale.1"'}
    )
    assert stale.status_code == 412, stale.get_json()
    assert api.get(f"{LIST}/{rid}").get_json()["child"]["family_name"] == "Brown"


def test_a_correction_keeps_old_and_new_values(as_user: Any) -> None:
    rid = create(as_user)["id"]
    api = as_user("sw")
    read = api.get(f"{LIST}/{rid}")
    etag = read.headers["ETag"]
    response = api.patch(
        f"{LIST}/{rid}", {"child": {"family_name": "Green"}}, headers={"If-Match": etag}
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["child"]["family_name"] == "Green"
    assert body["child"]["given_name"] == "Amy"
    assert response.headers["ETag"] != etag
    assert body["version"] == read.get_json()["version"] + 1
    assert api.get(f"{LIST}/{rid}").get_json()["child"]["family_name"] == "Green"
    events = api.get(f"{LIST}/{rid}/events").get_json()["items"]
    corrected = events[-1]
    assert corrected["type"] == "child_corrected"
    assert (corrected["actor"], corrected["agency"]) == ("sw", "social_work")
    assert corrected["data"] == {"changes": {"family_name": {"old": "Brown", "new": "Green"}}}
    # the old ETag no longer matches
    again = api.patch(
        f"{LIST}/{rid}", {"child": {"family_name": "Grey"}}, headers={"If-Match": etag}
    )
    assert again.status_code == 412


def test_a_concern_correction(as_user: Any) -> None:
    rid = create(as_user)["id"]
    api = as_user("sw")
    etag = api.get(f"{LIST}/{rid}").headers["ETag"]
    response = api.patch(
        f"{LIST}/{rid}",
        {"concern": {"summary": "Bruising on both arms.", "categories": ["neglect"]}},
        headers={"If-Match": etag},
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["concern"]["summary"] == "Bruising on both arms."
    event = api.get(f"{LIST}/{rid}/events").get_json()["items"][-1]
    assert event["type"] == "concern_corrected"
    assert event["data"]["changes"]["categories"] == {
        "old": ["physical_abuse"],
        "new": ["neglect"],
    }


def test_correcting_when_the_concern_was_received_moves_its_timescale(as_user: Any) -> None:
    rid = create(as_user)["id"]
    api = as_user("sw")
    etag = api.get(f"{LIST}/{rid}").headers["ETag"]
    assert listed(api, overdue="true") == []
    response = api.patch(
        f"{LIST}/{rid}",
        {"concern": {"received_at": iso(-timedelta(days=10))}},
        headers={"If-Match": etag},
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["overdue"] is True
    assert {t["rule"]: t for t in response.get_json()["timescales"]}["ird_convened"][
        "status"
    ] == "overdue"
    assert listed(api, overdue="true") == [rid]
    future = api.patch(
        f"{LIST}/{rid}",
        {"concern": {"received_at": iso(timedelta(days=1))}},
        headers={"If-Match": response.headers["ETag"]},
    )
    assert future.status_code == 422
    assert "concern.received_at" in future.get_json()["errors"]


def assert_unchanged(api: Any, rid: str, version: int) -> None:
    body = api.get(f"{LIST}/{rid}").get_json()
    assert body["version"] == version
    assert body["state"] == "concern"
    assert (body["child"]["family_name"], body["child"]["date_of_birth"]) == ("Brown", "2016-04-02")
    types = [e["type"] for e in api.get(f"{LIST}/{rid}/events").get_json()["items"]]
    assert types == ["created"]


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"state": "closed"}, "state"),
        ({"state": "closed", "child": {"family_name": "Green"}}, "state"),
        ({"child": {"family_name": "   "}}, "child.family_name"),
        ({"child": {"chi_number": "0204161234"}}, "child.chi_number"),
        ({"child": {"favourite_colour": "blue"}}, "child.favourite_colour"),
    ],
)
def test_a_refused_correction_changes_nothing(
    as_user: Any, patch: dict[str, Any], field: str
) -> None:
    rid = create(as_user)["id"]
    api = as_user("sw")
    read = api.get(f"{LIST}/{rid}")
    response = api.patch(f"{LIST}/{rid}", patch, headers={"If-Match": read.headers["ETag"]})
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]
    if field == "state":  # says what to do instead, not just "unknown field"
        assert "fire a trigger" in " ".join(response.get_json()["errors"]["state"])
    assert_unchanged(api, rid, read.get_json()["version"])


@pytest.mark.parametrize(
    "child",
    [
        {"family_name": "Green", "date_of_birth": None},
        {"expected_date_of_delivery": (now() + timedelta(days=60)).date().isoformat()},
    ],
)
def test_both_or_neither_birth_date_conflicts_with_the_record(
    as_user: Any, child: dict[str, Any]
) -> None:
    rid = create(as_user)["id"]
    api = as_user("sw")
    read = api.get(f"{LIST}/{rid}")
    response = api.patch(
        f"{LIST}/{rid}", {"child": child}, headers={"If-Match": read.headers["ETag"]}
    )
    assert "child.date_of_birth" in is_problem(response, 409)["errors"]
    assert_unchanged(api, rid, read.get_json()["version"])


DUE = (now() + timedelta(days=90)).date().isoformat()


def test_date_of_birth_may_be_swapped_for_an_expected_date(as_user: Any) -> None:
    rid = create(as_user)["id"]
    api = as_user("sw")
    etag = api.get(f"{LIST}/{rid}").headers["ETag"]
    response = api.patch(
        f"{LIST}/{rid}",
        {"child": {"date_of_birth": None, "expected_date_of_delivery": DUE}},
        headers={"If-Match": etag},
    )
    assert response.status_code == 200, response.get_json()
    child = response.get_json()["child"]
    assert (child["date_of_birth"], child["expected_date_of_delivery"]) == (None, DUE)


def test_a_closed_referral_is_not_corrected(as_user: Any) -> None:
    rid = create(as_user)["id"]
    walk(as_user, rid, "convene_ird", "close")
    api = as_user("sw")
    etag = api.get(f"{LIST}/{rid}").headers["ETag"]
    response = api.patch(
        f"{LIST}/{rid}", {"child": {"family_name": "X"}}, headers={"If-Match": etag}
    )
    assert response.status_code == 409, response.get_json()
    assert api.get(f"{LIST}/{rid}").get_json()["child"]["family_name"] == "Brown"


# -- children ---------------------------------------------------------------------------------


def with_check_digit(nine: str) -> str | None:
    total = sum(int(d) * w for d, w in zip(nine, range(10, 1, -1), strict=True))
    check = (11 - total % 11) % 11
    return None if check == 10 else nine + str(check)


def valid_chi(prefix: str = "020416") -> str:
    for serial in range(100, 1000):
        chi = with_check_digit(f"{prefix}{serial}")
        if chi is not None and chi_problem(chi) is None:
            return chi
    raise AssertionError("no valid CHI number")


def test_same_chi_links_to_the_known_child(as_user: Any) -> None:
    chi = valid_chi()
    first = create(as_user, chi_number=chi)
    second = create(as_user, "sw", chi_number=chi)
    assert first["child_match"] is None
    assert second["child_match"] == {"kind": "chi", "areas": ["west-dunbartonshire"]}
    assert second["child"]["chi_number"] == chi
    assert first["id"] != second["id"]


def test_same_name_and_birth_date_is_a_possible_duplicate(as_user: Any) -> None:
    first = create(as_user)
    second = create(as_user, "sw", given_name=" amy ", family_name="BROWN")
    other_birthday = create(as_user, "sw", date_of_birth="2016-04-03")
    assert first["child_match"] is None
    assert second["child_match"] == {"kind": "possible", "areas": ["west-dunbartonshire"]}
    assert second["child"]["given_name"] == "amy"  # as this referral recorded it
    assert other_birthday["child_match"] is None


def test_a_known_child_gaining_a_chi_number_links_later_concerns(as_user: Any) -> None:
    first = create(as_user)
    chi = valid_chi()
    second = create(as_user, "sw", chi_number=chi)
    assert second["child_match"] == {"kind": "possible", "areas": ["west-dunbartonshire"]}
    # each referral keeps its own record of the child: the first is not rewritten
    assert (
        as_user("sw").get(f"/api/v1/referrals/{first['id']}").get_json()["child"]["chi_number"]
        is None
    )
    created = as_user("sw").get(f"/api/v1/referrals/{second['id']}/events").get_json()["items"][0]
    assert created["data"]["child_match"] == second["child_match"]
    # the identity now knows the CHI number, so a third concern matches on it for certain
    third = create(as_user, "sw", given_name="Aimee", chi_number=chi)
    assert third["child_match"] == {"kind": "chi", "areas": ["west-dunbartonshire"]}


def test_different_chi_numbers_are_different_children(as_user: Any) -> None:
    first = create(as_user, chi_number=valid_chi())
    other_chi = next(
        chi
        for serial in range(100, 1000)
        if (chi := with_check_digit(f"020416{serial}")) and chi_problem(chi) is None
        if chi != first["child"]["chi_number"]
    )
    second = create(as_user, chi_number=other_chi)
    assert second["child_match"] is None
    assert second["child"]["chi_number"] == other_chi


def test_chi_number_validation(as_user: Any) -> None:
    good = valid_chi()
    wrong_check = good[:9] + str((int(good[9]) + 1) % 10)
    bad_date = next(
        chi for s in range(100, 1000) if (chi := with_check_digit(f"310216{s}")) is not None
    )
    assert chi_problem(good) is None
    assert "check digit" in (chi_problem(wrong_check) or "")
    assert "date" in (chi_problem(bad_date) or "")
    api = as_user("sw")
    for chi in (wrong_check, bad_date, "02041612", "02041612AB"):
        response = api.post(LIST, concern_body(chi_number=chi))
        assert response.status_code == 422, (chi, response.get_json())
        assert "child.chi_number" in response.get_json()["errors"], chi
    assert api.get(LIST).get_json()["items"] == []
    created = api.post(LIST, concern_body(chi_number=good))
    assert created.status_code == 201, created.get_json()


# -- references -------------------------------------------------------------------------------


def test_references_are_sequential_per_area_and_year(as_user: Any, both_areas: Api) -> None:
    year = datetime.now(ZoneInfo("Europe/London")).year
    wd = [create(as_user)["reference"] for _ in range(3)]
    hl = post_concern(both_areas, concern_body("highland"))["reference"]
    wd.append(post_concern(both_areas, concern_body("west-dunbartonshire"))["reference"])
    assert wd == [f"WD-{year}-{n:05d}" for n in (1, 2, 3, 4)]
    assert hl == f"HL-{year}-00001"


def test_a_reference_past_five_digits_is_written_in_full(as_user: Any, db_connection: Any) -> None:
    """The number is padded to five digits, never cut to them: the 100,000th concern of an
    area's year is ...-100000, on either database."""
    from referral.models import ReferenceSequence

    year = datetime.now(ZoneInfo("Europe/London")).year
    first = create(as_user)["reference"]
    assert first == f"WD-{year}-00001"
    db_connection.execute(update(ReferenceSequence).values(last_number=99_998))
    made = [create(as_user, given_name=name)["reference"] for name in ("Ann", "Bea")]
    assert made == [f"WD-{year}-99999", f"WD-{year}-100000"]


# -- the cost of a read -----------------------------------------------------------------------


@pytest.fixture
def statements(app: Flask) -> Iterator[list[str]]:
    engine = app.extensions["referral.db"].engine
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_reading_a_referral_costs_the_same_however_long_its_history(
    as_user: Any, statements: list[str]
) -> None:
    short = create(as_user)["id"]
    walk(as_user, short, "convene_ird", "add_ird_contribution")
    long = create(as_user)["id"]
    walk(as_user, long, "convene_ird", *["add_ird_contribution"] * 30)
    api = as_user("sw")
    api.get(f"{LIST}/{short}")  # warm up anything done once per process

    def cost(rid: str) -> tuple[int, dict[str, Any]]:
        statements.clear()
        response = api.get(f"{LIST}/{rid}")
        assert response.status_code == 200
        return len(statements), response.get_json()

    short_cost, short_body = cost(short)
    long_cost, long_body = cost(long)
    assert len(short_body["stages"]["ird"]["contributions"]) == 1
    assert len(long_body["stages"]["ird"]["contributions"]) == 30
    events = api.get(f"{LIST}/{long}/events?limit=500").get_json()["items"]
    assert len(events) == 32
    assert short_cost > 0
    assert long_cost == short_cost


@pytest.mark.parametrize(
    "query",
    [
        "/api/v1/referrals?stat=closed",
        "/api/v1/approvals?status=pending&sort=desc",
        "/api/v1/referrals/{rid}/events?after=3",
    ],
)
def test_an_unknown_query_parameter_is_refused_not_ignored(as_user: Any, query: str) -> None:
    rid = create(as_user)["id"]
    response = as_user("sw").get(query.format(rid=rid))
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) & {"stat", "sort", "after"}


def test_a_date_of_birth_in_the_future_is_refused(as_user: Any) -> None:
    future = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    response = as_user("pc").post("/api/v1/referrals", concern_body(date_of_birth=future))
    assert response.status_code == 422
    assert "child.date_of_birth" in response.get_json()["errors"]
