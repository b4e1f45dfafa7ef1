"""The admin pages (SPEC section 7): users, areas and tokens, for administrators only; every
change audited in admin_events; a disabled user or a new password ends every session and token
at once (section 5); no case content on any admin page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text
from werkzeug.datastructures import MultiDict

from referral import db
from referral.models import AdminEvent, ApiToken, User
from tests.conftest import PASSWORD, Api, World
from tests.referral.flows import create
from tests.web.pages import csrf_token, outline, sign_in

NEW_PASSWORD = "a brand new passphrase"
ADMIN_PAGES = ("/admin/users", "/admin/users/sw", "/admin/areas", "/admin/tokens")


def _admin(client: FlaskClient) -> FlaskClient:
    assert sign_in(client, "admin").status_code == 303
    return client


def _post(client: FlaskClient, path: str, fields: list[tuple[str, str]]) -> Any:
    token = csrf_token(client, "/admin/users")
    return client.post(path, data=MultiDict([("csrf_token", token), *fields]))


def _all(app: Flask, query: Any) -> list[Any]:
    with app.app_context():
        session = db.session()
        found = list(session.scalars(query))
        session.expunge_all()  # readable after the context's rollback
        return found


def _events(app: Flask, target: str) -> list[Any]:
    """What the admin (not the fixtures' commands) changed on `target`, oldest first."""
    query = (
        select(AdminEvent.actor, AdminEvent.action, AdminEvent.details)
        .where(AdminEvent.target == target, AdminEvent.actor == "admin")
        .order_by(AdminEvent.id)
    )
    with app.app_context():
        return list(db.session().execute(query))


def _active(app: Flask, username: str) -> bool:
    (user,) = _all(app, select(User).where(User.username == username))
    return bool(user.active)


def _create_user(client: FlaskClient, username: str = "newbie", **extra: str) -> Any:
    fields = {
        "username": username,
        "display_name": "New Worker",
        "agency": "social_work",
        "role": "practitioner",
        "password": PASSWORD,
        **extra,
    }
    return _post(client, "/admin/users", [*fields.items(), ("areas", "west-dunbartonshire")])


def _token(client: FlaskClient, username: str, scope: str = "read") -> str:
    response = _post(client, "/admin/tokens", [("username", username), ("scope", scope)])
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    found = re.search(r'<code id="new-token">(rfl_[A-Za-z0-9_-]+)</code>', page)
    assert found, "the new token is shown once"
    return found.group(1)


def test_an_admin_creates_a_user_who_then_signs_in(client: FlaskClient, app: Flask) -> None:
    _admin(client)
    created = _create_user(client)
    assert created.status_code == 303
    assert created.headers["Location"] == "/admin/users/newbie"
    page = client.get("/admin/users/newbie").get_data(as_text=True)
    assert "User newbie created" in page
    assert "New Worker" in page
    listing = client.get("/admin/users").get_data(as_text=True)
    assert 'href="/admin/users/newbie"' in listing
    assert PASSWORD not in listing
    assert PASSWORD not in page

    other = app.test_client()
    assert sign_in(other, "newbie").status_code == 303
    assert "Signed in as" in other.get("/").get_data(as_text=True)

    (event,) = _events(app, "newbie")
    assert (event.actor, event.action) == ("admin", "user_created")
    assert event.details == {
        "agency": "social_work",
        "role": "practitioner",
        "areas": ["west-dunbartonshire"],
        "display_name": "New Worker",
    }
    assert PASSWORD not in str(event.details)


def test_bad_input_shows_the_error_summary_and_keeps_no_password(
    client: FlaskClient, app: Flask
) -> None:
    _admin(client)
    empty = _post(client, "/admin/users", [("username", "")])
    assert empty.status_code == 422
    page = empty.get_data(as_text=True)
    assert "govuk-error-summary" in page
    for anchor in ("#username", "#agency", "#role", "#areas", "#password"):
        assert f'href="{anchor}"' in page
    assert outline(page).titles[0].startswith("Error: Users")

    taken = _create_user(client, "sw")
    assert taken.status_code == 422
    assert "User &#39;sw&#39; already exists" in taken.get_data(as_text=True)
    short = _create_user(client, "shorty", password="too short")
    body = short.get_data(as_text=True)
    assert short.status_code == 422
    assert "The password must be at least 12 characters" in body
    assert "too short" not in body  # never echoed back
    assert _events(app, "shorty") == []
    assert _all(app, select(User).where(User.username == "shorty")) == []


def test_disabling_ends_the_session_and_every_token(
    client: FlaskClient, app: Flask, world: World
) -> None:
    user_client = app.test_client()
    assert sign_in(user_client, "sw2").status_code == 303
    api = Api(user_client, world.token("sw2", "read"))
    assert api.get("/api/v1/referrals").status_code == 200

    _admin(client)
    disabled = _post(client, "/admin/users/sw2/disable", [])
    assert disabled.status_code == 303
    assert "sw2 is disabled" in client.get("/admin/users/sw2").get_data(as_text=True)

    assert user_client.get("/").status_code == 302  # back to sign-in: the session is over
    assert api.get("/api/v1/referrals").status_code == 401
    assert sign_in(user_client, "sw2").status_code == 200  # cannot sign in again
    live = select(ApiToken).join(User).where(User.username == "sw2", ApiToken.revoked_at.is_(None))
    assert _all(app, live) == []

    (event,) = _events(app, "sw2")
    assert (event.actor, event.action) == ("admin", "user_disabled")
    assert len(event.details["tokens_revoked"]) == 3  # read, reports and write

    enabled = _post(client, "/admin/users/sw2/enable", [])
    assert enabled.status_code == 303
    assert user_client.get("/").status_code == 302  # the old session stays over
    assert sign_in(user_client, "sw2").status_code == 303
    assert api.get("/api/v1/referrals").status_code == 401  # revoked tokens stay revoked
    assert [e.action for e in _events(app, "sw2")] == ["user_disabled", "user_enabled"]


def test_an_admin_cannot_disable_themselves(client: FlaskClient, app: Flask) -> None:
    _admin(client)
    refused = _post(client, "/admin/users/admin/disable", [])
    assert refused.status_code == 409
    assert "You cannot disable your own account" in refused.get_data(as_text=True)
    assert client.get("/admin/users").status_code == 200  # still signed in, still admin
    assert _events(app, "admin") == []


def test_a_password_reset_ends_sessions_and_revokes_tokens(
    client: FlaskClient, app: Flask, world: World
) -> None:
    user_client = app.test_client()
    assert sign_in(user_client, "pc2").status_code == 303
    api = Api(user_client, world.token("pc2", "write"))
    assert api.get("/api/v1/referrals").status_code == 200

    _admin(client)
    short = _post(client, "/admin/users/pc2/password", [("password", "short")])
    assert short.status_code == 422
    assert 'href="#password"' in short.get_data(as_text=True)
    assert user_client.get("/").status_code == 200  # nothing changed yet

    reset = _post(client, "/admin/users/pc2/password", [("password", NEW_PASSWORD)])
    assert reset.status_code == 303
    assert user_client.get("/").status_code == 302
    assert api.get("/api/v1/referrals").status_code == 401
    assert sign_in(user_client, "pc2").status_code == 200  # the old password is refused
    assert sign_in(user_client, "pc2", NEW_PASSWORD).status_code == 303

    (event,) = _events(app, "pc2")
    assert (event.actor, event.action) == ("admin", "password_reset")
    assert len(event.details["tokens_revoked"]) == 3
    assert NEW_PASSWORD not in str(event.details)


def test_changing_role_and_areas_applies_at_once_and_is_audited(
    client: FlaskClient, app: Flask
) -> None:
    user_client = app.test_client()
    sign_in(user_client, "teacher.hl")
    _admin(client)
    changed = _post(
        client,
        "/admin/users/teacher.hl/role",
        [
            ("form", "role"),
            ("role", "supervisor"),
            ("areas", "highland"),
            ("areas", "west-dunbartonshire"),
        ],
    )
    assert changed.status_code == 303
    page = client.get("/admin/users/teacher.hl").get_data(as_text=True)
    assert "The role and areas of teacher.hl are changed" in page
    home = user_client.get("/").get_data(as_text=True)  # still signed in, with the new role
    assert "Supervisor" in home
    assert "West Dunbartonshire" in home

    (event,) = _events(app, "teacher.hl")
    assert event.action == "user_changed"
    assert event.details == {
        "from": {"role": "practitioner", "areas": ["highland"]},
        "to": {"role": "supervisor", "areas": ["highland", "west-dunbartonshire"]},
    }
    none = _post(client, "/admin/users/teacher.hl/role", [("form", "role"), ("role", "")])
    assert none.status_code == 422
    assert 'href="#role"' in none.get_data(as_text=True)
    assert 'href="#areas"' in none.get_data(as_text=True)


def test_areas_are_listed_and_added(client: FlaskClient, app: Flask) -> None:
    _admin(client)
    page = client.get("/admin/areas").get_data(as_text=True)
    assert "Highland" in page
    assert "HL" in page
    added = _post(client, "/admin/areas", [("name", "Fife"), ("slug", "fife"), ("prefix", "FF")])
    assert added.status_code == 303
    assert "Fife" in client.get("/admin/areas").get_data(as_text=True)
    (event,) = _events(app, "fife")
    assert (event.actor, event.action) == ("admin", "area_added")
    assert event.details == {"name": "Fife", "prefix": "FF"}

    again = _post(client, "/admin/areas", [("name", "Fife 2"), ("slug", "fife2"), ("prefix", "FF")])
    assert again.status_code == 422
    assert 'href="#prefix"' in again.get_data(as_text=True)
    assert "Prefix &#39;FF&#39; is already used" in again.get_data(as_text=True)


def test_tokens_are_created_once_shown_listed_and_revoked(client: FlaskClient, app: Flask) -> None:
    _admin(client)
    raw = _token(client, "doc", "read")
    api = Api(app.test_client(), raw)
    assert api.get("/api/v1/referrals").status_code == 200
    listing = client.get("/admin/tokens").get_data(as_text=True)
    assert raw not in listing  # shown once only
    assert raw[:12] in listing

    (token,) = _all(app, select(ApiToken).where(ApiToken.prefix == raw[:12]))
    revoked = _post(client, f"/admin/tokens/{token.id}/revoke", [])
    assert revoked.status_code == 303
    assert api.get("/api/v1/referrals").status_code == 401
    again = _post(client, f"/admin/tokens/{token.id}/revoke", [])
    assert again.status_code == 409

    actions = [(e.action, e.details["prefix"]) for e in _events(app, "doc")]
    assert actions == [("token_created", raw[:12]), ("token_revoked", raw[:12])]

    bad = _post(client, "/admin/tokens", [("username", ""), ("expires", "0")])
    assert bad.status_code == 422
    for anchor in ("#username", "#scope", "#expires"):
        assert f'href="{anchor}"' in bad.get_data(as_text=True)


@pytest.mark.parametrize("username", ["sw", "swsup", "auditor"])
def test_no_one_else_gets_an_admin_page(client: FlaskClient, app: Flask, username: str) -> None:
    sign_in(client, username)
    for path in ADMIN_PAGES:
        assert client.get(path).status_code == 403, path
    token = csrf_token(client, "/")
    refused = client.post("/admin/users/pc/disable", data={"csrf_token": token})
    assert refused.status_code == 403
    assert _active(app, "pc")
    assert "/admin/users" not in client.get("/").get_data(as_text=True)


def test_a_stranger_is_sent_to_sign_in_and_a_form_needs_csrf(
    client: FlaskClient, app: Flask
) -> None:
    assert client.get("/admin/users").status_code == 302
    _admin(client)
    refused = client.post("/admin/users/pc/disable")
    assert refused.status_code == 400
    assert _active(app, "pc")


def test_admin_pages_show_no_case_content(client: FlaskClient, as_user: Any) -> None:
    create(as_user, given_name="Zebedee", family_name="Quartermaine")
    _admin(client)
    home = client.get("/").get_data(as_text=True)
    for path in ("/admin/users", "/admin/areas", "/admin/tokens"):
        assert f'href="{path}"' in home
    for path in (*ADMIN_PAGES, "/admin/users/pc"):
        response = client.get(path)
        assert response.status_code == 200, path
        page = response.get_data(as_text=True)
        assert "Zebedee" not in page, path
        assert "Quartermaine" not in page, path
        assert "Bruising" not in page, path
        assert "/referrals" not in page, path
        parsed = outline(page)
        assert parsed.h1s == 1, path
        assert len(parsed.titles) == 1, path
        assert parsed.skip_links == 1, path
        assert response.headers["Cache-Control"] == "no-store"


def test_admin_events_are_append_only(client: FlaskClient, db_connection: Any) -> None:
    _admin(client)
    _post(client, "/admin/areas", [("name", "Fife"), ("slug", "fife"), ("prefix", "FF")])
    connection = db_connection
    for statement in ("UPDATE admin_events SET actor = 'someone'", "DELETE FROM admin_events"):
        nested = connection.begin_nested()
        with pytest.raises(Exception, match="append-only"):
            connection.execute(text(statement))
        nested.rollback()


def test_the_app_role_may_only_add_and_read_admin_events() -> None:
    from referral.dbgrants import privileges_for

    assert privileges_for("admin_events") == privileges_for("events") == "SELECT, INSERT"


def test_changes_made_by_the_commands_are_audited_too(app: Flask, db_connection: Any) -> None:
    query = select(AdminEvent.action).where(
        AdminEvent.target == "sw", AdminEvent.actor == "(command line)"
    )
    with app.app_context():
        actions = list(db.session().scalars(query.order_by(AdminEvent.id)))
    assert actions == ["user_created", "token_created", "token_created", "token_created"]


def test_the_tokens_list_pages_newest_first(client: FlaskClient, app: Flask) -> None:
    _admin(client)
    newest = _token(client, "doc", "read")[:12]
    every = [t.prefix for t in _all(app, select(ApiToken).order_by(ApiToken.id.desc()))]
    assert every[0] == newest
    assert len(every) > 40
    seen: list[str] = []
    path: str | None = "/admin/tokens?limit=20"
    while path is not None:
        response = client.get(path)
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert outline(page).h1s == 1
        rows = re.findall(r"<td class=\"govuk-table__cell\"><code>([^<]+)</code></td>", page)
        assert 0 < len(rows) <= 20
        seen += rows
        following = re.search(r'href="([^"]+)" rel="next"', page)
        path = following.group(1).replace("&amp;", "&") if following else None
        if path is not None:
            assert "limit=20" in path  # the page size is kept
    assert seen == every  # every token once, newest first
    assert 'rel="prev"' in page  # back to the newest from a later page

    bad = client.get("/admin/tokens?cursor=abc")
    assert bad.status_code == 400
    assert 'href="#tokens"' in bad.get_data(as_text=True)
