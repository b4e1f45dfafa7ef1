"""The whole lifecycle over HTTP, from concern to de-registration and to every other closure."""

from __future__ import annotations

from typing import Any

import pytest

from tests.referral.flows import create, fire, is_problem, transfer_to_highland, walk

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


@pytest.mark.parametrize(
    ("trigger", "field", "name"),
    [
        ("schedule_case_conference", "chair", "admin"),  # runs the system, reads no case
        ("schedule_case_conference", "chair", "sw.hl"),  # works in Highland, not here
        ("plan_jii", "interviewers", ["pc", "auditor"]),  # an auditor only reads
        ("change_lead_professional", "lead_professional", "admin"),
    ],
)
def test_only_someone_who_could_act_may_be_named_to(
    as_user: Any, trigger: str, field: str, name: Any
) -> None:
    """A chair, an interviewer or a lead professional named who could never record what they
    were named for would leave the referral waiting on nobody: they must be a practitioner,
    supervisor or senior manager working in the referral's area."""
    rid = create(as_user)["id"]
    steps = {"change_lead_professional": ("plan_jii", "record_jii", "schedule_case_conference")}
    walk(as_user, rid, "convene_ird", "start_investigation", *steps.get(trigger, ()))
    if trigger == "change_lead_professional":
        walk(as_user, rid, "register")
    before = as_user("sw").get(f"/api/v1/referrals/{rid}").get_json()
    refused = fire(as_user, rid, trigger, **{field: name})
    problem = is_problem(refused, 422)
    where = f"data.{field}.1" if isinstance(name, list) else f"data.{field}"
    assert "practitioner, supervisor or senior manager working in this area" in str(
        problem["errors"][where]
    ), problem
    after = as_user("sw").get(f"/api/v1/referrals/{rid}").get_json()
    assert after["state"] == before["state"]
    assert after["stages"] == before["stages"]
