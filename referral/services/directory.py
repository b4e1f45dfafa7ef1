"""Who and where a form may name: the users eligible for a username field, the areas."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from referral.models import Area, User
from referral.models.people import user_areas
from workflow.vocabulary import PRACTITIONER_ROLES


def may_be_named(area_id: int | None = None) -> Any:
    """A WHERE clause selecting the users a record may name to act on a referral of `area_id`
    (its chair, an interviewer, the lead professional): active practitioners, supervisors and
    senior managers who work in the area. An auditor only reads and an administrator runs the
    system: named, nobody could then record what they were named for."""
    named = and_(User.active.is_(True), User.role.in_(PRACTITIONER_ROLES))
    if area_id is None:
        return named
    works_there = exists().where(user_areas.c.user_id == User.id, user_areas.c.area_id == area_id)
    return and_(named, works_there)


def active_user(session: Session, username: str) -> User | None:
    """The active user called `username`, or None."""
    user = session.scalars(select(User).where(User.username == username)).first()
    return user if user is not None and user.active else None


def eligible_users(session: Session, area_id: int, agency: str | None) -> list[User]:
    """The users a form may name on a referral of `area_id` (`may_be_named`), of `agency` when
    given, by name."""
    query = select(User).where(may_be_named(area_id)).order_by(User.display_name, User.username)
    if agency is not None:
        query = query.where(User.agency == agency)
    return list(session.scalars(query))


def areas(session: Session) -> list[Area]:
    return list(session.scalars(select(Area).order_by(Area.name)))
