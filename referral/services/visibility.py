"""Who may see which referral (SPEC section 5). An invisible referral is simply not found."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, false, select
from sqlalchemy.orm import Session

from referral.errors import NotFound
from referral.models import Referral, ReferralAgency, User
from workflow.vocabulary import CORE_AGENCIES, Role


def visible(user: User) -> ColumnElement[bool]:
    """A WHERE clause selecting the referrals `user` may see."""
    if user.role == Role.ADMIN:
        return false()  # administrators never read case content
    area_ids = sorted(user.area_ids)
    if not area_ids:
        return false()
    in_area = Referral.area_id.in_(area_ids)
    if user.role == Role.AUDITOR or user.agency in CORE_AGENCIES:
        return in_area
    recorded = exists(
        select(ReferralAgency.referral_id).where(
            ReferralAgency.referral_id == Referral.id, ReferralAgency.agency == user.agency
        )
    )
    return and_(in_area, recorded)


def can_see(user: User, referral: Referral) -> bool:
    if user.role == Role.ADMIN or referral.area_id not in user.area_ids:
        return False
    if user.role == Role.AUDITOR or user.agency in CORE_AGENCIES:
        return True
    return any(a.agency == user.agency for a in referral.agencies)


def get_visible(session: Session, user: User, referral_id: str, *, lock: bool = False) -> Referral:
    """The referral if `user` may see it; 404 otherwise (its existence is not leaked)."""
    query = select(Referral).where(Referral.id == referral_id, visible(user))
    if lock:
        query = query.with_for_update(of=Referral)
    referral = session.scalars(query).unique().one_or_none()
    if referral is None:
        raise NotFound(f"no referral {referral_id!r} that you can see")
    return referral
