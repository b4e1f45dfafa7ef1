"""A user's work: timescales overdue or due soon, the referrals they recorded or lead, the
approvals queue."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from referral.errors import NotFound
from referral.models import Approval, Event, Investigation, Referral, Registration, User
from referral.services.approvals import UNKNOWN_APPROVAL, decidable_by, list_query
from referral.services.transitions import get_approval
from referral.services.visibility import get_visible, visible

#: "due soon" on the home page: within this many days from today
DUE_SOON_DAYS = 7
#: at most this many rows in each list on the home page
LIMIT = 50


def due_soon(
    session: Session, user: User, today: date, within_days: int = DUE_SOON_DAYS
) -> list[Referral]:
    """Visible referrals whose next timescale is overdue or due within `within_days`, soonest
    (most overdue) first."""
    query = (
        select(Referral)
        .where(visible(user), Referral.next_due <= today + timedelta(days=within_days))
        .order_by(Referral.next_due, Referral.reference)
        .limit(LIMIT)
    )
    return list(session.scalars(query))


def recorded_by(session: Session, user: User) -> list[Referral]:
    """Open referrals this user recorded and can still see, by state then reference."""
    query = (
        select(Referral)
        .where(
            visible(user),
            Referral.created_by == user.username,
            Referral.state != "closed",
        )
        .order_by(Referral.state, Referral.reference)
        .limit(LIMIT)
    )
    return list(session.scalars(query))


def led_by(session: Session, user: User) -> list[Referral]:
    """Open referrals this user leads and can see, by state then reference.

    The lead professional is the one the stage records hold (kept by `register` and every
    `change_lead_professional`): the current registration's, or while the child is not on the
    register, the investigation's.
    """
    registered = exists().where(
        Registration.referral_id == Referral.id, Registration.ended_at.is_(None)
    )
    leads_registration = Referral.id.in_(
        select(Registration.referral_id).where(
            Registration.ended_at.is_(None), Registration.lead_professional == user.username
        )
    )
    leads_investigation = Referral.id.in_(
        select(Investigation.referral_id).where(Investigation.lead_professional == user.username)
    )
    query = (
        select(Referral)
        .where(
            visible(user),
            Referral.state != "closed",
            or_(leads_registration, and_(leads_investigation, ~registered)),
        )
        .order_by(Referral.state, Referral.reference)
        .limit(LIMIT)
    )
    return list(session.scalars(query))


def approvals_waiting(session: Session, user: User) -> list[tuple[Approval, str]]:
    """Pending approvals this user may decide, with their referral's reference, oldest first."""
    query = (
        list_query(user, "pending")
        .add_columns(Referral.reference)
        .where(decidable_by(user))
        .order_by(Approval.requested_at, Approval.id)
        .limit(LIMIT)
    )
    return [(approval, reference) for approval, reference in session.execute(query)]


def approval_queue(session: Session, user: User) -> list[tuple[Approval, str]]:
    """Pending approvals this user may decide or asked for, with references, oldest first."""
    query = (
        list_query(user, "pending")
        .add_columns(Referral.reference)
        .order_by(Approval.requested_at, Approval.id)
        .limit(LIMIT)
    )
    return [(approval, reference) for approval, reference in session.execute(query)]


def approval_for(session: Session, user: User, approval_id: str) -> tuple[Approval, Referral]:
    """An approval and its referral, if `user` may see the referral; else not found."""
    try:
        approval = get_approval(session, approval_id)
        referral = get_visible(session, user, approval.referral_id)
    except NotFound:
        raise NotFound(UNKNOWN_APPROVAL) from None
    return approval, referral


def counts(session: Session, user: User, today: date) -> dict[str, int]:
    """How many visible referrals are open, overdue, and due within the week."""
    open_ = visible(user) & (Referral.state != "closed")
    soon = today + timedelta(days=DUE_SOON_DAYS)

    def count(*where: Any) -> int:
        return session.scalar(select(func.count()).select_from(Referral).where(*where)) or 0

    return {
        "open": count(open_),
        "overdue": count(open_, Referral.next_due < today),
        "due_soon": count(open_, Referral.next_due >= today, Referral.next_due <= soon),
    }


def timeline(session: Session, referral: Referral, after_seq: int = 0) -> list[Event]:
    """The referral's events after `after_seq`, newest first (the whole trail by default)."""
    query = (
        select(Event)
        .where(Event.referral_id == referral.id, Event.seq > after_seq)
        .order_by(Event.seq.desc())
    )
    return list(session.scalars(query))
