"""Scotland v2 over HTTP: timescales that run on when things happened, and never rewrite history."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from tests.referral.flows import (
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
    approve,
    clock,
    events_of,
    local_day,
    read,
    same_moment,
    verify_problems,
    working_days_after,
)


def transition(as_user: Any, username: str, rid: str, trigger: str, body: dict[str, Any]) -> Any:
    return as_user(username).post(f"{PATH}/{rid}/transitions", {"trigger": trigger, "data": body})


def ird_convened_days_ago(as_user: Any, days: int) -> str:
    """A concern received `days` ago whose IRD was convened an hour later."""
    body = concern_body()
    body["concern"]["received_at"] = iso(-timedelta(days=days))
    response = as_user("pc").post(PATH, body)
    assert response.status_code == 201, response.get_json()
    rid: str = response.get_json()["id"]
    started_at = iso(-timedelta(days=days, hours=-1))
    assert fire(as_user, rid, "convene_ird", started_at=started_at).status_code == 200
    return rid


def test_a_screened_out_concern_closes_after_approval_and_needs_no_ird(as_user: Any) -> None:
    rid = create(as_user)["id"]
    requested = fire(as_user, rid, "screen_out", approve=False)
    assert requested.status_code == 202, requested.get_json()
    assert requested.get_json()["approver"] == {"role": "supervisor", "agency": "social_work"}
    assert read(as_user, "sw", rid)["state"] == "concern"

    approve(as_user, requested.get_json()["id"])
    final = read(as_user, "sw", rid)
    assert (final["state"], final["closure_reason"]) == ("closed", "screened_out")
    ird = clock(final, "ird_convened")
    assert (ird["status"], ird["met_at"]) == ("not_required", None)
    screening = final["stages"]["screening"]
    assert same_moment(screening["decided_at"], data("screen_out")["decided_at"])
    assert (screening["decided_by"], screening["named_person_informed"]) == ("pc", True)


# -- clocks on real moments (correction 3) ------------------------------------------------


def test_the_initial_cppm_counts_from_when_the_ird_decided_not_when_it_was_typed(
    as_user: Any,
) -> None:
    rid = ird_convened_days_ago(as_user, 3)
    before_concern = iso(-timedelta(days=4))
    early = transition(
        as_user,
        "sw",
        rid,
        "start_investigation",
        data("start_investigation", decided_at=before_concern),
    )
    assert list(is_problem(early, 409)["errors"]) == ["data.decided_at"]
    future = transition(
        as_user,
        "sw",
        rid,
        "start_investigation",
        data("start_investigation", decided_at=iso(timedelta(hours=2))),
    )
    assert list(is_problem(future, 422)["errors"]) == ["data.decided_at"]

    decided_at = iso(-timedelta(days=2))
    started = fire(as_user, rid, "start_investigation", decided_at=decided_at).get_json()
    cppm = clock(started, "initial_cppm")
    assert same_moment(cppm["started_at"], decided_at)
    assert cppm["due"] == (local_day(decided_at) + timedelta(days=28)).isoformat()
    assert started["stages"]["investigation"]["initial_cppm_due"] == cppm["due"]
    assert same_moment(started["stages"]["ird"]["decided_at"], decided_at)
    # the IRD was convened an hour after the concern, three days ago: met on that day
    ird = clock(started, "ird_convened")
    received = started["concern"]["received_at"]
    assert ird["due"] == working_days_after(local_day(received), 1).isoformat()
    assert same_moment(ird["met_at"], started["stages"]["ird"]["started_at"])
    assert ird["status"] == "met"


def test_an_overdue_initial_cppm_is_not_extended_after_the_fact(as_user: Any) -> None:
    """Decided 30 days ago, the CPPM was due two days ago: an extension is neither offered nor
    accepted, so the breach stays on the record (NG2021 3.38)."""
    rid = ird_convened_days_ago(as_user, 31)
    decided = fire(as_user, rid, "start_investigation", decided_at=iso(-timedelta(days=30)))
    assert clock(decided.get_json(), "initial_cppm")["status"] == "overdue"
    assert "extend_timescale" not in read(as_user, "sw", rid)["allowed_triggers"]
    refused = fire(as_user, rid, "extend_timescale", approve=False)
    assert "already overdue" in is_problem(refused, 409)["detail"]
    after = read(as_user, "sw", rid)
    assert after["pending_approval"] is None
    assert clock(after, "initial_cppm")["status"] == "overdue"


def test_an_approved_decision_keeps_the_moment_it_was_decided(as_user: Any) -> None:
    rid = ird_convened_days_ago(as_user, 2)
    decided_at = iso(-timedelta(days=1))
    requested = fire(as_user, rid, "close_no_further_action", approve=False, decided_at=decided_at)
    assert requested.status_code == 202, requested.get_json()
    approve(as_user, requested.get_json()["id"])
    final = read(as_user, "sw", rid)
    assert (final["state"], final["closure_reason"]) == ("closed", "nfa")
    assert same_moment(final["stages"]["ird"]["decided_at"], decided_at)
    [event] = [
        e
        for e in events_of(as_user, rid)
        if e["trigger"] == "close_no_further_action" and e["type"] == "transition"
    ]
    assert same_moment(event["data"]["decided_at"], decided_at)
    assert datetime.fromisoformat(event["at"]) > datetime.fromisoformat(decided_at)


# -- pre-birth (correction 4) ---------------------------------------------------------------


def unborn(as_user: Any, days_to_delivery: int) -> dict[str, Any]:
    edd = (local_day(now()) + timedelta(days=days_to_delivery)).isoformat()
    return create(as_user, date_of_birth=None, expected_date_of_delivery=edd)


@pytest.mark.parametrize(
    ("days_to_delivery", "due_after", "flags"),
    [
        # delivery in about 5 months: 28 weeks' gestation is later than concern + 28 days
        (150, "concern", []),
        # in about 3 months: 28 weeks' gestation (EDD - 84 days) comes first
        (100, "gestation", []),
        # in about 6 weeks: notified after 28 weeks, so concern + 28 days, flagged
        (42, "concern", ["late_notification"]),
    ],
)
def test_an_unborn_childs_initial_cppm_starts_at_the_concern(
    as_user: Any, days_to_delivery: int, due_after: str, flags: list[str]
) -> None:
    referral = unborn(as_user, days_to_delivery)
    cppm = clock(referral, "initial_cppm")
    received = referral["concern"]["received_at"]
    assert same_moment(cppm["started_at"], received)
    edd = date.fromisoformat(referral["child"]["expected_date_of_delivery"])
    expected = {
        "concern": local_day(received) + timedelta(days=28),
        "gestation": edd - timedelta(days=84),
    }[due_after]
    assert (cppm["due"], cppm["status"], cppm["flags"]) == (expected.isoformat(), "pending", flags)

    # the decision to investigate does not start it again
    after = walk(as_user, referral["id"], "convene_ird", "start_investigation").get_json()
    assert clock(after, "initial_cppm") == cppm


def test_initial_conferences_are_for_born_children_and_pre_birth_for_unborn(as_user: Any) -> None:
    expecting = unborn(as_user, 150)["id"]
    born = create(as_user)["id"]
    for rid in (expecting, born):
        walk(as_user, rid, "convene_ird", "start_investigation")
    for rid, kind in ((expecting, "initial"), (born, "pre_birth")):
        refused = fire(as_user, rid, "schedule_case_conference", conference_type=kind)
        assert list(is_problem(refused, 409)["errors"]) == ["data.conference_type"], kind
    for rid, kind in ((expecting, "pre_birth"), (born, "initial")):
        scheduled = fire(as_user, rid, "schedule_case_conference", conference_type=kind)
        assert scheduled.status_code == 200, scheduled.get_json()
        assert scheduled.get_json()["stages"]["conferences"][0]["conference_type"] == kind


# -- history is not rewritten (correction 5) ---------------------------------------------------


def correct_child(as_user: Any, rid: str, child: dict[str, Any]) -> dict[str, Any]:
    api = as_user("sw")
    etag = api.get(f"{PATH}/{rid}").headers["ETag"]
    response = api.patch(f"{PATH}/{rid}", {"child": child}, headers={"If-Match": etag})
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def test_correcting_the_unborn_child_changes_no_due_date_or_status(
    app: Flask, as_user: Any
) -> None:
    referral = unborn(as_user, 100)
    rid = referral["id"]
    before = walk(as_user, rid, "convene_ird", "start_investigation").get_json()["timescales"]
    edd = date.fromisoformat(referral["child"]["expected_date_of_delivery"])
    assert (
        clock({"timescales": before}, "initial_cppm")["due"]
        == (edd - timedelta(days=84)).isoformat()
    )

    later = correct_child(
        as_user, rid, {"expected_date_of_delivery": (edd + timedelta(days=30)).isoformat()}
    )
    assert later["timescales"] == before
    born_today = local_day(now()).isoformat()
    born = correct_child(
        as_user, rid, {"expected_date_of_delivery": None, "date_of_birth": born_today}
    )
    assert (born["child"]["date_of_birth"], born["child"]["expected_date_of_delivery"]) == (
        born_today,
        None,
    )
    assert born["timescales"] == before
    assert verify_problems(app) == []


# -- no conference is an inter-agency decision (correction 7) ----------------------------------


def test_deciding_against_a_conference_is_a_whole_inter_agency_decision(as_user: Any) -> None:
    rid = create(as_user)["id"]
    walk(as_user, rid, "convene_ird", "start_investigation")
    full = data("decide_no_case_conference")
    for missing, path in (
        ("agencies_agreed", "data.agencies_agreed"),
        ("decided_at", "data.decided_at"),
        ("childs_views", "data.childs_views"),
    ):
        body = {k: v for k, v in full.items() if k != missing}
        refused = transition(as_user, "sw", rid, "decide_no_case_conference", body)
        assert path in is_problem(refused, 422)["errors"], missing
    partial = {**full, "agencies_agreed": ["police", "social_work"]}
    refused = transition(as_user, "sw", rid, "decide_no_case_conference", partial)
    assert list(is_problem(refused, 422)["errors"]) == ["data.agencies_agreed"]

    final = fire(as_user, rid, "decide_no_case_conference").get_json()
    assert (final["state"], final["closure_reason"]) == ("closed", "no_case_conference")
    cppm = clock(final, "initial_cppm")
    assert (cppm["status"], cppm["met_at"]) == ("not_required", None)
    assert same_moment(final["stages"]["investigation"]["outcome_at"], full["decided_at"])


# -- IRD timing (correction 8) --------------------------------------------------------------------


def test_an_out_of_hours_ird_is_followed_by_a_full_ird_by_the_next_working_day(
    as_user: Any,
) -> None:
    rid = create(as_user)["id"]
    started_at = iso(-timedelta(minutes=30))
    convened = fire(as_user, rid, "convene_ird", out_of_hours=True, started_at=started_at)
    assert convened.status_code == 200, convened.get_json()
    full = clock(convened.get_json(), "full_ird")
    assert same_moment(full["started_at"], started_at)
    # the next working day after today (relative to today, so counted by the test's helper)
    assert full["due"] == working_days_after(local_day(started_at), 1).isoformat()
    assert (full["status"], full["met_at"]) == ("pending", None)
    assert convened.get_json()["stages"]["ird"]["full_ird"] is None

    held_at = data("record_full_ird")["held_at"]
    recorded = fire(as_user, rid, "record_full_ird").get_json()
    assert recorded["state"] == "ird"
    full = clock(recorded, "full_ird")
    assert full["status"] == "met"
    assert same_moment(full["met_at"], held_at)
    stage = recorded["stages"]["ird"]["full_ird"]
    assert same_moment(stage["held_at"], held_at)
    assert [p["agency"] for p in stage["participants"]] == ["police", "health", "social_work"]
    assert stage["summary"] == "All core agencies shared what they hold."


def test_an_ird_in_hours_has_no_full_ird_clock(as_user: Any) -> None:
    rid = create(as_user)["id"]
    convened = walk(as_user, rid, "convene_ird").get_json()
    assert [t["rule"] for t in convened["timescales"]] == ["ird_convened"]
    assert clock(convened, "ird_convened")["status"] == "met"


# -- things that happen are recordable (correction 9) -------------------------------------------


def test_a_second_inquorate_meeting_in_a_row_is_recorded_and_flagged(as_user: Any) -> None:
    rid = create(as_user)["id"]
    walk(as_user, rid, "convene_ird", "start_investigation", "schedule_case_conference")
    first = fire(as_user, rid, "record_inquorate")
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["flags"] == {}
    second = fire(as_user, rid, "record_inquorate", absent_agencies=["police"])
    assert second.status_code == 200, second.get_json()
    assert second.get_json()["flags"] == {"repeat_inquorate": True}
    body = second.get_json()
    assert body["state"] == "case_conference"
    meetings = body["stages"]["conferences"][0]["meetings"]
    assert [(m["quorate"], m["absent_agencies"]) for m in meetings] == [
        (False, ["health"]),
        (False, ["police"]),
    ]


def test_the_initial_cppm_is_extended_while_a_jii_is_planned(as_user: Any) -> None:
    rid = create(as_user)["id"]
    planned = walk(as_user, rid, "convene_ird", "start_investigation", "plan_jii").get_json()
    original_due = clock(planned, "initial_cppm")["due"]
    new_due = data("extend_timescale")["new_due_date"]
    requested = fire(as_user, rid, "extend_timescale", approve=False)
    assert requested.status_code == 202, requested.get_json()
    assert requested.get_json()["approver"] == {"role": "senior_manager", "agency": "social_work"}
    approve(as_user, requested.get_json()["id"], by="swsm")
    extended = read(as_user, "sw", rid)
    assert extended["state"] == "jii"
    cppm = clock(extended, "initial_cppm")
    assert (cppm["due"], cppm["original_due"], cppm["status"], cppm["extended"]) == (
        new_due,
        original_due,
        "extended",
        True,
    )
    assert extended["stages"]["investigation"]["extensions"] == 1
