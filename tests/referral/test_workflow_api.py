"""The workflow definition, its diagram, the vocabularies and the health probes over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from workflow.registry import definition


def test_the_workflow_document_is_the_definition(as_user: Any) -> None:
    api = as_user("sw", "read")
    response = api.get("/api/v1/workflow")
    assert response.status_code == 200
    assert response.get_json() == {**definition().to_json(), "versions": [1, 2]}
    assert response.get_json()["version"] == 2
    old = api.get("/api/v1/workflow?version=1").get_json()
    assert old == {**definition("scotland", 1).to_json(), "versions": [1, 2]}
    assert api.get("/api/v1/workflow?version=7").status_code == 404
    v1_diagram = api.get("/api/v1/workflow/diagram?format=mermaid&version=1")
    assert "transfer_out" in v1_diagram.get_data(as_text=True)


def test_the_workflow_needs_a_caller(client: Any) -> None:
    assert client.get("/api/v1/workflow").status_code == 401


def test_the_diagram_as_svg_and_mermaid(as_user: Any) -> None:
    api = as_user("sw", "read")
    svg = api.get("/api/v1/workflow/diagram")
    assert svg.status_code == 200
    assert svg.mimetype == "image/svg+xml"
    assert "<svg" in svg.get_data(as_text=True)
    mermaid = api.get("/api/v1/workflow/diagram?format=mermaid")
    assert mermaid.mimetype == "text/plain"
    assert "concern --> ird: convene_ird" in mermaid.get_data(as_text=True)
    png = api.get("/api/v1/workflow/diagram?format=png")
    assert png.status_code == 422
    assert "format" in png.get_json()["errors"]


def test_reference_vocabularies_and_areas(as_user: Any) -> None:
    body = as_user("teacher", "read").get("/api/v1/reference").get_json()
    assert body["core_agencies"] == ["police", "health", "social_work"]
    assert "child_criminal_exploitation" in body["concern_categories"]
    assert "anonymous" in body["concern_sources"]
    assert {a["slug"] for a in body["areas"]} >= {"west-dunbartonshire", "highland"}


def test_health_needs_no_credentials(client: Any) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["status"] == "ready"


def test_not_ready_until_migrated(tmp_path: Path) -> None:
    from referral import create_app
    from referral.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    app: Flask = create_app({"REFERRAL_DATABASE_URL": url})
    try:
        waiting = app.test_client().get("/readyz")
        assert waiting.status_code == 503
        assert "referral db upgrade" in waiting.get_json()["detail"]
        upgrade(url)
        assert app.test_client().get("/readyz").status_code == 200
    finally:
        app.extensions["referral.db"].engine.dispose()
