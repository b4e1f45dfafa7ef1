"""The one pending approval a referral may have, and what a change does to it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from referral.models import Approval, Referral
from referral.services.audit import append_event
from workflow import Actor


def pending_approval(session: Session, referral: Referral) -> Approval | None:
    """The approval waiting for a decision: named on the referral's row, read only if there."""
    if referral.pending_approval_id is None:
        return None
    return session.get(Approval, referral.pending_approval_id)


def stale_comment(because: str) -> str:
    """What a pending approval says once a change to its referral made it stale."""
    return f"stale: the referral changed ({because}) before a decision"


def mark_pending_stale(
    session: Session, referral: Referral, actor: Actor, now: datetime, because: str
) -> None:
    """A change to the referral makes a pending approval stale: it was asked of another record."""
    pending = pending_approval(session, referral)
    if pending is None:
        return
    referral.pending_approval_id = None
    pending.status = "stale"
    pending.decided_at = now
    pending.comment = stale_comment(because)
    append_event(
        session,
        referral,
        actor,
        "approval_stale",
        now,
        {"approval_id": pending.id, "trigger": pending.trigger, "because": because},
    )
