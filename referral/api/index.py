"""`GET /api/v1/`: the API's address answers with links to its docs, document and collections.

It holds no case content (only this service's own paths), so like the OpenAPI document it
needs no credentials; each link says whether the resource it names does.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for
from flask_smorest import Blueprint
from marshmallow import Schema, fields

blp = Blueprint("index", __name__, url_prefix="/api/v1", description="The API's index (no auth)")


class ApiLinkSchema(Schema):
    href = fields.String(required=True, metadata={"description": "a path on this server"})
    title = fields.String(required=True)
    type = fields.String(metadata={"description": "the media type it answers, when not JSON"})
    templated = fields.Boolean(
        metadata={"description": "true when `href` is a URI template (RFC 6570)"}
    )
    public = fields.Boolean(
        required=True,
        metadata={"description": "false: send `Authorization: Bearer <token>`"},
    )


class ApiIndexSchema(Schema):
    title = fields.String(required=True)
    version = fields.String(required=True, metadata={"description": "v1"})
    links = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(ApiLinkSchema),
        required=True,
        metadata={"description": "by name: self, docs, openapi, and each collection"},
    )


def _link(href: str, title: str, *, public: bool = False, **extra: Any) -> dict[str, Any]:
    return {"href": href, "title": title, "public": public, **extra}


@blp.route("/")
@blp.doc(security=[])
@blp.response(200, ApiIndexSchema)
def api_index() -> dict[str, Any]:
    """Where to start: links to the docs, the OpenAPI document and the collections."""
    referrals = url_for("referrals.list_referrals")
    return {
        "title": current_app.config["API_TITLE"],
        "version": current_app.config["API_VERSION"],
        "links": {
            "self": _link(url_for("index.api_index"), "This index", public=True),
            "docs": _link(
                url_for("api_docs"), "The API's docs (Swagger UI)", public=True, type="text/html"
            ),
            "openapi": _link(
                url_for("api-docs.openapi_json"), "The OpenAPI 3 document", public=True
            ),
            "referrals": _link(referrals, "Referrals you can see (GET); record a concern (POST)"),
            "referral": _link(
                f"{referrals}/{{referral_id}}",
                "One referral; its transitions, events, chronology and access log below it",
                templated=True,
            ),
            "approvals": _link(
                url_for("approvals.list_approvals"), "Approvals you may decide or asked for"
            ),
            "workflow": _link(
                url_for("workflow.workflow_definition"),
                "The workflow definition: states, triggers, fields, timescales",
            ),
            "workflow_diagram": _link(
                url_for("workflow.workflow_diagram"),
                "The lifecycle drawn (SVG; Mermaid with ?format=mermaid)",
                type="image/svg+xml",
            ),
            "reference": _link(
                url_for("reference.reference"), "Vocabularies and this deployment's areas"
            ),
            "health": _link(url_for("health.healthz"), "The process is alive", public=True),
            "ready": _link(
                url_for("health.readyz"), "The database answers, migrations at head", public=True
            ),
        },
    }
