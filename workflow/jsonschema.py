"""JSON Schema for each trigger's data, generated from the same field specs that validate it."""

from __future__ import annotations

from typing import Any

from workflow.definition import Definition, Trigger
from workflow.fields import Field, FieldType


def field_schema(spec: Field) -> dict[str, Any]:
    doc: dict[str, Any]
    t = spec.type
    if t is FieldType.TEXT:
        doc = {"type": "string", "minLength": 1, "maxLength": spec.max_length}
    elif t is FieldType.BOOL:
        doc = {"type": "boolean"}
    elif t is FieldType.DATE:
        doc = {"type": "string", "format": "date"}
    elif t is FieldType.DATETIME:
        doc = {"type": "string", "format": "date-time"}
    elif t is FieldType.CHOICE:
        doc = {"type": "string", "enum": list(spec.choices)}
    elif t is FieldType.CHOICES:
        doc = {
            "type": "array",
            "items": {"type": "string", "enum": list(spec.choices)},
            "uniqueItems": True,
        }
    elif t is FieldType.USERNAME:
        doc = {"type": "string", "description": "a username"}
    elif t is FieldType.USERNAMES:
        doc = {"type": "array", "items": {"type": "string"}, "uniqueItems": True}
    elif t is FieldType.AREA:
        doc = {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"}
    else:
        doc = {"type": "array", "items": object_schema(spec.item_fields)}
    if spec.min_items:
        doc["minItems"] = spec.min_items
    if spec.max_items is not None:
        doc["maxItems"] = spec.max_items
    if not spec.required and spec.default is not None:
        doc["default"] = spec.default
    notes = [spec.label]
    if spec.hint:
        notes.append(spec.hint)
    if spec.agency:
        notes.append(f"Must be a {spec.agency.replace('_', ' ')} user.")
    if spec.must_include:
        notes.append("Must include " + ", ".join(spec.must_include) + ".")
    if spec.not_future:
        notes.append("Not in the future.")
    if spec.future:
        notes.append("In the future.")
    doc["description"] = " ".join(notes)
    return doc


def object_schema(specs: tuple[Field, ...]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {s.name: field_schema(s) for s in specs},
        "required": [s.name for s in specs if s.required],
    }


def trigger_data_schema(trigger: Trigger) -> dict[str, Any]:
    doc = object_schema(trigger.fields)
    rules = [r.description for r in trigger.rules]
    doc["description"] = " ".join([trigger.label + ".", trigger.help, *rules]).strip()
    return doc


def component_name(trigger: Trigger) -> str:
    return "".join(part.capitalize() for part in trigger.name.split("_")) + "Data"


def trigger_components(definition: Definition) -> dict[str, dict[str, Any]]:
    """One schema per trigger, named e.g. `ConveneIrdData`."""
    return {component_name(t): trigger_data_schema(t) for t in definition.triggers}
