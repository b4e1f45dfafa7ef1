"""Transition and approval-decision requests; trigger data is checked by the workflow's specs."""

from __future__ import annotations

from marshmallow import fields, validate

from referral.schemas.common import keyset_cursor
from referral.schemas.referral import StrictSchema
from workflow.jsonschema import STORABLE_PATTERN, TEXT_PATTERN

#: the same limits on free text as the workflow's field specs (and the same patterns documented)
NOT_BLANK = validate.Regexp(TEXT_PATTERN, error="must not be blank or contain NUL characters")
STORABLE = validate.Regexp(STORABLE_PATTERN, error="must not contain NUL characters")


class TransitionRequest(StrictSchema):
    trigger = fields.String(required=True, metadata={"description": "a trigger of the workflow"})
    data = fields.Dict(
        load_default=dict,
        metadata={"description": "the trigger's fields, as GET /api/v1/workflow describes them"},
    )
    reason = fields.String(
        load_default=None,
        allow_none=True,
        validate=[validate.Length(max=10_000), STORABLE],
        metadata={"description": "Why, in a sentence (optional); kept on the event."},
    )


class ApprovalDecisionRequest(StrictSchema):
    decision = fields.String(required=True, validate=validate.OneOf(("approve", "reject")))
    comment = fields.String(required=True, validate=[validate.Length(min=1, max=10_000), NOT_BLANK])


class ApprovalListArgs(StrictSchema):
    status = fields.String(validate=validate.OneOf(("pending", "approved", "rejected", "stale")))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = keyset_cursor()
