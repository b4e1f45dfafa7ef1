"""The benchmark's floor app does what `make bench-api` measures it doing (not a timing)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import BACKENDS, empty_database

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

BODY = {
    "area": "west-dunbartonshire",
    "child": {"given_name": "Amy", "family_name": "Brown", "date_of_birth": "2016-04-02"},
    "concern": {
        "received_at": "2026-11-26T10:00:00+00:00",
        "source": "professional",
        "summary": "Bruising seen at school.",
        "categories": ["physical_abuse"],
        "immediate_risk": False,
        "child_spoken_to": True,
    },
}


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_floor_reads_inserts_and_fires_with_its_audit_rows(
    backend: str, tmp_path: Path
) -> None:
    from floor_app import create_app, create_tables

    with empty_database(backend, tmp_path, "floor") as url:
        create_tables(url)
        app = create_app(url)
        client = app.test_client()
        created = client.post("/floor/items", json=BODY)
        assert created.status_code == 201
        item = created.get_json()["id"]
        assert client.get(f"/floor/items/{item}").get_json()["state"] == "concern"
        fired = client.post(f"/floor/items/{item}/transitions", json={"trigger": "convene_ird"})
        assert fired.get_json()["state"] == "ird"
        refused = client.post(f"/floor/items/{item}/transitions", json={"trigger": "convene_ird"})
        assert refused.status_code == 409
        assert client.get("/floor/items/nothing").status_code == 404
        engine = create_engine(url)
        with engine.connect() as connection:
            audit = connection.execute(text("SELECT type, trigger FROM floor_audit")).all()
            reads = connection.execute(text("SELECT count(*) FROM floor_access_log")).scalar()
        engine.dispose()
        app.extensions["floor.engine"].dispose()
        assert sorted(audit, key=str) == sorted(
            [("created", None), ("transition", "convene_ird")], key=str
        )
        assert reads == 1
