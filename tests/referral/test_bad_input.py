"""The security review's bad input, each once a 500 or a silent surprise: now a precise 4xx."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient

from tests.referral.flows import (
    ATTENDEES,
    FIRER,
    concern_body,
    create,
    data,
    is_problem,
    iso,
    walk,
)

YEAR_ONE = "0001-01-01T00:00:00+00:00"


def transition(as_user: Any, rid: str, trigger: str, by: str, **changes: Any) -> Any:
    body = {"trigger": trigger, "data": data(trigger, **changes)}
    return as_user(by).post(f"/api/v1/referrals/{rid}/transitions", body)


def test_a_recording_reference_too_long_for_its_column(as_user: Any) -> None:
    rid = create(as_user)["id"]
    walk(as_user, rid, "convene_ird", "start_investigation", "plan_jii")
    response = transition(as_user, rid, "record_jii", "pc", recording_reference="R" * 201)
    errors = is_problem(response, 422)["errors"]
    assert errors == {"data.recording_reference": ["must be at most 200 characters"]}
    assert as_user("pc").get(f"/api/v1/referrals/{rid}").get_json()["state"] == "jii"


def test_the_year_one_as_when_a_concern_was_received(as_user: Any) -> None:
    body = concern_body()
    body["concern"]["received_at"] = YEAR_ONE
    errors = is_problem(as_user("pc").post("/api/v1/referrals", body), 422)["errors"]
    assert "1900" in errors["concern.received_at"][0]


@pytest.mark.parametrize(
    ("trigger", "before", "field"),
    [
        ("convene_ird", (), "started_at"),
        ("register", ("convene_ird", "start_investigation", "schedule_case_conference"), "held_at"),
        (
            "record_core_group",
            ("convene_ird", "start_investigation", "schedule_case_conference", "register"),
            "held_at",
        ),
    ],
)
def test_the_year_one_as_when_a_meeting_happened(
    as_user: Any, trigger: str, before: tuple[str, ...], field: str
) -> None:
    rid = create(as_user)["id"]
    walk(as_user, rid, *before)
    response = transition(as_user, rid, trigger, FIRER[trigger], **{field: YEAR_ONE})
    assert f"data.{field}" in is_problem(response, 422)["errors"]


def test_a_meeting_before_the_concern_conflicts_with_the_record(as_user: Any) -> None:
    rid = create(as_user)["id"]  # the concern was received two hours ago
    response = transition(as_user, rid, "convene_ird", "pc", started_at=iso(-timedelta(days=1)))
    body = is_problem(response, 409)
    assert "before the concern" in body["errors"]["data.started_at"][0]
    referral = as_user("pc").get(f"/api/v1/referrals/{rid}").get_json()
    assert referral["state"] == "concern"
    # the concern's moment in the profile's local time, as the user entered it
    received = datetime.fromisoformat(referral["concern"]["received_at"])
    local = received.astimezone(ZoneInfo("Europe/London"))
    said = f"{local.day} {local:%b %Y} at {local:%H:%M}"
    assert body["errors"]["data.started_at"][0].endswith(f"({said})")


@pytest.mark.parametrize("cursor", ["2147483648", "99999999999999999999", "[2147483648]", "-1"])
def test_an_events_cursor_beyond_any_position(as_user: Any, cursor: str) -> None:
    rid = create(as_user)["id"]
    response = as_user("pc").get(f"/api/v1/referrals/{rid}/events?cursor={cursor}")
    assert "cursor" in is_problem(response, 422)["errors"]


def test_a_page_cursor_that_the_api_issued_is_followed(as_user: Any) -> None:
    rid = create(as_user)["id"]
    walk(as_user, rid, "convene_ird", "start_investigation")
    first = as_user("pc").get(f"/api/v1/referrals/{rid}/events?limit=2").get_json()
    rest = (
        as_user("pc")
        .get(f"/api/v1/referrals/{rid}/events?limit=2&cursor={first['next_cursor']}")
        .get_json()
    )
    assert [e["seq"] for e in first["items"] + rest["items"]] == [1, 2, 3]


def test_fourteen_thousand_identical_participants(as_user: Any) -> None:
    rid = create(as_user)["id"]
    response = transition(as_user, rid, "convene_ird", "pc", participants=[ATTENDEES[0]] * 14_000)
    assert is_problem(response, 422)["errors"] == {"data.participants": ["must have at most 50"]}


def test_the_same_participant_twice(as_user: Any) -> None:
    rid = create(as_user)["id"]
    response = transition(as_user, rid, "convene_ird", "pc", participants=[ATTENDEES[0]] * 2)
    errors = is_problem(response, 422)["errors"]
    assert errors == {"data.participants": ["must not list the same entry twice"]}


def test_a_repeated_json_key_is_refused_not_resolved(
    client: FlaskClient, world: Any, as_user: Any
) -> None:
    rid = create(as_user)["id"]
    walk(as_user, rid, "convene_ird")
    convene = json.dumps(data("convene_ird"))
    # `trigger` named twice: "close" first, then another trigger; neither may be guessed
    raw = f'{{"trigger": "close", "trigger": "add_ird_contribution", "data": {convene}}}'
    response = client.post(
        f"/api/v1/referrals/{rid}/transitions",
        data=raw,
        content_type="application/json",
        headers={"Authorization": f"Bearer {world.token('sw')}"},
    )
    assert "trigger" in is_problem(response, 400)["detail"]
    events = as_user("sw").get(f"/api/v1/referrals/{rid}/events").get_json()["items"]
    assert [e["type"] for e in events] == ["created", "transition"]


def test_a_repeated_key_deep_inside_the_data_is_refused(
    client: FlaskClient, world: Any, as_user: Any
) -> None:
    body = json.dumps(concern_body())
    raw = body.replace('"given_name": "Amy"', '"given_name": "Amy", "given_name": "Eve"')
    response = client.post(
        "/api/v1/referrals",
        data=raw,
        content_type="application/json",
        headers={"Authorization": f"Bearer {world.token('pc')}"},
    )
    assert "given_name" in is_problem(response, 400)["detail"]
