"""Referral schemas: the concern as recorded, its corrections, list arguments and output."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates_schema,
)

from referral.schemas.common import (
    AwareDateTime,
    check_sequence_cursor,
    check_time_id_cursor,
    validate_chi,
)
from workflow.vocabulary import CONCERN_CATEGORIES, CONCERN_SOURCES, SEXES

TEXT = validate.Length(min=1, max=20_000)
NAME = validate.Length(min=1, max=200)


def not_in_the_future(value: date | None) -> None:
    # a day's grace: "today" in Scotland can be tomorrow in UTC, or the other way round
    if value is not None and value > date.today() + timedelta(days=1):
        raise ValidationError("must not be in the future")


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class ChildSchema(StrictSchema):
    """The child, or unborn baby, the concern is about."""

    given_name = fields.String(required=True, validate=NAME, metadata={"label": "Given name"})
    family_name = fields.String(required=True, validate=NAME, metadata={"label": "Family name"})
    date_of_birth = fields.Date(
        load_default=None,
        allow_none=True,
        validate=not_in_the_future,
        metadata={"label": "Date of birth"},
    )
    expected_date_of_delivery = fields.Date(
        load_default=None,
        allow_none=True,
        metadata={"label": "Expected date of delivery", "hint": "For an unborn baby."},
    )
    chi_number = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate_chi,
        metadata={"label": "CHI number", "hint": "10 digits, if known."},
    )
    sex = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(SEXES))
    address = fields.String(load_default=None, allow_none=True, validate=TEXT)
    school = fields.String(load_default=None, allow_none=True, validate=NAME)

    @validates_schema
    def one_birth_date(self, data: dict[str, Any], partial: Any = None, **_: Any) -> None:
        if partial:
            return
        if (data.get("date_of_birth") is None) == (data.get("expected_date_of_delivery") is None):
            raise ValidationError(
                "give exactly one of date_of_birth or expected_date_of_delivery",
                "date_of_birth",
            )


class ConcernSchema(StrictSchema):
    """The concern as it was received."""

    received_at = AwareDateTime(required=True, metadata={"label": "When the concern was received"})
    source = fields.String(required=True, validate=validate.OneOf(CONCERN_SOURCES))
    summary = fields.String(required=True, validate=TEXT, metadata={"label": "What was reported"})
    categories = fields.List(
        fields.String(validate=validate.OneOf(CONCERN_CATEGORIES)),
        load_default=list,
        metadata={"label": "Areas of concern"},
    )
    immediate_risk = fields.Boolean(required=True, metadata={"label": "Immediate risk"})
    child_spoken_to = fields.Boolean(required=True, metadata={"label": "Child spoken to"})


class ReferralCreateSchema(StrictSchema):
    area = fields.String(required=True, metadata={"description": "Area slug"})
    child = fields.Nested(ChildSchema, required=True)
    concern = fields.Nested(ConcernSchema, required=True)


class ReferralPatchSchema(StrictSchema):
    """Corrections to the child or the concern; give only the fields that change."""

    child = fields.Nested(ChildSchema(partial=True))
    concern = fields.Nested(ConcernSchema(partial=True))

    @pre_load
    def state_is_not_a_correction(self, data: Any, **_: Any) -> Any:
        if isinstance(data, dict) and "state" in data:
            raise ValidationError("cannot be patched: fire a trigger instead", "state")
        return data

    @validates_schema
    def something_to_correct(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("child") and not data.get("concern"):
            raise ValidationError("give child or concern fields to correct", "_schema")


class ReferralListArgs(Schema):
    class Meta:
        unknown = RAISE

    state = fields.String(
        validate=validate.OneOf(
            ("concern", "ird", "investigation", "jii", "case_conference", "registered", "closed")
        )
    )
    area = fields.String()
    overdue = fields.Boolean()
    updated_since = AwareDateTime()
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String()

    @validates_schema
    def cursor_shape(self, data: dict[str, Any], **_: Any) -> None:
        if "cursor" in data:
            check_time_id_cursor(data["cursor"])


class PageArgs(Schema):
    class Meta:
        unknown = RAISE

    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    cursor = fields.String()

    @validates_schema
    def cursor_shape(self, data: dict[str, Any], **_: Any) -> None:
        if "cursor" in data:
            try:
                check_sequence_cursor(data["cursor"])
            except ValidationError as exc:
                raise ValidationError(exc.messages, "cursor") from exc


class ChildOut(Schema):
    given_name = fields.String()
    family_name = fields.String()
    date_of_birth = fields.String(allow_none=True, metadata={"format": "date"})
    expected_date_of_delivery = fields.String(allow_none=True, metadata={"format": "date"})
    chi_number = fields.String(allow_none=True)
    sex = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    school = fields.String(allow_none=True)


class ConcernOut(Schema):
    received_at = AwareDateTime()
    source = fields.String()
    summary = fields.String()
    categories = fields.List(fields.String())
    immediate_risk = fields.Boolean()
    child_spoken_to = fields.Boolean()


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
    child_match = fields.String(
        metadata={"description": "new, chi (same CHI number) or possible_duplicate"}
    )
    child = fields.Nested(ChildOut)
    concern = fields.Nested(ConcernOut)
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
