"""Who asks is settled before what they sent is judged; wrong methods, large bodies, error pages."""

from __future__ import annotations

import http.client
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import BaseWSGIServer, make_server

from tests.conftest import World
from tests.referral.flows import create, data, is_problem, walk

MiB = 1024 * 1024
NFA = "close_no_further_action"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- authentication comes before query arguments ----------------------------------------------

BAD_QUERIES = [
    "/api/v1/approvals?cursor=garbage",
    "/api/v1/approvals?status=maybe",
    "/api/v1/referrals?cursor=garbage",
    "/api/v1/referrals?limit=abc",
    "/api/v1/referrals?state=limbo",
    "/api/v1/referrals?area=west%00",
    "/api/v1/referrals/some-referral/events?cursor=garbage",
]


@pytest.mark.parametrize("query", BAD_QUERIES)
def test_a_bad_query_from_a_stranger_is_401_not_422(
    client: FlaskClient, world: World, query: str
) -> None:
    is_problem(client.get(query), 401)
    is_problem(client.get(query, headers=bearer("rfl_never-issued")), 401)
    # the same query from a signed-in caller is judged on its arguments
    body = is_problem(client.get(query, headers=bearer(world.token("swsup"))), 422)
    assert body["errors"]


def test_the_openapi_document_needs_no_credentials(client: FlaskClient) -> None:
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_an_unknown_api_path_is_404_even_for_strangers(client: FlaskClient) -> None:
    body = is_problem(client.get("/api/v1/no-such-resource"), 404)
    assert body["type"].endswith("/not-found")


# -- an unrouted method is 405, before any body check ----------------------------------------


def _allowed(response: Any) -> set[str]:
    return {method.strip() for method in response.headers["Allow"].split(",")}


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/json"])
@pytest.mark.parametrize("signed_in", [False, True])
def test_an_unrouted_method_is_405_with_allow(
    client: FlaskClient, world: World, content_type: str | None, signed_in: bool
) -> None:
    headers = bearer(world.token("sw")) if signed_in else {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    collection = client.put("/api/v1/referrals", data="{not json", headers=headers)
    body = is_problem(collection, 405)
    assert body["type"].endswith("/method-not-allowed")
    assert {"GET", "POST"} <= _allowed(collection)
    one = client.delete("/api/v1/referrals/some-referral", headers=headers)
    is_problem(one, 405)
    assert {"GET", "PATCH"} <= _allowed(one)


# -- a decision on an approval the user cannot see ------------------------------------------


def test_an_approval_on_an_invisible_referral_answers_as_an_unknown_one(as_user: Any) -> None:
    rid = create(as_user)["id"]
    walk(as_user, rid, "convene_ird")
    asked = as_user("doc").post(
        f"/api/v1/referrals/{rid}/transitions", {"trigger": NFA, "data": data(NFA)}
    )
    assert asked.status_code == 202, asked.get_json()
    approval_id = asked.get_json()["id"]
    decision = {"decision": "approve", "comment": "Agreed."}
    for outsider in ("swsup.hl", "teacher.hl"):  # another area: the referral is invisible
        api = as_user(outsider)
        unknown = api.post("/api/v1/approvals/no-such-approval/decision", decision)
        hidden = api.post(f"/api/v1/approvals/{approval_id}/decision", decision)
        is_problem(hidden, 404)
        assert hidden.get_data() == unknown.get_data()
        assert rid not in hidden.get_data(as_text=True)
    pending = as_user("sw").get(f"/api/v1/referrals/{rid}").get_json()["pending_approval"]
    assert pending["status"] == "pending"


# -- a chunked body over 1 MiB is 413 --------------------------------------------------------


@contextmanager
def serving(app: Flask) -> Iterator[int]:
    """`app` on a real HTTP server (werkzeug's, which de-chunks bodies) on 127.0.0.1."""
    server: BaseWSGIServer | None = None
    first = 20000 + os.getpid() % 10000
    for port in range(first, first + 50):  # below 32768, away from the ephemeral range
        try:
            server = make_server("127.0.0.1", port, app, threaded=True)
        except OSError:
            continue
        break
    assert server is not None, "no free port"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.port
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def _transition_body(size: int) -> bytes:
    """A JSON transition request of exactly `size` bytes."""
    empty = json.dumps({"trigger": "convene_ird", "data": {"reason": ""}}).encode()
    body = json.dumps({"trigger": "convene_ird", "data": {"reason": "x" * (size - len(empty))}})
    assert len(body) == size
    return body.encode()


def _post_chunked(port: int, path: str, body: bytes, token: str) -> tuple[int, str, Any]:
    pieces = (body[i : i + 64 * 1024] for i in range(0, len(body), 64 * 1024))
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(
            "POST",
            path,
            body=pieces,
            headers={**bearer(token), "Content-Type": "application/json"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), json.loads(response.read())
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("size", "status"),
    [
        (MiB + 1, 413),
        (2 * MiB, 413),
        (MiB, 404),  # at the limit: read, parsed, then the referral is not found
        (1000, 404),
    ],
)
def test_a_chunked_body_over_one_mebibyte_is_413(
    app: Flask, world: World, size: int, status: int
) -> None:
    path = "/api/v1/referrals/no-such-referral/transitions"
    with serving(app) as port:
        code, content_type, body = _post_chunked(
            port, path, _transition_body(size), world.token("pc")
        )
    assert code == status, body
    assert content_type == "application/problem+json"
    assert body["status"] == status
    if status == 413:
        assert body["type"].endswith("/body-too-large")


# -- pages outside the API: the app's own 404 and 405 ---------------------------------------


def _assert_own_page(response: Any, status: int, title: str) -> None:
    assert response.status_code == status
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert page.count("<h1>") == 1
    assert f"<h1>{title}</h1>" in page
    assert "<title>" in page
    assert title in page.split("</title>")[0]
    assert "– Interagency referral record</title>" in page
    assert 'href="/"' in page
    assert "<script" not in page
    assert "<style" not in page
    assert "http" not in page
    assert response.headers["Cache-Control"] == "no-store"


def test_an_unknown_page_is_the_apps_own_404(client: FlaskClient) -> None:
    _assert_own_page(client.get("/no-such-page"), 404, "Page not found")
    _assert_own_page(client.post("/no-such-page", data="x"), 404, "Page not found")


def test_a_wrong_method_on_a_page_is_the_apps_own_405(database_url: str) -> None:
    from referral import create_app

    app = create_app(
        {"REFERRAL_DATABASE_URL": database_url, "REFERRAL_RATELIMIT_STORAGE_URI": "memory://"}
    )
    app.add_url_rule("/only-read", "only_read", lambda: "read me")
    try:
        response = app.test_client().post("/only-read")
        _assert_own_page(response, 405, "Method not allowed")
        assert "GET" in _allowed(response)
    finally:
        app.extensions["referral.db"].engine.dispose()
