"""The active workflow definition and its diagram."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields, validate

from referral.auth import current_principal
from referral.schemas.service import WorkflowOut
from workflow import diagram
from workflow.registry import definition

blp = Blueprint("workflow", __name__, url_prefix="/api/v1", description="Workflow definition")


def active_definition() -> Any:
    return definition(current_app.config["REFERRAL_PROFILE"])


class DiagramArgs(Schema):
    class Meta:
        unknown = RAISE

    format = fields.String(
        load_default="svg",
        validate=validate.OneOf(("svg", "mermaid")),
        metadata={"description": "svg (default) or mermaid"},
    )


@blp.route("/workflow")
@blp.response(200, WorkflowOut)
def workflow_definition() -> dict[str, Any]:
    """States, triggers with their field specifications, roles, approvals and timescale rules."""
    current_principal()
    doc: dict[str, Any] = active_definition().to_json()
    return doc


@blp.route("/workflow/diagram")
@blp.arguments(DiagramArgs, location="query")
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
    if args["format"] == "mermaid":
        return Response(diagram.mermaid(active_definition()), mimetype="text/plain")
    return Response(diagram.svg(active_definition()), mimetype="image/svg+xml")
