"""A referral keeps the workflow version it started under when a new version arrives."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from typing import Any

from flask import Flask

from tests.referral.flows import create, data, fire, now, walk
from workflow import registry
from workflow.definition import Definition, Period
from workflow.profiles.scotland_v2 import SCOTLAND_V2


@contextmanager
def only_version_1() -> Iterator[None]:
    """As the product was before version 2 arrived."""
    v2 = registry._DEFINITIONS.pop(("scotland", 2))
    registry._engine.cache_clear()
    try:
        yield
    finally:
        registry._DEFINITIONS[("scotland", 2)] = v2
        registry._engine.cache_clear()


@contextmanager
def also(version: Definition) -> Iterator[None]:
    registry.register(version)
    try:
        yield
    finally:
        del registry._DEFINITIONS[(version.profile, version.version)]
        registry._engine.cache_clear()


#: version 2 added these fields; version 1 refuses them as unknown
V2_ONLY = ("decided_at", "named_person_informed", "held_at")


def v1_data(trigger: str, **changes: Any) -> dict[str, Any]:
    if trigger == "transfer_out":  # version 1 only
        return {"receiving_area": "highland", "moved_on": now().date().isoformat(), **changes}
    body = data(trigger, **changes)
    if trigger in ("start_investigation", "decide_no_case_conference", "record_inquorate"):
        for name in V2_ONLY:
            body.pop(name, None)
    if trigger == "decide_no_case_conference":
        for name in ("agencies_agreed", "childs_views"):
            body.pop(name, None)
    if trigger == "record_jii":
        body["outcome"] = body.pop("outcomes")[0]
    return body


def v1_fire(as_user: Any, rid: str, trigger: str, by: str, **changes: Any) -> Any:
    body = {"trigger": trigger, "data": v1_data(trigger, **changes)}
    return as_user(by).post(f"/api/v1/referrals/{rid}/transitions", body)


def test_a_referral_made_before_version_2_keeps_version_1(app: Flask, as_user: Any) -> None:
    with only_version_1():
        before = create(as_user)
    assert before["profile_version"] == 1
    after = create(as_user, given_name="Ben")
    assert after["profile_version"] == 2
    rid = before["id"]
    # version 1's own data and rules, exactly as before
    for trigger, by in (
        ("convene_ird", "pc"),
        ("start_investigation", "sw"),
        ("schedule_case_conference", "sw"),
        ("register", "chair"),
    ):
        response = v1_fire(as_user, rid, trigger, by)
        assert response.status_code == 200, (trigger, response.get_json())
    body = as_user("sw").get(f"/api/v1/referrals/{rid}").get_json()
    assert "transfer_out" in body["allowed_triggers"]  # a version-1 trigger
    assert "notify_transfer" not in body["allowed_triggers"]
    # version 2's fields are refused by version 1
    refused = as_user("sw").post(
        f"/api/v1/referrals/{rid}/transitions",
        {"trigger": "record_core_group", "data": data("record_core_group", childs_views="Ok")},
    )
    assert refused.status_code == 422
    assert "data.childs_views" in refused.get_json()["errors"]
    asked = v1_fire(as_user, rid, "transfer_out", "sw")
    assert asked.status_code == 202, asked.get_json()
    decided = as_user("swsup").post(
        f"/api/v1/approvals/{asked.get_json()['id']}/decision",
        {"decision": "approve", "comment": "Agreed."},
    )
    assert decided.status_code == 200, decided.get_json()
    closed = as_user("sw").get(f"/api/v1/referrals/{rid}").get_json()
    assert (closed["state"], closed["closure_reason"]) == ("closed", "transferred_out")
    from referral.db import session
    from referral.services.audit import verify

    with app.app_context():
        assert verify(session())[1] == []


def test_version_1_refuses_a_second_inquorate_meeting_and_version_2_records_it(
    as_user: Any,
) -> None:
    with only_version_1():
        old = create(as_user)["id"]
    for trigger, by in (
        ("convene_ird", "pc"),
        ("start_investigation", "sw"),
        ("schedule_case_conference", "sw"),
        ("record_inquorate", "chair"),
    ):
        assert v1_fire(as_user, old, trigger, by).status_code == 200, trigger
    assert v1_fire(as_user, old, "record_inquorate", "chair").status_code == 409
    new = create(as_user)["id"]
    walk(as_user, new, "convene_ird", "start_investigation", "schedule_case_conference")
    walk(as_user, new, "record_inquorate")
    second = fire(as_user, new, "record_inquorate")
    assert second.status_code == 200, second.get_json()
    assert second.get_json()["flags"] == {"repeat_inquorate": True}


def test_a_later_version_leaves_version_2_referrals_on_version_2(as_user: Any) -> None:
    before = create(as_user)
    assert (before["profile"], before["profile_version"]) == ("scotland", 2)
    ird = replace(SCOTLAND_V2.timescales[0], period=Period(3, "working_days"))
    with also(replace(SCOTLAND_V2, version=9, timescales=(ird, *SCOTLAND_V2.timescales[1:]))):
        after = create(as_user, given_name="Ben")
        old = as_user("sw").get(f"/api/v1/referrals/{before['id']}").get_json()
    assert after["profile_version"] == 9
    assert old["profile_version"] == 2
    due_v2 = date.fromisoformat(old["timescales"][0]["due"])
    due_v9 = date.fromisoformat(after["timescales"][0]["due"])
    assert due_v9 > due_v2
