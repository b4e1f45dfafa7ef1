"""Every (state, trigger) pair, permission rule and field rule of the scotland profile."""

from __future__ import annotations

import contextlib
import copy
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

import workflow
from tests.workflow.samples import ATTENDEES, CTX, FIRER, NOW, VALID, iso, subject_for
from workflow import (
    Actor,
    ActorNotPermitted,
    ApprovalRequired,
    DataConflict,
    InvalidData,
    Subject,
    TriggerNotAllowed,
    UnknownTrigger,
)

ENGINE = workflow.engine("scotland", 1)
DEFINITION = ENGINE.definition
PAIRS = [(s, t.name) for s in DEFINITION.state_names for t in DEFINITION.triggers]


def data_for(trigger: str, state: str) -> dict[str, Any]:
    data = copy.deepcopy(VALID[trigger])
    if trigger == "schedule_case_conference" and state == "registered":
        data["conference_type"] = "review"
    return data


def test_the_scotland_profile_has_the_spec_states_and_triggers() -> None:
    assert DEFINITION.state_names == (
        "concern",
        "ird",
        "investigation",
        "jii",
        "case_conference",
        "registered",
        "closed",
    )
    assert set(DEFINITION.trigger_names) == set(VALID)


@pytest.mark.parametrize(("state", "trigger"), PAIRS)
def test_every_state_and_trigger_pair(state: str, trigger: str) -> None:
    spec = DEFINITION.trigger(trigger)
    subject = subject_for(trigger, state)
    actor = FIRER[trigger]
    data = data_for(trigger, state)
    if state not in spec.sources:
        with pytest.raises(TriggerNotAllowed) as refused:
            ENGINE.fire(subject, actor, trigger, data, CTX)
        assert refused.value.state == state
        assert trigger not in ENGINE.allowed_triggers(subject, actor)
        return
    assert trigger in ENGINE.allowed_triggers(subject, actor)
    if spec.approval is not None:
        with pytest.raises(ApprovalRequired) as pending:
            ENGINE.fire(subject, actor, trigger, data, CTX)
        assert pending.value.role == spec.approval.role
        outcome = ENGINE.fire(subject, actor, trigger, data, CTX, approved=True)
    else:
        outcome = ENGINE.fire(subject, actor, trigger, data, CTX)
    assert (outcome.from_state, outcome.to_state) == (state, spec.dest)
    if spec.dest == "closed":
        assert outcome.closure_reason in DEFINITION.closure_reasons
    else:
        assert outcome.closure_reason is None


@pytest.mark.parametrize(
    ("trigger", "reason"),
    [
        ("close_no_further_action", "nfa"),
        ("refer_single_agency", "single_agency"),
        ("decide_no_case_conference", "no_case_conference"),
        ("not_register", "not_registered"),
        ("deregister", "deregistered"),
        ("transfer_out", "transferred_out"),
        ("close", "duplicate"),
    ],
)
def test_closing_triggers_keep_their_reason(trigger: str, reason: str) -> None:
    state = DEFINITION.trigger(trigger).sources[0]
    outcome = ENGINE.fire(
        subject_for(trigger, state),
        FIRER[trigger],
        trigger,
        data_for(trigger, state),
        CTX,
        approved=True,
    )
    assert outcome.closure_reason == reason


def test_unknown_trigger_is_refused_loudly() -> None:
    with pytest.raises(UnknownTrigger):
        ENGINE.fire(Subject("concern"), FIRER["convene_ird"], "to_closed", {}, CTX)


def test_no_auto_transitions_and_one_shared_machine() -> None:
    assert "to_closed" not in ENGINE.machine.events
    assert workflow.engine("scotland", 1) is workflow.engine("scotland", 1)
    assert ENGINE.machine.models == []


# -- who may fire --------------------------------------------------------------------------

P = "practitioner"
SUP = "supervisor"
SM = "senior_manager"

PERMISSIONS: list[tuple[str, str, Actor, bool]] = [
    # trigger, state, actor, allowed
    ("convene_ird", "concern", Actor("pc.morgan", "police", P), True),
    ("convene_ird", "concern", Actor("dr.shah", "health", P), True),
    ("convene_ird", "concern", Actor("sw.reid", "social_work", SUP), True),
    ("convene_ird", "concern", Actor("sw.reid", "social_work", SM), True),
    ("convene_ird", "concern", Actor("teacher.ng", "education", P), False),
    ("convene_ird", "concern", Actor("third.sector", "other", P), False),
    ("convene_ird", "concern", Actor("audit", "social_work", "auditor"), False),
    ("convene_ird", "concern", Actor("admin", "social_work", "admin"), False),
    ("add_ird_contribution", "ird", Actor("teacher.ng", "education", P), True),
    ("add_ird_contribution", "ird", Actor("third.sector", "other", P), True),
    ("add_ird_contribution", "ird", Actor("audit", "police", "auditor"), False),
    ("close_no_further_action", "ird", Actor("dr.shah", "health", P), True),
    ("close_no_further_action", "ird", Actor("teacher.ng", "education", P), False),
    ("refer_single_agency", "ird", Actor("pc.morgan", "police", P), True),
    ("refer_single_agency", "ird", Actor("teacher.ng", "education", SUP), False),
    ("start_investigation", "ird", Actor("pc.morgan", "police", P), True),
    ("start_investigation", "ird", Actor("teacher.ng", "education", P), False),
    ("plan_jii", "investigation", Actor("pc.morgan", "police", P), True),
    ("plan_jii", "investigation", Actor("sw.reid", "social_work", P), True),
    ("plan_jii", "investigation", Actor("dr.shah", "health", P), False),
    ("record_jii", "jii", Actor("pc.morgan", "police", P), True),
    ("record_jii", "jii", Actor("sw.reid", "social_work", P), True),
    ("record_jii", "jii", Actor("pc.other", "police", P), False),
    ("record_jii", "jii", Actor("sw.other", "social_work", SUP), False),
    ("cancel_jii", "jii", Actor("pc.other", "police", P), True),
    ("cancel_jii", "jii", Actor("dr.shah", "health", P), False),
    ("extend_timescale", "investigation", Actor("sw.reid", "social_work", P), True),
    ("extend_timescale", "investigation", Actor("pc.morgan", "police", P), False),
    ("decide_no_case_conference", "investigation", Actor("sw.reid", "social_work", P), True),
    ("decide_no_case_conference", "investigation", Actor("dr.shah", "health", SUP), False),
    ("schedule_case_conference", "investigation", Actor("sw.reid", "social_work", P), True),
    ("schedule_case_conference", "investigation", Actor("pc.morgan", "police", P), False),
    ("record_inquorate", "case_conference", Actor("sw.chair", "social_work", P), True),
    ("record_inquorate", "case_conference", Actor("sw.reid", "social_work", SM), False),
    ("register", "case_conference", Actor("sw.chair", "social_work", P), True),
    ("register", "case_conference", Actor("sw.reid", "social_work", SUP), False),
    ("not_register", "case_conference", Actor("pc.morgan", "police", P), False),
    ("continue_registration", "case_conference", Actor("sw.chair", "social_work", P), True),
    ("deregister", "case_conference", Actor("sw.reid", "social_work", P), False),
    ("record_core_group", "registered", Actor("dr.shah", "health", P), True),  # in core group
    ("record_core_group", "registered", Actor("sw.reid", "social_work", P), True),
    ("record_core_group", "registered", Actor("pc.morgan", "police", P), False),
    ("record_core_group", "registered", Actor("teacher.ng", "education", P), False),
    ("transfer_out", "registered", Actor("sw.reid", "social_work", P), True),
    ("transfer_out", "registered", Actor("dr.shah", "health", SM), False),
    ("close", "ird", Actor("sw.reid", "social_work", P), True),
    ("close", "ird", Actor("pc.morgan", "police", SUP), False),
]


@pytest.mark.parametrize(("trigger", "state", "actor", "allowed"), PERMISSIONS)
def test_who_may_fire(trigger: str, state: str, actor: Actor, allowed: bool) -> None:
    subject = subject_for(trigger, state)
    data = data_for(trigger, state)
    if trigger == "add_ird_contribution":
        data = {**data, "agency": actor.agency}  # each agency records its own contribution
    assert (trigger in ENGINE.allowed_triggers(subject, actor)) is allowed
    if allowed:
        with contextlib.suppress(ApprovalRequired):
            ENGINE.fire(subject, actor, trigger, data, CTX)
    else:
        with pytest.raises(ActorNotPermitted) as refused:
            ENGINE.fire(subject, actor, trigger, data, CTX)
        assert refused.value.reason
        assert ENGINE.refusals(subject, actor)[trigger] == refused.value.reason


def test_an_agency_records_only_its_own_ird_contribution() -> None:
    subject = subject_for("add_ird_contribution", "ird")
    data = data_for("add_ird_contribution", "ird")  # names education
    police = Actor("pc.morgan", "police", P)
    with pytest.raises(InvalidData) as refused:
        ENGINE.fire(subject, police, "add_ird_contribution", data, CTX)
    assert "own agency" in refused.value.errors["agency"][0]
    teacher = ENGINE.fire(
        subject, Actor("teacher.ng", "education", P), "add_ird_contribution", data, CTX
    )
    assert "recorded_on_behalf_of" not in teacher.flags


def test_social_work_records_a_contribution_on_another_agencys_behalf() -> None:
    subject = subject_for("add_ird_contribution", "ird")
    data = data_for("add_ird_contribution", "ird")  # names education
    outcome = ENGINE.fire(
        subject, Actor("sw.reid", "social_work", P), "add_ird_contribution", data, CTX
    )
    assert outcome.flags == {"recorded_on_behalf_of": "education"}


def test_every_trigger_has_a_permission_case() -> None:
    covered = {trigger for trigger, *_ in PERMISSIONS}
    assert covered == set(DEFINITION.trigger_names)


# -- approvals (four eyes) -----------------------------------------------------------------

APPROVERS = [
    ("close_no_further_action", Actor("sup", "social_work", SUP), "sw.reid", True),
    ("close_no_further_action", Actor("sm", "social_work", SM), "sw.reid", True),
    ("close_no_further_action", Actor("sw.reid", "social_work", SUP), "sw.reid", False),
    ("close_no_further_action", Actor("p", "social_work", P), "sw.reid", False),
    ("close_no_further_action", Actor("psup", "police", SUP), "sw.reid", False),
    ("extend_timescale", Actor("sm", "social_work", SM), "sw.reid", True),
    ("extend_timescale", Actor("sup", "social_work", SUP), "sw.reid", False),
    ("extend_timescale", Actor("hsm", "health", SM), "sw.reid", False),
]


@pytest.mark.parametrize(("trigger", "approver", "requester", "may"), APPROVERS)
def test_who_may_approve(trigger: str, approver: Actor, requester: str, may: bool) -> None:
    rule = DEFINITION.trigger(trigger).approval
    assert rule is not None
    assert rule.may_decide(approver, requester) is may


def test_which_triggers_need_approval() -> None:
    needing = {t.name for t in DEFINITION.triggers if t.approval}
    assert needing == {
        "close_no_further_action",
        "refer_single_agency",
        "extend_timescale",
        "decide_no_case_conference",
        "transfer_out",
        "close",
    }


# -- guards --------------------------------------------------------------------------------


def test_registration_decisions_need_the_right_conference_type() -> None:
    chair = FIRER["register"]
    review = Subject("case_conference", conference_type="review", chair="sw.chair")
    initial = Subject("case_conference", conference_type="initial", chair="sw.chair")
    assert {"continue_registration", "deregister"} <= set(ENGINE.allowed_triggers(review, chair))
    assert not {"register", "not_register"} & set(ENGINE.allowed_triggers(review, chair))
    with pytest.raises(TriggerNotAllowed, match="initial, pre-birth or transfer"):
        ENGINE.fire(review, chair, "register", VALID["register"], CTX)
    with pytest.raises(TriggerNotAllowed, match="review"):
        ENGINE.fire(initial, chair, "deregister", VALID["deregister"], CTX)


def test_two_inquorate_meetings_in_a_row_are_refused() -> None:
    twice = Subject(
        "case_conference", conference_type="initial", chair="sw.chair", last_meeting_inquorate=True
    )
    with pytest.raises(TriggerNotAllowed, match="also inquorate"):
        ENGINE.fire(
            twice, FIRER["record_inquorate"], "record_inquorate", VALID["record_inquorate"], CTX
        )


# -- field rules ---------------------------------------------------------------------------


def invalid(trigger: str, state: str | None = None, **subject: Any) -> Any:
    state = state or DEFINITION.trigger(trigger).sources[0]
    base = subject_for(trigger, state)
    fields = {**base.__dict__, **subject}
    return Subject(**fields)


FIELD_CASES: list[tuple[str, dict[str, Any], list[str], str]] = [
    # trigger, changes to valid data (None deletes), expected error path(s), message fragment
    ("convene_ird", {"started_at": None}, ["started_at"], "required"),
    ("convene_ird", {"started_at": "2026-03-10"}, ["started_at"], "date and time"),
    ("convene_ird", {"started_at": "2026-03-10T09:00:00"}, ["started_at"], "offset"),
    ("convene_ird", {"started_at": iso(timedelta(days=1))}, ["started_at"], "future"),
    ("convene_ird", {"reason": "   "}, ["reason"], "blank"),
    ("convene_ird", {"out_of_hours": "yes"}, ["out_of_hours"], "true or false"),
    ("convene_ird", {"participants": []}, ["participants"], "at least 1"),
    (
        "convene_ird",
        {"participants": [{"agency": "fbi", "name": "X", "role": "Y"}]},
        ["participants.0.agency"],
        "one of",
    ),
    (
        "convene_ird",
        {"participants": [{"agency": "police", "name": "X"}]},
        ["participants.0.role"],
        "required",
    ),
    ("convene_ird", {"colour": "red"}, ["colour"], "not a field"),
    ("add_ird_contribution", {"lawful_basis": None}, ["lawful_basis"], "required"),
    ("close_no_further_action", {"childs_views": None}, ["childs_views"], "child's views"),
    (
        "close_no_further_action",
        {"childs_views_not_obtained_reason": "Too young"},
        ["childs_views_not_obtained_reason"],
        "not both",
    ),
    (
        "close_no_further_action",
        {"agencies_agreed": ["police", "social_work"]},
        ["agencies_agreed"],
        "must include health",
    ),
    (
        "close_no_further_action",
        {"agencies_agreed": ["police", "police"]},
        ["agencies_agreed"],
        "repeat",
    ),
    ("refer_single_agency", {"named_person_informed": None}, ["named_person_informed"], "required"),
    (
        "start_investigation",
        {"parents_not_informed_reason": None},
        ["parents_not_informed_reason"],
        "not informed",
    ),
    (
        "start_investigation",
        {"lead_professional": "pc.morgan"},
        ["lead_professional"],
        "social work",
    ),
    ("start_investigation", {"lead_professional": "nobody"}, ["lead_professional"], "in this area"),
    ("start_investigation", {"medical_examination": "xray"}, ["medical_examination"], "one of"),
    ("start_investigation", {"investigation_type": "triple"}, ["investigation_type"], "one of"),
    ("plan_jii", {"interviewers": ["pc.morgan"]}, ["interviewers"], "at least 2"),
    (
        "plan_jii",
        {"interviewers": ["pc.morgan", "dr.shah"]},
        ["interviewers"],
        "one police officer and one social worker",
    ),
    ("plan_jii", {"interviewers": ["sw.reid", "sw.chair"]}, ["interviewers"], "one police"),
    (
        "plan_jii",
        {"interviewers": ["pc.morgan", "sw.reid", "sw.chair"]},
        ["interviewers"],
        "at most 2",
    ),
    ("record_jii", {"conducted_at": iso(timedelta(hours=1))}, ["conducted_at"], "future"),
    ("record_jii", {"outcome": "prison"}, ["outcome"], "one of"),
    ("extend_timescale", {"new_due_date": "20/03/2026"}, ["new_due_date"], "YYYY-MM-DD"),
    (
        "extend_timescale",
        {"interim_safety_plan_confirmed": False},
        ["interim_safety_plan_confirmed"],
        "interim safety plan",
    ),
    (
        "schedule_case_conference",
        {"scheduled_for": iso(-timedelta(hours=1))},
        ["scheduled_for"],
        "future",
    ),
    ("schedule_case_conference", {"chair": "dr.shah"}, ["chair"], "social work"),
    (
        "record_inquorate",
        {"rescheduled_for": iso(timedelta(days=20))},
        ["rescheduled_for"],
        "10 working days",
    ),
    ("record_inquorate", {"absent_agencies": []}, ["absent_agencies"], "at least 1"),
    ("register", {"areas_of_concern": []}, ["areas_of_concern"], "at least 1"),
    ("register", {"areas_of_concern": ["witchcraft"]}, ["areas_of_concern.0"], "one of"),
    ("register", {"core_group": []}, ["core_group"], "at least 1"),
    ("register", {"held_at": iso(timedelta(days=1))}, ["held_at"], "future"),
    ("register", {"apologies": [{"agency": "education"}]}, ["apologies.0.name"], "required"),
    ("not_register", {"support_plan": None}, ["support_plan"], "required"),
    ("continue_registration", {"plan_outline": ""}, ["plan_outline"], "blank"),
    (
        "deregister",
        {"attendees": [{"agency": "social_work", "name": "S", "role": "SW"}]},
        ["attendees"],
        "inquorate review",
    ),
    ("record_core_group", {"significant_change": None}, ["significant_change"], "required"),
    ("transfer_out", {"receiving_area": "atlantis"}, ["receiving_area"], "not an area"),
    ("transfer_out", {"moved_on": "2026-02-30"}, ["moved_on"], "not a valid date"),
    ("close", {"closure_reason": "bored"}, ["closure_reason"], "one of"),
    # limits: every text a length, every list a size, every date a plausible range
    ("record_jii", {"recording_reference": "R" * 201}, ["recording_reference"], "at most 200"),
    ("convene_ird", {"reason": "x" * 10_001}, ["reason"], "at most 10000"),
    ("convene_ird", {"reason": "bad\x00byte"}, ["reason"], "NUL"),
    ("convene_ird", {"participants": ATTENDEES * 17}, ["participants"], "at most 50"),
    (
        "convene_ird",
        {"participants": [ATTENDEES[0], dict(ATTENDEES[0])]},
        ["participants"],
        "same entry twice",
    ),
    ("convene_ird", {"started_at": "0001-01-01T00:00:00+00:00"}, ["started_at"], "1900"),
    ("convene_ird", {"started_at": "0001-01-01T00:00:00+14:00"}, ["started_at"], "1900"),
    ("record_jii", {"conducted_at": "1899-12-31T10:00:00+00:00"}, ["conducted_at"], "1900"),
    ("extend_timescale", {"new_due_date": "2028-03-20"}, ["new_due_date"], "must not be after"),
    ("extend_timescale", {"new_due_date": "2026-03-09"}, ["new_due_date"], "must not be before"),
    (
        "schedule_case_conference",
        {"scheduled_for": iso(timedelta(days=400))},
        ["scheduled_for"],
        "1 year from today",
    ),
    ("transfer_out", {"moved_on": "2024-01-01"}, ["moved_on"], "1 year ago"),
]

CONFLICT_CASES: list[tuple[str, dict[str, Any], str, str]] = [
    # valid on its own, at odds with the referral as recorded: a conflict (HTTP 409)
    ("extend_timescale", {"new_due_date": "2026-03-20"}, "new_due_date", "after the current"),
    ("schedule_case_conference", {"conference_type": "review"}, "conference_type", "initial"),
    ("schedule_case_conference", {"conference_type": "pre_birth"}, "conference_type", "unborn"),
    ("convene_ird", {"started_at": iso(-timedelta(days=3))}, "started_at", "before the concern"),
    ("register", {"held_at": iso(-timedelta(days=3))}, "held_at", "before the concern"),
]


@pytest.mark.parametrize(("trigger", "changes", "path", "fragment"), CONFLICT_CASES)
def test_data_at_odds_with_the_record_is_a_conflict(
    trigger: str, changes: dict[str, Any], path: str, fragment: str
) -> None:
    state = DEFINITION.trigger(trigger).sources[0]
    data = {**data_for(trigger, state), **changes}
    ctx = replace(CTX, concern_received_at=NOW - timedelta(days=1))
    with pytest.raises(DataConflict) as conflict:
        ENGINE.fire(subject_for(trigger, state), FIRER[trigger], trigger, data, ctx, approved=True)
    assert list(conflict.value.errors) == [path]
    assert fragment in conflict.value.errors[path][0]


@pytest.mark.parametrize(("trigger", "changes", "paths", "fragment"), FIELD_CASES)
def test_field_rules_reject_bad_data(
    trigger: str, changes: dict[str, Any], paths: list[str], fragment: str
) -> None:
    state = DEFINITION.trigger(trigger).sources[0]
    data = data_for(trigger, state)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    with pytest.raises(InvalidData) as bad:
        ENGINE.fire(subject_for(trigger, state), FIRER[trigger], trigger, data, CTX, approved=True)
    assert sorted(bad.value.errors) == sorted(paths)
    messages = " ".join(m for p in paths for m in bad.value.errors[p])
    assert fragment in messages


def test_valid_data_is_cleaned_with_defaults() -> None:
    outcome = ENGINE.fire(
        subject_for("convene_ird", "concern"),
        FIRER["convene_ird"],
        "convene_ird",
        {**VALID["convene_ird"], "reason": "  Disclosure  "},
        CTX,
    )
    assert outcome.data["out_of_hours"] is False
    assert outcome.data["reason"] == "Disclosure"


def test_views_not_obtained_reason_alone_is_accepted() -> None:
    data = {**VALID["close_no_further_action"]}
    del data["childs_views"]
    data["childs_views_not_obtained_reason"] = "Baby, 4 months"
    with pytest.raises(ApprovalRequired) as pending:
        ENGINE.fire(
            subject_for("close_no_further_action", "ird"),
            FIRER["close_no_further_action"],
            "close_no_further_action",
            data,
            CTX,
        )
    assert pending.value.data["childs_views_not_obtained_reason"] == "Baby, 4 months"


def test_pre_birth_conference_for_an_unborn_child() -> None:
    data = {**VALID["schedule_case_conference"], "conference_type": "pre_birth"}
    unborn = Subject("investigation", unborn=True)
    outcome = ENGINE.fire(
        unborn, FIRER["schedule_case_conference"], "schedule_case_conference", data, CTX
    )
    assert outcome.to_state == "case_conference"


def test_short_notice_of_a_case_conference_is_flagged() -> None:
    soon = {**VALID["schedule_case_conference"], "scheduled_for": iso(timedelta(days=3))}
    flagged = ENGINE.fire(
        Subject("investigation"),
        FIRER["schedule_case_conference"],
        "schedule_case_conference",
        soon,
        CTX,
    )
    assert flagged.flags == {"short_notice": True}
    normal = ENGINE.fire(
        Subject("investigation"),
        FIRER["schedule_case_conference"],
        "schedule_case_conference",
        VALID["schedule_case_conference"],
        CTX,
    )
    assert normal.flags == {}


def test_data_must_be_an_object() -> None:
    with pytest.raises(InvalidData) as bad:
        ENGINE.fire(
            Subject("jii", interviewers=("pc.morgan", "sw.reid")),
            FIRER["cancel_jii"],
            "cancel_jii",
            ["reason"],
            CTX,
        )
    assert bad.value.errors == {"data": ["must be an object"]}


def test_the_definition_serialises_to_json() -> None:
    import json

    doc = json.loads(json.dumps(DEFINITION.to_json()))
    assert (doc["profile"], doc["version"]) == ("scotland", 1)
    triggers = {t["name"]: t for t in doc["triggers"]}
    assert triggers["close_no_further_action"]["approval"]["role"] == "supervisor"
    assert triggers["extend_timescale"]["approval"]["role"] == "senior_manager"
    fields = {f["name"]: f for f in triggers["start_investigation"]["fields"]}
    assert fields["agencies_agreed"]["must_include"] == ["police", "health", "social_work"]
    assert fields["lead_professional"]["agency"] == "social_work"
    assert {r["name"] for r in doc["timescales"]} == {
        "ird_convened",
        "initial_cppm",
        "inquorate_reconvene",
        "first_core_group",
        "review_cppm",
    }


# -- purity ----------------------------------------------------------------------------------


def test_workflow_imports_without_flask_or_sqlalchemy() -> None:
    code = (
        "import sys\n"
        "for name in ('flask', 'sqlalchemy', 'referral'):\n"
        "    sys.modules[name] = None\n"
        "import workflow, workflow.timescales, workflow.diagram\n"
        "workflow.engine()\n"
        "print('pure')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pure"
