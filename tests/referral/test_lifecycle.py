"""The whole lifecycle over HTTP, from concern to de-registration and to every other closure."""

from __future__ import annotations

from typing import Any

import pytest

from tests.referral.flows import create, fire, transfer_to_highland, walk

TO_REGISTER = (
    "convene_ird",
    "add_ird_contribution",
    "start_investigation",
    "plan_jii",
    "record_jii",
    "schedule_case_conference",
    "register",
)


def test_concern_to_deregistration(as_user: Any) -> None:
    referral = create(as_user)
    assert referral["state"] == "concern"
    assert referral["reference"].startswith("WD-")
    rid = referral["id"]
    walk(as_user, rid, *TO_REGISTER)
    walk(as_user, rid, "record_core_group")
    fire(as_user, rid, "schedule_case_conference", conference_type="review")
    final = fire(as_user, rid, "deregister").get_json()
    assert final["state"] == "closed"
    assert final["closure_reason"] == "deregistered"
    registration = final["stages"]["registrations"][0]
    assert registration["areas_of_concern"] == ["neglect"]
    assert registration["end_reason"] == "deregistered"
    events = as_user("sw").get(f"/api/v1/referrals/{rid}/events?limit=500").get_json()["items"]
    triggers = [e["trigger"] for e in events if e["type"] == "transition"]
    assert triggers == [*TO_REGISTER, "record_core_group", "schedule_case_conference", "deregister"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert all(e["prev_hash"] == p["hash"] for p, e in zip(events, events[1:], strict=False))


def test_a_transfer_closes_the_sending_referral_as_transferred_out(as_user: Any) -> None:
    rid = create(as_user)["id"]
    walk(as_user, rid, *TO_REGISTER)
    transfer_to_highland(as_user, rid)
    final = as_user("sw").get(f"/api/v1/referrals/{rid}").get_json()
    assert (final["state"], final["closure_reason"]) == ("closed", "transferred_out")
    assert final["allowed_triggers"] == []


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        (("convene_ird", "close_no_further_action"), "nfa"),
        (("convene_ird", "refer_single_agency"), "single_agency"),
        (("convene_ird", "start_investigation", "decide_no_case_conference"), "no_case_conference"),
        (
            ("convene_ird", "start_investigation", "schedule_case_conference", "not_register"),
            "not_registered",
        ),
        (("convene_ird", "close"), "duplicate"),
    ],
)
def test_every_closure_keeps_its_reason(as_user: Any, path: tuple[str, ...], reason: str) -> None:
    rid = create(as_user)["id"]
    final = walk(as_user, rid, *path).get_json()
    assert final["state"] == "closed"
    assert final["closure_reason"] == reason
    assert final["allowed_triggers"] == []
