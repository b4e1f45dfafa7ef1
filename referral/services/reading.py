"""Reading referrals: the list with its filters and cursor, and one referral in full."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, lazyload

from referral.models import Approval, Area, Referral, User
from referral.schemas.common import decode_keyset, encode_keyset
from referral.services.pending import pending_approval
from referral.services.referrals import (
    Stages,
    child_json,
    child_match_json,
    concern_json,
    local_today,
    situation,
)
from referral.services.visibility import visible
from workflow import Actor


def is_overdue(referral: Referral, today: date) -> bool:
    return referral.next_due is not None and referral.next_due < today


def list_item(referral: Referral, today: date) -> dict[str, Any]:
    return {
        "id": referral.id,
        "reference": referral.reference,
        "state": referral.state,
        "area": referral.area.slug,
        "created_at": referral.created_at,
        "updated_at": referral.updated_at,
        "overdue": is_overdue(referral, today),
        "next_due": referral.next_due,
        "closure_reason": referral.closure_reason,
    }


def list_referrals(
    session: Session, user: User, args: dict[str, Any], today: date
) -> dict[str, Any]:
    """Visible referrals, oldest change first, with an opaque keyset cursor."""
    # a list item needs the area, not the child or the agencies the detail view loads eagerly
    query = (
        select(Referral)
        .options(lazyload(Referral.child), lazyload(Referral.agencies))
        .where(visible(user))
    )
    if "state" in args:
        query = query.where(Referral.state == args["state"])
    if "area" in args:
        query = query.join(Area, Area.id == Referral.area_id).where(Area.slug == args["area"])
    if args.get("overdue") is True:
        query = query.where(Referral.next_due < today)
    elif args.get("overdue") is False:
        query = query.where(or_(Referral.next_due.is_(None), Referral.next_due >= today))
    if "updated_since" in args:
        query = query.where(Referral.updated_at >= args["updated_since"])
    if "cursor" in args:
        after, after_id = decode_keyset(args["cursor"])
        query = query.where(
            or_(
                Referral.updated_at > after,
                and_(Referral.updated_at == after, Referral.id > after_id),
            )
        )
    limit = args.get("limit", 50)
    rows = list(session.scalars(query.order_by(Referral.updated_at, Referral.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_keyset(rows[-1].updated_at, rows[-1].id) if more and rows else None
    return {"items": [list_item(r, today) for r in rows], "next_cursor": next_cursor}


def approval_json(a: Approval) -> dict[str, Any]:
    return {
        "id": a.id,
        "referral_id": a.referral_id,
        "trigger": a.trigger,
        "data": a.data,
        "reason": a.reason,
        "requested_by": a.requested_by,
        "requested_at": a.requested_at,
        "status": a.status,
        "decided_by": a.decided_by,
        "decided_at": a.decided_at,
        "comment": a.comment,
        "approver": {"role": a.approver_role, "agency": a.approver_agency},
    }


def _views(record: Any) -> dict[str, Any]:
    return {
        "childs_views": record.childs_views,
        "childs_views_not_obtained_reason": record.childs_views_not_obtained_reason,
    }


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def stages_json(stages: Stages) -> dict[str, Any]:
    ird = stages.ird
    inv = stages.investigation
    return {
        "ird": None
        if ird is None
        else {
            "started_at": _iso(ird.started_at),
            "reason": ird.reason,
            "out_of_hours": ird.out_of_hours,
            "participants": ird.participants,
            "convened_by": ird.convened_by,
            "contributions": [
                {
                    "agency": c.agency,
                    "information_shared": c.information_shared,
                    "checks_made": c.checks_made,
                    "lawful_basis": c.lawful_basis,
                    "recorded_by": c.recorded_by,
                    "recorded_at": _iso(c.recorded_at),
                }
                for c in ird.contributions
            ],
            "decision": ird.decision,
            "decided_at": _iso(ird.decided_at),
            "decision_rationale": ird.decision_rationale,
            "reasons_no_investigation": ird.reasons_no_investigation,
            "lead_agency": ird.lead_agency,
            "support_offered": ird.support_offered,
            "named_person_informed": ird.named_person_informed,
            "agencies_agreed": ird.agencies_agreed,
            **_views(ird),
        },
        "investigation": None
        if inv is None
        else {
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
        },
        "jiis": [
            {
                "status": j.status,
                "planned_for": _iso(j.planned_for),
                "interviewers": j.interviewers,
                "aims": j.aims,
                "planned_by": j.planned_by,
                "conducted_at": _iso(j.conducted_at),
                "outcome": j.outcome,
                "recording_reference": j.recording_reference,
                "salient_points": j.salient_points,
                "cancel_reason": j.cancel_reason,
            }
            for j in stages.jiis
        ],
        "conferences": [
            {
                "conference_type": c.conference_type,
                "scheduled_for": _iso(c.scheduled_for),
                "scheduled_at": _iso(c.scheduled_at),
                "chair": c.chair,
                "invitees": c.invitees,
                "short_notice": c.short_notice,
                "decision": c.decision,
                "decided_at": _iso(c.decided_at),
                "meetings": [
                    {
                        "quorate": m.quorate,
                        "held_at": _iso(m.held_at),
                        "absent_agencies": m.absent_agencies,
                        "rescheduled_for": _iso(m.rescheduled_for),
                        "attendees": m.attendees,
                        "apologies": m.apologies,
                        "parents_views": m.parents_views,
                        "decision": m.decision,
                        "decision_rationale": m.decision_rationale,
                        "dissent": m.dissent,
                        "outcome_detail": m.outcome_detail,
                        **_views(m),
                    }
                    for m in c.meetings
                ],
            }
            for c in stages.conferences
        ],
        "registrations": [
            {
                "registered_at": _iso(r.registered_at),
                "pre_birth": r.pre_birth,
                "plan_outline": r.plan_outline,
                "reporter_referral": r.reporter_referral,
                "lead_professional": r.lead_professional,
                "core_group": r.core_group,
                "areas_of_concern": sorted(c.category for c in r.areas_of_concern),
                "ended_at": _iso(r.ended_at),
                "end_reason": r.end_reason,
                "receiving_area": r.receiving_area,
                "moved_on": _iso(r.moved_on),
                "core_group_meetings": [
                    {
                        "held_at": _iso(m.held_at),
                        "attendees": m.attendees,
                        "significant_change": m.significant_change,
                        "notes": m.notes,
                        "recorded_by": m.recorded_by,
                    }
                    for m in r.core_group_meetings
                ],
            }
            for r in stages.registrations
        ],
    }


def referral_detail(
    session: Session, user: User, referral: Referral, now: datetime
) -> dict[str, Any]:
    """One referral in full, as this user may act on it now."""
    current = situation(session, referral, now)
    stages, statuses = current.stages, current.statuses
    actor = Actor(user.username, user.agency, user.role)
    pending = pending_approval(session, referral.id)
    allowed = (
        []
        if user.role in ("auditor", "admin")
        else current.engine.allowed_triggers(current.subject, actor)
    )
    return {
        **list_item(referral, local_today(referral, now)),
        "version": referral.version,
        "profile": referral.profile,
        "profile_version": referral.profile_version,
        "closed_at": referral.closed_at,
        "created_by": referral.created_by,
        "referrer_agency": referral.referrer_agency,
        "child_match": child_match_json(referral),
        "child": child_json(referral.child),
        "concern": {**concern_json(referral), "received_at": referral.received_at},
        "allowed_triggers": allowed,
        "stages": stages_json(stages),
        "timescales": [asdict(s) for s in statuses],
        "pending_approval": approval_json(pending) if pending else None,
    }
