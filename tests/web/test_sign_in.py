"""Signing in and out of the pages; CSRF; sessions end when the password changes or the user
is disabled (SPEC sections 5 and 7)."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

from referral import db
from referral.auth import hash_password
from referral.models import User
from tests.web.pages import csrf_token, outline, sign_in


def test_a_page_sends_a_stranger_to_sign_in(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")


def test_signing_in_and_out(client: FlaskClient) -> None:
    response = sign_in(client, "sw")
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "Expires=" in cookie  # a permanent session: it ends after 30 minutes idle
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    home = client.get("/")
    assert home.status_code == 200
    page = home.get_data(as_text=True)
    assert "Signed in as" in page
    assert "Social work" in page
    assert "West Dunbartonshire" in page
    token = csrf_token(client, "/")
    out = client.post("/sign-out", data={"csrf_token": token})
    assert out.status_code == 303
    assert client.get("/").status_code == 302


def test_a_wrong_password_shows_the_error_summary(client: FlaskClient) -> None:
    response = sign_in(client, "sw", "not the password")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "govuk-error-summary" in page
    assert 'href="#username"' in page
    assert "Enter a correct username and password" in page
    assert outline(page).titles[0].startswith("Error: Sign in")
    # an unknown user gets the same words
    other = sign_in(client, "nobody", "not the password").get_data(as_text=True)
    assert "Enter a correct username and password" in other


def test_sign_in_failures_are_throttled(client: FlaskClient) -> None:
    statuses = [sign_in(client, "sw", "wrong password").status_code for _ in range(21)]
    assert statuses[:20] == [200] * 20
    assert statuses[20] == 429
    limited = sign_in(client, "sw")  # even the right password, from this address, for now
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0


def test_next_goes_only_to_a_local_path(client: FlaskClient) -> None:
    token = csrf_token(client)
    for target, expected in (
        ("/referrals/abc", "/referrals/abc"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
    ):
        client.post("/sign-out", data={"csrf_token": token})
        token = csrf_token(client)
        response = client.post(
            "/sign-in",
            data={
                "username": "sw",
                "password": "correct horse battery",
                "csrf_token": token,
                "next": target,
            },
        )
        assert response.headers["Location"] == expected, target
        token = csrf_token(client, "/")


def test_a_post_without_a_csrf_token_is_refused(client: FlaskClient) -> None:
    response = client.post("/sign-in", data={"username": "sw", "password": "x" * 20})
    assert response.status_code == 400
    assert "could not be sent" in response.get_data(as_text=True)
    sign_in(client, "sw")
    assert client.post("/sign-out").status_code == 400
    assert client.get("/").status_code == 200  # still signed in


def test_the_api_needs_no_csrf_token(as_user: Any) -> None:
    from tests.referral.flows import concern_body

    response = as_user("pc").post("/api/v1/referrals", concern_body())
    assert response.status_code == 201


def test_a_password_change_ends_every_session(client: FlaskClient, app: Any) -> None:
    sign_in(client, "sw")
    assert client.get("/").status_code == 200
    with app.app_context():
        session = db.session()
        user = session.query(User).filter_by(username="sw").one()
        user.password_hash = hash_password("a brand new password")
        session.flush()
        db.commit()
    assert client.get("/").status_code == 302
    assert client.get("/api/v1/referrals").status_code == 401


def test_disabling_a_user_ends_their_session(client: FlaskClient, app: Any) -> None:
    sign_in(client, "sw")
    with app.app_context():
        session = db.session()
        session.query(User).filter_by(username="sw").one().active = False
        db.commit()
    assert client.get("/").status_code == 302


def test_sign_in_page_outline(client: FlaskClient) -> None:
    page = outline(client.get("/sign-in").get_data(as_text=True))
    assert page.titles == ["Sign in – Interagency referral record"]
    assert page.h1s == 1
    assert page.skip_links == 1
    assert page.main_ids == ["main-content"]


def test_the_pinned_assets_are_served(client: FlaskClient) -> None:
    for path in (
        "/static/govuk-frontend/govuk-frontend.min.css",
        "/static/govuk-frontend/govuk-frontend.min.js",
        "/static/app.js",
    ):
        with client.get(path) as response:
            assert response.status_code == 200, path
            if path.endswith(".css"):
                assert b"GDS Transport" not in response.data


def test_pages_carry_the_security_headers(client: FlaskClient) -> None:
    sign_in(client, "sw")
    response = client.get("/")
    assert response.headers["Cache-Control"] == "no-store"
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "<script>" not in response.get_data(as_text=True)  # no inline script at all


def test_every_form_refuses_a_post_without_its_csrf_token(client: FlaskClient) -> None:
    sign_in(client, "pc")
    for path in (
        "/sign-out",
        "/referrals/new",
        f"/referrals/{'0' * 32}/convene_ird",
        f"/approvals/{'0' * 32}",
    ):
        assert client.post(path, data={"reason": "x"}).status_code == 400, path


def test_a_session_lasts_30_minutes_from_the_last_request(client: FlaskClient) -> None:
    from datetime import UTC, datetime, timedelta
    from email.utils import parsedate_to_datetime

    sign_in(client, "sw")
    cookie = client.get("/").headers["Set-Cookie"]  # refreshed on every request
    expires = parsedate_to_datetime(cookie.split("Expires=")[1].split(";")[0])
    left = expires - datetime.now(UTC)
    assert timedelta(minutes=29) < left <= timedelta(minutes=30)


def test_pages_name_their_own_icon(client: FlaskClient) -> None:
    """Without one, a browser asks for /favicon.ico, which is not found, on every page."""
    page = client.get("/sign-in").get_data(as_text=True)
    icon = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page)
    assert icon is not None
    served = client.get(icon.group(1))
    assert served.status_code == 200
    assert served.mimetype == "image/svg+xml"
    served.close()
