"""The referrals list's text search (SPEC 7): by reference and child's name, with the filters
and the paging, never showing what the user may not see."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from tests.referral.flows import concern_body, create, walk
from tests.web.pages import sign_in

_ROW = re.compile(r'href="/referrals/([0-9a-f]{32})">([A-Z]+-\d{4}-\d{5})</a>')
_NEXT = re.compile(r'href="([^"]+)" rel="next"')


def _listed(client: FlaskClient, query: str) -> tuple[set[str], str | None]:
    response = client.get(f"/referrals?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    page = response.get_data(as_text=True)
    after = _NEXT.search(page)
    return {rid for rid, _ in _ROW.findall(page)}, html.unescape(after.group(1)) if after else None


def test_search_by_reference_and_childs_name_in_any_case(client: FlaskClient, as_user: Any) -> None:
    amy_brown = create(as_user)
    ben_brown = create(as_user, given_name="Ben", date_of_birth="2015-01-01")
    amy_smith = create(as_user, family_name="Smith")
    mary_ann = create(as_user, given_name="Mary Ann", family_name="Brown-Lee")
    # the same name in another area: never listed for West Dunbartonshire's users
    other = as_user("sw.hl").post("/api/v1/referrals", concern_body("highland"))
    assert other.status_code == 201
    sign_in(client, "pc")
    ids = {r["id"]: r for r in (amy_brown, ben_brown, amy_smith, mary_ann)}

    def found(q: str) -> set[str]:
        rows, _ = _listed(client, f"q={quote(q)}")
        return {ids[rid]["reference"] for rid in rows}

    assert found("brown") == {amy_brown["reference"], ben_brown["reference"]}
    assert found("AMY") == {amy_brown["reference"], amy_smith["reference"]}
    assert found("  amy   BROWN ") == {amy_brown["reference"]}
    assert found("mary ann brown-lee") == {mary_ann["reference"]}
    assert found("Mary Ann") == {mary_ann["reference"]}
    assert found(amy_smith["reference"].lower()) == {amy_smith["reference"]}
    prefix = amy_smith["reference"].rsplit("-", 1)[0]  # "WD-2026": every one of this year
    assert found(prefix) == {r["reference"] for r in ids.values()}
    assert found("bro") == set()  # whole names only
    assert found("%") == set()
    assert found("_my") == set()


def test_search_keeps_the_filters_and_the_paging(client: FlaskClient, as_user: Any) -> None:
    first = create(as_user)["id"]
    second = create(as_user, given_name="Ben")["id"]
    create(as_user, family_name="Smith")
    walk(as_user, first, "convene_ird")
    sign_in(client, "pc")
    rows, _ = _listed(client, "q=brown&state=ird")
    assert rows == {first}
    page_one, after = _listed(client, "q=Brown&limit=1")
    assert len(page_one) == 1
    assert after is not None
    assert "q=Brown" in after  # the next page keeps the search
    page_two, last = _listed(client, after.split("?", 1)[1])
    assert page_one | page_two == {first, second}
    assert last is None
    form = client.get("/referrals?q=Brown").get_data(as_text=True)
    assert 'type="search"' in form
    assert 'value="Brown"' in form


def test_a_search_too_long_is_an_error_on_its_field(client: FlaskClient) -> None:
    sign_in(client, "pc")
    response = client.get(f"/referrals?q={'a' * 101}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'href="#q"' in page
    assert "100 characters or fewer" in page


@pytest.mark.parametrize("q", ["WD-2026-00001", "brown", "Amy Brown"])
def test_a_search_reads_referrals_by_index(
    app: Flask, client: FlaskClient, as_user: Any, db_connection: Any, q: str
) -> None:
    """The search narrows the list's own index-served query (tests/referral/test_query_plans.py):
    no plan reads the referrals table whole. (A family name alone is looked up in `children`
    without an index of its own: see referral/services/search.py.)"""
    if db_connection.dialect.name != "postgresql":
        pytest.skip("plans are read on PostgreSQL, the production database")
    create(as_user)
    create(as_user, given_name="Ben")
    sign_in(client, "swsup")
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "children" in statement:
            captured.append((statement, parameters))

    engine = app.extensions["referral.db"].engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        assert client.get(f"/referrals?q={quote(q)}").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert captured
    for statement, parameters in captured:
        plan = _plan(db_connection, statement, parameters)
        assert not [line for line in plan if "Seq Scan on referrals" in line], plan


def _plan(db_connection: Any, statement: str, parameters: Any) -> list[str]:
    db_connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    return list(db_connection.exec_driver_sql("EXPLAIN " + statement, parameters).scalars())
