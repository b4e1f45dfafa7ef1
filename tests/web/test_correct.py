"""The "correct details" page (SPEC section 7): the child's and the concern's details, with a
reason, through the service the API's PATCH uses, with its If-Match stale check."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from tests.referral.flows import concern_body, create
from tests.web.pages import form_fields, hidden_fields, outline, sign_in


def _open(client: FlaskClient, rid: str) -> str:
    response = client.get(f"/referrals/{rid}/correct")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _send(client: FlaskClient, rid: str, page: str, reason: str, **child: str) -> Any:
    body = concern_body()
    body["child"].update(child)
    fields = form_fields({"child": body["child"], "concern": body["concern"]})
    return client.post(
        f"/referrals/{rid}/correct",
        data=MultiDict([*hidden_fields(page).items(), *fields, ("reason", reason)]),
    )


def _events(as_user: Any, rid: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (
        as_user("pc").get(f"/api/v1/referrals/{rid}/events").get_json()["items"]
    )
    return items


def test_a_writer_corrects_the_child_with_a_reason(client: FlaskClient, as_user: Any) -> None:
    rid = create(as_user)["id"]
    sign_in(client, "pc")
    referral_page = client.get(f"/referrals/{rid}").get_data(as_text=True)
    assert f'href="/referrals/{rid}/correct"' in referral_page
    page = _open(client, rid)
    parsed = outline(page)
    assert parsed.h1s == 1
    assert parsed.titles[0].startswith("Correct details")
    assert 'value="Amy"' in page  # filled with what the referral holds

    sent = _send(client, rid, page, "Spelling confirmed by the school", given_name="Aimee")
    assert sent.status_code == 303
    assert sent.headers["Location"] == f"/referrals/{rid}"
    child = as_user("pc").get(f"/api/v1/referrals/{rid}").get_json()["child"]
    assert child["given_name"] == "Aimee"
    corrected = [e for e in _events(as_user, rid) if e["type"] == "child_corrected"]
    assert len(corrected) == 1
    assert corrected[0]["reason"] == "Spelling confirmed by the school"
    assert corrected[0]["data"]["changes"] == {"given_name": {"old": "Amy", "new": "Aimee"}}


def test_no_change_or_no_reason_shows_the_error_summary(client: FlaskClient, as_user: Any) -> None:
    rid = create(as_user)["id"]
    sign_in(client, "pc")
    page = _open(client, rid)
    nothing = _send(client, rid, page, "")
    assert nothing.status_code == 422
    body = nothing.get_data(as_text=True)
    assert "govuk-error-summary" in body
    assert 'href="#reason"' in body
    assert "Change at least one detail" in body
    invalid = _send(client, rid, page, "typo", date_of_birth="2099-01-01")
    assert invalid.status_code == 422
    assert 'href="#child-date_of_birth-day"' in invalid.get_data(as_text=True)
    assert [e["type"] for e in _events(as_user, rid)] == ["created"]


def test_a_stale_form_says_someone_changed_the_referral(client: FlaskClient, as_user: Any) -> None:
    rid = create(as_user)["id"]
    sign_in(client, "pc")
    page = _open(client, rid)
    first = _send(client, rid, page, "first", family_name="Browne")
    assert first.status_code == 303
    stale = _send(client, rid, page, "second", given_name="Aimee")
    assert stale.status_code == 412
    assert "Someone changed this referral" in stale.get_data(as_text=True)
    child = as_user("pc").get(f"/api/v1/referrals/{rid}").get_json()["child"]
    assert (child["given_name"], child["family_name"]) == ("Amy", "Browne")


def test_only_writers_who_see_it_may_correct(client: FlaskClient, app: Flask, as_user: Any) -> None:
    rid = create(as_user)["id"]
    sign_in(client, "auditor")
    assert client.get(f"/referrals/{rid}/correct").status_code == 403
    admin = app.test_client()
    sign_in(admin, "admin")
    assert admin.get(f"/referrals/{rid}/correct").status_code == 404


def _send_without(client: FlaskClient, rid: str, page: str, reason: str, *cleared: str) -> Any:
    """The form as it was filled, with the `cleared` child fields emptied."""
    body = concern_body(address="12 Main Street, Dumbarton", school="Levenvale Primary")
    for name in cleared:
        del body["child"][name]
    fields = form_fields({"child": body["child"], "concern": body["concern"]})
    return client.post(
        f"/referrals/{rid}/correct",
        data=MultiDict([*hidden_fields(page).items(), *fields, ("reason", reason)]),
    )


def test_an_optional_detail_can_be_cleared_but_a_required_one_cannot(
    client: FlaskClient, as_user: Any
) -> None:
    rid = create(as_user, address="12 Main Street, Dumbarton", school="Levenvale Primary")["id"]
    sign_in(client, "pc")
    page = _open(client, rid)
    assert "12 Main Street, Dumbarton" in page  # filled in, to be emptied
    required = _send_without(client, rid, page, "Wrong name", "family_name")
    assert required.status_code == 422
    assert 'href="#child-family_name"' in required.get_data(as_text=True)
    assert [e["type"] for e in _events(as_user, rid)] == ["created"]

    cleared = _send_without(client, rid, page, "The family moved; address not known", "address")
    assert cleared.status_code == 303, cleared.get_data(as_text=True)[:3000]
    child = as_user("pc").get(f"/api/v1/referrals/{rid}").get_json()["child"]
    assert child["address"] is None
    assert child["school"] == "Levenvale Primary"
    corrected = [e for e in _events(as_user, rid) if e["type"] == "child_corrected"]
    assert corrected[0]["data"]["changes"] == {
        "address": {"old": "12 Main Street, Dumbarton", "new": None}
    }
    assert "12 Main Street" not in _open(client, rid)  # the form shows it empty now
