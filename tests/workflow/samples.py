"""Valid data for every trigger, a fake directory of users, and subjects that satisfy each guard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from workflow import Actor, Subject, ValidationContext

NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)

USERS = {
    "pc.morgan": "police",
    "dr.shah": "health",
    "sw.reid": "social_work",
    "sw.chair": "social_work",
    "teacher.ng": "education",
    "third.sector": "other",
}


class FakeDirectory:
    def agency_of(self, username: str) -> str | None:
        return USERS.get(username)

    def area_exists(self, slug: str) -> bool:
        return slug in {"west-dunbartonshire", "highland"}


CTX = ValidationContext(now=NOW, directory=FakeDirectory())


def iso(delta: timedelta) -> str:
    return (NOW + delta).isoformat()


PAST = iso(-timedelta(hours=2))
VIEWS = {"childs_views": "Wants to stay with gran."}
CORE = ["police", "health", "social_work"]
ATTENDEES = [
    {"agency": "police", "name": "DS Morgan", "role": "detective sergeant"},
    {"agency": "health", "name": "Dr Shah", "role": "paediatrician"},
    {"agency": "social_work", "name": "S Reid", "role": "social worker"},
]
MEETING = {"held_at": PAST, "attendees": ATTENDEES, **VIEWS, "decision_rationale": "Risk reduced."}

VALID: dict[str, dict[str, Any]] = {
    "convene_ird": {
        "started_at": PAST,
        "reason": "Disclosure at school",
        "participants": ATTENDEES,
    },
    "add_ird_contribution": {
        "agency": "education",
        "information_shared": "Attendance 62%",
        "lawful_basis": "UK GDPR 6(1)(e); DPA 2018 Sch 1 para 18",
    },
    "close_no_further_action": {
        "decision_rationale": "Accidental injury, consistent account.",
        "reasons_no_investigation": "No risk of significant harm.",
        **VIEWS,
        "named_person_informed": True,
        "agencies_agreed": CORE,
    },
    "refer_single_agency": {
        "decision_rationale": "Needs support, not investigation.",
        "lead_agency": "health",
        "support_offered": "Health visitor weekly.",
        **VIEWS,
        "named_person_informed": True,
        "agencies_agreed": CORE,
    },
    "start_investigation": {
        "investigation_type": "joint",
        "decision_rationale": "Disclosure of assault.",
        "jii_required": True,
        "medical_examination": "paediatric",
        "interim_safety_plan": "Child stays with gran; seen daily at school.",
        "lead_professional": "sw.reid",
        **VIEWS,
        "parents_informed": False,
        "parents_not_informed_reason": "Could jeopardise the police investigation.",
        "agencies_agreed": CORE,
    },
    "plan_jii": {
        "planned_for": iso(timedelta(days=2)),
        "interviewers": ["pc.morgan", "sw.reid"],
        "aims": "Child's account of the incident.",
    },
    "record_jii": {
        "conducted_at": PAST,
        "outcome": "case_conference",
        "recording_reference": "JII-2026-118",
        "salient_points": "Consistent account.",
    },
    "cancel_jii": {"reason": "Child unwell"},
    "extend_timescale": {
        "new_due_date": (NOW + timedelta(days=40)).date().isoformat(),
        "reason": "Awaiting medical report",
        "interim_safety_plan_confirmed": True,
    },
    "decide_no_case_conference": {
        "decision_rationale": "Risk managed through child's plan.",
        "support_plan": "Named person co-ordinates support.",
    },
    "schedule_case_conference": {
        "conference_type": "initial",
        "scheduled_for": iso(timedelta(days=10)),
        "chair": "sw.chair",
        "invitees": [{"agency": "health", "name": "Dr Shah"}],
    },
    "record_inquorate": {"absent_agencies": ["health"], "rescheduled_for": iso(timedelta(days=7))},
    "register": {
        **MEETING,
        "areas_of_concern": ["neglect", "domestic_abuse"],
        "core_group": [{"agency": "health", "name": "HV Lee"}],
        "plan_outline": "Weekly visits.",
        "reporter_referral": True,
        "lead_professional": "sw.reid",
    },
    "not_register": {**MEETING, "support_plan": "Family support."},
    "continue_registration": {**MEETING, "plan_outline": "Continue visits."},
    "deregister": {**MEETING, "deregistration_reason": "Risk reduced."},
    "record_core_group": {
        "held_at": PAST,
        "attendees": ATTENDEES,
        "significant_change": False,
        "notes": "Plan on track.",
    },
    "transfer_out": {"receiving_area": "highland", "moved_on": "2026-03-01"},
    "close": {"closure_reason": "duplicate", "note": "Duplicate of WD-2026-00001."},
}

#: For each trigger, an actor who may fire it (given SUBJECTS below).
FIRER: dict[str, Actor] = {name: Actor("sw.reid", "social_work", "practitioner") for name in VALID}
FIRER["record_jii"] = Actor("pc.morgan", "police", "practitioner")
for _name in (
    "record_inquorate",
    "register",
    "not_register",
    "continue_registration",
    "deregister",
):
    FIRER[_name] = Actor("sw.chair", "social_work", "practitioner")


def subject_for(trigger: str, state: str) -> Subject:
    """A subject in `state` that satisfies every guard of `trigger`."""
    conference = "review" if trigger in ("continue_registration", "deregister") else "initial"
    return Subject(
        state=state,
        conference_type=conference if state == "case_conference" else None,
        chair="sw.chair",
        interviewers=("pc.morgan", "sw.reid"),
        core_group_agencies=frozenset({"health"}),
        initial_cppm_due=(NOW + timedelta(days=20)).date(),
    )
