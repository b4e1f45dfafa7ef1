"""`GET /api/v1/`, the address the README gives: an index of links, readable without a token."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.conftest import World
from tests.referral.flows import is_problem

WANTED = {
    "self": "/api/v1/",
    "docs": "/api/docs",
    "openapi": "/api/v1/openapi.json",
    "referrals": "/api/v1/referrals",
    "referral": "/api/v1/referrals/{referral_id}",
    "approvals": "/api/v1/approvals",
    "workflow": "/api/v1/workflow",
    "workflow_diagram": "/api/v1/workflow/diagram",
    "reference": "/api/v1/reference",
    "health": "/healthz",
    "ready": "/readyz",
}


def index(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/v1/")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    return body


def test_the_api_address_answers_an_index_without_credentials(client: FlaskClient) -> None:
    body = index(client)
    assert body["version"] == "v1"
    assert {name: link["href"] for name, link in body["links"].items()} == WANTED
    assert body["links"]["referral"]["templated"] is True
    # the same without the trailing slash, by a permanent redirect
    bare = client.get("/api/v1")
    assert bare.status_code == 308
    assert bare.headers["Location"].endswith("/api/v1/")


def test_every_link_answers_as_it_says(client: FlaskClient, world: World) -> None:
    token = {"Authorization": f"Bearer {world.token('swsup')}"}
    for name, link in index(client)["links"].items():
        href = link["href"].replace("{referral_id}", "no-such-referral")
        if link["public"]:
            response = client.get(href)
            assert response.status_code == 200, name
        else:
            is_problem(client.get(href), 401)
            response = client.get(href, headers=token)
            assert response.status_code == (404 if link.get("templated") else 200), name
        if "type" in link:
            assert response.mimetype == link["type"], name
        response.close()


def test_the_index_is_in_the_openapi_document_as_public(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    operation = doc["paths"]["/api/v1/"]["get"]
    assert operation["security"] == []
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ApiIndex"
    }
    assert "401" not in operation["responses"]
    assert set(doc["components"]["schemas"]["ApiLink"]["required"]) == {"href", "title", "public"}
