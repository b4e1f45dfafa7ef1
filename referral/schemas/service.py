"""Output schemas of the service's own endpoints: health, readiness, vocabularies, workflow."""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields


class HealthOut(Schema):
    status = fields.String(metadata={"description": "ok"})


class ReadyOut(Schema):
    status = fields.String(metadata={"description": "ready"})
    database = fields.String(metadata={"description": "sqlite or postgresql"})
    revision = fields.String(metadata={"description": "the migration the database is at"})
    auth_throttle = fields.String(
        metadata={"description": "ok, or degraded while the failed-sign-in store is down"}
    )


class AreaOut(Schema):
    slug = fields.String()
    name = fields.String()
    prefix = fields.String(metadata={"description": "starts the area's human references"})


class ReferenceOut(Schema):
    agencies = fields.List(fields.String())
    core_agencies = fields.List(fields.String())
    roles = fields.List(fields.String())
    concern_categories = fields.List(fields.String())
    concern_sources = fields.List(fields.String())
    sexes = fields.List(fields.String())
    ethnicities = fields.List(fields.String())
    disabilities = fields.List(fields.String())
    religions = fields.List(fields.String())
    areas = fields.List(fields.Nested(AreaOut))


class WorkflowOut(Schema):
    """The definition as data; its parts are described in docs/lifecycle.md."""

    class Meta:
        unknown = INCLUDE

    profile = fields.String()
    version = fields.Integer()
    versions = fields.List(fields.Integer(), metadata={"description": "every version known"})
    title = fields.String()
    initial_state = fields.String()
    states = fields.List(fields.Dict())
    new_referral = fields.Dict()
    triggers = fields.List(fields.Dict())
    roles = fields.List(fields.String())
    approvals = fields.Dict()
    timescales = fields.List(fields.Dict())
    settings = fields.Dict()
    calendar = fields.Dict()
    closure_reasons = fields.List(fields.String())
    vocabularies = fields.Dict()
