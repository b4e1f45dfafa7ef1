"""Who is asking: bearer tokens (scoped) for the API, Flask-Login sessions for the web pages."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, cast

from flask import Flask, Request, current_app, g, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import LoginManager, current_user
from sqlalchemy import bindparam, inspect, select
from sqlalchemy.orm import lazyload, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.security import check_password_hash, generate_password_hash

from referral import db, throttle
from referral.errors import Forbidden, TooManyRequests, Unauthorized
from referral.models import ApiToken, Area, CredentialsStamp, User, user_areas
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
#: the stored prefix of a token: the marker and 8 characters of token_urlsafe's alphabet
STORED_PREFIX = re.compile(r"rfl_[A-Za-z0-9_-]{8}")
#: /api/v1 paths anyone may read; every other one authenticates before its arguments are parsed
API_PATH = "/api/v1/"
#: the index (links to this service's own paths, no case content) and the OpenAPI document
PUBLIC_API_PATHS = frozenset({"/api/v1/", "/api/v1/openapi.json"})
#: what a `reports` token may call: the indicators, and the vocabularies and workflow
#: definition (no case content); everything else is 403 to it
REPORTS_ENDPOINTS = frozenset(
    {
        "reports.indicators_report",
        "reference.reference",
        "workflow.workflow_definition",
        "workflow.workflow_diagram",
    }
)

login_manager = LoginManager()


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


#: the user of a token, each of the user's areas (a row each; one row without any), and the
#: token's own few columns (not the token as an object: nothing else of it is used), in one
#: statement built once. The areas are set as the user's loaded collection here, not by an
#: eager loader, which costs more than the query itself.
_TOKEN_QUERY = (
    select(User, Area, ApiToken.scope, ApiToken.prefix, ApiToken.expires_at, ApiToken.revoked_at)
    .join(ApiToken, ApiToken.user_id == User.id)
    .outerjoin(user_areas, user_areas.c.user_id == User.id)
    .outerjoin(Area, Area.id == user_areas.c.area_id)
    .where(ApiToken.token_hash == bindparam("digest"))
    .options(lazyload(User.areas))  # set below, from the rows
)
#: the stamp that changes with every user, area and token (migration 0012)
_STAMP_QUERY = select(CredentialsStamp.stamp).where(CredentialsStamp.id == 1)
#: app.extensions key: the tokens this process has authenticated, by digest
_REMEMBERED = "referral.auth.remembered"
#: how many tokens a process remembers at most; when full, it forgets them all
REMEMBERED_TOKENS = 1000


class _Remembered(NamedTuple):
    """What a token's rows said when its user was last read from them, and the stamp then."""

    stamp: int
    #: detached and never added to a session: each request merges a copy of it into its own
    user: User
    grants: frozenset[str]
    prefix: str
    expires_at: datetime | None


def _detached(obj: Any) -> Any:
    """A copy of a loaded object's columns, detached, as though loaded by a session since
    closed."""
    columns = inspect(type(obj)).column_attrs
    copy = type(obj)(**{column.key: getattr(obj, column.key) for column in columns})
    make_transient_to_detached(copy)
    return copy


def _token_principal(raw: str, now: datetime) -> Principal | None:
    """The principal of a valid token, or None.

    Every API request authenticates, so each process remembers the tokens it has
    authenticated (`_Remembered`) with the credentials stamp it read first. While the stamp
    is the same, no user, area or token has changed since, and the token is served from
    memory after one small read (on PostgreSQL sent with the transaction's BEGIN, in one round
    trip: `db.begin_with_scalar`); once anything changes, the next request reads its rows
    again. The stamp is read in the request's own transaction, so a token revoked, or a user
    disabled, before that transaction began is refused by every process.
    """
    digest = token_digest(raw)
    session = db.session()
    stamp = db.begin_with_scalar(session, _STAMP_QUERY)
    remembered: dict[str, _Remembered] = current_app.extensions[_REMEMBERED]
    known = remembered.get(digest)
    if known is not None and stamp is not None and known.stamp == stamp:
        if known.expires_at is not None and known.expires_at <= now:
            return None
        user = session.merge(known.user, load=False)
        return Principal(user, "token", known.grants, known.prefix)
    rows = session.execute(_TOKEN_QUERY, {"digest": digest}).all()
    if not rows:
        return None
    token = rows[0]
    user = token.User
    if "areas" not in user.__dict__:
        set_committed_value(user, "areas", [row.Area for row in rows if row.Area is not None])
    if token.revoked_at is not None or not user.active:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    grants = SCOPE_GRANTS[token.scope]
    if stamp is not None:
        if len(remembered) >= REMEMBERED_TOKENS:
            remembered.clear()
        kept = _detached(user)
        set_committed_value(kept, "areas", [_detached(area) for area in user.areas])
        remembered[digest] = _Remembered(stamp, kept, grants, token.prefix, token.expires_at)
    return Principal(user, "token", grants, token.prefix)


def _named_account(raw: str) -> str | None:
    """The user whose (revoked, expired or disabled) token the presented one claims to be."""
    prefix = raw[:12]
    if not STORED_PREFIX.fullmatch(prefix):
        return None
    query = select(User.username).join(ApiToken, ApiToken.user_id == User.id)
    return db.session().scalars(query.where(ApiToken.prefix == prefix).limit(1)).first()


def _refuse(detail: str, account: str | None = None) -> Unauthorized | TooManyRequests:
    """A failed credential: counted per address and account; 429 once over the limit."""
    # this request fails: end its transaction first, so the counter's own short transaction
    # never waits behind it (SQLite has one writer)
    db.rollback()
    retry_after = throttle.fail(throttle.token_keys(request.remote_addr, account))
    if retry_after is not None:
        return TooManyRequests(retry_after)
    return Unauthorized(detail)


def current_principal() -> Principal:
    """The caller of this request, or 401."""
    if "principal" in g:
        principal: Principal = g.principal
        return principal
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise _refuse("use 'Authorization: Bearer <token>'")
        # a valid token is served whatever its address's count: only failures are limited
        found = _token_principal(raw.strip(), utcnow())
        if found is None:
            account = _named_account(raw.strip())
            raise _refuse("the token is unknown, expired or revoked", account)
        g.principal = found
        return found
    if current_user.is_authenticated:
        g.principal = Principal(current_user._get_current_object(), "session", SESSION_GRANTS)
        return cast(Principal, g.principal)
    raise Unauthorized("sign in, or send a bearer token")


def _authenticate_api() -> None:
    """Who is asking, before any argument is parsed: bad input from strangers is a 401."""
    if not request.path.startswith(API_PATH) or request.path in PUBLIC_API_PATHS:
        return
    if request.routing_exception is not None:  # unknown path or method: 404 or 405 first
        return
    with db.read_first():
        principal = current_principal()
    # a `reports` token reads aggregates only: refused before any argument or body is read
    if "read" not in principal.grants and request.endpoint not in REPORTS_ENDPOINTS:
        principal.require("read")


class _HeaderSession(SecureCookieSession):
    """The empty session of an API request that says who is asking in its header."""


class _Sessions(SecureCookieSessionInterface):
    """The signed-cookie session of the web pages, neither read nor written for an API request
    with an `Authorization` header: the header says who is asking (`current_principal` never
    falls back to the session then), and an empty session sets no cookie."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(API_PATH) and "Authorization" in request.headers:
            return _HeaderSession()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: Any, response: Any) -> None:
        if isinstance(session, _HeaderSession) and not session:
            return
        super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    app.extensions[_REMEMBERED] = {}
    app.session_interface = _Sessions()
    login_manager.init_app(app)
    login_manager.login_view = "web.sign_in"
    app.before_request(_authenticate_api)

    @login_manager.user_loader  # type: ignore[untyped-decorator]  # flask-login is untyped
    def _load_user(user_id: str) -> Any:
        # "<id>:<stamp>": a disabled user, or one whose password changed since, is signed out
        number, _, stamp = user_id.partition(":")
        if not number.isdigit():
            return None
        user = db.session().get(User, int(number))
        if user is None or not user.active or stamp != user.session_stamp:
            return None
        return user
