"""The OpenAPI document covers every endpoint; the docs are served with no CDN."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from workflow.jsonschema import component_name
from workflow.registry import definition


def spec(client: Any) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc: dict[str, Any] = response.get_json()
    return doc


def test_every_endpoint_is_documented(app: Flask, client: Any) -> None:
    doc = spec(client)
    assert doc["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    served = set()
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        if not (path.startswith("/api/v1/") or path in ("/healthz", "/readyz")):
            continue
        if path == "/api/v1/openapi.json":
            continue
        served |= {(path, m) for m in rule.methods or () if m not in ("HEAD", "OPTIONS")}
    assert served
    assert served <= documented, served - documented


def test_trigger_data_is_documented_from_the_field_specs(client: Any) -> None:
    schemas = spec(client)["components"]["schemas"]
    for trigger in definition().triggers:
        component = schemas[component_name(trigger)]
        assert list(component["properties"]) == [f.name for f in trigger.fields]
        assert sorted(component["required"]) == sorted(f.name for f in trigger.fields if f.required)
    shapes = schemas["TransitionRequest"]["oneOf"]
    assert [s["properties"]["trigger"]["enum"] for s in shapes] == [
        [t.name] for t in definition().triggers
    ]
    assert [s["properties"]["data"]["$ref"] for s in shapes] == [
        f"#/components/schemas/{component_name(t)}" for t in definition().triggers
    ]


def test_the_docs_page_loads_only_local_assets(client: Any) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources
    for source in sources:
        assert source.startswith("/"), f"external asset {source}"
        asset = client.get(source)
        asset.close()
        assert asset.status_code == 200, source
    assert "//" not in "".join(s.lstrip("/") for s in sources)
