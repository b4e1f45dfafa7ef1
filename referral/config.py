"""Configuration from `REFERRAL_*` environment variables; fails fast where a default is unsafe."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from workflow.registry import DEFAULT_PROFILE

DEVELOPMENT_SECRET = "development-only-not-secret"  # noqa: S105 - refused outside development


class ConfigError(RuntimeError):
    """The environment does not describe a safe, complete configuration."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    profile: str
    env: str
    instance_path: Path
    ratelimit_storage: str = "memory://"

    def flask_config(self) -> dict[str, object]:
        return {
            "SECRET_KEY": self.secret_key,
            "REFERRAL_DATABASE_URL": self.database_url,
            "REFERRAL_PROFILE": self.profile,
            "REFERRAL_ENV": self.env,
            "MAX_CONTENT_LENGTH": 1024 * 1024,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": self.env == "production",
            "JSON_SORT_KEYS": False,
            # failed-authentication counts; share them (e.g. redis://) across several workers
            "RATELIMIT_STORAGE_URI": self.ratelimit_storage,
        }


def load(environ: Mapping[str, str] | None = None, instance_path: Path | None = None) -> Settings:
    """Read settings. Outside development, REFERRAL_SECRET_KEY must be set and not the dev one."""
    env_vars = os.environ if environ is None else environ
    env = env_vars.get("REFERRAL_ENV", "production").strip().lower()
    if env not in ("development", "production", "testing"):
        raise ConfigError("REFERRAL_ENV must be development, testing or production")
    instance = instance_path or Path(env_vars.get("REFERRAL_INSTANCE_PATH", "instance")).resolve()
    secret = env_vars.get("REFERRAL_SECRET_KEY", "")
    if not secret:
        if env != "development":
            raise ConfigError(
                "REFERRAL_SECRET_KEY is required outside development "
                "(set REFERRAL_ENV=development to run locally with a throwaway key)"
            )
        secret = DEVELOPMENT_SECRET
    elif env == "production" and (secret == DEVELOPMENT_SECRET or len(secret) < 16):
        raise ConfigError("REFERRAL_SECRET_KEY must be a long random value in production")
    url = env_vars.get("REFERRAL_DATABASE_URL", "")
    if not url:
        if env == "production":
            raise ConfigError("REFERRAL_DATABASE_URL is required in production")
        url = f"sqlite:///{instance / 'referral.db'}"
    profile = env_vars.get("REFERRAL_PROFILE", DEFAULT_PROFILE)
    storage = env_vars.get("REFERRAL_RATELIMIT_STORAGE_URI", "memory://")
    return Settings(url, secret, profile, env, instance, storage)
