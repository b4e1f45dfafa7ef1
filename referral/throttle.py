"""Failed sign-ins and bad tokens, counted per client address and per account (SPEC section 5).

Counting is `limits`' fixed-window strategy over a shared store named by
`REFERRAL_RATELIMIT_STORAGE_URI`: `database://` (the default: the app's own database, table
`auth_failure_counters`, shared by every worker and host), `memory://` (one process only) or
`redis://host:port` (needs the extra `referral-engine[redis]`). A store that fails is logged
and the request is served as if nothing were limited: a broken store never answers 500.

How a caller uses it:

* **Bearer tokens** (`referral.auth`): check the token first. A valid token is served and
  never counted or limited (it is 256 bits; it proves itself). An invalid one calls
  `fail(token_keys(address, account))`, where `account` is the owner of a real but revoked or
  expired token whose stored prefix the presented one matches; a non-None result is the
  `Retry-After` for a 429 in place of the 401.
* **Password sign-in** (the web page, to come): a password can be guessed, so the limit must
  be checked *before* the password is: `keys = sign_in_keys(address, username)`; if
  `check(keys)` returns seconds, answer 429 with that `Retry-After` without checking the
  password; otherwise check it, and on failure call `fail(keys)`. The keys are the client
  address and the account *at that address*, so failures from other clients never block a
  valid password from this one, while one address still cannot try many accounts.

Call `fail` after ending the request's own transaction (`db.rollback()`, as `referral.auth`
does): the database store writes in a transaction of its own, which on SQLite (one writer at a
time) would otherwise wait for the request's.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import Iterable
from datetime import timedelta
from typing import Any, cast

from flask import Flask, current_app, g, has_request_context
from limits import RateLimitItem, parse
from limits.errors import ConfigurationError
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import Table, case, delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from referral.config import ConfigError
from referral.db import insert_for
from referral.models.throttle import AuthFailureCounter
from referral.models.types import utcnow

log = logging.getLogger(__name__)

NAMESPACE = "auth-failure"
REDIS_SCHEMES = ("redis", "rediss", "redis+unix")
#: expired counters removed per write, so a burst of new keys cannot keep one request busy
EXPIRED_ROWS_PER_WRITE = 100


class DatabaseStorage(Storage):
    """A `limits` storage in the app's own database (`database://`): no extra infrastructure.

    Each write is its own short transaction on its own connection from the app's engine,
    independent of the request's session (a failed request's session is rolled back). A row
    whose window has passed counts as zero, is overwritten by the next failure for its key,
    and is deleted by a later write, so the table holds only the current windows.
    """

    STORAGE_SCHEME = ["database"]

    def __init__(
        self,
        uri: str | None = None,
        wrap_exceptions: bool = False,
        engine: Engine | None = None,
        **options: Any,
    ) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        if engine is None:
            raise ConfigurationError("database:// counts in the app's database; pass its engine")
        if engine.dialect.name not in ("postgresql", "sqlite"):
            raise ConfigurationError(f"database:// does not support {engine.dialect.name}")
        self.engine = engine

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        table = cast(Table, AuthFailureCounter.__table__)
        now = utcnow()
        upsert = insert_for(self.engine.dialect.name, table).values(
            key=key, count=amount, window_expires_at=now + timedelta(seconds=expiry)
        )
        passed = table.c.window_expires_at <= now
        upsert = upsert.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "count": case(
                    (passed, upsert.excluded.count), else_=table.c.count + upsert.excluded.count
                ),
                "window_expires_at": case(
                    (passed, upsert.excluded.window_expires_at),
                    else_=table.c.window_expires_at,
                ),
            },
        ).returning(table.c.count)
        # SKIP LOCKED (PostgreSQL): workers cleaning up at once never wait for each other
        expired = (
            select(table.c.key)
            .where(passed, table.c.key != key)
            .limit(EXPIRED_ROWS_PER_WRITE)
            .with_for_update(skip_locked=True)
        )
        with self.engine.begin() as connection:
            connection.execute(delete(table).where(table.c.key.in_(expired.scalar_subquery())))
            count: int = connection.execute(upsert).scalar_one()
        return count

    def _current(self, key: str) -> tuple[int, float] | None:
        table = AuthFailureCounter.__table__
        query = select(table.c.count, table.c.window_expires_at).where(
            table.c.key == key, table.c.window_expires_at > utcnow()
        )
        with self.engine.connect().execution_options(read_only=True) as connection:
            row = connection.execute(query).one_or_none()
        # `row.count` is the column: mypy takes it for the tuple method `count`
        return None if row is None else (cast(int, row.count), row.window_expires_at.timestamp())

    def get(self, key: str) -> int:
        current = self._current(key)
        return 0 if current is None else current[0]

    def get_expiry(self, key: str) -> float:
        current = self._current(key)
        return time.time() if current is None else current[1]

    def check(self) -> bool:
        try:
            with self.engine.connect().execution_options(read_only=True) as connection:
                connection.execute(select(AuthFailureCounter.key).limit(1))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with self.engine.begin() as connection:
            return connection.execute(delete(AuthFailureCounter)).rowcount

    def clear(self, key: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(AuthFailureCounter).where(AuthFailureCounter.key == key))


class Throttle:
    """One app's failure limit and store; a fault in the store is logged, never raised."""

    def __init__(self, storage: Storage, limit: RateLimitItem) -> None:
        self.storage = storage
        self.limit = limit
        self.limiter = FixedWindowRateLimiter(storage)

    def check(self, keys: Iterable[str]) -> int | None:
        """Seconds until the caller may try again if any key is at its limit, else None."""
        try:
            spent = [k for k in keys if not self.limiter.test(self.limit, NAMESPACE, k)]
            return self._retry_after(spent) if spent else None
        except Exception as exc:  # any store fault: serve, and say so in the log
            self._store_fault(exc)
            return None

    def fail(self, keys: Iterable[str]) -> int | None:
        """Count one failure against every key; seconds to wait if one is now over its limit."""
        try:
            over = [k for k in keys if not self.limiter.hit(self.limit, NAMESPACE, k)]
            return self._retry_after(over) if over else None
        except Exception as exc:  # any store fault: serve, and say so in the log
            self._store_fault(exc)
            return None

    def healthy(self) -> bool:
        try:
            return bool(self.storage.check())
        except Exception:  # a store that cannot even answer is not healthy
            return False

    def reset(self) -> None:
        """Forget every count (tests, or an operator clearing a lock-out)."""
        self.storage.reset()

    def _retry_after(self, keys: list[str]) -> int:
        now = time.time()
        resets = [self.limiter.get_window_stats(self.limit, NAMESPACE, k).reset_time for k in keys]
        return max(1, math.ceil(max(resets) - now))

    def _store_fault(self, exc: Exception) -> None:
        if has_request_context():
            if g.get("throttle_fault_logged"):
                return
            g.throttle_fault_logged = True
        log.warning(
            "the auth-failure store is unavailable (%s: %s); serving without the limit",
            type(exc).__name__,
            exc,
        )


def _address_part(address: str | None) -> str:
    try:
        return ipaddress.ip_address(address or "").compressed
    except ValueError:  # not an IP (a proxy's odd header): keep keys short and printable
        return "h" + _digest(address or "")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def _account_part(account: str) -> str:
    # hashed: names typed at a sign-in page may be long or odd, and keys stay uniform
    return _digest(account.strip().casefold())


def address_key(address: str | None) -> str:
    return "address:" + _address_part(address)


def account_key(account: str) -> str:
    return "account:" + _account_part(account)


def account_at_address_key(account: str, address: str | None) -> str:
    return f"account-at:{_account_part(account)}:{_address_part(address)}"


def token_keys(address: str | None, account: str | None) -> tuple[str, ...]:
    """A bad token counts against its address, and against the account it names if any."""
    if account is None:
        return (address_key(address),)
    return (address_key(address), account_key(account))


def sign_in_keys(address: str | None, username: str) -> tuple[str, ...]:
    """A failed password counts against the address and the account *at that address*."""
    return (address_key(address), account_at_address_key(username, address))


def make_storage(uri: str, engine: Engine) -> Storage:
    """The store `uri` names; a missing client or a bad URI stops the app at startup."""
    scheme = uri.partition("://")[0]
    options: dict[str, Any] = {}
    if scheme == "database":
        options["engine"] = engine
    elif scheme in REDIS_SCHEMES:
        # a store that is down must answer fast: the request is served without it
        options.update(socket_connect_timeout=1, socket_timeout=1)
    try:
        storage = storage_from_string(uri, **options)
    except ConfigurationError as exc:
        if scheme in REDIS_SCHEMES:
            raise ConfigError(
                f"REFERRAL_RATELIMIT_STORAGE_URI is {scheme}://, which needs the redis client: "
                "install the extra with pip install 'referral-engine[redis]' "
                f"(limits said: {exc})"
            ) from None
        raise ConfigError(f"REFERRAL_RATELIMIT_STORAGE_URI: {exc}") from None
    if not isinstance(storage, Storage):  # an async+ scheme: this app is synchronous
        raise ConfigError(f"REFERRAL_RATELIMIT_STORAGE_URI: {scheme}:// is not supported")
    return storage


def init_app(app: Flask) -> None:
    setting = app.config.get("REFERRAL_AUTH_FAILURE_LIMIT", "20 per minute")
    try:
        limit = parse(setting)
    except ValueError:
        raise ConfigError(
            f"REFERRAL_AUTH_FAILURE_LIMIT {setting!r} is not a limit like '20 per minute'"
        ) from None
    uri = app.config.get("REFERRAL_RATELIMIT_STORAGE_URI", "database://")
    engine = app.extensions["referral.db"].engine
    app.extensions["referral.throttle"] = Throttle(make_storage(uri, engine), limit)


def for_app(app: Flask) -> Throttle:
    throttle: Throttle = app.extensions["referral.throttle"]
    return throttle


def current() -> Throttle:
    return for_app(current_app)


def check(keys: Iterable[str]) -> int | None:
    """Seconds until these keys may try again, or None: see the module docstring."""
    return current().check(keys)


def fail(keys: Iterable[str]) -> int | None:
    """Count a failure; seconds to wait (answer 429) or None (answer 401)."""
    return current().fail(keys)
