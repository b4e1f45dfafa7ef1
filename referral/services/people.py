"""Areas, users and API tokens (administration; no case content).

Every change here adds its `AdminEvent` in the same transaction: who made it, when, what, to
whom, and details that never hold a password, a token or case content.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from referral.auth import SCOPES, hash_password, new_token, token_digest
from referral.models import AdminEvent, ApiToken, Area, User
from referral.models.types import utcnow
from workflow.vocabulary import AGENCIES, ROLES

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
PREFIX = re.compile(r"^[A-Z]{1,6}$")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,79}$")
MIN_PASSWORD = 12
#: who an administrative change made from the `referral` commands is recorded as
COMMAND_LINE = "(command line)"


class InvalidInput(ValueError):
    """A command or form gave a value that cannot be stored; the message says which and why,
    and `field` names the input it is about (for a page's error summary)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def _audit(
    session: Session,
    by: str,
    action: str,
    target: str,
    now: datetime | None,
    details: dict[str, Any] | None = None,
) -> AdminEvent:
    event = AdminEvent(
        at=now or utcnow(), actor=by, action=action, target=target, details=details or {}
    )
    session.add(event)
    return event


def admin_events(session: Session, target: str | None = None, limit: int = 50) -> list[AdminEvent]:
    """The latest administrative changes (to `target` only, when given), newest first."""
    query = select(AdminEvent).order_by(AdminEvent.id.desc()).limit(limit)
    if target is not None:
        query = query.where(AdminEvent.target == target)
    return list(session.scalars(query))


def get_user(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise InvalidInput(f"no user {username!r}", "username")
    return user


def users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def areas(session: Session) -> list[Area]:
    return list(session.scalars(select(Area).order_by(Area.name)))


def tokens(session: Session, user: User | None = None) -> list[ApiToken]:
    """Every token (never its secret), or one user's: by user, newest first."""
    query = select(ApiToken).join(User, ApiToken.user_id == User.id)
    if user is not None:
        query = query.where(ApiToken.user_id == user.id)
    return list(session.scalars(query.order_by(User.username, ApiToken.id.desc())))


def token_page(
    session: Session, limit: int, before: int | None = None
) -> tuple[list[ApiToken], int | None]:
    """A page of every token (never its secret), newest first, from before the token `before`
    (the previous page's cursor); and the next page's cursor, or None on the last page."""
    query = select(ApiToken).order_by(ApiToken.id.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(ApiToken.id < before)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, rows[-1].id if more and rows else None


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"the password must be at least {MIN_PASSWORD} characters", "password")


def _areas_named(session: Session, area_slugs: list[str]) -> list[Area]:
    if not area_slugs:
        raise InvalidInput("a user needs at least one area", "areas")
    found = list(session.scalars(select(Area).where(Area.slug.in_(area_slugs))))
    missing = sorted(set(area_slugs) - {a.slug for a in found})
    if missing:
        raise InvalidInput(f"unknown area(s): {', '.join(missing)}", "areas")
    return sorted(found, key=lambda a: a.slug)


def _revoke_all(session: Session, user: User, now: datetime) -> list[str]:
    """Revoke every live token of `user`; the prefixes revoked."""
    live = list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        )
    )
    for token in live:
        token.revoked_at = now
    return sorted(t.prefix for t in live)


def add_area(
    session: Session,
    slug: str,
    name: str,
    prefix: str,
    *,
    by: str = COMMAND_LINE,
    now: datetime | None = None,
) -> Area:
    if not SLUG.match(slug):
        raise InvalidInput(f"area slug {slug!r} must be lower-case words joined by hyphens", "slug")
    if not PREFIX.match(prefix):
        raise InvalidInput(f"prefix {prefix!r} must be 1 to 6 capital letters", "prefix")
    if not name.strip():
        raise InvalidInput("the area needs a name", "name")
    if session.scalars(select(Area).where(Area.slug == slug)).first():
        raise InvalidInput(f"area {slug!r} already exists", "slug")
    if session.scalars(select(Area).where(Area.reference_prefix == prefix)).first():
        raise InvalidInput(f"prefix {prefix!r} is already used by another area", "prefix")
    area = Area(slug=slug, name=name.strip(), reference_prefix=prefix)
    session.add(area)
    _audit(session, by, "area_added", slug, now, {"name": area.name, "prefix": prefix})
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
    *,
    by: str = COMMAND_LINE,
    now: datetime | None = None,
) -> User:
    if not USERNAME.match(username):
        raise InvalidInput(
            f"username {username!r}: use 2-80 lower-case letters, digits, dots, dashes, "
            "or underscores",
            "username",
        )
    if agency not in AGENCIES:
        raise InvalidInput(f"agency must be one of {', '.join(AGENCIES)}", "agency")
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", "role")
    if not area_slugs:
        raise InvalidInput("a user needs at least one area", "areas")
    _check_password(password)
    if session.scalars(select(User).where(User.username == username)).first():
        raise InvalidInput(f"user {username!r} already exists", "username")
    areas = _areas_named(session, area_slugs)
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
    details = {
        "agency": agency,
        "role": role,
        "areas": [a.slug for a in areas],
        "display_name": display_name,
    }
    _audit(session, by, "user_created", username, now, details)
    session.flush()
    return user


def disable_user(session: Session, username: str, now: datetime, *, by: str) -> User:
    """Disable `username`: every session ends (the user loader refuses an inactive user) and
    every token is revoked, at once."""
    user = get_user(session, username)
    if username == by:
        raise InvalidInput("you cannot disable your own account", "username")
    if not user.active:
        raise InvalidInput(f"user {username!r} is already disabled", "username")
    user.active = False
    user.session_epoch = (user.session_epoch or 0) + 1  # its sessions stay over if re-enabled
    revoked = _revoke_all(session, user, now)
    _audit(session, by, "user_disabled", username, now, {"tokens_revoked": revoked})
    session.flush()
    return user


def enable_user(session: Session, username: str, now: datetime, *, by: str) -> User:
    """Let a disabled user sign in again (their revoked tokens stay revoked)."""
    user = get_user(session, username)
    if user.active:
        raise InvalidInput(f"user {username!r} is already active", "username")
    user.active = True
    _audit(session, by, "user_enabled", username, now)
    session.flush()
    return user


def reset_password(
    session: Session, username: str, password: str, now: datetime, *, by: str
) -> User:
    """Give `username` a new password: every session signed in under the old one ends (the
    session stamp changes) and every token is revoked. The password is never recorded."""
    user = get_user(session, username)
    _check_password(password)
    user.password_hash = hash_password(password)
    revoked = _revoke_all(session, user, now)
    _audit(session, by, "password_reset", username, now, {"tokens_revoked": revoked})
    session.flush()
    return user


def change_role_and_areas(
    session: Session, username: str, role: str, area_slugs: list[str], now: datetime, *, by: str
) -> User:
    """Give `username` another role or other areas; it applies to their next request."""
    user = get_user(session, username)
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", "role")
    if username == by and role != user.role:
        raise InvalidInput("you cannot change your own role", "role")
    areas = _areas_named(session, area_slugs)
    before = {"role": user.role, "areas": sorted(a.slug for a in user.areas)}
    after = {"role": role, "areas": [a.slug for a in areas]}
    if before == after:
        raise InvalidInput("nothing changed: choose another role or other areas", "role")
    user.role = role
    user.areas = areas
    _audit(session, by, "user_changed", username, now, {"from": before, "to": after})
    session.flush()
    return user


def create_token(
    session: Session,
    username: str,
    scope: str,
    now: datetime,
    expires_in_days: int | None = None,
    *,
    by: str = COMMAND_LINE,
) -> str:
    """Create a token and return it: it is shown once and only its digest is kept."""
    if scope not in SCOPES:
        raise InvalidInput(f"scope must be one of {', '.join(SCOPES)}", "scope")
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise InvalidInput(f"no user {username!r}", "username")
    if not user.active:
        raise InvalidInput(f"user {username!r} is disabled", "username")
    if expires_in_days is not None and expires_in_days < 1:
        raise InvalidInput("a token must last at least one day", "expires_in_days")
    raw = new_token()
    token = ApiToken(
        user_id=user.id,
        token_hash=token_digest(raw),
        prefix=raw[:12],
        scope=scope,
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    session.add(token)
    details = {
        "prefix": token.prefix,
        "scope": scope,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
    }
    _audit(session, by, "token_created", username, now, details)
    session.flush()
    return raw


def revoke_tokens(session: Session, prefix: str, now: datetime, *, by: str = COMMAND_LINE) -> int:
    found = list(
        session.scalars(
            select(ApiToken).where(ApiToken.prefix == prefix, ApiToken.revoked_at.is_(None))
        )
    )
    for token in found:
        token.revoked_at = now
        _audit(session, by, "token_revoked", token.user.username, now, {"prefix": token.prefix})
    session.flush()
    return len(found)


def revoke_token(session: Session, token_id: int, now: datetime, *, by: str) -> ApiToken:
    """Revoke one token, by its id (the admin page's button)."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise InvalidInput("there is no such token", "token")
    if token.revoked_at is not None:
        raise InvalidInput(f"token {token.prefix}… is already revoked", "token")
    token.revoked_at = now
    _audit(session, by, "token_revoked", token.user.username, now, {"prefix": token.prefix})
    session.flush()
    return token
