"""Configuration from `REFERRAL_*` environment variables; fails fast where a default is unsafe."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from workflow.registry import DEFAULT_PROFILE

DEVELOPMENT_SECRET = "development-only-not-secret"  # noqa: S105 - refused outside development
DEVELOPMENT_AUDIT_KEY = "development-only-audit-key-not-secret"  # noqa: S105 - same
AUDIT_KEY_MIN_LENGTH = 32


class ConfigError(RuntimeError):
    """The environment does not describe a safe, complete configuration."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    profile: str
    env: str
    instance_path: Path
    ratelimit_storage: str = "database://"
    auth_failure_limit: str = "20 per minute"
    # how many reverse proxies (e.g. the TLS terminator) stand in front of the app: their
    # X-Forwarded-For/-Proto are believed, so the access log and the sign-in limits see the
    # client's address and secure cookies work; 0 (the default) believes no such header
    trusted_proxies: int = 0
    # keys the audit trail's hashes (HMAC); it never goes into the database
    audit_key: str = field(default=DEVELOPMENT_AUDIT_KEY, repr=False)

    def flask_config(self) -> dict[str, object]:
        return {
            "SECRET_KEY": self.secret_key,
            "REFERRAL_DATABASE_URL": self.database_url,
            "REFERRAL_PROFILE": self.profile,
            "REFERRAL_ENV": self.env,
            "REFERRAL_AUDIT_KEY": self.audit_key,
            "MAX_CONTENT_LENGTH": 1024 * 1024,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": self.env != "development",
            "REMEMBER_COOKIE_SECURE": self.env != "development",
            "REMEMBER_COOKIE_HTTPONLY": True,
            "REMEMBER_COOKIE_SAMESITE": "Lax",
            # idle timeout: a permanent session expires 30 minutes after the last request
            "PERMANENT_SESSION_LIFETIME": timedelta(minutes=30),
            "SESSION_REFRESH_EACH_REQUEST": True,
            "JSON_SORT_KEYS": False,
            # where failed sign-ins and bad tokens are counted (referral.throttle): the default
            # `database://` is this app's database, shared by every worker and host
            "REFERRAL_RATELIMIT_STORAGE_URI": self.ratelimit_storage,
            "REFERRAL_AUTH_FAILURE_LIMIT": self.auth_failure_limit,
            "REFERRAL_TRUSTED_PROXIES": self.trusted_proxies,
        }


def check_calendar() -> None:
    """Refuse to run where the working-day calendar is not the one the workflow was built on."""
    from workflow.registry import calendar_mismatches

    problems = calendar_mismatches()
    if problems:
        raise ConfigError(
            "; ".join(problems)
            + ": install the pinned release (pip install -e .) so no due date moves"
        )


def load(environ: Mapping[str, str] | None = None, instance_path: Path | None = None) -> Settings:
    """Read settings. Outside development, REFERRAL_SECRET_KEY must be set and not the dev one."""
    env_vars = os.environ if environ is None else environ
    env = env_vars.get("REFERRAL_ENV", "production").strip().lower()
    if env not in ("development", "production", "testing"):
        raise ConfigError("REFERRAL_ENV must be development, testing or production")
    instance = instance_path or Path(env_vars.get("REFERRAL_INSTANCE_PATH", "instance")).resolve()
    secret = _secret(
        env_vars.get("REFERRAL_SECRET_KEY", ""),
        env,
        DEVELOPMENT_SECRET,
        16,
        missing="REFERRAL_SECRET_KEY is required outside development "
        "(set REFERRAL_ENV=development to run locally with a throwaway key)",
        weak="REFERRAL_SECRET_KEY must be a long random value in production",
    )
    url = env_vars.get("REFERRAL_DATABASE_URL", "")
    if not url:
        if env == "production":
            raise ConfigError("REFERRAL_DATABASE_URL is required in production")
        url = f"sqlite:///{instance / 'referral.db'}"
    profile = env_vars.get("REFERRAL_PROFILE", DEFAULT_PROFILE)
    storage = env_vars.get("REFERRAL_RATELIMIT_STORAGE_URI", "").strip() or "database://"
    failure_limit = env_vars.get("REFERRAL_AUTH_FAILURE_LIMIT", "").strip() or "20 per minute"
    proxies = env_vars.get("REFERRAL_TRUSTED_PROXIES", "").strip() or "0"
    if not proxies.isdigit() or int(proxies) > 5:
        raise ConfigError("REFERRAL_TRUSTED_PROXIES must be a number of proxies from 0 to 5")
    return Settings(
        url,
        secret,
        profile,
        env,
        instance,
        ratelimit_storage=storage,
        auth_failure_limit=failure_limit,
        trusted_proxies=int(proxies),
        audit_key=_audit_key(env_vars, env, secret),
    )


def _secret(
    value: str, env: str, development_default: str, min_length: int, *, missing: str, weak: str
) -> str:
    """A secret setting: a throwaway default in development only; long and not that default
    in production."""
    if not value:
        if env != "development":
            raise ConfigError(missing)
        return development_default
    if env == "production" and (value == development_default or len(value) < min_length):
        raise ConfigError(weak)
    return value


def _audit_key(env_vars: Mapping[str, str], env: str, secret: str) -> str:
    """REFERRAL_AUDIT_KEY: required outside development, long in production, not the secret key."""
    key = _secret(
        env_vars.get("REFERRAL_AUDIT_KEY", ""),
        env,
        DEVELOPMENT_AUDIT_KEY,
        AUDIT_KEY_MIN_LENGTH,
        missing="REFERRAL_AUDIT_KEY is required outside development: it keys the audit trail's "
        "hashes and must be kept outside the database",
        weak=f"REFERRAL_AUDIT_KEY must be a random value of at least {AUDIT_KEY_MIN_LENGTH} "
        "characters in production",
    )
    if key == secret:
        raise ConfigError("REFERRAL_AUDIT_KEY must differ from REFERRAL_SECRET_KEY")
    return key
