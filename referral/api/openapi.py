"""Trigger data in the OpenAPI document, from the workflow's field specs (declared once)."""

from __future__ import annotations

from typing import Any

from workflow.jsonschema import trigger_components
from workflow.registry import definition


def document_triggers(api: Any, profile: str) -> None:
    components = trigger_components(definition(profile))
    for name, schema in components.items():
        api.spec.components.schema(name, component=schema)
    transition = api.spec.components.schemas.get("TransitionRequest")
    if transition is not None:
        transition["properties"]["data"] = {
            "description": "the trigger's fields; one of these, chosen by `trigger`",
            "oneOf": [{"$ref": f"#/components/schemas/{name}"} for name in components],
        }
