"""The REST API (`/api/v1`): flask-smorest blueprints, OpenAPI from the marshmallow schemas."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import swagger_ui_bundle
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import (
    Flask,
    Response,
    current_app,
    render_template_string,
    request,
    send_from_directory,
)
from flask_smorest import Api
from marshmallow import INCLUDE, Schema, fields
from sqlalchemy import select
from werkzeug.exceptions import UnprocessableEntity

from referral import db
from referral.api.openapi import finish_document
from referral.errors import BadRequest, NotFound, Unprocessable, problem
from referral.models import Area
from referral.schemas.common import AwareDateTime
from workflow.registry import definition

API_PREFIX = "/api/v1"
SWAGGER_ASSETS = Path(swagger_ui_bundle.swagger_ui_path)


def schema_name(schema: Any) -> str:
    """Component names: `ChildSchema` -> `Child`, its partial (PATCH) form -> `ChildPatch`."""
    # a single schema or class name: never the list `resolve_schema_cls` may give
    cls = cast(type[Schema], resolve_schema_cls(schema))
    name = cls.__name__.removesuffix("Schema")
    return name + "Patch" if getattr(schema, "partial", False) else name


class Problem(Schema):
    """RFC 9457 problem details, as every error of this API answers (extension members vary)."""

    class Meta:
        unknown = INCLUDE

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(
        metadata={"description": "422 (and 409 for data at odds with the record): by field path"}
    )
    state = fields.String(metadata={"description": "409: the referral's state"})
    allowed_triggers = fields.List(fields.String(), metadata={"description": "409"})
    trigger = fields.String(metadata={"description": "409, 403: the trigger refused"})
    approval_status = fields.String(metadata={"description": "409: the approval's status"})
    etag = fields.String(metadata={"description": "412: the referral's current ETag"})
    version = fields.Integer(metadata={"description": "412: the referral's current version"})


class ReferralApi(Api):  # type: ignore[misc]
    """flask-smorest's Api, with errors left to our problem+json handlers and the document
    finished from the workflow's field specs for the day it is served."""

    ERROR_SCHEMA = Problem

    def _register_error_handlers(self) -> None:
        return None

    def _openapi_json(self) -> Response:
        profile = current_app.config["REFERRAL_PROFILE"]
        today = datetime.now(UTC).date()
        areas = list(db.session().scalars(select(Area.slug).order_by(Area.slug)))
        key = (profile, today, tuple(areas))
        cached = getattr(self, "_finished", None)
        if cached is None or cached[0] != key:
            finished = finish_document(self.spec.to_dict(), definition(profile), today, areas)
            cached = (key, json.dumps(finished, indent=2))
            self._finished = cached
        return Response(cached[1], mimetype="application/json")


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


class RepeatedKey(ValueError):
    """A JSON object names the same key twice: which one counts is not for us to guess."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _refuse_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for key, value in pairs:
        if key in body:
            raise RepeatedKey(key)
        body[key] = value
    return body


UNSTORABLE = "must not contain NUL characters or unpaired surrogates"


def _unstorable(text: str) -> bool:
    """Text no database column can hold: NUL (PostgreSQL refuses it) or non-UTF-8 surrogates."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def unstorable_text(value: Any) -> dict[str, list[str]]:
    """Field paths of the strings (keys too) in a JSON body that could not be stored."""
    errors: dict[str, list[str]] = {}
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:  # iterative: a body may nest as deep as the JSON parser allows
        path, item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{path}.{key}" if path else str(key)
                if _unstorable(str(key)):
                    errors[path or "_schema"] = [UNSTORABLE]
                else:
                    stack.append((child_path, child))
        elif isinstance(item, list):
            stack.extend((f"{path}.{i}" if path else str(i), v) for i, v in enumerate(item))
        elif isinstance(item, str) and _unstorable(item):
            errors[path or "_schema"] = [UNSTORABLE]
    return errors


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
  window.ui = SwaggerUIBundle({
    url: "%s", dom_id: "#swagger-ui", deepLinking: true, validatorUrl: null
  });
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
    api.register_field(AwareDateTime, "string", "date-time")

    from referral.api import (
        approvals,
        feed,
        health,
        index,
        record_reading,
        reference,
        referrals,
        reports,
        workflow,
    )

    # failed authentication is limited in referral.auth (referral.throttle), for every endpoint
    modules = (index, health, workflow, reference, referrals, approvals, reports, feed)
    for module in (*modules, record_reading):
        api.register_blueprint(module.blp)

    def _too_large() -> Response:
        return problem(
            413,
            "Request Entity Too Large",
            "The request body is larger than 1 MiB.",
            "body-too-large",
        )

    @app.before_request
    def _json_body_only() -> Response | None:
        if not request.path.startswith(API_PREFIX + "/"):
            return None
        if request.routing_exception is not None:  # no such route or method: 404 or 405 first
            return None
        if _unstorable(request.path):
            raise NotFound("no such resource")
        bad_args = {
            key: [UNSTORABLE]
            for key, value in request.args.items(multi=True)
            if _unstorable(key) or _unstorable(value)
        }
        if bad_args:
            raise Unprocessable(bad_args)
        if request.method in ("POST", "PUT", "PATCH"):
            limit = app.config["MAX_CONTENT_LENGTH"]
            if request.content_length and request.content_length > limit:
                return _too_large()
            if request.mimetype != "application/json":
                return problem(
                    415,
                    "Unsupported Media Type",
                    "Send the body as application/json.",
                    "unsupported-media-type",
                )
            raw = request.get_data(cache=True)
            # a body without Content-Length (chunked) is cut at the limit by werkzeug: if more
            # follows, it was too large (the server terminates the stream, so one byte is safe)
            if (
                request.content_length is None
                and len(raw) >= limit
                and request.input_stream.read(1)
            ):
                return _too_large()
            try:
                body = json.loads(raw, object_pairs_hook=_refuse_repeated_keys)
            except RepeatedKey as exc:
                raise BadRequest(f"The body repeats the key {exc.key!r}.") from None
            except (ValueError, RecursionError):  # RecursionError: nested too deep to parse
                raise BadRequest("The body is not valid JSON.") from None
            if unstorable := unstorable_text(body):
                raise Unprocessable(unstorable)
        return None

    @app.errorhandler(UnprocessableEntity)
    def _invalid_arguments(exc: UnprocessableEntity) -> Any:
        """webargs' 422 as our problem details, with `errors` by field path (SPEC section 6)."""
        if not request.path.startswith("/api/"):
            return exc
        invalid = Unprocessable(validation_errors(exc) or {"_schema": ["invalid data"]})
        return problem(invalid.status, invalid.title, invalid.detail, invalid.slug, **invalid.extra)

    @app.after_request
    def _commit(response: Response) -> Response:
        if response.status_code >= 400:
            db.rollback()
            return response
        try:
            db.commit()
        except Exception as exc:  # noqa: BLE001 - handled below as the view's own error
            # refused at commit (the database busy or gone, a conflicting write): nothing is
            # recorded, and the answer is the one the view would have had for that error (a
            # 503 or a 409), not the success it was about to send
            db.rollback()
            return app.make_response(app.handle_user_exception(exc))
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
