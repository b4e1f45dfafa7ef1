"""The OpenAPI document's parts marshmallow does not make: bodies from the workflow's field specs,
the problem responses of every operation, examples and links between operations.

The document is finished for a day (`today`): date fields carry the pattern of the range the
API accepts on that day, and examples use dates that are valid then.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from workflow.definition import Definition
from workflow.jsonschema import (
    correction_schema,
    record_form_schema,
    transition_request_schema,
    trigger_components,
)

JSON = "application/json"
PROBLEM = "application/problem+json"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

REFERRAL = "/api/v1/referrals/{referral_id}"
IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": True,
    "schema": {"type": "string"},
    "description": "The ETag of the referral as you read it: a change made since answers 412.",
}
OPTIONAL_IF_MATCH = {**IF_MATCH, "required": False}

#: Statuses every authenticated operation may answer, and why.
COMMON = {
    "401": "Not authenticated: no, an unknown, expired or revoked token.",
    "403": "Authenticated, but not permitted (the token's scope, or who may do this).",
    "429": "Too many failed authentications from this client or for this account.",
}
BODY = {
    "400": "The body is not valid JSON, or repeats a key.",
    "413": "The body is larger than 1 MiB.",
    "415": "The body is not application/json.",
    "422": "Invalid data: `errors` gives the messages by field path.",
}
EXTRA: dict[tuple[str, str], dict[str, str]] = {
    ("post", "/api/v1/referrals"): {},
    ("patch", REFERRAL): {
        "409": "The referral is closed, or the correction conflicts with what it records.",
        "412": "If-Match does not match: someone changed the referral since you read it.",
        "428": "If-Match is missing.",
    },
    ("post", REFERRAL + "/transitions"): {
        "409": "The trigger is not possible in the referral's state, an approval is pending, "
        "or the data conflicts with the referral as recorded (`errors` by field path).",
        "412": "If-Match does not match: someone changed the referral since you read it.",
    },
    ("post", "/api/v1/approvals/{approval_id}/decision"): {
        "409": "The approval is not pending, or the referral changed since it was requested: "
        "nothing was applied.",
    },
}
PUBLIC = {"/api/v1/", "/api/v1/openapi.json", "/healthz", "/readyz"}


def request_body(component: str, description: str = "") -> dict[str, Any]:
    """A required JSON request body described by a component finished below."""
    return {
        "required": True,
        "description": description,
        "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{component}"}}},
    }


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM: {"schema": PROBLEM_REF}}}


def _error_responses(doc: dict[str, Any]) -> None:
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            responses = operation.setdefault("responses", {})
            responses.pop("default", None)
            wanted: dict[str, str] = {}
            if path not in PUBLIC:
                wanted.update(COMMON)
            if "{" in path:
                wanted["404"] = "Unknown, or not one you can see."
            has_query = any(p.get("in") == "query" for p in operation.get("parameters", []))
            if has_query:
                wanted["422"] = "Invalid query arguments: `errors` gives them by name."
            if "requestBody" in operation:
                wanted.update(BODY)
            wanted.update(EXTRA.get((method, path), {}))
            if path == "/readyz":
                wanted["503"] = "The database is unreachable or its migrations are not at head."
            for status, description in wanted.items():
                responses[status] = _problem(description)
            responses["default"] = _problem("Any other error, as problem details.")


def _at(day: date, hour: int, minute: int = 0) -> str:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC).isoformat()


def _examples(doc: dict[str, Any], today: date) -> None:
    yesterday = today - timedelta(days=1)
    body = {
        "/api/v1/referrals": (
            "post",
            {
                "area": "west-dunbartonshire",
                "child": {
                    "given_name": "Amy",
                    "family_name": "Brown",
                    "date_of_birth": "2016-04-02",
                    "sex": "female",
                    "school": "Levenvale Primary",
                },
                "concern": {
                    "received_at": _at(yesterday, 9, 30),
                    "source": "child_disclosure",
                    "summary": "Told her teacher that dad hit her.",
                    "categories": ["physical_abuse"],
                    "immediate_risk": False,
                    "child_spoken_to": True,
                },
            },
        ),
        REFERRAL + "/transitions": (
            "post",
            {
                "trigger": "convene_ird",
                "data": {
                    "started_at": _at(yesterday, 11),
                    "reason": "Disclosure at school.",
                    "participants": [
                        {"agency": "police", "name": "DS Morgan", "role": "detective sergeant"},
                        {"agency": "health", "name": "Dr Shah", "role": "paediatrician"},
                        {"agency": "social_work", "name": "S Reid", "role": "social worker"},
                    ],
                },
            },
        ),
        REFERRAL: ("patch", {"child": {"school": "Renton Primary"}}),
        "/api/v1/approvals/{approval_id}/decision": (
            "post",
            {"decision": "approve", "comment": "Agreed: reasons recorded and views sought."},
        ),
    }
    for path, (method, example) in body.items():
        operation = doc["paths"].get(path, {}).get(method)
        if operation and "requestBody" in operation:
            operation["requestBody"]["content"][JSON]["example"] = example


def _ref(path: str, method: str) -> str:
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


def _links(doc: dict[str, Any]) -> None:
    """Links from an answer to the operations its ids open, for clients and stateful testing."""
    by_id = {"referral_id": "$response.body#/id"}

    referral_links = {
        "ReadReferral": {"operationRef": _ref(REFERRAL, "get"), "parameters": by_id},
        "FireTrigger": {
            "operationRef": _ref(REFERRAL + "/transitions", "post"),
            "parameters": by_id,
        },
        "CorrectReferral": {
            "operationRef": _ref(REFERRAL, "patch"),
            "parameters": {**by_id, "header.If-Match": "$response.header.ETag"},
        },
        "ReadEvents": {"operationRef": _ref(REFERRAL + "/events", "get"), "parameters": by_id},
        "ReadAccessLog": {
            "operationRef": _ref(REFERRAL + "/access-log", "get"),
            "parameters": by_id,
        },
    }
    sources = [
        ("/api/v1/referrals", "post", "201"),
        (REFERRAL, "get", "200"),
        (REFERRAL, "patch", "200"),
        (REFERRAL + "/transitions", "post", "200"),
    ]
    for path, method, status in sources:
        response = doc["paths"].get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is not None:
            response["links"] = copy.deepcopy(referral_links)
    approval = doc["paths"].get(REFERRAL + "/transitions", {}).get("post", {})
    pending = approval.get("responses", {}).get("202")
    if pending is not None:
        pending["links"] = {
            "DecideApproval": {
                "operationRef": _ref("/api/v1/approvals/{approval_id}/decision", "post"),
                "parameters": {"approval_id": "$response.body#/id"},
            },
            "ReadReferral": {
                "operationRef": _ref(REFERRAL, "get"),
                "parameters": {"referral_id": "$response.body#/referral_id"},
            },
        }


def _name_areas(node: Any, areas: list[str]) -> None:
    """Area fields list this deployment's areas (they are no secret: GET /reference names them)."""
    if isinstance(node, dict):
        if node.get("format") == "area":
            node["enum"] = list(areas)
        for value in node.values():
            _name_areas(value, areas)
    elif isinstance(node, list):
        for value in node:
            _name_areas(value, areas)


def finish_document(
    doc: dict[str, Any], definition: Definition, today: date, areas: list[str]
) -> dict[str, Any]:
    """The whole document for `today`, from flask-smorest's part and the workflow's specs."""
    doc = copy.deepcopy(doc)
    schemas = doc["components"]["schemas"]
    schemas.update(trigger_components(definition, today))
    schemas["TransitionRequest"] = transition_request_schema(definition)
    schemas["NewReferral"] = record_form_schema(definition.new_referral, today)
    schemas["ReferralCorrection"] = correction_schema(definition.new_referral, today)
    doc["components"].pop("responses", None)  # flask-smorest's defaults; ours are inline
    _error_responses(doc)
    _examples(doc, today)
    _links(doc)
    if areas:
        _name_areas(doc["components"]["schemas"], areas)
    return doc
