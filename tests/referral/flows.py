"""Valid request bodies for the API tests, and a driver that walks a referral along a path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

#: one "now" for the whole test run, so a body built twice is the same body
MOMENT = datetime.now(UTC).replace(microsecond=0)


def now() -> datetime:
    return MOMENT


def iso(delta: timedelta = timedelta()) -> str:
    return (now() + delta).isoformat()


def concern_body(area: str = "west-dunbartonshire", **child: Any) -> dict[str, Any]:
    return {
        "area": area,
        "child": {
            "given_name": "Amy",
            "family_name": "Brown",
            "date_of_birth": "2016-04-02",
            **child,
        },
        "concern": {
            "received_at": iso(-timedelta(hours=2)),
            "source": "professional",
            "summary": "Bruising seen at school; child says dad hit her.",
            "categories": ["physical_abuse"],
            "immediate_risk": False,
            "child_spoken_to": True,
        },
    }


VIEWS = {"childs_views": "Wants to stay with gran."}
CORE = ["police", "health", "social_work"]
ATTENDEES = [
    {"agency": "police", "name": "DS Morgan", "role": "detective sergeant"},
    {"agency": "health", "name": "Dr Shah", "role": "paediatrician"},
    {"agency": "social_work", "name": "S Reid", "role": "social worker"},
]


def meeting() -> dict[str, Any]:
    return {
        "held_at": iso(-timedelta(minutes=30)),
        "attendees": ATTENDEES,
        **VIEWS,
        "decision_rationale": "Agreed by all.",
    }


def data(trigger: str, **changes: Any) -> dict[str, Any]:
    """Valid data for `trigger` with the test world's usernames, then `changes`."""
    bodies: dict[str, dict[str, Any]] = {
        "convene_ird": {
            "started_at": iso(-timedelta(minutes=30)),
            "reason": "Disclosure",
            "participants": [
                *ATTENDEES,
                {"agency": "education", "name": "Ms Ng", "role": "head teacher"},
            ],
        },
        "add_ird_contribution": {
            "agency": "education",
            "information_shared": "Attendance 62%",
            "lawful_basis": "DPA 2018 Sch 1 para 18",
        },
        "screen_out": {
            "decided_at": iso(-timedelta(minutes=40)),
            "decision_rationale": "Below the child protection threshold.",
            "advice_or_support": "Family support through the named person.",
            "named_person_informed": True,
        },
        "record_full_ird": {
            "held_at": iso(-timedelta(minutes=25)),
            "participants": ATTENDEES,
            "summary": "All core agencies shared what they hold.",
        },
        "close_no_further_action": {
            "decided_at": iso(-timedelta(minutes=20)),
            "decision_rationale": "Accidental.",
            "reasons_no_investigation": "No risk of significant harm.",
            **VIEWS,
            "named_person_informed": True,
            "agencies_agreed": CORE,
        },
        "refer_single_agency": {
            "decided_at": iso(-timedelta(minutes=20)),
            "decision_rationale": "Support needed.",
            "lead_agency": "education",
            "support_offered": "Mentoring.",
            **VIEWS,
            "named_person_informed": True,
            "agencies_agreed": CORE,
        },
        "start_investigation": {
            "decided_at": iso(-timedelta(minutes=20)),
            "investigation_type": "joint",
            "decision_rationale": "Assault.",
            "jii_required": True,
            "medical_examination": "paediatric",
            "interim_safety_plan": "Stays with gran.",
            "lead_professional": "sw",
            **VIEWS,
            "parents_informed": True,
            "named_person_informed": True,
            "agencies_agreed": CORE,
        },
        "plan_jii": {
            "planned_for": iso(timedelta(days=1)),
            "interviewers": ["pc", "sw"],
            "aims": "Child's account.",
        },
        "record_jii": {
            "conducted_at": iso(-timedelta(minutes=5)),
            "outcomes": ["case_conference"],
            "recording_reference": "JII-1",
            "salient_points": "Consistent.",
        },
        "cancel_jii": {"reason": "Child unwell."},
        "extend_timescale": {
            "new_due_date": (now() + timedelta(days=45)).date().isoformat(),
            "reason": "Awaiting medical report.",
            "interim_safety_plan_confirmed": True,
        },
        "decide_no_case_conference": {
            "decided_at": iso(-timedelta(minutes=15)),
            "decision_rationale": "Risk managed.",
            "support_plan": "Child's plan.",
            **VIEWS,
            "agencies_agreed": CORE,
        },
        "schedule_case_conference": {
            "conference_type": "initial",
            "scheduled_for": iso(timedelta(days=10)),
            "chair": "chair",
            "invitees": [{"agency": "education", "name": "Ms Ng"}],
        },
        "record_inquorate": {
            "held_at": iso(-timedelta(minutes=12)),
            "absent_agencies": ["health"],
            "rescheduled_for": iso(timedelta(days=3)),
        },
        "register": {
            **meeting(),
            "areas_of_concern": ["neglect"],
            "core_group": [{"agency": "education", "name": "Ms Ng"}],
            "plan_outline": "Weekly visits.",
            "reporter_referral": False,
            "lead_professional": "sw",
        },
        "not_register": {**meeting(), "support_plan": "Family support."},
        "continue_registration": {**meeting(), "plan_outline": "Continue."},
        "deregister": {
            **meeting(),
            "deregistration_reason": "risk_reduced",
            "note": "Plan achieved.",
        },
        "record_core_group": {
            "held_at": iso(-timedelta(minutes=10)),
            "attendees": ATTENDEES,
            "significant_change": False,
            "notes": "On track.",
        },
        "notify_transfer": {
            "receiving_area": "highland",
            "moved_on": now().date().isoformat(),
            "notified_at": iso(-timedelta(minutes=5)),
            "interim_safety_plan": "Highland social work visit on arrival.",
        },
        "change_lead_professional": {
            "lead_professional": "sw2",
            "changed_on": now().date().isoformat(),
            "reason": "Caseload moved.",
        },
        "add_chronology_entry": {
            "occurred_on": (now() - timedelta(days=400)).date().isoformat(),
            "source_agency": "health",
            "what_happened": "Attended A&E with a fractured wrist.",
            "significance": "Unexplained injury.",
        },
        "close": {"closure_reason": "duplicate", "note": "Duplicate."},
    }
    return {**bodies[trigger], **changes}


#: who fires each trigger in the happy paths (usernames of the test world)
FIRER = {
    "convene_ird": "pc",
    "add_ird_contribution": "teacher",
    "close_no_further_action": "doc",
    "refer_single_agency": "pc",
    "start_investigation": "sw",
    "plan_jii": "pc",
    "record_jii": "pc",
    "cancel_jii": "sw",
    "extend_timescale": "sw",
    "decide_no_case_conference": "sw",
    "schedule_case_conference": "sw",
    "record_inquorate": "chair",
    "register": "chair",
    "not_register": "chair",
    "continue_registration": "chair",
    "deregister": "chair",
    "record_core_group": "teacher",
    "notify_transfer": "sw",
    "screen_out": "pc",
    "record_full_ird": "doc",
    "change_lead_professional": "sw",
    "add_chronology_entry": "doc",
    "close": "sw",
}
APPROVER = {"extend_timescale": "swsm"}


def create(as_user: Any, username: str = "pc", **child: Any) -> dict[str, Any]:
    response = as_user(username).post("/api/v1/referrals", concern_body(**child))
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def fire(
    as_user: Any,
    referral_id: str,
    trigger: str,
    *,
    by: str | None = None,
    approve: bool = True,
    **changes: Any,
) -> Any:
    """Fire `trigger`; approve it too when it needs approval. Returns the final response."""
    api = as_user(by or FIRER[trigger])
    body = {"trigger": trigger, "data": data(trigger, **changes)}
    response = api.post(f"/api/v1/referrals/{referral_id}/transitions", body)
    if response.status_code == 202 and approve:
        approval = response.get_json()
        decider = as_user(APPROVER.get(trigger, "swsup"))
        decided = decider.post(
            f"/api/v1/approvals/{approval['id']}/decision",
            {"decision": "approve", "comment": "Agreed."},
        )
        assert decided.status_code == 200, decided.get_json()
        return as_user("sw").get(f"/api/v1/referrals/{referral_id}")
    return response


TO_REGISTER = ("convene_ird", "start_investigation", "schedule_case_conference", "register")


def transfer_to_highland(as_user: Any, referral_id: str) -> str:
    """A registered West Dunbartonshire child moves to Highland, whose transfer conference
    registers them; returns Highland's referral."""
    walk(as_user, referral_id, "notify_transfer")
    body: dict[str, Any] = {**concern_body("highland"), "transfer_from": referral_id}
    created = as_user("sw.hl").post("/api/v1/referrals", body)
    assert created.status_code == 201, created.get_json()
    receiving: str = created.get_json()["id"]
    for trigger, changes in (
        ("schedule_case_conference", {"conference_type": "transfer", "chair": "sw.hl"}),
        ("register", {"lead_professional": "sw.hl"}),
    ):
        response = fire(as_user, receiving, trigger, by="sw.hl", **changes)
        assert response.status_code == 200, (trigger, response.get_json())
    return receiving


def walk(as_user: Any, referral_id: str, *triggers: str) -> Any:
    response = None
    for trigger in triggers:
        response = fire(as_user, referral_id, trigger)
        assert response.status_code == 200, (trigger, response.get_json())
    return response


def is_problem(response: Any, status: int) -> dict[str, Any]:
    """Assert an RFC 9457 problem of `status` with every required member; return its body."""
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    assert body["status"] == status
    for member in ("type", "title", "detail"):
        assert isinstance(body[member], str), member
        assert body[member].strip(), member
    return body
