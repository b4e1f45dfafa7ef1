"""Indicators (SPEC section 8): JSON or CSV, for a period and an area or all of the caller's."""

from __future__ import annotations

from typing import Any, cast

from flask import Response, current_app
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields, validate

from referral import db
from referral.auth import Principal, current_principal
from referral.errors import Forbidden
from referral.models.types import utcnow
from referral.schemas.common import plausible_date
from referral.services import indicators
from workflow.fields import SLUG_PATTERN

blp = Blueprint("reports", __name__, url_prefix="/api/v1", description="Indicators")


class IndicatorArgs(Schema):
    class Meta:
        unknown = RAISE

    from_ = plausible_date(
        data_key="from",
        metadata={
            "description": "first day (default: 1 August of the current statistical year); "
            "a `from` after `to` is refused with 422"
        },
    )
    to = plausible_date(
        metadata={"description": "last day, inclusive (default: the 31 July after)"}
    )
    area = fields.String(
        validate=validate.Regexp(SLUG_PATTERN, error="must be an area slug"),
        metadata={"description": "one of your areas (default: all of them)"},
    )
    at = plausible_date(
        metadata={"description": "the day `on_register_at` counts (default: 31 July ending it)"}
    )
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(("json", "csv")),
        metadata={"description": "json (default) or csv"},
    )


class IndicatorOut(Schema):
    id = fields.String()
    title = fields.String()
    definition_url = fields.String(
        metadata={"description": "the indicator's definition in the product's docs"}
    )
    value = fields.Raw(
        allow_none=True,
        metadata={"description": 'a number, or "<5" when suppressed; null when nothing to count'},
    )
    breakdown = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        metadata={"description": 'counts by key; "<5" or "suppressed" when suppressed'},
    )


class IndicatorsOut(Schema):
    from_ = fields.String(data_key="from", metadata={"format": "date"})
    to = fields.String(metadata={"format": "date"})
    at = fields.String(metadata={"format": "date"})
    areas = fields.List(fields.String())
    suppressed = fields.Boolean(
        metadata={"description": "whether counts of 1 to 4 are shown as <5 (reports scope)"}
    )
    indicators = fields.List(fields.Nested(IndicatorOut))


def may_read_indicators(principal: Principal) -> None:
    if not principal.grants & {"reports", "read"}:
        raise Forbidden("this token's scope does not allow reports")


def suppressed_for(principal: Principal) -> bool:
    """A `reports` token sees aggregates only, with small numbers suppressed."""
    return "read" not in principal.grants


@blp.route("/reports/indicators")
@blp.arguments(IndicatorArgs(), location="query")
@blp.doc(
    responses={
        "200": {
            "description": "Every indicator (JSON), or the same as CSV with format=csv.",
            "content": {
                "application/json": {"schema": IndicatorsOut},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    }
)
def indicators_report(args: dict[str, Any]) -> Response:
    """The partnership's indicators for a period (default: the current statistical year,
    1 August to 31 July) and one of your areas or all of them. `reports`, `read` and `write`
    tokens may read them; counts of 1 to 4 are shown as `<5` to `reports` tokens."""
    principal = current_principal()
    may_read_indicators(principal)
    answer = indicators.report(
        db.session(),
        principal.user,
        period_from=args.get("from_"),
        period_to=args.get("to"),
        area=args.get("area"),
        at=args.get("at"),
        profile=current_app.config["REFERRAL_PROFILE"],
        now=utcnow(),
    )
    body = answer.to_json(suppressed=suppressed_for(principal))
    if args["format"] == "csv":
        text, name = indicators.csv_download(body)
        return Response(
            text,
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return cast(Response, current_app.json.response(body))
