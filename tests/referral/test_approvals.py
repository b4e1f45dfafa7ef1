"""Four-eyes approvals over HTTP: request (202), approve, reject, refuse, stale, and the queue."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask import Flask

from referral.errors import Conflict
from referral.services import approvals, transitions
from referral.services.referrals import clocks_of
from tests.referral.flows import concern_body, create, data, is_problem, walk
from workflow.timescales import current_due

NFA = "close_no_further_action"


def ask(as_user: Any, rid: str, trigger: str, by: str, **changes: Any) -> Any:
    """Fire a trigger that needs approval; the caller checks the answer."""
    return as_user(by).post(
        f"/api/v1/referrals/{rid}/transitions",
        {"trigger": trigger, "data": data(trigger, **changes)},
    )


def requested(as_user: Any, rid: str, trigger: str = NFA, by: str = "doc") -> dict[str, Any]:
    response = ask(as_user, rid, trigger, by)
    assert response.status_code == 202, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def decide(
    as_user: Any, approval_id: str, by: str, decision: str = "approve", comment: str = "Agreed."
) -> Any:
    return as_user(by).post(
        f"/api/v1/approvals/{approval_id}/decision", {"decision": decision, "comment": comment}
    )


def referral(as_user: Any, rid: str, by: str = "sw") -> dict[str, Any]:
    response = as_user(by).get(f"/api/v1/referrals/{rid}")
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def events(as_user: Any, rid: str) -> list[dict[str, Any]]:
    response = as_user("sw").get(f"/api/v1/referrals/{rid}/events?limit=500")
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.get_json()["items"]
    return items


def approval_ids(as_user: Any, by: str, query: str = "") -> list[str]:
    response = as_user(by).get(f"/api/v1/approvals{query}")
    assert response.status_code == 200, response.get_json()
    return [a["id"] for a in response.get_json()["items"]]


def approval(as_user: Any, approval_id: str, by: str) -> dict[str, Any]:
    response = as_user(by).get("/api/v1/approvals?limit=200")
    assert response.status_code == 200
    found = [a for a in response.get_json()["items"] if a["id"] == approval_id]
    assert len(found) == 1, f"{by} does not see approval {approval_id}"
    return found[0]


def in_ird(as_user: Any) -> str:
    rid: str = create(as_user)["id"]
    walk(as_user, rid, "convene_ird")
    return rid


def in_investigation(as_user: Any) -> str:
    rid: str = create(as_user)["id"]
    walk(as_user, rid, "convene_ird", "start_investigation")
    return rid


# -- requesting -----------------------------------------------------------------------------


def test_a_trigger_needing_approval_answers_202_and_changes_nothing(as_user: Any) -> None:
    rid = in_ird(as_user)
    before = referral(as_user, rid)
    response = ask(as_user, rid, NFA, "doc")
    assert response.status_code == 202
    pending = response.get_json()
    assert pending["status"] == "pending"
    assert pending["requested_by"] == "doc"
    assert pending["trigger"] == NFA
    assert pending["referral_id"] == rid
    assert pending["data"] == data(NFA)
    assert pending["decided_by"] is None
    assert pending["decided_at"] is None
    assert pending["requested_at"]
    assert pending["approver"] == {"role": "supervisor", "agency": "social_work"}
    assert response.headers["Location"] == f"/api/v1/approvals/{pending['id']}"

    after = referral(as_user, rid)
    assert after["state"] == before["state"] == "ird"
    assert after["closure_reason"] is None
    assert after["stages"]["ird"]["decision"] is None
    assert after["pending_approval"]["id"] == pending["id"]
    assert after["pending_approval"]["status"] == "pending"
    transitions = [e["trigger"] for e in events(as_user, rid) if e["type"] == "transition"]
    assert transitions == ["convene_ird"]
    requests = [e for e in events(as_user, rid) if e["type"] == "approval_requested"]
    assert len(requests) == 1
    assert requests[0]["actor"] == "doc"
    assert requests[0]["trigger"] == NFA


def test_pending_approval_is_shown_to_everyone_who_can_see_the_referral(as_user: Any) -> None:
    rid = in_ird(as_user)
    assert referral(as_user, rid, "pc")["pending_approval"] is None
    pending = requested(as_user, rid)
    for user in ("pc", "doc", "swsup", "teacher"):
        shown = referral(as_user, rid, user)["pending_approval"]
        assert shown is not None, user
        assert shown["id"] == pending["id"]
        assert shown["requested_by"] == "doc"
        assert shown["trigger"] == NFA


# -- approving and rejecting ----------------------------------------------------------------


def test_supervisor_approves_and_the_transition_is_applied(as_user: Any) -> None:
    rid = in_ird(as_user)
    pending = requested(as_user, rid)
    response = decide(as_user, pending["id"], "swsup", comment="Agree: accidental injury.")
    assert response.status_code == 200, response.get_json()
    decided = response.get_json()
    assert decided["id"] == pending["id"]
    assert decided["status"] == "approved"
    assert decided["decided_by"] == "swsup"
    assert decided["comment"] == "Agree: accidental injury."
    assert decided["decided_at"]
    assert decided["requested_by"] == "doc"

    after = referral(as_user, rid)
    assert after["state"] == "closed"
    assert after["closure_reason"] == "nfa"
    assert after["pending_approval"] is None
    assert after["stages"]["ird"]["decision"] is not None

    trail = events(as_user, rid)
    kinds = [(e["type"], e["trigger"]) for e in trail]
    asked = kinds.index(("approval_requested", NFA))
    approved = kinds.index(("approval_approved", NFA))
    applied = kinds.index(("transition", NFA))
    assert asked < approved < applied
    assert trail[approved]["actor"] == "swsup"
    assert trail[approved]["data"]["comment"] == "Agree: accidental injury."
    assert trail[applied]["from_state"] == "ird"
    assert trail[applied]["to_state"] == "closed"
    assert trail[applied]["data"]["_approval"]["approved_by"] == "swsup"


def test_reject_leaves_the_state_and_a_new_request_may_follow(as_user: Any) -> None:
    rid = in_ird(as_user)
    pending = requested(as_user, rid)
    response = decide(as_user, pending["id"], "swsup", "reject", "Views of the child missing.")
    assert response.status_code == 200, response.get_json()
    rejected = response.get_json()
    assert rejected["status"] == "rejected"
    assert rejected["decided_by"] == "swsup"
    assert rejected["comment"] == "Views of the child missing."

    after = referral(as_user, rid)
    assert after["state"] == "ird"
    assert after["closure_reason"] is None
    assert after["pending_approval"] is None
    trail = events(as_user, rid)
    assert ("approval_rejected", NFA) in [(e["type"], e["trigger"]) for e in trail]
    assert [e["trigger"] for e in trail if e["type"] == "transition"] == ["convene_ird"]

    again = ask(as_user, rid, "refer_single_agency", "pc")
    assert again.status_code == 202, again.get_json()
    assert again.get_json()["status"] == "pending"
    assert again.get_json()["id"] != pending["id"]
    assert referral(as_user, rid)["pending_approval"]["id"] == again.get_json()["id"]


def test_a_senior_manager_may_decide_what_a_supervisor_may(as_user: Any) -> None:
    rid = in_ird(as_user)
    pending = requested(as_user, rid)
    assert pending["id"] in approval_ids(as_user, "swsm")
    response = decide(as_user, pending["id"], "swsm")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["decided_by"] == "swsm"
    assert referral(as_user, rid)["state"] == "closed"


def test_extend_timescale_needs_a_social_work_senior_manager(as_user: Any) -> None:
    rid = in_investigation(as_user)
    before = {t["rule"]: t for t in referral(as_user, rid)["timescales"]}
    assert before["initial_cppm"]["extended"] is False
    new_due = data("extend_timescale")["new_due_date"]
    assert new_due != before["initial_cppm"]["due"]

    pending = requested(as_user, rid, "extend_timescale", by="sw")
    assert pending["approver"] == {"role": "senior_manager", "agency": "social_work"}
    assert pending["id"] not in approval_ids(as_user, "swsup")
    assert pending["id"] in approval_ids(as_user, "swsm")

    refused = decide(as_user, pending["id"], "swsup")
    is_problem(refused, 403)
    assert approval(as_user, pending["id"], "swsm")["status"] == "pending"
    unchanged = {t["rule"]: t for t in referral(as_user, rid)["timescales"]}
    assert unchanged["initial_cppm"]["due"] == before["initial_cppm"]["due"]

    response = decide(as_user, pending["id"], "swsm", comment="Medical report awaited.")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "approved"
    after = referral(as_user, rid)
    assert after["state"] == "investigation"
    cppm = {t["rule"]: t for t in after["timescales"]}["initial_cppm"]
    assert cppm["due"] == new_due
    assert cppm["extended"] is True
    assert cppm["original_due"] == before["initial_cppm"]["due"]


# -- who may decide -------------------------------------------------------------------------


def test_the_requester_may_not_approve_even_as_a_supervisor(as_user: Any) -> None:
    rid = in_ird(as_user)
    pending = requested(as_user, rid, by="swsup")
    assert pending["requested_by"] == "swsup"
    for decision in ("approve", "reject"):
        is_problem(decide(as_user, pending["id"], "swsup", decision), 403)
    assert approval(as_user, pending["id"], "swsup")["status"] == "pending"
    assert referral(as_user, rid)["state"] == "ird"

    response = decide(as_user, pending["id"], "swsup2")
    assert response.status_code == 200, response.get_json()
    assert referral(as_user, rid)["state"] == "closed"


@pytest.mark.parametrize(
    "decider",
    [
        "polsup",  # a supervisor, but of the wrong agency
        "sw",  # social work, but only a practitioner
        "doc",  # the requester's colleague at the IRD, a health practitioner
        "auditor",  # sees everything in the area, changes nothing
    ],
)
def test_wrong_agency_or_role_is_refused_403(as_user: Any, decider: str) -> None:
    rid = in_ird(as_user)
    pending = requested(as_user, rid, by="pc")
    for decision in ("approve", "reject"):
        is_problem(decide(as_user, pending["id"], decider, decision), 403)
    after = referral(as_user, rid)
    assert after["state"] == "ird"
    assert after["pending_approval"]["status"] == "pending"
    assert after["pending_approval"]["decided_by"] is None


def test_a_decider_who_cannot_see_the_referral_gets_404(as_user: Any) -> None:
    rid = in_ird(as_user)
    pending = requested(as_user, rid)
    is_problem(decide(as_user, pending["id"], "swsup.hl"), 404)
    assert pending["id"] not in approval_ids(as_user, "swsup.hl")
    assert referral(as_user, rid)["pending_approval"]["status"] == "pending"
    is_problem(decide(as_user, "no-such-approval", "swsup"), 404)


def test_a_read_only_token_may_not_decide(as_user: Any) -> None:
    rid = in_ird(as_user)
    pending = requested(as_user, rid)
    response = as_user("swsup", "read").post(
        f"/api/v1/approvals/{pending['id']}/decision", {"decision": "approve", "comment": "Ok."}
    )
    is_problem(response, 403)
    assert referral(as_user, rid)["state"] == "ird"


# -- conflicts ------------------------------------------------------------------------------


def test_only_one_approval_may_be_pending(as_user: Any) -> None:
    rid = in_ird(as_user)
    first = requested(as_user, rid)
    for trigger, by in ((NFA, "pc"), ("refer_single_agency", "sw"), ("close", "sw")):
        is_problem(ask(as_user, rid, trigger, by), 409)
    after = referral(as_user, rid)
    assert after["state"] == "ird"
    assert after["pending_approval"]["id"] == first["id"]
    # what waits for the pending decision is not offered; what needs no approval still is
    offered = referral(as_user, rid, "sw")["allowed_triggers"]
    assert not {NFA, "refer_single_agency", "close"} & set(offered), offered
    assert {"add_ird_contribution", "start_investigation"} <= set(offered), offered
    asked = [e for e in events(as_user, rid) if e["type"] == "approval_requested"]
    assert len(asked) == 1
    assert approval_ids(as_user, "swsup", "?status=pending").count(first["id"]) == 1


def _contribute(as_user: Any, rid: str) -> None:
    response = as_user("teacher").post(
        f"/api/v1/referrals/{rid}/transitions",
        {"trigger": "add_ird_contribution", "data": data("add_ird_contribution")},
    )
    assert response.status_code == 200, response.get_json()


def _correct(as_user: Any, rid: str) -> None:
    read = as_user("sw").get(f"/api/v1/referrals/{rid}")
    response = as_user("sw").patch(
        f"/api/v1/referrals/{rid}",
        {"concern": {"summary": "Bruising on both arms, seen at school."}},
        headers={"If-Match": read.headers["ETag"]},
    )
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("change", [_contribute, _correct], ids=["contribution", "correction"])
def test_a_stale_approval_is_refused_and_nothing_is_applied(as_user: Any, change: Any) -> None:
    rid = in_ird(as_user)
    pending = requested(as_user, rid)
    change(as_user, rid)

    assert pending["id"] in approval_ids(as_user, "swsup", "?status=stale")
    assert pending["id"] not in approval_ids(as_user, "swsup", "?status=pending")
    assert approval(as_user, pending["id"], "doc")["status"] == "stale"
    assert referral(as_user, rid)["pending_approval"] is None

    is_problem(decide(as_user, pending["id"], "swsup"), 409)
    after = referral(as_user, rid)
    assert after["state"] == "ird"
    assert after["closure_reason"] is None
    assert NFA not in [e["trigger"] for e in events(as_user, rid) if e["type"] == "transition"]
    assert approval(as_user, pending["id"], "swsup")["status"] == "stale"
    assert approval(as_user, pending["id"], "swsup")["decided_by"] is None

    # the stale request no longer blocks a fresh one
    fresh = requested(as_user, rid)
    assert decide(as_user, fresh["id"], "swsup").status_code == 200
    assert referral(as_user, rid)["state"] == "closed"


@pytest.mark.parametrize("first", ["approve", "reject"])
@pytest.mark.parametrize("second", ["approve", "reject"])
def test_deciding_a_decided_approval_is_409(as_user: Any, first: str, second: str) -> None:
    rid = in_ird(as_user)
    pending = requested(as_user, rid)
    assert decide(as_user, pending["id"], "swsup", first).status_code == 200
    state = referral(as_user, rid)["state"]
    before = len(events(as_user, rid))

    is_problem(decide(as_user, pending["id"], "swsup2", second, "Second opinion."), 409)
    decided = approval(as_user, pending["id"], "doc")
    assert decided["status"] == ("approved" if first == "approve" else "rejected")
    assert decided["decided_by"] == "swsup"
    assert decided["comment"] == "Agreed."
    assert referral(as_user, rid)["state"] == state
    assert len(events(as_user, rid)) == before


@pytest.mark.parametrize(
    ("body", "field", "said"),
    [
        ({"decision": "approve"}, "comment", "is required"),
        ({"decision": "approve", "comment": ""}, "comment", "must have a length from 1 to"),
        ({"decision": "maybe", "comment": "Not sure."}, "decision", "must be one of: approve"),
        ({"comment": "No decision."}, "decision", "is required"),
        ({"decision": "approve", "comment": "Ok.", "urgent": True}, "urgent", "is not a field"),
    ],
)
def test_a_decision_needs_approve_or_reject_and_a_comment(
    as_user: Any, body: dict[str, Any], field: str, said: str
) -> None:
    """Refused in the API's own words (lower case, what the value must be), as every check
    words its message."""
    rid = in_ird(as_user)
    pending = requested(as_user, rid)
    response = as_user("swsup").post(f"/api/v1/approvals/{pending['id']}/decision", body)
    problem = is_problem(response, 422)
    assert problem["errors"][field][0].startswith(said), problem["errors"]
    assert referral(as_user, rid)["pending_approval"]["status"] == "pending"
    assert referral(as_user, rid)["state"] == "ird"


# -- the queue ------------------------------------------------------------------------------


def test_the_queue_lists_what_you_may_decide_and_what_you_requested(as_user: Any) -> None:
    wd = requested(as_user, in_ird(as_user))
    created = as_user("sw.hl").post("/api/v1/referrals", concern_body(area="highland"))
    assert created.status_code == 201, created.get_json()
    hl_rid = created.get_json()["id"]
    convened = as_user("sw.hl").post(
        f"/api/v1/referrals/{hl_rid}/transitions",
        {"trigger": "convene_ird", "data": data("convene_ird")},
    )
    assert convened.status_code == 200, convened.get_json()
    hl = requested(as_user, hl_rid, by="sw.hl")

    seen = {
        user: set(approval_ids(as_user, user))
        for user in ("doc", "swsup", "swsup2", "swsm", "sw.hl", "swsup.hl", "pc", "polsup", "sw")
    }
    assert seen["doc"] == {wd["id"]}  # requested it
    assert seen["swsup"] == {wd["id"]}  # may decide it; the Highland one is another area
    assert seen["swsup2"] == {wd["id"]}
    assert seen["swsm"] == {wd["id"]}
    assert seen["sw.hl"] == {hl["id"]}  # requested it
    assert seen["swsup.hl"] == {hl["id"]}
    assert seen["pc"] == set()  # neither requested nor may decide
    assert seen["polsup"] == set()  # a supervisor, but police
    assert seen["sw"] == set()  # social work, but a practitioner


def test_the_queue_filters_by_status(as_user: Any) -> None:
    approved = requested(as_user, in_ird(as_user))
    rejected = requested(as_user, in_ird(as_user))
    waiting = requested(as_user, in_ird(as_user))
    assert decide(as_user, approved["id"], "swsup").status_code == 200
    assert decide(as_user, rejected["id"], "swsup", "reject", "No.").status_code == 200

    mine = {approved["id"], rejected["id"], waiting["id"]}
    assert set(approval_ids(as_user, "swsup2")) == mine
    assert set(approval_ids(as_user, "swsup2", "?status=pending")) == {waiting["id"]}
    assert set(approval_ids(as_user, "swsup2", "?status=approved")) == {approved["id"]}
    assert set(approval_ids(as_user, "swsup2", "?status=rejected")) == {rejected["id"]}
    assert set(approval_ids(as_user, "swsup2", "?status=stale")) == set()
    items = as_user("doc").get("/api/v1/approvals?status=approved").get_json()["items"]
    assert [(a["id"], a["status"], a["decided_by"]) for a in items] == [
        (approved["id"], "approved", "swsup")
    ]
    is_problem(as_user("swsup").get("/api/v1/approvals?status=maybe"), 422)


def test_the_queue_pages_with_a_cursor(as_user: Any) -> None:
    asked = [requested(as_user, in_ird(as_user))["id"] for _ in range(3)]
    first = as_user("swsup").get("/api/v1/approvals?limit=2").get_json()
    assert len(first["items"]) == 2
    assert first["next_cursor"]
    rest = as_user("swsup").get(f"/api/v1/approvals?limit=2&cursor={first['next_cursor']}")
    assert rest.status_code == 200, rest.get_json()
    second = rest.get_json()
    assert second["next_cursor"] is None
    listed = [a["id"] for a in first["items"] + second["items"]]
    assert sorted(listed) == sorted(asked)
    assert len(set(listed)) == 3


def test_a_request_refused_at_commit_is_a_503_and_records_nothing(
    as_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 202 is committed after the view returns: a database busy at that commit answers
    503 with Retry-After (as anywhere else), never the 202 nor a 500, and nothing is kept."""
    import sqlite3

    from referral import db

    rid = in_ird(as_user)
    before = events(as_user, rid)
    committing = db.commit

    def busy_once() -> None:
        monkeypatch.setattr(db, "commit", committing)
        busy = sqlite3.OperationalError("database is locked")
        busy.sqlite_errorcode = sqlite3.SQLITE_BUSY  # type: ignore[attr-defined]
        raise busy

    monkeypatch.setattr(db, "commit", busy_once)
    response = ask(as_user, rid, NFA, "doc")
    assert is_problem(response, 503)
    assert response.headers["Retry-After"] == "1"
    assert referral(as_user, rid)["pending_approval"] is None
    assert events(as_user, rid) == before
    assert requested(as_user, rid)["status"] == "pending"  # asked again, it is recorded


def test_an_extension_asked_for_in_time_may_be_agreed_after_the_due_date(
    app: Flask, client: Any
) -> None:
    """The 28 days ran out on 1 October 2024. An extension asked for on 30 September is judged
    as on that day, so the senior manager agrees it on 2 October; one asked for on 2 October is
    refused: the CPPM was overdue (NG2021 3.38)."""
    from tests.referral.test_indicators import Story, z

    with app.app_context():
        story = Story()
        in_time, too_late = story.concern("2024-09-02 09:00"), story.concern("2024-09-02 09:30")
        for referral in (in_time, too_late):
            story.ird(referral, "2024-09-02 10:00")
            story.investigate(referral, "2024-09-03 11:00")
        assert cppm_due(in_time) == date(2024, 10, 1)
        extension = data("extend_timescale", new_due_date="2024-10-15")

        def ask(referral: Any, when: str) -> Any:
            sw = story.users["sw"]
            trigger = "extend_timescale"
            return transitions.fire(story.session, sw, referral, trigger, extension, None, z(when))

        asked = ask(in_time, "2024-09-30 12:00")
        assert asked.approval is not None
        manager, agreed = story.users["swsm"], z("2024-10-02 09:00")
        approvals.decide(story.session, manager, asked.approval.id, "approve", "Agreed.", agreed)
        assert cppm_due(in_time) == date(2024, 10, 15)
        with pytest.raises(Conflict, match="already overdue"):
            ask(too_late, "2024-10-02 09:00")
        story.session.rollback()


def cppm_due(referral: Any) -> date | None:
    return current_due(clocks_of(referral), "initial_cppm")
