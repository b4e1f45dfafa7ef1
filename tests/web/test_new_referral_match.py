"""Recording a concern for a child already known (SPEC 5 and 7): the page warns before saving,
showing only that a match exists and which area holds it, keeps what was typed, and saves
when the user confirms."""

from __future__ import annotations

import html
from typing import Any

from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from tests.referral.flows import concern_body
from tests.referral.test_records import valid_chi
from tests.web.pages import form_fields, hidden_fields, outline, sign_in

HIGHLAND_DETAILS = {"address": "4 Shore Road, Wick", "school": "Wick North Primary"}


def _known_in_highland(as_user: Any, **child: Any) -> dict[str, Any]:
    body = concern_body("highland", **child, **HIGHLAND_DETAILS)
    response = as_user("sw.hl").post("/api/v1/referrals", body)
    assert response.status_code == 201, response.get_json()
    created: dict[str, Any] = response.get_json()
    return created


def _matched_reads(as_user: Any, rid: str) -> list[dict[str, Any]]:
    log = as_user("swsup.hl").get(f"/api/v1/referrals/{rid}/access-log").get_json()["items"]
    return [e for e in log if e["via"] == "match"]


def _send(client: FlaskClient, page: str, fields: list[tuple[str, str]]) -> Any:
    return client.post("/referrals/new", data=MultiDict([*hidden_fields(page).items(), *fields]))


def _recorded(as_user: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = as_user("pc").get("/api/v1/referrals").get_json()["items"]
    return items


def test_a_known_child_is_shown_before_saving_and_saved_when_confirmed(
    client: FlaskClient, as_user: Any
) -> None:
    chi = valid_chi()
    known = _known_in_highland(as_user, chi_number=chi)
    sign_in(client, "pc")
    body = concern_body(chi_number=chi, given_name="Aimee")
    page = client.get("/referrals/new").get_data(as_text=True)
    warned = _send(client, page, form_fields(body))
    assert warned.status_code == 200
    shown = warned.get_data(as_text=True)
    assert outline(shown).h1s == 1
    assert "A child with the same CHI number is already known in Highland." in shown
    # only that it exists and where: nothing of Highland's record or referral
    for secret in (*HIGHLAND_DETAILS.values(), known["reference"], known["id"]):
        assert secret not in shown
    # nothing saved yet; everything typed is still on the form
    assert _recorded(as_user) == []
    assert 'value="Aimee"' in shown
    assert f'value="{chi}"' in shown
    assert "Bruising seen at school" in shown
    # showing the match disclosed it: the matched referral's access log says so
    reads = _matched_reads(as_user, known["id"])
    assert [(e["username"], e["what"]) for e in reads] == [
        ("pc", "child match (chi) shown before a concern was recorded")
    ]

    confirmed = _send(client, shown, form_fields(body))
    assert confirmed.status_code == 303, confirmed.get_data(as_text=True)[:2000]
    [saved] = _recorded(as_user)
    detail = as_user("pc").get(f"/api/v1/referrals/{saved['id']}").get_json()
    assert detail["child_match"] == {"kind": "chi", "areas": ["highland"]}
    assert detail["child"]["given_name"] == "Aimee"
    reads = _matched_reads(as_user, known["id"])
    assert [e["what"] for e in reads][1:] == [
        f"child match (chi) when {saved['reference']} was recorded"
    ]


def test_a_possible_match_warns_and_a_new_child_saves_at_once(
    client: FlaskClient, as_user: Any
) -> None:
    _known_in_highland(as_user)  # Amy Brown, born 2 April 2016, no CHI number
    sign_in(client, "pc")
    page = client.get("/referrals/new").get_data(as_text=True)
    warned = _send(client, page, form_fields(concern_body(given_name="AMY")))
    assert warned.status_code == 200
    assert "same name and date of birth is already known in Highland" in warned.get_data(
        as_text=True
    )
    assert _recorded(as_user) == []
    # another child: no warning, saved on the first submit
    fresh = _send(client, page, form_fields(concern_body(given_name="Zoe")))
    assert fresh.status_code == 303
    assert len(_recorded(as_user)) == 1


def test_errors_come_before_the_match_warning(client: FlaskClient, as_user: Any) -> None:
    known = _known_in_highland(as_user)
    sign_in(client, "pc")
    page = client.get("/referrals/new").get_data(as_text=True)
    body = concern_body()
    del body["concern"]["summary"]
    response = _send(client, page, form_fields(body))
    assert response.status_code == 422
    assert "already known" not in response.get_data(as_text=True)
    assert _matched_reads(as_user, known["id"]) == []


def test_an_empty_form_names_each_missing_field(client: FlaskClient, as_user: Any) -> None:
    """Sent empty, the form says which of the child's and the concern's fields are needed,
    not only that 'the child' and 'the concern' are."""
    sign_in(client, "pc")
    page = client.get("/referrals/new").get_data(as_text=True)
    response = _send(client, page, [])
    assert response.status_code == 422
    text = html.unescape(response.get_data(as_text=True))
    for needed in ("Given name is required", "What was reported is required"):
        assert needed in text, needed
    assert "The child is required" not in text
    assert "date of birth or, for an unborn baby, the expected date of delivery" in text
    assert _recorded(as_user) == []


def test_brothers_and_sisters_are_named_by_reference(client: FlaskClient, as_user: Any) -> None:
    """People know referrals by reference, not by id: the form takes references (any case)
    and each referral then lists the other; one nobody here can see is refused."""
    sister = as_user("pc").post("/api/v1/referrals", concern_body(given_name="Ella"))
    assert sister.status_code == 201, sister.get_json()
    reference = sister.get_json()["reference"]
    sign_in(client, "pc")
    page = client.get("/referrals/new").get_data(as_text=True)
    body = concern_body(given_name="Rory")
    unseen = _send(client, page, [*form_fields(body), ("related_referrals", "WD-1999-99999")])
    assert unseen.status_code == 422
    assert "is not a referral you can see" in html.unescape(unseen.get_data(as_text=True))
    named = [*form_fields(body), ("related_referrals", reference.lower())]
    response = _send(client, page, named)
    assert response.status_code == 303, response.get_data(as_text=True)
    rid = response.headers["Location"].rsplit("/", 1)[-1]
    brother = as_user("pc").get(f"/api/v1/referrals/{rid}").get_json()
    assert [r["reference"] for r in brother["related_referrals"]] == [reference]
    listed = as_user("pc").get(f"/api/v1/referrals/{sister.get_json()['id']}").get_json()
    assert [r["id"] for r in listed["related_referrals"]] == [rid]
