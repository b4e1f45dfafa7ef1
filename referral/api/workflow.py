"""The active workflow definition and its diagram."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request
from flask_smorest import Blueprint

from referral.auth import current_principal
from referral.errors import BadRequest
from workflow import diagram
from workflow.registry import definition

blp = Blueprint("workflow", __name__, url_prefix="/api/v1", description="Workflow definition")


def active_definition() -> Any:
    return definition(current_app.config["REFERRAL_PROFILE"])


@blp.route("/workflow")
def workflow_definition() -> dict[str, Any]:
    """States, triggers with their field specifications, roles, approvals and timescale rules."""
    current_principal()
    doc: dict[str, Any] = active_definition().to_json()
    return doc


@blp.route("/workflow/diagram")
def workflow_diagram() -> Response:
    """The lifecycle as SVG, or Mermaid text with `?format=mermaid`."""
    current_principal()
    fmt = request.args.get("format", "svg")
    if fmt == "mermaid":
        return Response(diagram.mermaid(active_definition()), mimetype="text/plain")
    if fmt == "svg":
        return Response(diagram.svg(active_definition()), mimetype="image/svg+xml")
    raise BadRequest("format must be svg or mermaid")
