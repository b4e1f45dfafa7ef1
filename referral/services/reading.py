"""Reading referrals: the list with its filters and cursor, and one referral in full."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, lazyload

from referral.models import (
    Approval,
    Area,
    ChronologyEntry,
    Event,
    Referral,
    ReferralLink,
    User,
)
from referral.schemas.common import decode_keyset, encode_keyset
from referral.services.pending import pending_approval
from referral.services.referrals import (
    Stages,
    child_json,
    child_match_json,
    concern_json,
    history_event,
    local_today,
    situation,
)
from referral.services.visibility import may_change, visible
from workflow import Actor
from workflow.calendar import calendar_for
from workflow.registry import definition as get_definition
from workflow.timescales import event_moment


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
            "full_ird": None
            if ird.full_ird_held_at is None
            else {
                "held_at": _iso(ird.full_ird_held_at),
                "participants": ird.full_ird_participants,
                "summary": ird.full_ird_summary,
            },
            **_views(ird),
        },
        "screening": None
        if stages.screening is None
        else {
            "decided_at": _iso(stages.screening.decided_at),
            "decision_rationale": stages.screening.decision_rationale,
            "advice_or_support": stages.screening.advice_or_support,
            "named_person_informed": stages.screening.named_person_informed,
            "decided_by": stages.screening.decided_by,
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
                "outcomes": j.outcomes,
                "recording_reference": j.recording_reference,
                "salient_points": j.salient_points,
                "childs_views": j.childs_views,
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
                "core_group_meetings": [
                    {
                        "held_at": _iso(m.held_at),
                        "attendees": m.attendees,
                        "significant_change": m.significant_change,
                        "refer_to_chair_by": _iso(m.refer_to_chair_by),
                        "notes": m.notes,
                        "progress": m.progress,
                        "childs_views": m.childs_views,
                        "recorded_by": m.recorded_by,
                    }
                    for m in r.core_group_meetings
                ],
            }
            for r in stages.registrations
        ],
        "transfers": [
            {
                "receiving_area": t.receiving_area,
                "moved_on": _iso(t.moved_on),
                "notified_at": _iso(t.notified_at),
                "interim_safety_plan": t.interim_safety_plan,
                "notified_by": t.notified_by,
                "receiving_referral_id": t.receiving_referral_id,
                "outcome": t.outcome,
                "decided_at": _iso(t.decided_at),
            }
            for t in stages.transfers
        ],
    }


#: events of the record itself, not of the child's life: left out of the chronology
NOT_IN_CHRONOLOGY = ("add_chronology_entry", "add_ird_contribution")


def chronology(session: Session, referral: Referral) -> list[dict[str, Any]]:
    """The child's chronology: entries agencies added, merged with the lifecycle's own
    significant events (the concern, IRD, decisions, interviews, conferences, core groups,
    transfers, lead professional changes, closure), in the order they happened."""
    d = get_definition(referral.profile, referral.profile_version)
    labels = {t.name: t.label for t in d.triggers}
    zone = calendar_for(d.holiday_country, d.holiday_subdivision, d.timezone).zone
    items: list[tuple[Any, ...]] = []
    for entry in session.scalars(
        select(ChronologyEntry).where(ChronologyEntry.referral_id == referral.id)
    ):
        items.append(
            (
                entry.occurred_on,
                None,
                entry.id,
                {
                    "on": entry.occurred_on,
                    "at": None,
                    "kind": "entry",
                    "source_agency": entry.source_agency,
                    "what_happened": entry.what_happened,
                    "significance": entry.significance,
                    "action": entry.action,
                    "recorded_by": entry.recorded_by,
                    "recorded_at": entry.recorded_at,
                },
            )
        )
    events = session.scalars(
        select(Event)
        .where(Event.referral_id == referral.id, Event.type.in_(("created", "transition")))
        .order_by(Event.seq)
    )
    for event in events:
        if event.trigger in NOT_IN_CHRONOLOGY:
            continue
        if event.type == "created":
            moment, what = referral.received_at, "Concern received: " + referral.concern_summary
        else:
            moment = event_moment(history_event(event))
            what = labels.get(event.trigger or "", event.trigger or event.type)
        local = moment.astimezone(zone)
        on, time_of_day, at = local.date(), local.timetz(), moment
        dated = event.data.get("changed_on") if event.type == "transition" else None
        if dated:  # a change dated by its day alone (a lead professional's) is on that day
            on, time_of_day, at = date.fromisoformat(dated), None, None
        items.append(
            (
                on,
                time_of_day,
                event.seq,
                {
                    "on": on,
                    "at": at,
                    "kind": "lifecycle",
                    "source_agency": event.agency,
                    "what_happened": what,
                    "significance": None,
                    "action": None,
                    "recorded_by": event.actor,
                    "recorded_at": event.at,
                },
            )
        )
    items.sort(key=lambda i: (i[0], i[1] is not None, i[1] or 0, i[2]))
    return [item[3] for item in items]


def related_referrals(session: Session, user: User, referral: Referral) -> list[dict[str, str]]:
    """Brothers' and sisters' referrals linked to this one that `user` may see."""
    rows = session.execute(
        select(Referral.id, Referral.reference)
        .join(ReferralLink, ReferralLink.related_id == Referral.id)
        .where(ReferralLink.referral_id == referral.id, visible(user))
        .order_by(Referral.reference)
    )
    return [{"id": rid, "reference": ref} for rid, ref in rows]


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
        if user.role in ("auditor", "admin") or not may_change(user, referral)
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
        "named_person": referral.named_person,
        "related_referrals": related_referrals(session, user, referral),
        "transfer_from": referral.transfer_from,
        "allowed_triggers": allowed,
        "stages": stages_json(stages),
        "timescales": [asdict(s) for s in statuses],
        "pending_approval": approval_json(pending) if pending else None,
    }
