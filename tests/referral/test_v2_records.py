"""Scotland v2 over HTTP: what the record holds (SPEC section 4, "Record contents added in v2")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask

from tests.referral.flows import (
    TO_REGISTER,
    concern_body,
    create,
    data,
    fire,
    is_problem,
    iso,
    now,
    walk,
)
from tests.referral.v2_checks import (
    PATH,
    events_of,
    local_day,
    read,
    same_moment,
    verify_problems,
)

PLAN = {
    "outcomes": [
        {
            "outcome": "Amy is not hit at home.",
            "actions": [
                {
                    "what": "Weekly home visit",
                    "who": {"agency": "social_work", "name": "S Reid"},
                    "by": (now() + timedelta(days=14)).date().isoformat(),
                },
                {
                    "what": "Paediatric review",
                    "who": {"agency": "health", "name": "Dr Shah"},
                    "by": (now() + timedelta(days=30)).date().isoformat(),
                },
            ],
        }
    ],
    "contingency_plan": "Amy stays with her gran if a visit is refused.",
}
CHILD_AND_PARENTS_AT_THE_CPPM = {
    "child_attended": False,
    "views_given": "through_an_advocate",
    "advocacy_offered": True,
    "parents_invited": True,
    "parents_attended": False,
    "parents_views": "Mum disagrees with the concern.",
    "apologies": [{"agency": "education", "name": "Ms Ng"}],
}


def registered(as_user: Any, **register: Any) -> dict[str, Any]:
    rid = create(as_user)["id"]
    walk(as_user, rid, *TO_REGISTER[:-1])
    response = fire(as_user, rid, "register", **register)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def test_a_review_deregisters_with_a_coded_reason_and_a_note(as_user: Any) -> None:
    rid = registered(as_user)["id"]
    fire(as_user, rid, "schedule_case_conference", conference_type="review")
    final = fire(as_user, rid, "deregister").get_json()
    assert (final["state"], final["closure_reason"]) == ("closed", "deregistered")
    [registration] = final["stages"]["registrations"]
    assert registration["end_reason"] == "deregistered"
    assert registration["deregistration_reason"] == "risk_reduced"
    assert registration["deregistration_note"] == "Plan achieved."
    assert same_moment(registration["ended_at"], data("deregister")["held_at"])


def test_registration_keeps_the_plan_the_meeting_and_when_parents_were_told(
    as_user: Any,
) -> None:
    told_at = iso(-timedelta(minutes=20))
    body = registered(
        as_user, plan=PLAN, parents_informed_in_writing_at=told_at, **CHILD_AND_PARENTS_AT_THE_CPPM
    )
    [registration] = body["stages"]["registrations"]
    assert registration["plan"] == PLAN
    assert same_moment(registration["parents_informed_in_writing_at"], told_at)
    [conference] = body["stages"]["conferences"]
    [meeting] = conference["meetings"]
    shown = {name: meeting[name] for name in CHILD_AND_PARENTS_AT_THE_CPPM}
    assert shown == CHILD_AND_PARENTS_AT_THE_CPPM
    assert (meeting["quorate"], meeting["decision"]) == (True, "register")
    assert meeting["childs_views"] == "Wants to stay with gran."


def test_a_cppm_that_went_ahead_without_its_quorum_is_recorded_as_such(
    app: Flask, as_user: Any
) -> None:
    """The police did not come. Without a reason the decision is refused and nothing is
    written; with the chair's reason it is recorded, its meeting not quorate, the reason kept,
    and the stored record still matches its events."""
    rid = create(as_user)["id"]
    walk(as_user, rid, *TO_REGISTER[:-1])
    before = as_user("sw").get(f"/api/v1/referrals/{rid}").get_json()
    without_police = [a for a in data("register")["attendees"] if a["agency"] != "police"]
    refused = fire(as_user, rid, "register", attendees=without_police)
    problem = is_problem(refused, 422)
    assert "quorum did not attend (missing police)" in problem["errors"]["data.attendees"][0]
    assert as_user("sw").get(f"/api/v1/referrals/{rid}").get_json()["stages"] == before["stages"]

    why = "The child's safety could not wait; the police sent their report."
    body = fire(as_user, rid, "register", attendees=without_police, inquorate_reason=why)
    assert body.status_code == 200, body.get_json()
    [meeting] = body.get_json()["stages"]["conferences"][0]["meetings"]
    assert (meeting["quorate"], meeting["inquorate_reason"]) == (False, why)
    assert meeting["decision"] == "register"
    assert verify_problems(app) == []


def test_a_significant_change_at_a_core_group_goes_to_the_chair_within_3_days(
    as_user: Any,
) -> None:
    rid = registered(as_user, plan=PLAN)["id"]
    held_at = data("record_core_group")["held_at"]
    progress = [
        {"action": "Weekly home visit", "status": "in_progress", "note": "Two visits so far."},
        {"action": "Paediatric review", "status": "not_started"},
    ]
    response = fire(
        as_user,
        rid,
        "record_core_group",
        significant_change=True,
        progress=progress,
        childs_views="Likes the visits.",
    )
    assert response.status_code == 200, response.get_json()
    chair_by = (local_day(held_at) + timedelta(days=3)).isoformat()
    assert response.get_json()["flags"] == {"refer_to_chair_by": chair_by}
    [meeting] = response.get_json()["stages"]["registrations"][0]["core_group_meetings"]
    assert (meeting["significant_change"], meeting["refer_to_chair_by"]) == (True, chair_by)
    assert meeting["progress"] == progress
    assert (meeting["childs_views"], meeting["recorded_by"]) == ("Likes the visits.", "teacher")

    calm = fire(as_user, rid, "record_core_group").get_json()
    assert calm["flags"] == {}
    assert calm["stages"]["registrations"][0]["core_group_meetings"][1]["refer_to_chair_by"] is None


def test_a_change_of_lead_professional_is_dated_and_listed(as_user: Any) -> None:
    body = concern_body()
    body["concern"]["received_at"] = iso(-timedelta(days=10))
    rid = as_user("pc").post(PATH, body).get_json()["id"]
    walk(as_user, rid, *TO_REGISTER)
    changed_on = (local_day(now()) - timedelta(days=3)).isoformat()
    changed = fire(as_user, rid, "change_lead_professional", changed_on=changed_on).get_json()
    assert changed["state"] == "registered"
    assert changed["stages"]["registrations"][0]["lead_professional"] == "sw2"
    [event] = [e for e in events_of(as_user, rid) if e["trigger"] == "change_lead_professional"]
    assert (event["from_state"], event["to_state"]) == ("registered", "registered")
    assert (event["data"]["lead_professional"], event["data"]["changed_on"]) == ("sw2", changed_on)
    # listed in the chronology on the day it was made, not the day it was typed in
    items = as_user("sw").get(f"{PATH}/{rid}/chronology").get_json()["items"]
    assert [i["what_happened"] for i in items][:3] == [
        "Concern received: Bruising seen at school; child says dad hit her.",
        "Change the lead professional",
        "Convene an IRD",
    ]
    change = items[1]
    assert (change["on"], change["at"], change["kind"]) == (changed_on, None, "lifecycle")
    assert (change["source_agency"], change["recorded_by"]) == ("social_work", "sw")


def test_the_chronology_merges_agencies_entries_and_the_lifecycle_in_date_order(
    as_user: Any,
) -> None:
    referral = create(as_user)
    rid = referral["id"]
    walk(as_user, rid, "convene_ird", "add_chronology_entry", "start_investigation")
    response = as_user("sw").get(f"{PATH}/{rid}/chronology")
    assert response.status_code == 200, response.get_json()
    items = response.get_json()["items"]
    old = (now() - timedelta(days=400)).date().isoformat()
    assert [(i["kind"], i["on"], i["what_happened"]) for i in items] == [
        ("entry", old, "Attended A&E with a fractured wrist."),
        (
            "lifecycle",
            local_day(referral["concern"]["received_at"]).isoformat(),
            "Concern received: Bruising seen at school; child says dad hit her.",
        ),
        ("lifecycle", local_day(data("convene_ird")["started_at"]).isoformat(), "Convene an IRD"),
        (
            "lifecycle",
            local_day(data("start_investigation")["decided_at"]).isoformat(),
            "Start a child protection investigation",
        ),
    ]
    entry = items[0]
    assert (entry["source_agency"], entry["significance"], entry["recorded_by"]) == (
        "health",
        "Unexplained injury.",
        "doc",
    )
    assert entry["at"] is None
    assert same_moment(items[1]["at"], referral["concern"]["received_at"])
    # only what the reader may see: another area's users get no chronology
    is_problem(as_user("sw.hl").get(f"{PATH}/{rid}/chronology"), 404)


def test_siblings_named_at_the_concern_list_each_other(app: Flask, as_user: Any) -> None:
    sister = create(as_user)
    body = {**concern_body(given_name="Tom"), "related_referrals": [sister["id"]]}
    response = as_user("pc").post(PATH, body)
    assert response.status_code == 201, response.get_json()
    brother = response.get_json()
    assert brother["related_referrals"] == [{"id": sister["id"], "reference": sister["reference"]}]
    sister_now = read(as_user, "pc", sister["id"])
    assert sister_now["related_referrals"] == [
        {"id": brother["id"], "reference": brother["reference"]}
    ]
    linked = events_of(as_user, sister["id"])[-1]
    assert (linked["type"], linked["actor"]) == ("sibling_linked", "pc")
    assert linked["data"] == {
        "related_referral": brother["id"],
        "related_reference": brother["reference"],
    }

    elsewhere = as_user("sw.hl").post(PATH, concern_body("highland"))
    assert elsewhere.status_code == 201, elsewhere.get_json()
    unseen = {**concern_body(given_name="Ann"), "related_referrals": [elsewhere.get_json()["id"]]}
    refused = as_user("pc").post(PATH, unseen)
    assert is_problem(refused, 422)["errors"] == {
        "related_referrals.0": ["is not a referral you can see"]
    }
    assert verify_problems(app) == []


def test_the_named_person_and_the_equalities_fields_round_trip(as_user: Any) -> None:
    body = concern_body(ethnicity="white_polish", disability="not_known", religion="declined")
    body["concern"]["childs_views"] = "I want to go home."
    body["named_person"] = {"name": "Ms Ng", "service": "St Mary's Primary"}
    response = as_user("pc").post(PATH, body)
    assert response.status_code == 201, response.get_json()
    rid = response.get_json()["id"]
    shown = read(as_user, "sw", rid)
    child = shown["child"]
    assert (child["ethnicity"], child["disability"], child["religion"]) == (
        "white_polish",
        "not_known",
        "declined",
    )
    assert shown["concern"]["childs_views"] == "I want to go home."
    assert shown["named_person"] == {"name": "Ms Ng", "service": "St Mary's Primary"}

    wrong = concern_body(ethnicity="martian")
    assert list(is_problem(as_user("pc").post(PATH, wrong), 422)["errors"]) == ["child.ethnicity"]


def test_the_reference_vocabularies_include_the_equalities_categories(as_user: Any) -> None:
    response = as_user("pc", "read").get("/api/v1/reference")
    assert response.status_code == 200
    body = response.get_json()
    assert body["disabilities"] == ["yes", "no", "not_known", "declined"]
    for vocabulary in ("ethnicities", "religions"):
        assert body[vocabulary][-2:] == ["not_known", "declined"], vocabulary
    assert {"white_scottish", "white_gypsy_traveller", "asian_pakistani"} <= set(
        body["ethnicities"]
    )
    assert {"none", "church_of_scotland", "roman_catholic", "muslim"} <= set(body["religions"])
