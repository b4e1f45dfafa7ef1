"""Who and where a form may name: the users eligible for a username field, the areas."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from referral.models import Area, User
from referral.models.people import user_areas


def active_user(session: Session, username: str) -> User | None:
    """The active user called `username`, or None."""
    user = session.scalars(select(User).where(User.username == username)).first()
    return user if user is not None and user.active else None


def eligible_users(session: Session, area_id: int, agency: str | None) -> list[User]:
    """Active users of `area_id` (and of `agency` when given), by name: whom a form may name."""
    query = (
        select(User)
        .join(user_areas, user_areas.c.user_id == User.id)
        .where(user_areas.c.area_id == area_id, User.active.is_(True))
        .order_by(User.display_name, User.username)
    )
    if agency is not None:
        query = query.where(User.agency == agency)
    return list(session.scalars(query))


def areas(session: Session) -> list[Area]:
    return list(session.scalars(select(Area).order_by(Area.name)))
