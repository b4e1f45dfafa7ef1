"""Referral schemas: list and page arguments, and the output of referrals, events and logs."""

from __future__ import annotations

from marshmallow import (
    RAISE,
    Schema,
    fields,
    validate,
)

from referral.models.referrals import STATES as REFERRAL_STATES
from referral.schemas.common import (
    ANY_MOMENT,
    ID_DIGITS,
    AwareDateTime,
    keyset_cursor,
    position_cursor,
)
from workflow.fields import SLUG_PATTERN


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class ReferralListArgs(StrictSchema):
    state = fields.String(validate=validate.OneOf(REFERRAL_STATES))
    area = fields.String(
        validate=validate.Regexp(SLUG_PATTERN, error="must be an area slug"),
        metadata={"description": "area slug; an area you cannot see lists nothing"},
    )
    overdue = fields.Boolean()
    updated_since = AwareDateTime(metadata={"format": "date-time", "pattern": ANY_MOMENT})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = keyset_cursor()


class PageArgs(StrictSchema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    cursor = position_cursor()


class AccessLogPageArgs(PageArgs):
    cursor = position_cursor(ID_DIGITS)


class ChildOut(Schema):
    given_name = fields.String()
    family_name = fields.String()
    date_of_birth = fields.String(allow_none=True, metadata={"format": "date"})
    expected_date_of_delivery = fields.String(allow_none=True, metadata={"format": "date"})
    chi_number = fields.String(allow_none=True)
    sex = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    school = fields.String(allow_none=True)
    ethnicity = fields.String(allow_none=True)
    disability = fields.String(allow_none=True)
    religion = fields.String(allow_none=True)


class ChildMatchOut(Schema):
    kind = fields.String(
        metadata={"description": "chi (same CHI number) or possible (same name and date of birth)"}
    )
    areas = fields.List(fields.String(), metadata={"description": "areas holding the match"})


class ConcernOut(Schema):
    received_at = AwareDateTime()
    source = fields.String()
    summary = fields.String()
    categories = fields.List(fields.String())
    immediate_risk = fields.Boolean()
    child_spoken_to = fields.Boolean()
    childs_views = fields.String(allow_none=True)


class ReferralItemOut(Schema):
    id = fields.String()
    reference = fields.String()
    state = fields.String()
    area = fields.String()
    created_at = AwareDateTime()
    updated_at = AwareDateTime()
    overdue = fields.Boolean()
    next_due = fields.Date(allow_none=True)
    closure_reason = fields.String(allow_none=True)


class ReferralListOut(Schema):
    items = fields.List(fields.Nested(ReferralItemOut))
    next_cursor = fields.String(allow_none=True)


class TimescaleOut(Schema):
    rule = fields.String()
    label = fields.String()
    started_at = AwareDateTime()
    due = fields.Date()
    original_due = fields.Date()
    met_at = AwareDateTime(allow_none=True)
    status = fields.String()
    extended = fields.Boolean()
    flags = fields.List(fields.String(), metadata={"description": "e.g. late_notification"})


class ApprovalOut(Schema):
    id = fields.String()
    referral_id = fields.String()
    trigger = fields.String()
    data = fields.Dict()
    reason = fields.String(allow_none=True)
    requested_by = fields.String()
    requested_at = AwareDateTime()
    status = fields.String()
    decided_by = fields.String(allow_none=True)
    decided_at = AwareDateTime(allow_none=True)
    comment = fields.String(allow_none=True)
    approver = fields.Dict(metadata={"description": "role and agency that may decide"})


class ReferralOut(ReferralItemOut):
    version = fields.Integer()
    profile = fields.String()
    profile_version = fields.Integer()
    closed_at = AwareDateTime(allow_none=True)
    created_by = fields.String()
    referrer_agency = fields.String()
    child_match = fields.Nested(
        ChildMatchOut,
        allow_none=True,
        metadata={
            "description": "null when the child is new to the system; otherwise how the child "
            "matched one already known and which areas hold the match (never their details)"
        },
    )
    child = fields.Nested(ChildOut)
    concern = fields.Nested(ConcernOut)
    named_person = fields.Dict(
        allow_none=True, metadata={"description": "the child's named person: name and service"}
    )
    related_referrals = fields.List(
        fields.Dict(),
        metadata={"description": "brothers' and sisters' referrals you can see: id, reference"},
    )
    transfer_from = fields.String(
        allow_none=True,
        metadata={"description": "for a child moving here on another area's register"},
    )
    allowed_triggers = fields.List(fields.String())
    stages = fields.Dict(
        metadata={
            "description": "IRD, investigation, JIIs, conferences, registrations: the stage records"
        }
    )
    timescales = fields.List(fields.Nested(TimescaleOut))
    pending_approval = fields.Nested(ApprovalOut, allow_none=True)


class TransitionOut(ReferralOut):
    flags = fields.Dict(
        metadata={"description": "e.g. short_notice: a conference with less than 5 days' notice"}
    )


class EventOut(Schema):
    id = fields.Integer()
    referral_id = fields.String()
    seq = fields.Integer()
    type = fields.String()
    trigger = fields.String(allow_none=True)
    from_state = fields.String(allow_none=True)
    to_state = fields.String(allow_none=True)
    actor = fields.String()
    agency = fields.String()
    role = fields.String()
    at = AwareDateTime()
    data = fields.Dict()
    reason = fields.String(allow_none=True)
    prev_hash = fields.String()
    hash = fields.String()


class EventPageOut(Schema):
    items = fields.List(fields.Nested(EventOut))
    next_cursor = fields.String(allow_none=True)


class ChronologyItemOut(Schema):
    on = fields.Date(metadata={"description": "the day it happened (local)"})
    at = AwareDateTime(allow_none=True, metadata={"description": "when, for the lifecycle's"})
    kind = fields.String(metadata={"description": "entry (added by an agency) or lifecycle"})
    source_agency = fields.String()
    what_happened = fields.String()
    significance = fields.String(allow_none=True)
    action = fields.String(allow_none=True)
    recorded_by = fields.String()
    recorded_at = AwareDateTime()


class ChronologyOut(Schema):
    items = fields.List(fields.Nested(ChronologyItemOut))


class AccessLogOut(Schema):
    id = fields.Integer()
    username = fields.String()
    agency = fields.String()
    role = fields.String()
    via = fields.String()
    token_prefix = fields.String(allow_none=True)
    at = AwareDateTime()
    what = fields.String()
    remote_addr = fields.String(allow_none=True)
    user_agent = fields.String(allow_none=True)


class AccessLogPageOut(Schema):
    items = fields.List(fields.Nested(AccessLogOut))
    next_cursor = fields.String(allow_none=True)
