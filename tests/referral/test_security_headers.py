"""Every response carries the security headers of SPEC section 5; sessions expire when idle."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import World


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def policy(response: Any) -> dict[str, list[str]]:
    """The Content-Security-Policy as {directive: [sources]}."""
    directives: dict[str, list[str]] = {}
    for part in response.headers["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def assert_secured(response: Any) -> dict[str, list[str]]:
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    csp = policy(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    # no inline script: script-src, or the default it falls back to, names only this origin
    assert csp.get("script-src", csp["default-src"]) == ["'self'"]
    return csp


def test_api_answers_carry_the_headers_and_are_never_stored(
    client: FlaskClient, world: World
) -> None:
    token = bearer(world.token("pc"))
    for response in (
        client.get("/api/v1/referrals", headers=token),
        client.get("/api/v1/reference", headers=token),
        client.get("/api/v1/workflow", headers=token),
        client.get("/api/v1/referrals/no-such-referral", headers=token),  # 404
        client.get("/api/v1/referrals"),  # 401
        client.post("/api/v1/referrals", data="x", headers=token),  # 415
        client.get("/api/v1/openapi.json"),
    ):
        csp = assert_secured(response)
        assert csp["style-src"] == ["'self'"]
        assert response.headers["Cache-Control"] == "no-store", response.request.path


def test_health_probes_carry_the_headers(client: FlaskClient) -> None:
    for path in ("/healthz", "/readyz"):
        response = client.get(path)
        assert response.status_code == 200
        assert_secured(response)


def test_html_pages_carry_the_headers_and_are_never_stored(client: FlaskClient) -> None:
    response = client.get("/no-such-page")
    assert response.mimetype == "text/html"
    assert_secured(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_the_api_docs_page_runs_only_its_own_scripts(client: FlaskClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    csp = assert_secured(page)
    # swagger-ui writes style attributes as it renders: styles alone may be inline, here only
    assert csp["style-src"] == ["'self'", "'unsafe-inline'"]
    assert "data:" in csp["img-src"]  # its stylesheet's icons are data: URIs
    html = page.get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts, "the docs page loads swagger-ui"
    for attributes, inline in scripts:
        assert not inline.strip(), "no inline script"
        source = re.search(r'src="([^"]+)"', attributes)
        assert source, attributes
        assert source.group(1).startswith("/"), attributes
        with client.get(source.group(1)) as asset:  # a file: closed when read
            assert asset.status_code == 200, source.group(1)
            # nosniff: a script is only run when it is served as JavaScript
            assert asset.mimetype in ("text/javascript", "application/javascript")
            assert asset.headers["X-Content-Type-Options"] == "nosniff"
    for sheet in re.findall(r'<link rel="stylesheet" href="([^"]+)"', html):
        assert sheet.startswith("/")
        with client.get(sheet) as stylesheet:
            assert stylesheet.mimetype == "text/css"
    assert "style=" not in html
    assert "<style" not in html


def test_every_other_page_forbids_inline_styles(client: FlaskClient) -> None:
    assert policy(client.get("/no-such-page"))["style-src"] == ["'self'"]
    assert policy(client.get("/api/v1/openapi.json"))["style-src"] == ["'self'"]


@pytest.mark.parametrize("env", ["production", "testing"])
def test_session_cookies_are_secure_outside_development(tmp_path: Path, env: str) -> None:
    from referral.config import load

    environ = {
        "REFERRAL_ENV": env,
        "REFERRAL_SECRET_KEY": "a-long-random-test-value-0123456789",
        "REFERRAL_DATABASE_URL": "postgresql+psycopg://db.example/referrals",
        "REFERRAL_AUDIT_KEY": "a-long-random-audit-key-0123456789abcdef",
    }
    config = load(environ, tmp_path).flask_config()
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert config["PERMANENT_SESSION_LIFETIME"] == timedelta(minutes=30)
    assert config["SESSION_REFRESH_EACH_REQUEST"] is True


def test_development_may_use_plain_http_cookies(tmp_path: Path) -> None:
    from referral.config import load

    config = load({"REFERRAL_ENV": "development"}, tmp_path).flask_config()
    assert config["SESSION_COOKIE_SECURE"] is False
    assert config["PERMANENT_SESSION_LIFETIME"] == timedelta(minutes=30)


def test_an_api_request_with_a_token_neither_reads_nor_sets_the_session_cookie(
    client: FlaskClient, world: World
) -> None:
    from tests.web.pages import sign_in

    sign_in(client, "sw")  # the browser's session, signed in as sw
    assert client.get("/api/v1/referrals").status_code == 200  # the cookie alone serves
    with_token = client.get("/api/v1/approvals", headers=bearer(world.token("teacher", "read")))
    assert with_token.status_code == 200
    assert "Set-Cookie" not in with_token.headers
    assert "Cookie" not in with_token.headers.get("Vary", "")
