"""The REST API (`/api/v1`): flask-smorest blueprints, OpenAPI from the marshmallow schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import swagger_ui_bundle
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import Flask, Response, render_template_string, request, send_from_directory
from flask_smorest import Api

from referral import db
from referral.auth import limiter
from referral.errors import BadRequest, problem

API_PREFIX = "/api/v1"
SWAGGER_ASSETS = Path(swagger_ui_bundle.swagger_ui_path)


def schema_name(schema: Any) -> str:
    """Component names: `ChildSchema` -> `Child`, its partial (PATCH) form -> `ChildPatch`."""
    cls = resolve_schema_cls(schema)
    name = cls.__name__.removesuffix("Schema")
    return name + "Patch" if getattr(schema, "partial", False) else name


class ReferralApi(Api):  # type: ignore[misc]
    """flask-smorest's Api, with errors left to our problem+json handlers."""

    def _register_error_handlers(self) -> None:
        return None


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """webargs' nested messages -> {"child.chi_number": [...]} (location names dropped)."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            out.update(_flatten(value, path))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        out[prefix or "_schema"] = list(messages)
    elif isinstance(messages, list):
        for i, value in enumerate(messages):
            out.update(_flatten(value, f"{prefix}.{i}"))
    else:
        out[prefix or "_schema"] = [str(messages)]
    return out


def validation_errors(exc: Any) -> dict[str, list[str]]:
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages", {})
    if isinstance(messages, dict) and set(messages) <= {"json", "query", "headers", "form"}:
        merged: dict[str, list[str]] = {}
        for location in messages.values():
            merged.update(_flatten(location))
        return merged
    return _flatten(messages)


DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Referral engine API</title>
<link rel="stylesheet" href="{{ assets }}/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<noscript><p>The interactive docs need JavaScript. The OpenAPI document is at
<a href="{{ spec }}">{{ spec }}</a>.</p></noscript>
<script src="{{ assets }}/swagger-ui-bundle.js"></script>
<script src="{{ assets }}/swagger-ui-init.js"></script>
</body></html>"""

DOCS_INIT = """window.onload = function () {
  window.ui = SwaggerUIBundle({url: "%s", dom_id: "#swagger-ui", deepLinking: true});
};
"""


def init_app(app: Flask) -> None:
    app.config.update(
        API_TITLE="Interagency referral recording workflow engine",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=API_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {
                "description": "Record a concern, the IRD, the JII and the case conference; "
                "approve decisions; pull records with scoped bearer tokens.",
            },
            "components": {
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer"},
                }
            },
            "security": [{"bearer": []}],
        },
    )
    api = ReferralApi(
        app, spec_kwargs={"marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=schema_name)}
    )
    app.extensions["referral.api"] = api

    from referral.api import approvals, health, reference, referrals, workflow

    # Repeated failed authentication from one address answers 429 until the window passes.
    failures = app.config.get("REFERRAL_AUTH_FAILURE_LIMIT", "20 per minute")
    for module in (health, workflow, reference, referrals, approvals):
        if module is not health:
            limiter.limit(failures, deduct_when=lambda response: response.status_code == 401)(
                module.blp
            )
        api.register_blueprint(module.blp)

    @app.before_request
    def _json_body_only() -> Response | None:
        if not request.path.startswith(API_PREFIX + "/"):
            return None
        if request.method in ("POST", "PUT", "PATCH"):
            if request.content_length and request.content_length > app.config["MAX_CONTENT_LENGTH"]:
                return problem(
                    413,
                    "Request Entity Too Large",
                    "The request body is larger than 1 MiB.",
                    "body-too-large",
                )
            if request.mimetype != "application/json":
                return problem(
                    415,
                    "Unsupported Media Type",
                    "Send the body as application/json.",
                    "unsupported-media-type",
                )
            if request.get_json(silent=True) is None:
                raise BadRequest("The body is not valid JSON.")
        return None

    @app.after_request
    def _commit(response: Response) -> Response:
        if response.status_code < 400:
            db.commit()
        else:
            db.rollback()
        return response

    @app.get("/api/docs")
    def api_docs() -> str:
        return render_template_string(
            DOCS_PAGE, assets="/api/docs/assets", spec=f"{API_PREFIX}/openapi.json"
        )

    @app.get("/api/docs/assets/swagger-ui-init.js")
    def api_docs_init() -> Response:
        return Response(DOCS_INIT % f"{API_PREFIX}/openapi.json", mimetype="text/javascript")

    @app.get("/api/docs/assets/<path:filename>")
    def api_docs_assets(filename: str) -> Response:
        return send_from_directory(SWAGGER_ASSETS, filename)
