"""Configuration fails fast where a default would be unsafe."""

from __future__ import annotations

from pathlib import Path

import pytest

from referral.config import DEVELOPMENT_SECRET, ConfigError, load

URL = "postgresql+psycopg://db.example/referrals"


def test_production_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="REFERRAL_SECRET_KEY is required"):
        load({"REFERRAL_DATABASE_URL": URL}, tmp_path)


@pytest.mark.parametrize("secret", [DEVELOPMENT_SECRET, "short"])
def test_production_refuses_a_weak_secret(tmp_path: Path, secret: str) -> None:
    with pytest.raises(ConfigError, match="long random value"):
        load({"REFERRAL_SECRET_KEY": secret, "REFERRAL_DATABASE_URL": URL}, tmp_path)


def test_production_needs_a_database_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="REFERRAL_DATABASE_URL is required"):
        load({"REFERRAL_SECRET_KEY": "x" * 32}, tmp_path)


def test_development_runs_on_sqlite_with_a_throwaway_key(tmp_path: Path) -> None:
    settings = load({"REFERRAL_ENV": "development"}, tmp_path)
    assert settings.secret_key == DEVELOPMENT_SECRET
    assert settings.database_url == f"sqlite:///{tmp_path / 'referral.db'}"
    assert settings.profile == "scotland"


def test_an_unknown_environment_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="REFERRAL_ENV"):
        load({"REFERRAL_ENV": "staging"}, tmp_path)


@pytest.mark.parametrize("hops", ["-1", "six", "9"])
def test_a_nonsense_number_of_proxies_is_refused(tmp_path: Path, hops: str) -> None:
    with pytest.raises(ConfigError, match="REFERRAL_TRUSTED_PROXIES"):
        load({"REFERRAL_ENV": "development", "REFERRAL_TRUSTED_PROXIES": hops}, tmp_path)


@pytest.mark.parametrize(("hops", "seen"), [(0, "127.0.0.1"), (1, "203.0.113.9")])
def test_the_client_address_comes_from_a_trusted_proxy_only(
    tmp_path: Path, hops: int, seen: str
) -> None:
    """Behind one TLS proxy the access log and the sign-in limits see the client's address;
    with none trusted, a client cannot forge it with a header."""
    from flask import request

    from referral import create_app

    app = create_app(
        {
            "REFERRAL_DATABASE_URL": f"sqlite:///{tmp_path / 'proxy.db'}",
            "REFERRAL_TRUSTED_PROXIES": hops,
        }
    )
    app.add_url_rule("/_address", "address", lambda: f"{request.remote_addr} {request.scheme}")
    answer = app.test_client().get(
        "/_address",
        headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"},
    )
    assert answer.get_data(as_text=True) == f"{seen} {'https' if hops else 'http'}"
    app.extensions["referral.db"].engine.dispose()
