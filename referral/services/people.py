"""Areas, users and API tokens (administration; no case content)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from referral.auth import SCOPES, hash_password, new_token, token_digest
from referral.models import ApiToken, Area, User
from workflow.vocabulary import AGENCIES, ROLES

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
PREFIX = re.compile(r"^[A-Z]{1,6}$")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,79}$")


class InvalidInput(ValueError):
    """A command or form gave a value that cannot be stored; the message says which and why."""


def add_area(session: Session, slug: str, name: str, prefix: str) -> Area:
    if not SLUG.match(slug):
        raise InvalidInput(f"area slug {slug!r} must be lower-case words joined by hyphens")
    if not PREFIX.match(prefix):
        raise InvalidInput(f"prefix {prefix!r} must be 1 to 6 capital letters")
    if not name.strip():
        raise InvalidInput("the area needs a name")
    if session.scalars(select(Area).where(Area.slug == slug)).first():
        raise InvalidInput(f"area {slug!r} already exists")
    if session.scalars(select(Area).where(Area.reference_prefix == prefix)).first():
        raise InvalidInput(f"prefix {prefix!r} is already used by another area")
    area = Area(slug=slug, name=name.strip(), reference_prefix=prefix)
    session.add(area)
    session.flush()
    return area


def create_user(
    session: Session,
    username: str,
    agency: str,
    role: str,
    area_slugs: list[str],
    password: str,
    display_name: str = "",
) -> User:
    if not USERNAME.match(username):
        raise InvalidInput(
            f"username {username!r}: use 2-80 lower-case letters, digits, dots, dashes, "
            "or underscores"
        )
    if agency not in AGENCIES:
        raise InvalidInput(f"agency must be one of {', '.join(AGENCIES)}")
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    if not area_slugs:
        raise InvalidInput("a user needs at least one area")
    if len(password) < 12:
        raise InvalidInput("the password must be at least 12 characters")
    if session.scalars(select(User).where(User.username == username)).first():
        raise InvalidInput(f"user {username!r} already exists")
    areas = list(session.scalars(select(Area).where(Area.slug.in_(area_slugs))))
    missing = sorted(set(area_slugs) - {a.slug for a in areas})
    if missing:
        raise InvalidInput(f"unknown area(s): {', '.join(missing)}")
    user = User(
        username=username,
        agency=agency,
        role=role,
        display_name=display_name,
        password_hash=hash_password(password),
        active=True,
        areas=areas,
    )
    session.add(user)
    session.flush()
    return user


def create_token(
    session: Session, username: str, scope: str, now: datetime, expires_in_days: int | None = None
) -> str:
    """Create a token and return it: it is shown once and only its digest is kept."""
    if scope not in SCOPES:
        raise InvalidInput(f"scope must be one of {', '.join(SCOPES)}")
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise InvalidInput(f"no user {username!r}")
    if expires_in_days is not None and expires_in_days < 1:
        raise InvalidInput("a token must last at least one day")
    raw = new_token()
    session.add(
        ApiToken(
            user_id=user.id,
            token_hash=token_digest(raw),
            prefix=raw[:12],
            scope=scope,
            created_at=now,
            expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
        )
    )
    session.flush()
    return raw


def revoke_tokens(session: Session, prefix: str, now: datetime) -> int:
    tokens = list(
        session.scalars(
            select(ApiToken).where(ApiToken.prefix == prefix, ApiToken.revoked_at.is_(None))
        )
    )
    for token in tokens:
        token.revoked_at = now
    session.flush()
    return len(tokens)
