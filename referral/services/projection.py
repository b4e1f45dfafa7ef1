"""The referral's stage records as reads see them, kept on the referral row by every write.

Reading a referral takes its stage records (IRD, screening, investigation, interviews,
conferences, registrations, transfers) from one JSON document on its own row, so a read costs
the same whatever the referral's history. Each write re-serialises only the sections whose
rows it loaded (the only ones it can have changed), from those rows, in the same flush.
The tables stay the record for reporting; `audit verify` rebuilds the document from them and
reports a referral whose document differs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from referral.models import (
    Conference,
    ConferenceMeeting,
    CoreGroupMeeting,
    Investigation,
    Ird,
    IrdContribution,
    Jii,
    Referral,
    Registration,
    Screening,
    Transfer,
)
from referral.services.referrals import SECTION_NAMES, Stages, load_stages


def _iso(value: Any) -> Any:
    """Dates as ISO text; moments in UTC, as the database hands them back."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value.isoformat() if isinstance(value, date) else value


def _views(record: Any) -> dict[str, Any]:
    return {
        "childs_views": record.childs_views,
        "childs_views_not_obtained_reason": record.childs_views_not_obtained_reason,
    }


def _contribution(c: IrdContribution) -> dict[str, Any]:
    return {
        "agency": c.agency,
        "information_shared": c.information_shared,
        "checks_made": c.checks_made,
        "lawful_basis": c.lawful_basis,
        "recorded_by": c.recorded_by,
        "recorded_at": _iso(c.recorded_at),
    }


def add_contribution(referral: Referral, contribution: IrdContribution) -> None:
    """A new IRD contribution goes on the end of the stored list (rows are listed by id, so in
    the order they were added): neither the IRD nor the earlier contributions are loaded."""
    doc = dict(referral.stages_doc or {})
    ird = dict(doc["ird"])
    ird["contributions"] = [*ird["contributions"], _contribution(contribution)]
    doc["ird"] = ird
    referral.stages_doc = doc


def _ird(ird: Ird | None) -> dict[str, Any] | None:
    if ird is None:
        return None
    return {
        "started_at": _iso(ird.started_at),
        "reason": ird.reason,
        "out_of_hours": ird.out_of_hours,
        "participants": ird.participants,
        "convened_by": ird.convened_by,
        "contributions": [_contribution(c) for c in ird.contributions],
        "decision": ird.decision,
        "decided_at": _iso(ird.decided_at),
        "decision_rationale": ird.decision_rationale,
        "reasons_no_investigation": ird.reasons_no_investigation,
        "lead_agency": ird.lead_agency,
        "support_offered": ird.support_offered,
        "named_person_informed": ird.named_person_informed,
        "agencies_agreed": ird.agencies_agreed,
        "full_ird": None
        if ird.full_ird_held_at is None
        else {
            "held_at": _iso(ird.full_ird_held_at),
            "participants": ird.full_ird_participants,
            "summary": ird.full_ird_summary,
        },
        **_views(ird),
    }


def _screening(screening: Screening | None) -> dict[str, Any] | None:
    if screening is None:
        return None
    return {
        "decided_at": _iso(screening.decided_at),
        "decision_rationale": screening.decision_rationale,
        "advice_or_support": screening.advice_or_support,
        "named_person_informed": screening.named_person_informed,
        "decided_by": screening.decided_by,
    }


def _investigation(inv: Investigation | None) -> dict[str, Any] | None:
    if inv is None:
        return None
    return {
        "started_at": _iso(inv.started_at),
        "investigation_type": inv.investigation_type,
        "decision_rationale": inv.decision_rationale,
        "jii_required": inv.jii_required,
        "medical_examination": inv.medical_examination,
        "interim_safety_plan": inv.interim_safety_plan,
        "lead_professional": inv.lead_professional,
        "parents_informed": inv.parents_informed,
        "parents_not_informed_reason": inv.parents_not_informed_reason,
        "agencies_agreed": inv.agencies_agreed,
        "initial_cppm_due": _iso(inv.initial_cppm_due),
        "extensions": inv.extensions,
        "outcome": inv.outcome,
        "outcome_at": _iso(inv.outcome_at),
        "outcome_rationale": inv.outcome_rationale,
        "support_plan": inv.support_plan,
        **_views(inv),
    }


def _jii(j: Jii) -> dict[str, Any]:
    return {
        "status": j.status,
        "planned_for": _iso(j.planned_for),
        "interviewers": j.interviewers,
        "aims": j.aims,
        "planned_by": j.planned_by,
        "conducted_at": _iso(j.conducted_at),
        "outcome": j.outcome,
        "outcomes": j.outcomes,
        "recording_reference": j.recording_reference,
        "salient_points": j.salient_points,
        "childs_views": j.childs_views,
        "cancel_reason": j.cancel_reason,
    }


def _meeting(m: ConferenceMeeting) -> dict[str, Any]:
    return {
        "quorate": m.quorate,
        "held_at": _iso(m.held_at),
        "absent_agencies": m.absent_agencies,
        "rescheduled_for": _iso(m.rescheduled_for),
        "attendees": m.attendees,
        "apologies": m.apologies,
        "parents_views": m.parents_views,
        "child_attended": m.child_attended,
        "views_given": m.views_given,
        "advocacy_offered": m.advocacy_offered,
        "parents_invited": m.parents_invited,
        "parents_attended": m.parents_attended,
        "decision": m.decision,
        "decision_rationale": m.decision_rationale,
        "dissent": m.dissent,
        "outcome_detail": m.outcome_detail,
        **_views(m),
        # only where one was given: documents stored before the reason was recorded stay whole
        **({"inquorate_reason": m.inquorate_reason} if m.inquorate_reason is not None else {}),
    }


def _conference(c: Conference) -> dict[str, Any]:
    return {
        "conference_type": c.conference_type,
        "scheduled_for": _iso(c.scheduled_for),
        "scheduled_at": _iso(c.scheduled_at),
        "chair": c.chair,
        "invitees": c.invitees,
        "short_notice": c.short_notice,
        "decision": c.decision,
        "decided_at": _iso(c.decided_at),
        "meetings": [_meeting(m) for m in c.meetings],
    }


def _core_group_meeting(m: CoreGroupMeeting) -> dict[str, Any]:
    return {
        "held_at": _iso(m.held_at),
        "attendees": m.attendees,
        "significant_change": m.significant_change,
        "refer_to_chair_by": _iso(m.refer_to_chair_by),
        "notes": m.notes,
        "progress": m.progress,
        "childs_views": m.childs_views,
        "recorded_by": m.recorded_by,
    }


def _registration(r: Registration) -> dict[str, Any]:
    return {
        "registered_at": _iso(r.registered_at),
        "pre_birth": r.pre_birth,
        "plan_outline": r.plan_outline,
        "plan": r.plan,
        "parents_informed_in_writing_at": _iso(r.parents_informed_in_writing_at),
        "reporter_referral": r.reporter_referral,
        "lead_professional": r.lead_professional,
        "core_group": r.core_group,
        "areas_of_concern": sorted(c.category for c in r.areas_of_concern),
        "ended_at": _iso(r.ended_at),
        "end_reason": r.end_reason,
        "deregistration_reason": r.deregistration_reason,
        "deregistration_note": r.deregistration_note,
        "receiving_area": r.receiving_area,
        "moved_on": _iso(r.moved_on),
        "core_group_meetings": [_core_group_meeting(m) for m in r.core_group_meetings],
    }


def _transfer(t: Transfer) -> dict[str, Any]:
    return {
        "receiving_area": t.receiving_area,
        "moved_on": _iso(t.moved_on),
        "notified_at": _iso(t.notified_at),
        "interim_safety_plan": t.interim_safety_plan,
        "notified_by": t.notified_by,
        "receiving_referral_id": t.receiving_referral_id,
        "outcome": t.outcome,
        "decided_at": _iso(t.decided_at),
    }


#: each section of the document, from the stage rows it shows
SECTIONS: dict[str, Callable[[Stages], Any]] = {
    "ird": lambda stages: _ird(stages.ird),
    "screening": lambda stages: _screening(stages.screening),
    "investigation": lambda stages: _investigation(stages.investigation),
    "jiis": lambda stages: [_jii(j) for j in stages.jiis],
    "conferences": lambda stages: [_conference(c) for c in stages.conferences],
    "registrations": lambda stages: [_registration(r) for r in stages.registrations],
    "transfers": lambda stages: [_transfer(t) for t in stages.transfers],
}
assert tuple(SECTIONS) == SECTION_NAMES


def document(stages: Stages) -> dict[str, Any]:
    """Every section, from the rows (a rebuild, or a check of the stored one)."""
    return {name: section(stages) for name, section in SECTIONS.items()}


def stored_document(session: Session, referral: Referral) -> dict[str, Any]:
    """The referral's read document; from its tables if it has none yet (a database migrated
    by plain Alembic, before `referral db upgrade` built the documents)."""
    if referral.stages_doc is None:
        return document(load_stages(session, referral.id))
    return referral.stages_doc


def project(referral: Referral, stages: Stages) -> None:
    """Re-serialise the sections whose rows this write loaded or added (flushed or not)."""
    if referral.stages_doc is None:
        referral.stages_doc = document(stages)
        return
    doc = dict(referral.stages_doc)
    for name in stages.loaded_sections():
        doc[name] = SECTIONS[name](stages)
    referral.stages_doc = doc
