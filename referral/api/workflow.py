"""The active workflow definition and its diagram."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields, validate

from referral.auth import current_principal
from referral.errors import NotFound
from referral.schemas.service import WorkflowOut
from workflow import diagram
from workflow.registry import UnknownProfile, definition, versions

blp = Blueprint("workflow", __name__, url_prefix="/api/v1", description="Workflow definition")


def active_definition() -> Any:
    return definition(current_app.config["REFERRAL_PROFILE"])


class VersionArgs(Schema):
    class Meta:
        unknown = RAISE

    version = fields.Integer(
        validate=validate.Range(min=1, max=999),
        metadata={"description": "a version of the profile (default: the active, latest one)"},
    )


class DiagramArgs(VersionArgs):
    format = fields.String(
        load_default="svg",
        validate=validate.OneOf(("svg", "mermaid")),
        metadata={"description": "svg (default) or mermaid"},
    )


def requested_definition(args: dict[str, Any]) -> Any:
    try:
        return definition(current_app.config["REFERRAL_PROFILE"], args.get("version"))
    except UnknownProfile as exc:
        raise NotFound(str(exc)) from exc


@blp.route("/workflow")
@blp.arguments(VersionArgs(), location="query")
@blp.response(200, WorkflowOut)
def workflow_definition(args: dict[str, Any]) -> dict[str, Any]:
    """States, triggers with their field specifications, roles, approvals and timescale rules.

    The active version, or another with `?version=`: referrals keep the version they were
    recorded under.
    """
    current_principal()
    doc: dict[str, Any] = requested_definition(args).to_json()
    doc["versions"] = versions(current_app.config["REFERRAL_PROFILE"])
    return doc


@blp.route("/workflow/diagram")
@blp.arguments(DiagramArgs(), location="query")
@blp.doc(
    responses={
        "200": {
            "description": "The lifecycle: SVG, or Mermaid text with format=mermaid.",
            "content": {
                "image/svg+xml": {"schema": {"type": "string"}},
                "text/plain": {"schema": {"type": "string"}},
            },
        }
    }
)
def workflow_diagram(args: dict[str, Any]) -> Response:
    """The lifecycle as SVG, or Mermaid text with `?format=mermaid`."""
    current_principal()
    drawn = requested_definition(args)
    if args["format"] == "mermaid":
        return Response(diagram.mermaid(drawn), mimetype="text/plain")
    return Response(diagram.svg(drawn), mimetype="image/svg+xml")
