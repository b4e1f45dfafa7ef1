"""Who sees which referral over HTTP (SPEC section 5), token scopes, and the access log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.referral.flows import ATTENDEES, concern_body, create, data, fire, is_problem, walk

CORE_SAME_AREA = ["pc", "pc2", "doc", "sw", "swsup", "polsup", "swsm"]
OTHER_AREA = ["sw.hl", "teacher.hl", "swsup.hl"]


def can_read(api: Any, rid: str) -> bool:
    """Whether `api` sees the referral: one GET, its events, and its presence in the list agree."""
    one = api.get(f"/api/v1/referrals/{rid}")
    events = api.get(f"/api/v1/referrals/{rid}/events")
    listed = api.get("/api/v1/referrals?limit=200")
    assert listed.status_code == 200, listed.get_json()
    in_list = rid in [item["id"] for item in listed.get_json()["items"]]
    assert one.status_code in (200, 404), one.get_json()
    assert events.status_code == one.status_code, events.get_json()
    assert in_list == (one.status_code == 200)
    if one.status_code == 404:
        assert one.mimetype == "application/problem+json"
        assert one.get_json()["status"] == 404
    return bool(one.status_code == 200)


def transition(api: Any, rid: str, trigger: str, **changes: Any) -> Any:
    return api.post(
        f"/api/v1/referrals/{rid}/transitions",
        {"trigger": trigger, "data": data(trigger, **changes)},
    )


# -- areas and core agencies ------------------------------------------------------------------


@pytest.mark.parametrize("username", CORE_SAME_AREA)
def test_core_agency_users_of_the_area_see_the_referral(as_user: Any, username: str) -> None:
    rid = create(as_user, "pc")["id"]
    api = as_user(username)
    assert can_read(api, rid)
    assert api.get(f"/api/v1/referrals/{rid}").get_json()["id"] == rid


def test_core_practitioner_of_the_area_may_fire_a_trigger(as_user: Any) -> None:
    rid = create(as_user, "sw")["id"]
    response = transition(as_user("doc"), rid, "convene_ird")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["state"] == "ird"


@pytest.mark.parametrize("username", OTHER_AREA)
def test_users_of_another_area_get_404_never_403(as_user: Any, username: str) -> None:
    rid = create(as_user, "sw")["id"]
    walk(as_user, rid, "convene_ird")
    api = as_user(username)
    assert not can_read(api, rid)
    for path in ("", "/events", "/access-log"):
        response = api.get(f"/api/v1/referrals/{rid}{path}")
        assert response.status_code == 404, (path, response.get_json())
    assert transition(api, rid, "add_ird_contribution").status_code == 404
    patch = api.patch(
        f"/api/v1/referrals/{rid}",
        {"child": {"family_name": "Smith"}},
        headers={"If-Match": "*"},
    )
    assert patch.status_code == 404
    # nothing they tried reached the record
    seen = as_user("sw").get(f"/api/v1/referrals/{rid}").get_json()
    assert seen["child"]["family_name"] == "Brown"
    assert seen["stages"]["ird"]["contributions"] == []


def test_an_unknown_referral_and_an_invisible_one_answer_alike(as_user: Any) -> None:
    rid = create(as_user, "sw")["id"]
    api = as_user("sw.hl")
    invisible = api.get(f"/api/v1/referrals/{rid}")
    unknown = api.get("/api/v1/referrals/0123456789abcdef0123456789abcdef")
    assert invisible.status_code == unknown.status_code == 404
    assert invisible.get_json()["title"] == unknown.get_json()["title"]


def test_the_list_keeps_each_area_to_itself(as_user: Any) -> None:
    wd = create(as_user, "sw")["id"]
    response = as_user("sw.hl").post("/api/v1/referrals", concern_body("highland"))
    assert response.status_code == 201, response.get_json()
    hl = response.get_json()["id"]
    assert response.get_json()["reference"].startswith("HL-")
    assert can_read(as_user("sw.hl"), hl)
    assert not can_read(as_user("sw.hl"), wd)
    assert can_read(as_user("sw"), wd)
    assert not can_read(as_user("sw"), hl)


# -- non-core agencies ------------------------------------------------------------------------


def test_non_core_agencies_do_not_see_a_fresh_concern(as_user: Any) -> None:
    rid = create(as_user, "pc")["id"]
    for username in ("teacher", "other"):
        api = as_user(username)
        assert not can_read(api, rid)
        assert transition(api, rid, "add_ird_contribution").status_code == 404


def test_an_ird_participant_agency_then_sees_the_referral(as_user: Any) -> None:
    rid = create(as_user, "pc")["id"]
    assert not can_read(as_user("teacher"), rid)
    walk(as_user, rid, "convene_ird")  # participants include education
    teacher = as_user("teacher")
    assert can_read(teacher, rid)
    assert not can_read(as_user("other"), rid)
    assert not can_read(as_user("teacher.hl"), rid)  # same agency, other area
    contribution = transition(teacher, rid, "add_ird_contribution")
    assert contribution.status_code == 200, contribution.get_json()
    assert contribution.get_json()["stages"]["ird"]["contributions"][0]["recorded_by"] == "teacher"


def test_an_ird_without_education_keeps_it_hidden_from_education(as_user: Any) -> None:
    rid = create(as_user, "pc")["id"]
    fire(as_user, rid, "convene_ird", participants=ATTENDEES)
    assert not can_read(as_user("teacher"), rid)


def test_a_contributing_agency_then_sees_the_referral(as_user: Any) -> None:
    rid = create(as_user, "pc")["id"]
    fire(as_user, rid, "convene_ird", participants=ATTENDEES)
    assert not can_read(as_user("other"), rid)
    response = transition(as_user("sw"), rid, "add_ird_contribution", agency="other")
    assert response.status_code == 200, response.get_json()
    assert can_read(as_user("other"), rid)
    event = as_user("sw").get(f"/api/v1/referrals/{rid}/events").get_json()["items"][-1]
    assert event["data"]["_flags"] == {"recorded_on_behalf_of": "other"}


def test_a_police_officer_cannot_open_a_referral_to_another_agency(as_user: Any) -> None:
    """Naming another agency as the contributor would make the referral visible to all of it."""
    rid = create(as_user, "pc")["id"]
    fire(as_user, rid, "convene_ird", participants=ATTENDEES)
    response = transition(as_user("pc"), rid, "add_ird_contribution", agency="education")
    assert "own agency" in is_problem(response, 422)["errors"]["data.agency"][0]
    assert not can_read(as_user("teacher"), rid)
    own = transition(as_user("pc"), rid, "add_ird_contribution", agency="police")
    assert own.status_code == 200, own.get_json()


def test_an_invitee_agency_then_sees_the_referral(as_user: Any) -> None:
    rid = create(as_user, "pc")["id"]
    fire(as_user, rid, "convene_ird", participants=ATTENDEES)
    walk(as_user, rid, "start_investigation")
    assert not can_read(as_user("other"), rid)
    response = fire(
        as_user,
        rid,
        "schedule_case_conference",
        invitees=[{"agency": "other", "name": "Youth worker"}],
    )
    assert response.status_code == 200, response.get_json()
    assert can_read(as_user("other"), rid)
    assert not can_read(as_user("teacher"), rid)


def test_a_core_group_agency_then_sees_the_referral(as_user: Any) -> None:
    rid = create(as_user, "pc")["id"]
    fire(as_user, rid, "convene_ird", participants=ATTENDEES)
    walk(as_user, rid, "start_investigation")
    scheduled = fire(
        as_user, rid, "schedule_case_conference", invitees=[{"agency": "health", "name": "Dr Shah"}]
    )
    assert scheduled.status_code == 200, scheduled.get_json()
    assert not can_read(as_user("other"), rid)
    response = fire(
        as_user, rid, "register", core_group=[{"agency": "other", "name": "Key worker"}]
    )
    assert response.status_code == 200, response.get_json()
    other = as_user("other")
    assert can_read(other, rid)
    core_group = transition(other, rid, "record_core_group")
    assert core_group.status_code == 200, core_group.get_json()


def test_a_referring_agency_sees_its_own_concern(as_user: Any) -> None:
    created = create(as_user, "teacher")
    assert created["referrer_agency"] == "education"
    assert can_read(as_user("teacher"), created["id"])
    assert not can_read(as_user("other"), created["id"])


# -- auditors and administrators --------------------------------------------------------------


def test_auditor_sees_every_referral_of_the_area_but_changes_none(as_user: Any) -> None:
    fresh = create(as_user, "pc")["id"]
    referred = create(as_user, "teacher")["id"]
    hl = as_user("sw.hl").post("/api/v1/referrals", concern_body("highland")).get_json()["id"]
    auditor = as_user("auditor")
    assert can_read(auditor, fresh)
    assert can_read(auditor, referred)
    assert not can_read(auditor, hl)
    body = auditor.get(f"/api/v1/referrals/{fresh}").get_json()
    assert body["allowed_triggers"] == []
    assert as_user("pc").get(f"/api/v1/referrals/{fresh}").get_json()["allowed_triggers"]
    refused = transition(auditor, fresh, "convene_ird")
    assert refused.status_code == 403, refused.get_json()
    patch = auditor.patch(
        f"/api/v1/referrals/{fresh}",
        {"child": {"family_name": "Smith"}},
        headers={"If-Match": "*"},
    )
    assert patch.status_code == 403, patch.get_json()
    assert patch.get_json()["detail"] == "an auditor may not correct a referral"
    created = auditor.post("/api/v1/referrals", concern_body())
    assert created.status_code == 403, created.get_json()
    assert created.get_json()["detail"] == "an auditor may not record a concern"
    after = as_user("pc").get(f"/api/v1/referrals/{fresh}").get_json()
    assert after["state"] == "concern"
    assert after["child"]["family_name"] == "Brown"
    assert after["version"] == body["version"]


def test_admin_sees_no_case_content(as_user: Any) -> None:
    rid = create(as_user, "pc")["id"]
    admin = as_user("admin")
    assert admin.get("/api/v1/referrals").status_code == 403
    assert admin.get(f"/api/v1/referrals/{rid}").status_code == 404
    assert admin.get(f"/api/v1/referrals/{rid}/events").status_code == 404
    assert admin.get(f"/api/v1/referrals/{rid}/access-log").status_code == 404
    assert transition(admin, rid, "convene_ird").status_code == 404
    assert admin.post("/api/v1/referrals", concern_body()).status_code == 403


# -- token scopes -----------------------------------------------------------------------------


def test_read_token_reads_but_never_writes(as_user: Any) -> None:
    rid = create(as_user, "pc")["id"]
    reader = as_user("pc", "read")
    assert can_read(reader, rid)
    etag = reader.get(f"/api/v1/referrals/{rid}").headers["ETag"]
    assert reader.post("/api/v1/referrals", concern_body()).status_code == 403
    patch = reader.patch(
        f"/api/v1/referrals/{rid}", {"child": {"family_name": "Smith"}}, headers={"If-Match": etag}
    )
    assert patch.status_code == 403, patch.get_json()
    assert transition(reader, rid, "convene_ird").status_code == 403
    after = reader.get(f"/api/v1/referrals/{rid}").get_json()
    assert (after["state"], after["child"]["family_name"]) == ("concern", "Brown")
    listed = reader.get("/api/v1/referrals").get_json()["items"]
    assert len(listed) == 1


def test_reports_token_cannot_read_records(as_user: Any) -> None:
    rid = create(as_user, "pc")["id"]
    reports = as_user("pc", "reports")
    for path in (
        "/api/v1/referrals",
        f"/api/v1/referrals/{rid}",
        f"/api/v1/referrals/{rid}/events",
    ):
        response = reports.get(path)
        assert response.status_code == 403, (path, response.get_json())
    assert reports.post("/api/v1/referrals", concern_body()).status_code == 403
    assert transition(reports, rid, "convene_ird").status_code == 403


def test_write_token_reads_and_writes(as_user: Any) -> None:
    writer = as_user("pc", "write")
    created = writer.post("/api/v1/referrals", concern_body())
    assert created.status_code == 201
    rid = created.get_json()["id"]
    assert can_read(writer, rid)
    fired = transition(writer, rid, "convene_ird")
    assert fired.status_code == 200, fired.get_json()
    assert writer.get(f"/api/v1/referrals/{rid}").get_json()["state"] == "ird"


def test_a_session_less_request_is_401(client: Any) -> None:
    assert client.get("/api/v1/referrals").status_code == 401


# -- recording a concern where you may --------------------------------------------------------


def test_a_concern_only_in_your_own_area(as_user: Any) -> None:
    response = as_user("sw.hl").post("/api/v1/referrals", concern_body("west-dunbartonshire"))
    assert response.status_code == 403, response.get_json()
    assert as_user("sw").get("/api/v1/referrals").get_json()["items"] == []


def test_a_concern_in_an_unknown_area_is_422(as_user: Any) -> None:
    response = as_user("sw").post("/api/v1/referrals", concern_body("atlantis"))
    assert response.status_code == 422, response.get_json()
    assert "area" in response.get_json()["errors"]


# -- the access log ---------------------------------------------------------------------------


def access_log(api: Any, rid: str) -> Any:
    return api.get(f"/api/v1/referrals/{rid}/access-log?limit=500")


def test_every_read_is_in_the_access_log(as_user: Any) -> None:
    rid = create(as_user, "pc")["id"]
    before = datetime.now(UTC)
    browser = {"User-Agent": "CaseSystem/2.1"}
    where = {"REMOTE_ADDR": "10.20.30.40"}
    doc = as_user("doc", "read")
    assert (
        doc.get(f"/api/v1/referrals/{rid}", headers=browser, environ_base=where).status_code == 200
    )
    events = doc.get(f"/api/v1/referrals/{rid}/events", headers=browser, environ_base=where)
    assert events.status_code == 200
    after = datetime.now(UTC)

    response = access_log(as_user("swsup"), rid)
    assert response.status_code == 200, response.get_json()
    entries = [e for e in response.get_json()["items"] if e["username"] == "doc"]
    assert [e["what"] for e in entries] == ["referral", "events"]
    for entry in entries:
        assert (entry["agency"], entry["role"], entry["via"]) == ("health", "practitioner", "token")
        assert entry["remote_addr"] == "10.20.30.40"
        assert entry["user_agent"] == "CaseSystem/2.1"
        assert entry["token_prefix"]
        assert as_user("doc", "read").token.startswith(entry["token_prefix"])
        assert before <= datetime.fromisoformat(entry["at"]) <= after


def test_access_log_is_for_supervisors_and_auditors(as_user: Any) -> None:
    rid = create(as_user, "pc")["id"]
    as_user("sw").get(f"/api/v1/referrals/{rid}")
    for username in ("swsup", "auditor"):
        response = access_log(as_user(username), rid)
        assert response.status_code == 200, (username, response.get_json())
        assert "sw" in [e["username"] for e in response.get_json()["items"]]
    for username in ("sw", "pc", "doc"):
        response = access_log(as_user(username), rid)
        assert response.status_code == 403, (username, response.get_json())
    assert access_log(as_user("swsup.hl"), rid).status_code == 404


def test_reading_the_access_log_is_itself_logged(as_user: Any) -> None:
    rid = create(as_user, "pc")["id"]
    first = access_log(as_user("auditor"), rid).get_json()["items"]
    assert [(e["username"], e["what"]) for e in first] == [
        ("pc", "referral (created)"),  # the creator was shown the whole record
        ("auditor", "access-log"),
    ]
    second = access_log(as_user("swsup"), rid).get_json()["items"]
    assert [(e["username"], e["what"]) for e in second] == [
        ("pc", "referral (created)"),
        ("auditor", "access-log"),
        ("swsup", "access-log"),
    ]


def test_a_refused_or_invisible_read_leaves_the_log_clean_of_content(as_user: Any) -> None:
    rid = create(as_user, "pc")["id"]
    assert as_user("sw.hl").get(f"/api/v1/referrals/{rid}").status_code == 404
    assert as_user("pc", "reports").get(f"/api/v1/referrals/{rid}").status_code == 403
    entries = access_log(as_user("swsup"), rid).get_json()["items"]
    assert [(e["username"], e["what"]) for e in entries if e["username"] != "swsup"] == [
        ("pc", "referral (created)")
    ]


def test_every_response_showing_the_referral_is_logged(as_user: Any) -> None:
    rid = create(as_user, "pc")["id"]
    fire(as_user, rid, "convene_ird")
    etag = as_user("sw").get(f"/api/v1/referrals/{rid}").headers["ETag"]
    patched = as_user("sw").patch(
        f"/api/v1/referrals/{rid}", {"child": {"school": "St Mary's"}}, headers={"If-Match": etag}
    )
    assert patched.status_code == 200
    entries = access_log(as_user("swsup"), rid).get_json()["items"]
    assert [(e["username"], e["what"]) for e in entries][:4] == [
        ("pc", "referral (created)"),
        ("pc", "referral (convene_ird)"),
        ("sw", "referral"),
        ("sw", "referral (corrected)"),
    ]
