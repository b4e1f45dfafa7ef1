"""REFERRAL_AUDIT_KEY is configured like the secret key: required, long, and not the secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from referral.config import DEVELOPMENT_AUDIT_KEY, ConfigError, load

URL = "postgresql+psycopg://db.example/referrals"
SECRET = "s" * 32


def test_production_refuses_to_start_without_an_audit_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="REFERRAL_AUDIT_KEY is required"):
        load({"REFERRAL_SECRET_KEY": SECRET, "REFERRAL_DATABASE_URL": URL}, tmp_path)


def test_testing_needs_an_audit_key_too(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="REFERRAL_AUDIT_KEY is required"):
        load({"REFERRAL_ENV": "testing", "REFERRAL_SECRET_KEY": SECRET}, tmp_path)


@pytest.mark.parametrize("key", [DEVELOPMENT_AUDIT_KEY, "k" * 31])
def test_production_refuses_a_weak_audit_key(tmp_path: Path, key: str) -> None:
    environ = {"REFERRAL_SECRET_KEY": SECRET, "REFERRAL_DATABASE_URL": URL}
    with pytest.raises(ConfigError, match="at least 32 characters"):
        load({**environ, "REFERRAL_AUDIT_KEY": key}, tmp_path)


@pytest.mark.parametrize("env", ["production", "testing", "development"])
def test_the_audit_key_must_differ_from_the_secret_key(tmp_path: Path, env: str) -> None:
    environ = {"REFERRAL_ENV": env, "REFERRAL_DATABASE_URL": URL}
    with pytest.raises(ConfigError, match="must differ from REFERRAL_SECRET_KEY"):
        load({**environ, "REFERRAL_SECRET_KEY": SECRET, "REFERRAL_AUDIT_KEY": SECRET}, tmp_path)


def test_production_takes_a_long_audit_key_into_the_app_config(tmp_path: Path) -> None:
    key = "a-long-random-audit-key-0123456789"
    settings = load(
        {"REFERRAL_SECRET_KEY": SECRET, "REFERRAL_DATABASE_URL": URL, "REFERRAL_AUDIT_KEY": key},
        tmp_path,
    )
    assert settings.flask_config()["REFERRAL_AUDIT_KEY"] == key
    assert key not in repr(settings)


def test_development_runs_with_a_throwaway_audit_key(tmp_path: Path) -> None:
    settings = load({"REFERRAL_ENV": "development"}, tmp_path)
    assert settings.audit_key == DEVELOPMENT_AUDIT_KEY
