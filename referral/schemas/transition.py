"""Transition and approval-decision requests; trigger data is checked by the workflow's specs."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate, validates_schema

from referral.schemas.common import check_time_id_cursor
from referral.schemas.referral import StrictSchema


class TransitionRequest(StrictSchema):
    trigger = fields.String(required=True, metadata={"description": "a trigger of the workflow"})
    data = fields.Dict(
        load_default=dict,
        metadata={"description": "the trigger's fields, as GET /api/v1/workflow describes them"},
    )
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20_000))


class ApprovalDecisionRequest(StrictSchema):
    decision = fields.String(required=True, validate=validate.OneOf(("approve", "reject")))
    comment = fields.String(required=True, validate=validate.Length(min=1, max=20_000))


class ApprovalListArgs(StrictSchema):
    status = fields.String(validate=validate.OneOf(("pending", "approved", "rejected", "stale")))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String()

    @validates_schema
    def cursor_shape(self, data: dict[str, Any], **_: Any) -> None:
        if "cursor" in data:
            check_time_id_cursor(data["cursor"])
