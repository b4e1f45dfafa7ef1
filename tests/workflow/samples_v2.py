"""Valid data for every trigger of Scotland v2, and subjects that satisfy each guard."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import timedelta
from typing import Any

from tests.workflow.samples import ATTENDEES, CORE, CTX, NOW, PAST, VIEWS, iso
from workflow import Actor, Subject

#: The referral's concern was received five days before NOW: every PAST moment follows it.
CONCERN_AT = NOW - timedelta(days=5)
CTX_V2 = replace(CTX, concern_received_at=CONCERN_AT)
AREA = "west-dunbartonshire"
OTHER_AREA = "highland"
SENDING_REFERRAL = "0123456789abcdef0123456789abcdef"

#: A CPPM's record in v2: the child's and the parents' part in the meeting as well.
MEETING: dict[str, Any] = {
    "held_at": PAST,
    "attendees": ATTENDEES,
    **VIEWS,
    "child_attended": False,
    "views_given": "through_an_advocate",
    "advocacy_offered": True,
    "parents_invited": True,
    "parents_attended": True,
    "parents_views": "Mother agrees to the plan.",
    "decision_rationale": "Risk of significant harm from neglect.",
}
PLAN: dict[str, Any] = {
    "outcomes": [
        {
            "outcome": "The children are fed and attend school every day.",
            "actions": [
                {
                    "what": "Health visitor checks weight fortnightly",
                    "who": {"agency": "health", "name": "HV Lee"},
                    "by": (NOW + timedelta(days=30)).date().isoformat(),
                },
                {
                    "what": "School reports attendance weekly",
                    "who": {"agency": "education", "name": "T Ng"},
                    "by": (NOW + timedelta(days=14)).date().isoformat(),
                },
            ],
        }
    ],
    "contingency_plan": "If attendance falls below 80% the chair reconvenes the CPPM.",
}

VALID: dict[str, dict[str, Any]] = {
    "screen_out": {
        "decided_at": PAST,
        "decision_rationale": "Parenting advice request; no indication of harm.",
        "advice_or_support": "Family support worker offered.",
        "named_person_informed": True,
    },
    "convene_ird": {
        "started_at": PAST,
        "reason": "Disclosure at school",
        "participants": ATTENDEES,
    },
    "record_full_ird": {
        "held_at": PAST,
        "participants": ATTENDEES,
        "summary": "Checks shared by all three agencies; investigation agreed.",
    },
    "add_ird_contribution": {
        "agency": "education",
        "information_shared": "Attendance 62%",
        "lawful_basis": "UK GDPR 6(1)(e); DPA 2018 Sch 1 para 18",
    },
    "close_no_further_action": {
        "decided_at": PAST,
        "decision_rationale": "Accidental injury, consistent account.",
        "reasons_no_investigation": "No risk of significant harm.",
        **VIEWS,
        "named_person_informed": True,
        "agencies_agreed": CORE,
    },
    "refer_single_agency": {
        "decided_at": PAST,
        "decision_rationale": "Needs support, not investigation.",
        "lead_agency": "health",
        "support_offered": "Health visitor weekly.",
        **VIEWS,
        "named_person_informed": True,
        "agencies_agreed": CORE,
    },
    "start_investigation": {
        "decided_at": PAST,
        "investigation_type": "joint",
        "decision_rationale": "Disclosure of assault.",
        "jii_required": True,
        "medical_examination": "paediatric",
        "interim_safety_plan": "Child stays with gran; seen daily at school.",
        "lead_professional": "sw.reid",
        **VIEWS,
        "parents_informed": False,
        "parents_not_informed_reason": "Could jeopardise the police investigation.",
        "named_person_informed": True,
        "agencies_agreed": CORE,
    },
    "plan_jii": {
        "planned_for": iso(timedelta(days=2)),
        "interviewers": ["pc.morgan", "sw.reid"],
        "aims": "Child's account of the incident.",
    },
    "record_jii": {
        "conducted_at": PAST,
        "outcomes": ["further_police_investigation", "case_conference"],
        "recording_reference": "JII-2026-118",
        "salient_points": "Consistent account.",
        "childs_views": "Wants to stay at gran's.",
    },
    "cancel_jii": {"reason": "Child unwell"},
    "extend_timescale": {
        "new_due_date": (NOW + timedelta(days=40)).date().isoformat(),
        "reason": "Awaiting medical report",
        "interim_safety_plan_confirmed": True,
    },
    "decide_no_case_conference": {
        "decided_at": PAST,
        "decision_rationale": "Risk managed through the child's plan.",
        "support_plan": "Named person co-ordinates support.",
        **VIEWS,
        "agencies_agreed": CORE,
    },
    "schedule_case_conference": {
        "conference_type": "initial",
        "scheduled_for": iso(timedelta(days=10)),
        "chair": "sw.chair",
        "invitees": [{"agency": "health", "name": "Dr Shah"}],
    },
    "record_inquorate": {
        "held_at": PAST,
        "absent_agencies": ["health"],
        "rescheduled_for": iso(timedelta(days=7)),
    },
    "register": {
        **MEETING,
        "areas_of_concern": ["neglect", "domestic_abuse"],
        "core_group": [{"agency": "health", "name": "HV Lee"}],
        "plan_outline": "Weekly visits.",
        "plan": PLAN,
        "reporter_referral": True,
        "lead_professional": "sw.reid",
        "parents_informed_in_writing_at": PAST,
    },
    "not_register": {**MEETING, "support_plan": "Family support."},
    "continue_registration": {**MEETING, "plan_outline": "Continue visits.", "plan": PLAN},
    "deregister": {
        **MEETING,
        "deregistration_reason": "risk_reduced",
        "note": "Mother engaged with every action of the plan.",
    },
    "record_core_group": {
        "held_at": PAST,
        "attendees": ATTENDEES,
        "significant_change": False,
        "notes": "Plan on track.",
        "progress": [
            {"action": "Health visitor checks weight fortnightly", "status": "in_progress"},
            {"action": "School reports attendance weekly", "status": "done", "note": "95%"},
        ],
        "childs_views": "Likes the breakfast club.",
    },
    "notify_transfer": {
        "receiving_area": OTHER_AREA,
        "moved_on": "2026-03-01",
        "notified_at": PAST,
        "interim_safety_plan": "Highland health visitor sees the child within 5 days.",
    },
    "transferred_out": {"receiving_referral": SENDING_REFERRAL, "held_at": PAST},
    "change_lead_professional": {
        "lead_professional": "sw.chair",
        "changed_on": NOW.date().isoformat(),
        "reason": "S Reid has moved team.",
    },
    "add_chronology_entry": {
        "occurred_on": "2025-11-20",
        "source_agency": "education",
        "what_happened": "Child arrived hungry three days running.",
        "significance": "First sign of neglect seen at school.",
        "action": "Breakfast club place offered.",
    },
    "close": {"closure_reason": "duplicate", "note": "Duplicate of WD-2026-00001."},
}

#: A new referral in v2, with the record contents v2 adds.
NEW_REFERRAL: dict[str, Any] = {
    "area": AREA,
    "child": {
        "given_name": "Ava",
        "family_name": "Brown",
        "date_of_birth": "2019-05-04",
        "ethnicity": "white_scottish",
        "disability": "not_known",
        "religion": "declined",
    },
    "concern": {
        "received_at": PAST,
        "source": "professional",
        "summary": "Arrived at school with bruising.",
        "immediate_risk": False,
        "child_spoken_to": True,
        "childs_views": "Said she is scared of her stepfather.",
    },
    "named_person": {"name": "Mrs Hill", "service": "Head teacher, St Mary's Primary"},
    "related_referrals": ["fedcba9876543210fedcba9876543210"],
    "transfer_from": SENDING_REFERRAL,
}

P = "practitioner"
#: For each trigger, an actor who may fire it (given `subject_for`); None: the system only.
FIRER: dict[str, Actor | None] = {name: Actor("sw.reid", "social_work", P) for name in VALID}
FIRER["record_jii"] = Actor("pc.morgan", "police", P)
FIRER["add_chronology_entry"] = Actor("teacher.ng", "education", P)
FIRER["transferred_out"] = None
for _name in (
    "record_inquorate",
    "register",
    "not_register",
    "continue_registration",
    "deregister",
):
    FIRER[_name] = Actor("sw.chair", "social_work", P)
#: Who the system's own records are attributed to when a test must name someone.
SYSTEM = Actor("system", "social_work", P)


def data_for(trigger: str, state: str) -> dict[str, Any]:
    """Valid data for `trigger` fired in `state` (the conference type follows the state)."""
    data = copy.deepcopy(VALID[trigger])
    if trigger == "schedule_case_conference":
        data["conference_type"] = {"concern": "transfer", "registered": "review"}.get(
            state, "initial"
        )
    return data


def subject_for(trigger: str, state: str, **changes: Any) -> Subject:
    """A subject in `state` that satisfies every guard of `trigger` (then `changes` applied)."""
    conference = "review" if trigger in ("continue_registration", "deregister") else "initial"
    subject = Subject(
        state=state,
        conference_type=conference if state == "case_conference" else None,
        chair="sw.chair",
        interviewers=("pc.morgan", "sw.reid"),
        core_group_agencies=frozenset({"health"}),
        initial_cppm_due=(NOW + timedelta(days=20)).date(),
        area=AREA,
        # a referral recorded by the receiving area of a transfer goes straight to a CPPM
        transfer_in=state == "concern" and trigger == "schedule_case_conference",
    )
    return replace(subject, **changes)
