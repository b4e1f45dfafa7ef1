"""Who is asking: bearer tokens (scoped) for the API, Flask-Login sessions for the web pages."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from referral import db
from referral.errors import Forbidden, Unauthorized
from referral.models import ApiToken, User
from referral.models.types import utcnow
from workflow import Actor

TOKEN_PREFIX = "rfl_"  # noqa: S105 - a public marker, not a secret
SCOPES = ("read", "reports", "write")
#: What each scope may do: `write` also reads records; `reports` sees only aggregates.
SCOPE_GRANTS: dict[str, frozenset[str]] = {
    "read": frozenset({"read"}),
    "reports": frozenset({"reports"}),
    "write": frozenset({"read", "write"}),
}
SESSION_GRANTS = frozenset({"read", "write", "reports"})

login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a user, how they came in, and what their credential allows."""

    user: User
    via: str  # "token" or "session"
    grants: frozenset[str]
    token_prefix: str | None = None

    @property
    def actor(self) -> Actor:
        return Actor(self.user.username, self.user.agency, self.user.role)

    def require(self, grant: str) -> None:
        if grant not in self.grants:
            raise Forbidden(f"this token's scope does not allow {grant}")


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def check_password(user: User, password: str) -> bool:
    return check_password_hash(user.password_hash, password)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _token_principal(raw: str, now: datetime) -> Principal | None:
    token = (
        db.session()
        .scalars(select(ApiToken).where(ApiToken.token_hash == token_digest(raw)))
        .one_or_none()
    )
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    return Principal(token.user, "token", SCOPE_GRANTS[token.scope], token.prefix)


def current_principal() -> Principal:
    """The caller of this request, or 401."""
    if "principal" in g:
        principal: Principal = g.principal
        return principal
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise Unauthorized("use 'Authorization: Bearer <token>'")
        found = _token_principal(raw.strip(), utcnow())
        if found is None:
            g.auth_failed = True
            raise Unauthorized("the token is unknown, expired or revoked")
        g.principal = found
        return found
    if current_user.is_authenticated:
        g.principal = Principal(current_user._get_current_object(), "session", SESSION_GRANTS)
        return g.principal
    raise Unauthorized("sign in, or send a bearer token")


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "web.sign_in"
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)

    @login_manager.user_loader
    def _load_user(user_id: str) -> Any:
        if not user_id.isdigit():
            return None
        user = db.session().get(User, int(user_id))
        return user if user is not None and user.active else None
