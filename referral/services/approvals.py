"""Four-eyes decisions: approve (apply the transition in the same transaction) or reject."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session

from referral.errors import Conflict, Forbidden, NotFound
from referral.models import Approval, Referral, User
from referral.services.audit import append_event
from referral.services.referrals import local_today, situation
from referral.services.transitions import apply, get_approval
from referral.services.visibility import get_visible, writable
from workflow import (
    Actor,
    ActorNotPermitted,
    DataConflict,
    InvalidData,
    TriggerNotAllowed,
)
from workflow.definition import ApprovalRule
from workflow.vocabulary import ROLE_RANK

UNKNOWN_APPROVAL = "no such approval, or not one you can see"


def decidable_by(user: User) -> ColumnElement[bool]:
    """Approvals `user` may decide: same agency, a role at least as senior as the one named."""
    rank = ROLE_RANK.get(user.role, 0)
    roles = [
        r for r, level in ROLE_RANK.items() if level <= rank and level >= ROLE_RANK["supervisor"]
    ]
    return and_(
        Approval.approver_agency == user.agency,
        Approval.approver_role.in_(roles or ["-"]),
        Approval.requested_by != user.username,
    )


def list_query(user: User, status: str | None) -> Select[Approval]:
    """Approvals `user` requested or may decide, on referrals they can see."""
    query = (
        select(Approval)
        .join(Referral, Referral.id == Approval.referral_id)
        .where(writable(user), or_(Approval.requested_by == user.username, decidable_by(user)))
    )
    if status:
        query = query.where(Approval.status == status)
    return query


def decide(
    session: Session, user: User, approval_id: str, decision: str, comment: str, now: datetime
) -> Approval:
    """Decide a pending approval; approving applies the trigger, or fails with nothing applied."""
    try:
        approval = get_approval(session, approval_id)
        referral = get_visible(session, user, approval.referral_id, lock=True)
    except NotFound:
        # unknown, or on a referral the user cannot see: one answer, naming nothing
        raise NotFound(UNKNOWN_APPROVAL) from None
    session.refresh(approval, with_for_update=True)
    decider = Actor(user.username, user.agency, user.role)
    rule = ApprovalRule(approval.approver_role, approval.approver_agency)
    if user.username == approval.requested_by:
        raise Forbidden("you requested this decision; someone else must approve or reject it")
    if not rule.may_decide(decider, approval.requested_by):
        raise Forbidden(
            f"only a {approval.approver_role.replace('_', ' ')} (or more senior) of "
            f"{approval.approver_agency.replace('_', ' ')} may decide this"
        )
    if approval.status != "pending":
        raise Conflict(
            f"this approval is {approval.status}, not pending", approval_status=approval.status
        )
    if referral.version != approval.referral_version:
        raise Conflict(
            "the referral changed since approval was requested; nothing was applied",
            approval_status="stale",
            state=referral.state,
        )
    approval.decided_by = user.username
    approval.decided_at = now
    approval.comment = comment
    referral.pending_approval_id = None
    if decision == "reject":
        approval.status = "rejected"
        append_event(
            session,
            referral,
            decider,
            "approval_rejected",
            now,
            {"approval_id": approval.id, "trigger": approval.trigger, "comment": comment},
            trigger=approval.trigger,
        )
        session.flush()
        return approval
    requester = Actor(approval.requested_by, approval.requested_agency, approval.requested_role)
    current = situation(session, referral, now)
    # judged as on the day it was asked for: an extension asked for while the initial CPPM was
    # still due may be agreed after its date (its own data is checked afresh)
    subject = replace(current.subject, today=local_today(referral, approval.requested_at))
    try:
        outcome = current.engine.fire(
            subject, requester, approval.trigger, approval.data, current.ctx, approved=True
        )
    except (TriggerNotAllowed, ActorNotPermitted, InvalidData, DataConflict) as exc:
        raise Conflict(
            f"the request can no longer be applied: {exc}; nothing was applied",
            state=referral.state,
        ) from exc
    approval.status = "approved"
    append_event(
        session,
        referral,
        decider,
        "approval_approved",
        now,
        {"approval_id": approval.id, "trigger": approval.trigger, "comment": comment},
        trigger=approval.trigger,
    )
    apply(
        session,
        referral,
        current.stages,
        requester,
        outcome,
        approval.reason,
        now,
        approval=approval,
    )
    return approval
