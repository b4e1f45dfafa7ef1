"""A child's details belong to the referral's area: a match across areas reveals only that it
exists and where, and a correction changes only the records the corrector can see."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tests.referral.flows import concern_body, create
from tests.referral.test_records import valid_chi

LIST = "/api/v1/referrals"
WD, HL = "west-dunbartonshire", "highland"
KNOWN = {
    "given_name": "Amy",
    "family_name": "Brown",
    "date_of_birth": "2016-04-02",
    "address": "12 Main Street, Dumbarton",
    "school": "Levenvale Primary",
    "sex": "female",
}


def record_in_highland(as_user: Any, **child: Any) -> dict[str, Any]:
    body = concern_body(HL)
    body["child"] = child
    response = as_user("sw.hl").post(LIST, body)
    assert response.status_code == 201, response.get_json()
    created: dict[str, Any] = response.get_json()
    return created


def access_log(as_user: Any, rid: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (
        as_user("auditor").get(f"{LIST}/{rid}/access-log").get_json()["items"]
    )
    return items


def test_a_chi_match_in_another_area_reveals_only_that_it_exists_and_where(as_user: Any) -> None:
    chi = valid_chi()
    known = create(as_user, "pc", **KNOWN, chi_number=chi)
    sent = {"given_name": "Amy", "family_name": "Brown", "date_of_birth": "2016-04-02"}
    highland = record_in_highland(as_user, **sent, chi_number=chi)
    assert highland["child_match"] == {"kind": "chi", "areas": [WD]}
    # the Highland record holds what Highland sent, never West Dunbartonshire's details
    assert highland["child"]["address"] is None
    assert highland["child"]["school"] is None
    assert highland["child"]["sex"] is None
    body = str(highland)
    for secret in (KNOWN["address"], KNOWN["school"], known["id"], known["reference"]):
        assert secret not in body
    # nor does Highland see the West Dunbartonshire referral itself
    assert as_user("sw.hl").get(f"{LIST}/{known['id']}").status_code == 404
    # the matched referral's own access log records that it was matched, and by whom
    matched = [e for e in access_log(as_user, known["id"]) if e["via"] == "match"]
    assert len(matched) == 1
    assert matched[0]["username"] == "sw.hl"
    assert matched[0]["what"] == f"child match (chi) when {highland['reference']} was recorded"


def test_a_name_and_birth_date_match_does_not_leak_the_chi_number_or_address(
    as_user: Any,
) -> None:
    chi = valid_chi()
    known = create(as_user, "pc", **KNOWN, chi_number=chi)
    highland = record_in_highland(
        as_user, given_name="amy", family_name="BROWN", date_of_birth="2016-04-02"
    )
    assert highland["child_match"] == {"kind": "possible", "areas": [WD]}
    assert highland["child"]["chi_number"] is None
    assert chi not in str(highland)
    assert KNOWN["address"] not in str(highland)
    events = as_user("sw.hl").get(f"{LIST}/{highland['id']}/events").get_json()["items"]
    assert chi not in str(events)
    assert KNOWN["address"] not in str(events)
    assert any(e["via"] == "match" for e in access_log(as_user, known["id"]))


def test_a_known_childs_concern_is_numbered_next_and_its_first_event_follows_the_last(
    app: Flask, as_user: Any
) -> None:
    """On PostgreSQL a concern is first written as though its child were new, in a statement
    that writes nothing if the child may be known; it is then recorded matched. Nothing of the
    first try stays: no reference number is skipped, no identity or event is left over."""
    from sqlalchemy import func, select

    from referral import db
    from referral.models import ChildIdentity, Event

    def identities() -> int:
        with app.app_context():
            return db.session().scalar(select(func.count()).select_from(ChildIdentity)) or 0

    first = create(
        as_user, "pc", given_name="Isla", family_name="Moffat", date_of_birth="2014-02-03"
    )
    before = identities()
    again = create(
        as_user, "pc", given_name="ISLA", family_name="moffat", date_of_birth="2014-02-03"
    )
    new = create(as_user, "pc", given_name="Rory", family_name="Moffat", date_of_birth="2016-06-07")
    assert again["child_match"] == {"kind": "possible", "areas": [WD]}
    assert new["child_match"] is None
    numbers = [int(r["reference"].rsplit("-", 1)[1]) for r in (first, again, new)]
    assert numbers == [numbers[0], numbers[0] + 1, numbers[0] + 2]
    assert identities() == before + 1  # Rory's; Isla's second concern took her identity
    with app.app_context():
        created = (
            db.session()
            .scalars(select(Event.referral_id).where(Event.type == "created", Event.id > 0))
            .all()
        )
    assert created.count(again["id"]) == 1
    events = as_user("pc").get(f"{LIST}/{again['id']}/events").get_json()["items"]
    assert [(e["seq"], e["type"]) for e in events] == [(1, "created")]
    assert events[0]["data"]["child_match"] == {"kind": "possible", "areas": [WD]}


def test_a_child_new_to_the_system_has_no_match(as_user: Any) -> None:
    highland = record_in_highland(
        as_user, given_name="Zoe", family_name="Ng", date_of_birth="2019-01-05"
    )
    assert highland["child_match"] is None


def patch(as_user: Any, username: str, rid: str, body: dict[str, Any]) -> Any:
    api = as_user(username)
    etag = api.get(f"{LIST}/{rid}").headers["ETag"]
    return api.patch(f"{LIST}/{rid}", body, headers={"If-Match": etag})


def test_correcting_ones_own_referral_never_changes_another_areas_record(as_user: Any) -> None:
    chi = valid_chi()
    known = create(as_user, "pc", **KNOWN, chi_number=chi)
    before = as_user("pc").get(f"{LIST}/{known['id']}/events").get_json()["items"]
    highland = record_in_highland(
        as_user, given_name="Amy", family_name="Brown", date_of_birth="2016-04-02", chi_number=chi
    )
    response = patch(
        as_user, "sw.hl", highland["id"], {"child": {"family_name": "Smith", "address": "Oban"}}
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["child"]["family_name"] == "Smith"
    wd = as_user("pc").get(f"{LIST}/{known['id']}").get_json()
    assert (wd["child"]["family_name"], wd["child"]["address"]) == ("Brown", KNOWN["address"])
    assert wd["version"] == known["version"]
    after = as_user("pc").get(f"{LIST}/{known['id']}/events").get_json()["items"]
    assert after == before


def test_a_correction_reaches_the_same_childs_referrals_the_corrector_can_see(
    as_user: Any,
) -> None:
    chi = valid_chi()
    first = create(as_user, "pc", **KNOWN, chi_number=chi)
    second = create(as_user, "sw", **KNOWN, chi_number=chi)
    response = patch(as_user, "sw", second["id"], {"child": {"school": "Renton Primary"}})
    assert response.status_code == 200, response.get_json()
    other = as_user("sw").get(f"{LIST}/{first['id']}").get_json()
    assert other["child"]["school"] == "Renton Primary"
    # each referral whose child changed has its own event, saying where the change was made
    own = as_user("sw").get(f"{LIST}/{second['id']}/events").get_json()["items"][-1]
    theirs = as_user("sw").get(f"{LIST}/{first['id']}/events").get_json()["items"][-1]
    change = {"school": {"old": KNOWN["school"], "new": "Renton Primary"}}
    assert (own["type"], own["data"]) == ("child_corrected", {"changes": change})
    assert (theirs["type"], theirs["data"]) == (
        "child_corrected",
        {"changes": change, "corrected_through": second["reference"]},
    )


def test_a_correction_never_reaches_a_referral_the_corrector_cannot_see(as_user: Any) -> None:
    chi = valid_chi()
    # the teacher records one concern (education is on it); the police record another,
    # which the teacher cannot see
    mine = create(as_user, "teacher", **KNOWN, chi_number=chi)
    unseen = create(as_user, "pc", **KNOWN, chi_number=chi)
    assert as_user("teacher").get(f"{LIST}/{unseen['id']}").status_code == 404
    response = patch(as_user, "teacher", mine["id"], {"child": {"address": "3 High Street"}})
    assert response.status_code == 200, response.get_json()
    untouched = as_user("pc").get(f"{LIST}/{unseen['id']}").get_json()
    assert untouched["child"]["address"] == KNOWN["address"]
    assert untouched["version"] == unseen["version"]


def test_matched_and_propagated_records_replay_clean(app: Flask, as_user: Any) -> None:
    """`audit verify` rebuilds every referral's child from its own events, corrections too."""
    from referral.db import session
    from referral.services.audit import verify

    chi = valid_chi()
    first = create(as_user, "pc", **KNOWN, chi_number=chi)
    second = create(as_user, "sw", **KNOWN, chi_number=chi)
    record_in_highland(
        as_user, given_name="Amy", family_name="Brown", chi_number=chi, date_of_birth="2016-04-02"
    )
    assert patch(as_user, "sw", second["id"], {"child": {"school": "Renton"}}).status_code == 200
    assert patch(as_user, "pc", first["id"], {"concern": {"summary": "More."}}).status_code == 200
    with app.app_context():
        checked, problems = verify(session())
    assert checked >= 6
    assert problems == []
