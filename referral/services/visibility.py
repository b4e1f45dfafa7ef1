"""Who may see which referral (SPEC section 5). An invisible referral is simply not found.

A user sees the referrals of their own areas (core agencies and auditors all of them, other
agencies those their agency is recorded on) and may change those. A referral shared with one
of their areas (a registered child moving there) is also readable, never changeable, by that
area's core agencies.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, bindparam, exists, false, or_, select
from sqlalchemy.orm import Session, undefer

from referral.errors import NotFound
from referral.models import Referral, ReferralAgency, ReferralShare, User
from workflow.vocabulary import CORE_AGENCIES, Role


def writable(user: User) -> ColumnElement[bool]:
    """A WHERE clause selecting the referrals of `user`'s own areas that they may see."""
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


def shared_with(user: User) -> ColumnElement[bool]:
    """Referrals another area shared with one of `user`'s areas, if their agency is core."""
    if user.role in (Role.ADMIN, Role.AUDITOR) or user.agency not in CORE_AGENCIES:
        return false()
    slugs = sorted(a.slug for a in user.areas)
    if not slugs:
        return false()
    return exists(
        select(ReferralShare.referral_id).where(
            ReferralShare.referral_id == Referral.id, ReferralShare.area.in_(slugs)
        )
    )


def visible(user: User) -> ColumnElement[bool]:
    """A WHERE clause selecting the referrals `user` may see (read)."""
    return or_(writable(user), shared_with(user))


def can_see(user: User, referral: Referral) -> bool:
    if user.role == Role.ADMIN or referral.area_id not in user.area_ids:
        return False
    if user.role == Role.AUDITOR or user.agency in CORE_AGENCIES:
        return True
    return user.agency in referral.agency_set


def may_change(user: User, referral: Referral) -> bool:
    """Whether `user` may change `referral` (not a referral only shared with their area)."""
    return can_see(user, referral)


def can_read(session: Session, user: User, referral: Referral) -> bool:
    """`visible(user)` for one loaded referral: its own area's rules, or shared with one of the
    user's areas (asked of the database only then: a core agency outside the referral's area)."""
    if can_see(user, referral):
        return True
    if user.role in (Role.ADMIN, Role.AUDITOR) or user.agency not in CORE_AGENCIES:
        return False
    slugs = [a.slug for a in user.areas]
    shared = select(ReferralShare.referral_id).where(
        ReferralShare.referral_id == referral.id, ReferralShare.area.in_(slugs)
    )
    return bool(slugs) and session.scalars(shared.limit(1)).first() is not None


# built once: every read and write of one referral runs one of them (with its agencies: every
# read and write needs them)
_BY_ID = (
    select(Referral)
    .options(undefer(Referral.agency_list))
    .where(Referral.id == bindparam("referral_id"))
)
_BY_ID_LOCKED = _BY_ID.with_for_update(of=Referral)


def get_visible(session: Session, user: User, referral_id: str, *, lock: bool = False) -> Referral:
    """The referral if `user` may see it; 404 otherwise (its existence is not leaked).

    With `lock` the referral is about to change: only one the user may change is found, and
    its row is locked until the transaction ends (a 404 ends the transaction, and the lock).
    The rules are `can_see` / `can_read` on the loaded row: the same as `writable` / `visible`.
    """
    query = _BY_ID_LOCKED if lock else _BY_ID
    referral = session.scalars(query, {"referral_id": referral_id}).unique().one_or_none()
    if referral is None or not (
        may_change(user, referral) if lock else can_read(session, user, referral)
    ):
        raise NotFound(f"no referral {referral_id!r} that you can see")
    return referral
