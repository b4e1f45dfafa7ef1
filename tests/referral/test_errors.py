"""Every error status of SPEC section 6 as RFC 9457 problem details; hostile input never 500s."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.referral.flows import concern_body, create, data, is_problem, walk

PROBLEM = "application/problem+json"


def bearer(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def fire(as_user: Any, rid: str, trigger: str, by: str, **kw: Any) -> Any:
    body = {"trigger": trigger, "data": data(trigger)}
    return as_user(by).post(f"/api/v1/referrals/{rid}/transitions", body, **kw)


def cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


def make_token(app: Flask, username: str, *, expired: bool = False) -> str:
    """A fresh token, written into the test's outer transaction (rolled back afterwards)."""
    from referral import db
    from referral.models.types import utcnow
    from referral.services.people import create_token

    with app.app_context():
        now = utcnow()
        if expired:
            raw = create_token(db.session(), username, "write", now - timedelta(days=2), 1)
        else:
            raw = create_token(db.session(), username, "write", now, 1)
        db.commit()
    return raw


def revoke(app: Flask, token: str) -> None:
    from referral import db
    from referral.models.types import utcnow
    from referral.services.people import revoke_tokens

    with app.app_context():
        assert revoke_tokens(db.session(), token[:12], utcnow()) == 1
        db.commit()


# -- 400 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["{not json", '{"area": "west-dunbartonshire",}', "", b"\xff\xfe{}", "[1, 2"]
)
def test_400_malformed_json(
    client: FlaskClient, world: Any, as_user: Any, raw: str | bytes
) -> None:
    created = create(as_user)
    rid = created["id"]
    headers = bearer(world.token("sw"), **{"If-Match": "*"})
    for method, path in (
        ("POST", "/api/v1/referrals"),
        ("POST", f"/api/v1/referrals/{rid}/transitions"),
        ("PATCH", f"/api/v1/referrals/{rid}"),
    ):
        response = client.open(
            path, method=method, data=raw, content_type="application/json", headers=headers
        )
        is_problem(response, 400)
    assert as_user("sw").get(f"/api/v1/referrals/{rid}").get_json()["version"] == created["version"]


# -- 401 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer rfl_this-token-was-never-issued",
        "Bearer ",
        "Basic cGM6Y29ycmVjdCBob3JzZSBiYXR0ZXJ5",
        "rfl_no-scheme",
    ],
)
def test_401_without_valid_credentials(client: FlaskClient, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    for path in ("/api/v1/referrals", "/api/v1/approvals", "/api/v1/workflow"):
        is_problem(client.get(path, headers=headers), 401)
    is_problem(client.post("/api/v1/referrals", json=concern_body(), headers=headers), 401)


def test_401_with_an_expired_token(app: Flask, client: FlaskClient) -> None:
    fresh = make_token(app, "pc")
    assert client.get("/api/v1/referrals", headers=bearer(fresh)).status_code == 200
    expired = make_token(app, "pc", expired=True)
    is_problem(client.get("/api/v1/referrals", headers=bearer(expired)), 401)
    is_problem(client.post("/api/v1/referrals", json=concern_body(), headers=bearer(expired)), 401)


def test_401_with_a_revoked_token(app: Flask, client: FlaskClient) -> None:
    token = make_token(app, "pc")
    created = client.post("/api/v1/referrals", json=concern_body(), headers=bearer(token))
    assert created.status_code == 201
    rid = created.get_json()["id"]
    revoke(app, token)
    is_problem(client.get("/api/v1/referrals", headers=bearer(token)), 401)
    is_problem(client.get(f"/api/v1/referrals/{rid}", headers=bearer(token)), 401)
    is_problem(client.post("/api/v1/referrals", json=concern_body(), headers=bearer(token)), 401)


# -- 403 ------------------------------------------------------------------------------------


def test_403_a_visible_referral_but_a_trigger_this_user_may_not_fire(as_user: Any) -> None:
    rid = create(as_user, "teacher")["id"]  # education referred, so the teacher sees it
    read = as_user("teacher").get(f"/api/v1/referrals/{rid}")
    assert read.status_code == 200
    assert "convene_ird" not in read.get_json()["allowed_triggers"]
    body = is_problem(fire(as_user, rid, "convene_ird", "teacher"), 403)
    assert body["trigger"] == "convene_ird"
    after = as_user("teacher").get(f"/api/v1/referrals/{rid}").get_json()
    assert after["state"] == "concern"
    assert after["version"] == read.get_json()["version"]


def test_403_an_auditor_changes_nothing(as_user: Any) -> None:
    rid = create(as_user)["id"]
    assert as_user("auditor").get(f"/api/v1/referrals/{rid}").status_code == 200
    is_problem(fire(as_user, rid, "convene_ird", "auditor"), 403)
    assert as_user("pc").get(f"/api/v1/referrals/{rid}").get_json()["state"] == "concern"


def test_403_a_read_token_may_not_write(as_user: Any) -> None:
    created = create(as_user)
    rid = created["id"]
    reader = as_user("pc", "read")
    etag = reader.get(f"/api/v1/referrals/{rid}").headers["ETag"]
    is_problem(reader.post("/api/v1/referrals", concern_body()), 403)
    is_problem(
        reader.post(
            f"/api/v1/referrals/{rid}/transitions",
            {"trigger": "convene_ird", "data": data("convene_ird")},
        ),
        403,
    )
    is_problem(
        reader.patch(
            f"/api/v1/referrals/{rid}",
            {"concern": {"summary": "Changed."}},
            headers={"If-Match": etag},
        ),
        403,
    )
    after = reader.get(f"/api/v1/referrals/{rid}").get_json()
    assert after["state"] == "concern"
    assert after["concern"]["summary"] != "Changed."
    assert after["version"] == created["version"]


def test_403_a_reports_token_reads_no_records(as_user: Any) -> None:
    rid = create(as_user)["id"]
    reports = as_user("pc", "reports")
    is_problem(reports.get(f"/api/v1/referrals/{rid}"), 403)
    is_problem(reports.get("/api/v1/referrals"), 403)
    is_problem(reports.get(f"/api/v1/referrals/{rid}/events"), 403)
    is_problem(reports.post("/api/v1/referrals", concern_body()), 403)


# -- 404 ------------------------------------------------------------------------------------


def test_404_unknown_and_invisible_referrals_look_the_same(as_user: Any) -> None:
    rid = create(as_user)["id"]
    for user, referral_id in (
        ("pc", "no-such-referral"),
        ("sw.hl", rid),  # another area
        ("teacher", rid),  # education is not recorded on it
        ("teacher.hl", rid),
    ):
        api = as_user(user)
        for response in (
            api.get(f"/api/v1/referrals/{referral_id}"),
            api.get(f"/api/v1/referrals/{referral_id}/events"),
            api.post(
                f"/api/v1/referrals/{referral_id}/transitions",
                {"trigger": "add_ird_contribution", "data": data("add_ird_contribution")},
            ),
            api.patch(
                f"/api/v1/referrals/{referral_id}",
                {"concern": {"summary": "Changed."}},
                headers={"If-Match": "*"},
            ),
        ):
            body = is_problem(response, 404)
            assert body["title"] == "Not found"
            assert body["type"].endswith("/not-found")
    assert as_user("pc").get(f"/api/v1/referrals/{rid}").get_json()["concern"]["summary"] != (
        "Changed."
    )


# -- 409 ------------------------------------------------------------------------------------


def test_409_trigger_not_allowed_in_this_state(as_user: Any) -> None:
    rid = create(as_user)["id"]
    allowed = as_user("pc").get(f"/api/v1/referrals/{rid}").get_json()["allowed_triggers"]
    assert "convene_ird" in allowed
    body = is_problem(fire(as_user, rid, "start_investigation", "pc"), 409)
    assert body["state"] == "concern"
    assert body["allowed_triggers"] == allowed
    assert "start_investigation" not in body["allowed_triggers"]
    assert as_user("pc").get(f"/api/v1/referrals/{rid}").get_json()["state"] == "concern"


def test_409_on_a_closed_referral_allows_nothing(as_user: Any) -> None:
    rid = create(as_user)["id"]
    walk(as_user, rid, "convene_ird", "close")
    body = is_problem(fire(as_user, rid, "add_ird_contribution", "teacher"), 409)
    assert body["state"] == "closed"
    assert body["allowed_triggers"] == []


# -- 412 and 428 ----------------------------------------------------------------------------


def test_412_patch_with_a_stale_etag(as_user: Any) -> None:
    rid = create(as_user)["id"]
    api = as_user("sw")
    etag = api.get(f"/api/v1/referrals/{rid}").headers["ETag"]
    wrongs = {
        '"not-the-etag"': "names no version of this referral",
        'W/"nope"': "names no version of this referral",
        f'"{rid}.99"': "has changed since you read it",
        f"W/{etag}": "a weak ETag (W/) never matches",  # If-Match compares strongly
    }
    for wrong, said in wrongs.items():
        body = is_problem(
            api.patch(
                f"/api/v1/referrals/{rid}",
                {"concern": {"summary": "Corrected."}},
                headers={"If-Match": wrong},
            ),
            412,
        )
        assert body["etag"] == etag
        assert said in body["detail"], (wrong, body["detail"])
    assert api.get(f"/api/v1/referrals/{rid}").get_json()["concern"]["summary"] != "Corrected."

    ok = api.patch(
        f"/api/v1/referrals/{rid}",
        {"concern": {"summary": "Corrected."}},
        headers={"If-Match": etag},
    )
    assert ok.status_code == 200, ok.get_json()
    assert ok.headers["ETag"] != etag
    again = api.patch(
        f"/api/v1/referrals/{rid}", {"concern": {"summary": "Twice."}}, headers={"If-Match": etag}
    )
    is_problem(again, 412)
    assert api.get(f"/api/v1/referrals/{rid}").get_json()["concern"]["summary"] == "Corrected."


def test_412_transition_with_a_stale_etag(as_user: Any) -> None:
    rid = create(as_user)["id"]
    walk(as_user, rid, "convene_ird")
    old = as_user("sw").get(f"/api/v1/referrals/{rid}").headers["ETag"]
    assert fire(as_user, rid, "add_ird_contribution", "teacher").status_code == 200

    is_problem(fire(as_user, rid, "start_investigation", "sw", headers={"If-Match": old}), 412)
    read = as_user("sw").get(f"/api/v1/referrals/{rid}")
    assert read.get_json()["state"] == "ird"
    current = read.headers["ETag"]
    assert current != old
    response = fire(as_user, rid, "start_investigation", "sw", headers={"If-Match": current})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["state"] == "investigation"


def test_428_patch_without_if_match(as_user: Any) -> None:
    created = create(as_user)
    rid = created["id"]
    response = as_user("sw").patch(
        f"/api/v1/referrals/{rid}", {"concern": {"summary": "No precondition."}}
    )
    body = is_problem(response, 428)
    assert body["title"].lower() == "precondition required"
    assert "If-Match" in body["detail"]
    after = as_user("sw").get(f"/api/v1/referrals/{rid}").get_json()
    assert after["concern"]["summary"] != "No precondition."
    assert after["version"] == created["version"]


# -- 413 and 415 ----------------------------------------------------------------------------


def test_413_body_over_one_mebibyte(as_user: Any) -> None:
    rid = create(as_user)["id"]
    big = concern_body()
    big["concern"]["summary"] = "x" * (1024 * 1024)
    is_problem(as_user("pc").post("/api/v1/referrals", big), 413)
    huge = {"trigger": "convene_ird", "data": data("convene_ird", reason="y" * (1024 * 1024))}
    is_problem(as_user("pc").post(f"/api/v1/referrals/{rid}/transitions", huge), 413)
    is_problem(
        as_user("sw").patch(
            f"/api/v1/referrals/{rid}",
            {"concern": {"summary": "z" * (1024 * 1024)}},
            headers={"If-Match": "*"},
        ),
        413,
    )
    listed = as_user("pc").get("/api/v1/referrals").get_json()["items"]
    assert [r["id"] for r in listed] == [rid]
    assert as_user("pc").get(f"/api/v1/referrals/{rid}").get_json()["state"] == "concern"


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "application/xml",
        None,
    ],
)
def test_415_not_json(
    client: FlaskClient, world: Any, as_user: Any, content_type: str | None
) -> None:
    rid = create(as_user)["id"]
    raw = json.dumps(concern_body())
    headers = bearer(world.token("sw"), **{"If-Match": "*"})
    if content_type is not None:
        headers["Content-Type"] = content_type
    for method, path in (
        ("POST", "/api/v1/referrals"),
        ("POST", f"/api/v1/referrals/{rid}/transitions"),
        ("PATCH", f"/api/v1/referrals/{rid}"),
    ):
        is_problem(client.open(path, method=method, data=raw, headers=headers), 415)
    assert len(as_user("sw").get("/api/v1/referrals").get_json()["items"]) == 1


# -- 422 ------------------------------------------------------------------------------------


def _chi(first_nine: str) -> str:
    """A CHI number with a correct modulus-11 check digit."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True))
    check = (11 - total % 11) % 11
    assert check != 10, "choose other digits"
    return first_nine + str(check)


def test_a_valid_chi_number_is_accepted(as_user: Any) -> None:
    chi = _chi("020416123")
    response = as_user("pc").post("/api/v1/referrals", concern_body(chi_number=chi))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["child"]["chi_number"] == chi


def _wrong_check_digit() -> str:
    chi = _chi("020416123")
    return chi[:9] + str((int(chi[9]) + 1) % 10)


def _body(**changes: Any) -> dict[str, Any]:
    body = concern_body()
    for path, value in changes.items():
        section, _, name = path.partition("__")
        if name:
            body[section][name] = value
        else:
            body[section] = value
    return body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_body(child__chi_number=_wrong_check_digit()), "child.chi_number"),
        (_body(child__chi_number="12345"), "child.chi_number"),
        (_body(child__chi_number="3213161234"), "child.chi_number"),  # 32 Dec 2016
        (_body(concern__received_at="yesterday"), "concern.received_at"),
        (_body(concern__received_at="2026-03-01T09:30:00"), "concern.received_at"),  # no offset
        (_body(concern__source="rumour"), "concern.source"),
        (_body(concern__categories=["neglect", "witchcraft"]), "concern.categories.1"),
        (_body(child__favourite_colour="blue"), "child.favourite_colour"),
        (_body(concern__priority="high"), "concern.priority"),
        (_body(state="closed"), "state"),
        (_body(child__given_name=""), "child.given_name"),
    ],
)
def test_422_errors_by_field_path_on_create(as_user: Any, body: dict[str, Any], field: str) -> None:
    problem = is_problem(as_user("pc").post("/api/v1/referrals", body), 422)
    assert field in problem["errors"], problem["errors"]
    assert all(isinstance(m, str) and m for m in problem["errors"][field])
    assert as_user("pc").get("/api/v1/referrals").get_json()["items"] == []


def test_422_missing_concern_fields_are_named(as_user: Any) -> None:
    body = concern_body()
    del body["concern"]["received_at"]
    del body["child"]["family_name"]
    problem = is_problem(as_user("pc").post("/api/v1/referrals", body), 422)
    assert {"concern.received_at", "child.family_name"} <= set(problem["errors"])


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"started_at": "half past nine"}, "data.started_at"),
        ({"started_at": "2026-03-01T09:30:00"}, "data.started_at"),
        ({"participants": "everyone"}, "data.participants"),
        ({"out_of_hours": "sometimes"}, "data.out_of_hours"),
        ({"colour": "blue"}, "data.colour"),
    ],
)
def test_422_trigger_data_errors_by_field_path(
    as_user: Any, changes: dict[str, Any], field: str
) -> None:
    rid = create(as_user)["id"]
    body = {"trigger": "convene_ird", "data": data("convene_ird", **changes)}
    problem = is_problem(as_user("pc").post(f"/api/v1/referrals/{rid}/transitions", body), 422)
    assert field in problem["errors"], problem["errors"]
    assert as_user("pc").get(f"/api/v1/referrals/{rid}").get_json()["state"] == "concern"


def test_422_missing_trigger_data_and_unknown_trigger(as_user: Any) -> None:
    rid = create(as_user)["id"]
    api = as_user("pc")
    path = f"/api/v1/referrals/{rid}/transitions"
    missing = is_problem(api.post(path, {"trigger": "convene_ird", "data": {}}), 422)
    assert {"data.started_at", "data.reason", "data.participants"} <= set(missing["errors"])
    unknown = is_problem(api.post(path, {"trigger": "teleport", "data": {}}), 422)
    assert "trigger" in unknown["errors"]
    no_trigger = is_problem(api.post(path, {"data": data("convene_ird")}), 422)
    assert "trigger" in no_trigger["errors"]
    extra = is_problem(api.post(path, {"trigger": "convene_ird", "data": {}, "force": True}), 422)
    assert "force" in extra["errors"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"state": "closed"}, "state"),
        ({"state": "closed", "concern": {"summary": "Also this."}}, "state"),
        ({"child": {"chi_number": _wrong_check_digit()}}, "child.chi_number"),
        ({"concern": {"received_at": "not a time"}}, "concern.received_at"),
        ({"child": {"nickname": "Bean"}}, "child.nickname"),
        ({"version": 7, "concern": {"summary": "x"}}, "version"),
    ],
)
def test_422_patch_errors_by_field_path(as_user: Any, body: dict[str, Any], field: str) -> None:
    rid = create(as_user)["id"]
    api = as_user("sw")
    etag = api.get(f"/api/v1/referrals/{rid}").headers["ETag"]
    problem = is_problem(
        api.patch(f"/api/v1/referrals/{rid}", body, headers={"If-Match": etag}), 422
    )
    assert field in problem["errors"], problem["errors"]
    after = api.get(f"/api/v1/referrals/{rid}")
    assert after.headers["ETag"] == etag
    assert after.get_json()["state"] == "concern"
    assert after.get_json()["concern"]["summary"] != "Also this."


# -- 429 ------------------------------------------------------------------------------------


def test_429_after_repeated_failed_authentication(client: FlaskClient) -> None:
    bad = bearer("rfl_guessing")
    for attempt in range(20):
        response = client.get("/api/v1/referrals", headers=bad)
        assert response.status_code == 401, attempt
    body = is_problem(client.get("/api/v1/referrals", headers=bad), 429)
    assert body["type"].endswith("/too-many-requests")
    assert int(client.get("/api/v1/referrals", headers=bad).headers["Retry-After"]) > 0


def test_successful_requests_do_not_count_towards_429(client: FlaskClient, world: Any) -> None:
    good = bearer(world.token("pc"))
    for _ in range(30):
        assert client.get("/api/v1/referrals", headers=good).status_code == 200
    for attempt in range(20):
        assert client.get("/api/v1/referrals", headers=bearer("rfl_x")).status_code == 401, attempt
    is_problem(client.get("/api/v1/referrals", headers=bearer("rfl_x")), 429)


def test_429_counts_failures_across_endpoints(client: FlaskClient) -> None:
    bad = bearer("rfl_guessing")
    paths = ["/api/v1/referrals", "/api/v1/approvals", "/api/v1/workflow", "/api/v1/reference"]
    for attempt in range(20):
        response = client.get(paths[attempt % len(paths)], headers=bad)
        assert response.status_code == 401, attempt
    for path in paths:
        is_problem(client.get(path, headers=bad), 429)


# -- hostile input never answers 500 ----------------------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000
FAR_PAST = "0001-01-01T00:00:00+14:00"  # year 0 in UTC
FAR_FUTURE = "9999-12-31T23:59:59-14:00"  # year 10000 in UTC


def _ird(**changes: Any) -> dict[str, Any]:
    return {"trigger": "convene_ird", "data": data("convene_ird", **changes)}


class Raw(str):
    """A body sent byte for byte as application/json."""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:30]}...{text[-6:]}"


def _label(changes: dict[str, Any]) -> str:
    return ",".join(f"{k.replace('__', '.')}={_short(v)}" for k, v in changes.items())


def _case(**changes: Any) -> Any:
    """A concern body with `changes` (section__field=value), named after them."""
    return pytest.param(_body(**changes), id=_label(changes))


def _ird_case(**changes: Any) -> Any:
    return pytest.param(_ird(**changes), id="data." + _label(changes))


CREATE_BODIES: list[Any] = [
    [],
    [concern_body()],
    Raw("null"),
    Raw("42"),
    Raw('"concern"'),
    Raw("true"),
    Raw(DEEP),
    Raw('{"area": ' + "9" * 5000 + "}"),
    Raw('{"area": 1e999}'),
    Raw('{"area": NaN}'),
    {},
    *(_case(area=bad) for bad in (1, [], {}, True, None, "nowhere", "x" * 5000)),
    *(_case(child=bad) for bad in ("Amy", [], 1, None, [{"given_name": "A"}])),
    *(_case(concern=bad) for bad in ("x", [], 0, None, True)),
    _case(child__given_name=123),
    _case(child__given_name=["Amy"]),
    _case(child__family_name={"$ne": ""}),
    _case(child__date_of_birth=20160402),
    _case(child__date_of_birth="2016-13-45"),
    _case(child__date_of_birth=""),
    _case(child__date_of_birth="0000-01-01"),
    _case(child__date_of_birth=None, child__expected_date_of_delivery=None),
    _case(child__expected_date_of_delivery="2026-09-01"),  # and a date of birth
    _case(child__chi_number=1234567890),
    _case(child__chi_number="²" * 10),
    _case(child__chi_number="０２０４１６１２３４"),  # full-width digits
    _case(child__sex=["f"]),
    _case(concern__received_at=1e308),
    _case(concern__received_at=10**30),
    _case(concern__received_at=[]),
    _case(concern__received_at=FAR_PAST),
    _case(concern__received_at=FAR_FUTURE),
    _case(concern__categories="neglect"),
    _case(concern__categories=[None]),
    _case(concern__categories=[["neglect"]]),
    _case(concern__categories=[{"a": 1}]),
    _case(concern__immediate_risk="maybe"),
    _case(concern__immediate_risk=None),
    _case(concern__child_spoken_to=[]),
    _case(concern__source=5),
    _case(concern__summary=None),
    _case(hacker={"$where": "1"}),
    _case(concern__summary="Bruising\x00; DROP"),  # NUL: PostgreSQL text refuses it
    _case(child__given_name="Amy\x00"),
    _case(area="west-dunbartonshire\x00"),
    Raw('{"area": "\\ud800"}'),  # a lone surrogate is no UTF-8
    pytest.param(
        Raw(json.dumps(_body(concern__summary="x")).replace('"x"', '"\\udfff"')),
        id="raw:concern.summary=lone surrogate",
    ),
]

TRANSITION_BODIES: list[Any] = [
    [],
    ["convene_ird"],
    Raw("null"),
    Raw("42"),
    Raw(DEEP),
    Raw('{"trigger": "convene_ird", "data": ' + DEEP[:20_000] + DEEP[-20_000:] + "}"),
    Raw('{"trigger": "convene_ird", "data": {"started_at": 1e999}}'),
    Raw('{"trigger": "convene_ird", "data": {"started_at": NaN}}'),
    {},
    *(
        pytest.param({"trigger": bad, "data": {}}, id=f"trigger={bad!r}")
        for bad in (None, 123, [], {}, "", "bogus", "__init__")
    ),
    {"trigger": "convene_ird; DROP TABLE referrals", "data": {}},
    {"trigger": "x" * 10_000, "data": {}},
    *(
        pytest.param({"trigger": "convene_ird", "data": bad}, id=f"data={_short(bad)}")
        for bad in ("str", [], None, 123, [_ird()["data"]])
    ),
    *(pytest.param({**_ird(), "reason": bad}, id=f"reason={bad!r}") for bad in (123, [], {}, True)),
    _ird_case(participants="everyone"),
    _ird_case(participants=[1, 2]),
    _ird_case(participants=[None]),
    _ird_case(participants=[[]]),
    _ird_case(participants={"agency": "police"}),
    _ird_case(participants=[{"agency": {"x": [1]}, "name": [], "role": None}]),
    _ird_case(participants=[{"agency": "martians", "name": "Zog", "role": "envoy"}]),
    _ird_case(
        participants=[{"agency": "police", "name": "A", "role": "B", "extra": {"deep": [[]]}}]
    ),
    _ird_case(participants=[{"agency": "police"}]),
    _ird_case(participants=[{"agency": None, "name": None, "role": None}]),
    _ird_case(participants=[{"agency": "police", "name": "x" * 30_000, "role": "y"}]),
    _ird_case(participants=[]),
    _ird_case(started_at=10**30),
    _ird_case(started_at=True),
    _ird_case(started_at=None),
    _ird_case(started_at=[]),
    _ird_case(started_at=FAR_PAST),
    _ird_case(started_at=FAR_FUTURE),
    _ird_case(started_at="2026-02-30T09:00:00+00:00"),
    _ird_case(out_of_hours="yes"),
    _ird_case(out_of_hours=2),
    _ird_case(reason=None),
    _ird_case(reason=["why"]),
    _ird_case(__class__="x"),
    _ird_case(reason="Disclosure\x00"),
    _ird_case(participants=[{"agency": "police", "name": "DS\x00Morgan", "role": "DS"}]),
    {"trigger": "convene_ird\x00", "data": {}},
    pytest.param(
        Raw(json.dumps(_ird(reason="x")).replace('"x"', '"\\ud800"')),
        id="raw:data.reason=lone surrogate",
    ),
    {"trigger": "add_ird_contribution", "data": {"agency": [], "information_shared": {}}},
    {"trigger": "start_investigation", "data": data("start_investigation", lead_professional=5)},
    {"trigger": "plan_jii", "data": {"interviewers": "pc"}},
    {"trigger": "extend_timescale", "data": {"new_due_date": 20260101}},
    {"trigger": "close", "data": {"closure_reason": ["duplicate"], "note": None}},
]

PATCH_BODIES: list[Any] = [
    [],
    "x",
    Raw("null"),
    Raw(DEEP),
    {},
    {"child": []},
    {"child": None},
    {"child": "Amy"},
    {"concern": "x"},
    {"concern": []},
    {"child": {}},
    {"child": {"date_of_birth": None}},
    {"child": {"expected_date_of_delivery": "2026-09-01"}},  # and the date of birth stays
    {"child": {"given_name": None}},
    {"child": {"given_name": "   "}},
    {"child": {"given_name": 5}},
    {"child": {"chi_number": 123}},
    {"child": {"chi_number": "²" * 10}},
    {"concern": {"received_at": None}},
    {"concern": {"received_at": FAR_PAST}},
    {"concern": {"received_at": FAR_FUTURE}},
    {"concern": {"received_at": "2099-01-01T00:00:00+00:00"}},
    {"concern": {"categories": [None]}},
    {"concern": {"summary": None}},
    {"concern": {"summary": ""}},
    {"concern": {"immediate_risk": None}},
    {"state": None},
    {"id": "other"},
    {"version": 10**30, "child": {"given_name": "B"}},
    {"concern": {"summary": "Corrected\x00"}},
    {"child": {"school": "\x00"}},
    Raw('{"concern": {"summary": "\\ud800"}}'),
]

DECISION_BODIES: list[Any] = [
    [],
    Raw("null"),
    Raw(DEEP),
    {},
    {"decision": None, "comment": None},
    {"decision": ["approve"], "comment": {"a": 1}},
    {"decision": "approve", "comment": "x" * 30_000},
    {"decision": 1, "comment": 1},
    {"decision": "APPROVE", "comment": "Ok."},
    {"decision": "approve", "comment": "Ok.", "as": "swsm"},
    {"decision": "reject", "comment": "No\x00"},
    Raw('{"decision": "reject", "comment": "\\udc00"}'),
]

QUERIES = [
    "/api/v1/approvals?cursor=garbage",
    "/api/v1/approvals?cursor=" + cursor(1, 2),
    "/api/v1/approvals?cursor=" + cursor("2026-01-01T00:00:00", "x"),
    "/api/v1/approvals?cursor=" + cursor("not a time", "x"),
    "/api/v1/approvals?cursor=" + cursor("2026-01-01T00:00:00+00:00"),
    "/api/v1/approvals?cursor=" + cursor(FAR_PAST, "x"),
    "/api/v1/approvals?limit=abc",
    "/api/v1/approvals?limit=" + "9" * 40,
    "/api/v1/approvals?limit=0",
    "/api/v1/approvals?status=maybe",
    "/api/v1/referrals/{rid}/events?cursor=garbage",
    "/api/v1/referrals/{rid}/events?cursor=" + cursor(10**30),
    "/api/v1/referrals/{rid}/events?cursor=" + cursor("x"),
    "/api/v1/referrals/{rid}/events?limit=-5",
    "/api/v1/referrals?cursor=garbage",
    "/api/v1/referrals?cursor=" + cursor(1, 2),
    "/api/v1/referrals?cursor=" + cursor("nope", "x"),
    "/api/v1/referrals?cursor=" + cursor(FAR_PAST, "x"),
    "/api/v1/referrals?updated_since=yesterday",
    "/api/v1/referrals?updated_since=" + FAR_PAST.replace("+", "%2B"),
    "/api/v1/referrals?limit=" + "9" * 40,
    "/api/v1/referrals?overdue=perhaps",
    "/api/v1/referrals?state=limbo",
    "/api/v1/referrals?area=west%00",
    "/api/v1/referrals/x%00y",
    "/api/v1/referrals/x%00y/events",
    "/api/v1/referrals/x%00y/access-log",
    "/api/v1/approvals?status=pending%00",
]


def _id(body: Any) -> str:
    return ("raw:" if isinstance(body, Raw) else "") + _short(body)


def _send(client: FlaskClient, token: str, method: str, path: str, body: Any) -> Any:
    headers = bearer(token, **{"If-Match": "*"})
    if isinstance(body, Raw):
        return client.open(
            path, method=method, data=str(body), content_type="application/json", headers=headers
        )
    return client.open(path, method=method, json=body, headers=headers)


def _never_500(response: Any) -> None:
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)[:2000]
    assert response.mimetype == PROBLEM
    is_problem(response, response.status_code)


@pytest.mark.parametrize("body", CREATE_BODIES, ids=_id)
def test_hostile_create_bodies(client: FlaskClient, world: Any, body: Any) -> None:
    _never_500(_send(client, world.token("pc"), "POST", "/api/v1/referrals", body))


@pytest.mark.parametrize("body", TRANSITION_BODIES, ids=_id)
def test_hostile_transition_bodies(
    client: FlaskClient, world: Any, as_user: Any, body: Any
) -> None:
    rid = create(as_user)["id"]
    path = f"/api/v1/referrals/{rid}/transitions"
    _never_500(_send(client, world.token("pc"), "POST", path, body))
    assert as_user("pc").get(f"/api/v1/referrals/{rid}").get_json()["state"] == "concern"


@pytest.mark.parametrize("body", PATCH_BODIES, ids=_id)
def test_hostile_patch_bodies(client: FlaskClient, world: Any, as_user: Any, body: Any) -> None:
    created = create(as_user)
    rid = created["id"]
    _never_500(_send(client, world.token("sw"), "PATCH", f"/api/v1/referrals/{rid}", body))
    assert as_user("sw").get(f"/api/v1/referrals/{rid}").get_json()["version"] == created["version"]


@pytest.mark.parametrize("body", DECISION_BODIES, ids=_id)
def test_hostile_decision_bodies(client: FlaskClient, world: Any, as_user: Any, body: Any) -> None:
    rid = create(as_user)["id"]
    walk(as_user, rid, "convene_ird")
    asked = fire(as_user, rid, "close_no_further_action", "doc")
    assert asked.status_code == 202
    path = f"/api/v1/approvals/{asked.get_json()['id']}/decision"
    _never_500(_send(client, world.token("swsup"), "POST", path, body))
    after = as_user("sw").get(f"/api/v1/referrals/{rid}").get_json()
    assert after["state"] == "ird"
    assert after["pending_approval"]["status"] == "pending"


@pytest.mark.parametrize("query", QUERIES)
def test_hostile_queries(client: FlaskClient, world: Any, as_user: Any, query: str) -> None:
    rid = create(as_user)["id"]
    response = client.get(query.format(rid=rid), headers=bearer(world.token("swsup")))
    _never_500(response)


@pytest.mark.parametrize(
    "area", ["%ED%A0%80", "%27%20OR%201%3D1%20--", "west-dunbartonshire%20", "West"]
)
def test_an_area_filter_that_is_no_slug_is_refused(as_user: Any, area: str) -> None:
    create(as_user)
    response = as_user("pc").get(f"/api/v1/referrals?area={area}")
    assert "area" in is_problem(response, 422)["errors"]


@pytest.mark.parametrize("area", ["x" * 5000, "atlantis", "highland"])
def test_an_unknown_or_unseen_area_filter_finds_nothing(as_user: Any, area: str) -> None:
    create(as_user)
    response = as_user("pc").get(f"/api/v1/referrals?area={area}")
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert response.get_json()["items"] == []
