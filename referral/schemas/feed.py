"""The change feed's and the exports' arguments and output."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from referral.schemas.common import ID_DIGITS, position_cursor
from referral.schemas.referral import EventOut, ReferralListArgs, StrictSchema


class ChangesArgs(StrictSchema):
    after = position_cursor(ID_DIGITS)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class ChangeOut(EventOut):
    reference = fields.String(metadata={"description": "the referral's human reference"})
    area = fields.String(metadata={"description": "the referral's area (slug)"})


class ChangesOut(Schema):
    items = fields.List(fields.Nested(ChangeOut))
    next_cursor = fields.String(
        metadata={"description": "always given: poll with it as `after` (a full page: at once)"}
    )


class ExportArgs(ReferralListArgs):
    """The list's filters (not its paging), and the format."""

    class Meta:
        exclude = ("limit", "cursor")

    format = fields.String(
        load_default="csv",
        validate=validate.OneOf(("csv", "ndjson")),
        metadata={"description": "csv (default) or ndjson"},
    )
