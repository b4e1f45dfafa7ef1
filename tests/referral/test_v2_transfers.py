"""Scotland v2 over HTTP: a registered child moving between areas (SPEC section 4, correction 2)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from flask import Flask

from tests.referral.flows import (
    TO_REGISTER,
    concern_body,
    data,
    fire,
    is_problem,
    iso,
    now,
    walk,
)
from tests.referral.test_statements import statements
from tests.referral.v2_checks import (
    LONDON,
    PATH,
    events_of,
    local_day,
    read,
    verify_problems,
    working_days_after,
)

NOT_SHARED = "is not a referral shared with this area for a transfer"


def record(as_user: Any, username: str, body: dict[str, Any]) -> dict[str, Any]:
    response = as_user(username).post(PATH, body)
    assert response.status_code == 201, response.get_json()
    created: dict[str, Any] = response.get_json()
    return created


def registered_in_west_dunbartonshire(as_user: Any, given_name: str) -> str:
    """A child registered here a fortnight ago (each step recorded when it happened)."""
    body = concern_body(given_name=given_name)
    body["concern"]["received_at"] = iso(-timedelta(days=20))
    rid = record(as_user, "pc", body)["id"]
    for trigger, changes in (
        ("convene_ird", {"started_at": iso(-timedelta(days=19))}),
        ("start_investigation", {"decided_at": iso(-timedelta(days=18))}),
        ("schedule_case_conference", {}),
        ("register", {"held_at": iso(-timedelta(days=15))}),
    ):
        response = fire(as_user, rid, trigger, **changes)
        assert response.status_code == 200, (trigger, response.get_json())
    return rid


def highland_concern(transfer_from: str, given_name: str = "Amy") -> dict[str, Any]:
    return {**concern_body("highland", given_name=given_name), "transfer_from": transfer_from}


def transfer_conference(as_user: Any, rid: str) -> None:
    scheduled = fire(
        as_user,
        rid,
        "schedule_case_conference",
        by="sw.hl",
        conference_type="transfer",
        chair="sw.hl",
    )
    assert scheduled.status_code == 200, scheduled.get_json()


def holds(registration: dict[str, Any], day: date) -> bool:
    """A registration holds the child on `day` from its local registered date until (not on)
    its local end date."""
    if local_day(registration["registered_at"]) > day:
        return False
    return registration["ended_at"] is None or day < local_day(registration["ended_at"])


def test_a_registered_child_moves_to_highland_and_is_on_one_register_every_day(
    app: Flask, as_user: Any
) -> None:
    sending = registered_in_west_dunbartonshire(as_user, "Amy")
    assert as_user("sw.hl").get(f"{PATH}/{sending}").status_code == 404

    moved_on = local_day(now()) - timedelta(days=5)
    notified = fire(as_user, sending, "notify_transfer", moved_on=moved_on.isoformat())
    assert notified.status_code == 200, notified.get_json()
    assert notified.get_json()["state"] == "registered"

    # shared read-only with Highland's social work; not with Highland's other agencies
    shared = read(as_user, "sw.hl", sending)
    assert (shared["state"], shared["allowed_triggers"]) == ("registered", [])
    is_problem(as_user("teacher.hl").get(f"{PATH}/{sending}"), 404)
    refused = as_user("sw.hl").post(
        f"{PATH}/{sending}/transitions",
        {"trigger": "add_chronology_entry", "data": data("add_chronology_entry")},
    )
    is_problem(refused, 404)

    with statements(app) as run:
        receiving = record(as_user, "sw.hl", highland_concern(sending))
    hl = receiving["id"]
    assert (receiving["area"], receiving["state"]) == ("highland", "concern")
    assert receiving["transfer_from"] == sending
    # a child transferred in is known: matched first, not first written as though new
    assert not [s for s in run if "known_child" in s]
    assert len([s for s in run if "match_child_locked" in s]) <= 1
    assert "schedule_case_conference" in receiving["allowed_triggers"]
    # no IRD clock and no initial CPPM clock: only the transfer CPPM, 21 working days after
    # the move (counted by hand here, since the move is relative to today)
    [clock] = receiving["timescales"]
    assert clock["rule"] == "transfer_cppm"
    assert datetime.fromisoformat(clock["started_at"]) == datetime.combine(
        moved_on, time(), tzinfo=LONDON
    )
    assert clock["due"] == working_days_after(moved_on, 21).isoformat()
    assert (clock["status"], clock["met_at"], clock["flags"]) == ("pending", None, [])

    scheduled = fire(
        as_user,
        hl,
        "schedule_case_conference",
        by="sw.hl",
        conference_type="transfer",
        chair="sw.hl",
    )
    assert scheduled.status_code == 200, scheduled.get_json()
    assert scheduled.get_json()["state"] == "case_conference"
    assert scheduled.get_json()["stages"]["conferences"][0]["conference_type"] == "transfer"
    assert scheduled.get_json()["stages"]["ird"] is None

    held_at = iso(-timedelta(minutes=30))
    registered = fire(as_user, hl, "register", by="sw.hl", lead_professional="sw.hl")
    assert registered.status_code == 200, registered.get_json()

    # the one request settled both referrals
    after_hl, after_wd = read(as_user, "sw.hl", hl), read(as_user, "sw", sending)
    assert after_hl["state"] == "registered"
    assert [(t["rule"], t["status"]) for t in after_hl["timescales"]] == [
        ("transfer_cppm", "met"),
        ("first_core_group", "pending"),
        ("review_cppm", "pending"),
    ]
    assert (after_wd["state"], after_wd["closure_reason"]) == ("closed", "transferred_out")
    assert after_wd["allowed_triggers"] == []
    [hl_registration] = after_hl["stages"]["registrations"]
    [wd_registration] = after_wd["stages"]["registrations"]
    assert datetime.fromisoformat(hl_registration["registered_at"]) == datetime.fromisoformat(
        held_at
    )
    assert datetime.fromisoformat(wd_registration["ended_at"]) == datetime.fromisoformat(
        hl_registration["registered_at"]
    )
    assert wd_registration["end_reason"] == "transferred_out"
    assert (wd_registration["receiving_area"], wd_registration["moved_on"]) == (
        "highland",
        moved_on.isoformat(),
    )
    [transfer] = after_wd["stages"]["transfers"]
    assert (transfer["receiving_referral_id"], transfer["outcome"]) == (hl, "registered")
    assert datetime.fromisoformat(transfer["decided_at"]) == datetime.fromisoformat(held_at)
    trail = events_of(as_user, sending)
    assert [e["type"] for e in trail[-2:]] == ["transfer_received", "transition"]
    assert (trail[-1]["trigger"], trail[-1]["actor"]) == ("transferred_out", "sw.hl")

    # a child is on exactly one register on every day, before, across and after the move
    registrations = [wd_registration, hl_registration]
    first = local_day(wd_registration["registered_at"])
    assert first == local_day(iso(-timedelta(days=15)))
    for offset in range((local_day(now()) - first).days + 4):
        day = first + timedelta(days=offset)
        assert sum(holds(r, day) for r in registrations) == 1, day

    # the closed referral cannot be transferred again
    again = as_user("sw.hl").post(PATH, highland_concern(sending))
    assert is_problem(again, 422)["errors"] == {"transfer_from": [NOT_SHARED]}
    assert verify_problems(app) == []


def test_a_transfer_conference_that_does_not_register_leaves_the_child_registered_here(
    app: Flask, as_user: Any
) -> None:
    sending = record(as_user, "pc", concern_body(given_name="Ben"))["id"]
    walk(as_user, sending, *TO_REGISTER, "notify_transfer")
    hl = record(as_user, "sw.hl", highland_concern(sending, "Ben"))["id"]
    transfer_conference(as_user, hl)
    held_at = iso(-timedelta(minutes=30))
    decided = fire(as_user, hl, "not_register", by="sw.hl")
    assert decided.status_code == 200, decided.get_json()
    assert (decided.get_json()["state"], decided.get_json()["closure_reason"]) == (
        "closed",
        "not_registered",
    )

    kept = read(as_user, "sw", sending)
    assert (kept["state"], kept["closure_reason"]) == ("registered", None)
    [registration] = kept["stages"]["registrations"]
    assert (registration["ended_at"], registration["end_reason"]) == (None, None)
    [transfer] = kept["stages"]["transfers"]
    assert (transfer["receiving_referral_id"], transfer["outcome"]) == (hl, "not_registered")
    assert datetime.fromisoformat(transfer["decided_at"]) == datetime.fromisoformat(held_at)
    told = events_of(as_user, sending)[-1]
    assert (told["type"], told["trigger"], told["actor"]) == ("transfer_decided", None, "sw.hl")
    assert told["data"]["receiving_referral"] == hl
    assert told["data"]["decision"] == "not_register"
    assert told["data"]["still_registered_here"] is True
    assert "notify_transfer" in kept["allowed_triggers"]
    assert verify_problems(app) == []


def test_transfer_from_names_only_a_referral_shared_with_this_area_and_open_for_transfer(
    app: Flask, as_user: Any
) -> None:
    never_shared = record(as_user, "pc", concern_body(given_name="Cal"))["id"]
    walk(as_user, never_shared, *TO_REGISTER)
    decided = record(as_user, "pc", concern_body(given_name="Dee"))["id"]
    walk(as_user, decided, *TO_REGISTER, "notify_transfer")
    refused = record(as_user, "sw.hl", highland_concern(decided, "Dee"))["id"]
    transfer_conference(as_user, refused)
    assert fire(as_user, refused, "not_register", by="sw.hl").status_code == 200
    shared_elsewhere = record(as_user, "pc", concern_body(given_name="Eve"))["id"]
    walk(as_user, shared_elsewhere, *TO_REGISTER, "notify_transfer")

    answers = {
        "never shared": as_user("sw.hl").post(PATH, highland_concern(never_shared, "Cal")),
        "no such referral": as_user("sw.hl").post(PATH, highland_concern("0" * 32)),
        "transfer decided": as_user("sw.hl").post(PATH, highland_concern(decided, "Dee")),
        "shared with another area": as_user("sw").post(
            PATH, {**concern_body(given_name="Eve"), "transfer_from": shared_elsewhere}
        ),
    }
    for case, response in answers.items():
        assert is_problem(response, 422)["errors"] == {"transfer_from": [NOT_SHARED]}, case

    # recorded once by the receiving area, then not again
    first = as_user("sw.hl").post(PATH, highland_concern(shared_elsewhere, "Eve"))
    assert first.status_code == 201, first.get_json()
    twice = as_user("sw.hl").post(PATH, highland_concern(shared_elsewhere, "Eve"))
    assert list(is_problem(twice, 422)["errors"]) == ["transfer_from"]
    assert verify_problems(app) == []
