"""The shape of a workflow definition: states, triggers, permissions, approvals, timescales."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from workflow.fields import Errors, Field, ValidationContext
from workflow.vocabulary import PRACTITIONER_ROLES, ROLE_RANK, Role


@dataclass(frozen=True)
class Actor:
    """Who is firing a trigger."""

    username: str
    agency: str
    role: str


@dataclass(frozen=True)
class Subject:
    """A snapshot of one referral: its state plus the facts the guards and rules need."""

    state: str
    unborn: bool = False
    conference_type: str | None = None  # type of the conference in progress, if any
    chair: str | None = None  # username chairing that conference
    last_meeting_inquorate: bool = False  # the previous meeting of this conference was inquorate
    interviewers: tuple[str, ...] = ()  # the two interviewers of the planned JII
    core_group_agencies: frozenset[str] = frozenset()
    initial_cppm_due: date | None = None  # current due date of the initial CPPM timescale
    today: date | None = None  # the local date the trigger is judged on (None: not known)
    area: str | None = None  # slug of the referral's area
    transfer_in: bool = False  # recorded by a receiving area for a child registered elsewhere


# -- who may fire ---------------------------------------------------------------------------

#: Relationships between an actor and a referral that a permission may require.
RELATIONSHIPS: dict[str, str] = {
    "chair": "the chair of the conference",
    "interviewer": "one of the two interviewers",
    "core_group_or_social_work": "a member agency of the core group, or social work",
}


@dataclass(frozen=True)
class Permission:
    """Who may fire a trigger: agency (None = any that can see the referral), role, relationship."""

    agencies: tuple[str, ...] | None = None
    roles: tuple[str, ...] = PRACTITIONER_ROLES
    relationship: str | None = None

    def refusal(self, actor: Actor, subject: Subject) -> str | None:
        """Why `actor` may not fire, or None when they may."""
        if not self.roles:
            return "this is recorded by the system, not by a user"
        if actor.role not in self.roles:
            return f"a {actor.role.replace('_', ' ')} may not record this"
        if self.relationship == "chair":
            if actor.username != subject.chair:
                return "only the chair of the conference may record this"
        elif self.relationship == "interviewer":
            if actor.username not in subject.interviewers:
                return "only one of the two interviewers may record this"
        elif (
            self.relationship == "core_group_or_social_work"
            and actor.agency != "social_work"
            and actor.agency not in subject.core_group_agencies
        ):
            return "only social work or an agency in the core group may record this"
        if self.agencies is not None and actor.agency not in self.agencies:
            names = ", ".join(a.replace("_", " ") for a in self.agencies)
            return f"only {names} may record this"
        return None

    def describe(self) -> str:
        if not self.roles:
            return "the system only, as a consequence of another record"
        who = "practitioner" if self.roles == PRACTITIONER_ROLES else " or ".join(self.roles)
        if self.relationship:
            return RELATIONSHIPS[self.relationship]
        if self.agencies is None:
            return f"{who} of any agency that can see the referral"
        return f"{who} of " + " or ".join(self.agencies)

    def to_json(self) -> dict[str, Any]:
        return {
            "agencies": list(self.agencies) if self.agencies is not None else None,
            "roles": list(self.roles),
            "relationship": self.relationship,
            "description": self.describe(),
        }


@dataclass(frozen=True)
class ApprovalRule:
    """Four eyes: a user of at least `role` in `agency`, not the requester, decides."""

    role: str
    agency: str

    def may_decide(self, actor: Actor, requested_by: str) -> bool:
        return (
            actor.username != requested_by
            and actor.agency == self.agency
            and actor.role in ROLE_RANK
            and ROLE_RANK[actor.role] >= ROLE_RANK[self.role]
        )

    def deciding_roles(self) -> list[str]:
        return [r for r, rank in ROLE_RANK.items() if rank >= ROLE_RANK[self.role]]

    def to_json(self) -> dict[str, Any]:
        return {"role": self.role, "agency": self.agency, "deciding_roles": self.deciding_roles()}


# -- guards and cross-field rules ------------------------------------------------------------


@dataclass(frozen=True)
class Guard:
    """A condition on the referral (beyond its state) that must hold for a trigger to fire."""

    name: str
    description: str  # said to the user when the guard refuses
    check: Callable[[Subject], bool]


DataRule = Callable[[Mapping[str, Any], Subject, ValidationContext, Errors], None]


@dataclass(frozen=True)
class CrossFieldRule:
    """A rule across several fields of one trigger's data, or between the data and the record."""

    description: str
    fields: tuple[str, ...]
    check: DataRule
    #: the same rule in JSON Schema, where JSON Schema can say it (added to the API document)
    schema: Mapping[str, Any] | None = None
    #: the rule compares the data with the referral as recorded: a breach is a conflict (409)
    conflict: bool = False


#: What a flag rule says about a firing: a value to record under the flag's name, or None.
FlagCheck = Callable[[Mapping[str, Any], Subject], Any]


@dataclass(frozen=True)
class FlagRule:
    """Something a trigger's record is flagged with, for someone to act on (never a refusal)."""

    name: str
    description: str
    check: FlagCheck


@dataclass(frozen=True)
class RecordForm:
    """The fields and rules of a record that is not a trigger (a new referral, a correction)."""

    name: str
    label: str
    fields: tuple[Field, ...]
    rules: tuple[CrossFieldRule, ...] = ()

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "fields": [f.to_json() for f in self.fields],
            "rules": [{"description": r.description, "fields": list(r.fields)} for r in self.rules],
        }


@dataclass(frozen=True)
class Trigger:
    name: str
    label: str
    sources: tuple[str, ...]
    dest: str | None  # None: stays in whichever source state it was fired in
    fields: tuple[Field, ...]
    permission: Permission
    help: str = ""
    approval: ApprovalRule | None = None
    guards: tuple[Guard, ...] = ()
    rules: tuple[CrossFieldRule, ...] = ()
    closure_reason: str | None = None  # fixed reason a closed referral keeps
    closure_reason_field: str | None = None  # ...or the data field that carries it
    #: (datetime field, days): less notice than this is allowed but flagged `short_notice`
    short_notice: tuple[str, int] | None = None
    #: agency field: naming another agency than the recorder's is flagged `recorded_on_behalf_of`
    on_behalf_field: str | None = None
    flag_rules: tuple[FlagRule, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "help": self.help,
            "sources": list(self.sources),
            "dest": self.dest,  # null: the referral stays in the state it was in
            "fields": [f.to_json() for f in self.fields],
            "rules": [{"description": r.description, "fields": list(r.fields)} for r in self.rules],
            "guards": [{"name": g.name, "description": g.description} for g in self.guards],
            "who_may_fire": self.permission.to_json(),
            "approval": self.approval.to_json() if self.approval else None,
            "closure_reason": self.closure_reason
            or (f"from field {self.closure_reason_field}" if self.closure_reason_field else None),
            "flags": [{"name": f.name, "description": f.description} for f in self.flag_rules],
            "short_notice": {"field": self.short_notice[0], "days": self.short_notice[1]}
            if self.short_notice
            else None,
        }


# -- timescales ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    amount: int
    unit: str  # "working_days", "calendar_days", "weeks" or "months"

    def to_json(self) -> dict[str, Any]:
        return {"amount": self.amount, "unit": self.unit}

    def describe(self) -> str:
        return f"{self.amount} {self.unit.replace('_', ' ')}"


@dataclass(frozen=True)
class TimescaleRule:
    """A national timescale: when it starts, when it falls due, and what meets it."""

    name: str
    label: str
    starts_on: tuple[str, ...]  # triggers, or "concern" for the concern being received
    period: Period
    met_by: tuple[str, ...]
    description: str
    #: due on the earlier of `period` and the expected date of delivery less this period
    unborn_cap_before_delivery: Period | None = None
    #: a shorter period when the starting event was a pre-birth conference decision
    after_pre_birth: Period | None = None
    #: trigger whose approval moves the due date to its `new_due_date`
    extended_by: str | None = None
    #: triggers that decide the step is not needed: the clock stops as `not_required`
    not_required_by: tuple[str, ...] = ()
    #: (field, value): start only when the starting trigger's data holds this value
    start_when: tuple[str, Any] | None = None
    #: for an unborn child the clock starts on these instead of `starts_on`
    unborn_starts_on: tuple[str, ...] | None = None
    #: notified after the cap (28 weeks' gestation) had passed: due at the period, flagged
    late_notification_floor: bool = False
    #: "national" (the guidance) or "local practice" (a profile setting a partnership may change)
    basis: str = "national"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "description": self.description,
            "basis": self.basis,
            "starts_on": list(self.starts_on),
            "unborn_starts_on": list(self.unborn_starts_on)
            if self.unborn_starts_on is not None
            else None,
            "start_when": {"field": self.start_when[0], "value": self.start_when[1]}
            if self.start_when
            else None,
            "period": self.period.to_json(),
            "met_by": list(self.met_by),
            "not_required_by": list(self.not_required_by),
            "unborn_cap_before_delivery": self.unborn_cap_before_delivery.to_json()
            if self.unborn_cap_before_delivery
            else None,
            "late_notification_floor": self.late_notification_floor,
            "after_pre_birth": self.after_pre_birth.to_json() if self.after_pre_birth else None,
            "extended_by": self.extended_by,
        }


@dataclass(frozen=True)
class Setting:
    """One profile setting: its value, what it means, and whether it is national or local."""

    value: Any
    description: str
    basis: str = "local practice"

    def to_json(self) -> dict[str, Any]:
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"value": value, "description": self.description, "basis": self.basis}


@dataclass(frozen=True)
class StateInfo:
    name: str
    label: str
    description: str


@dataclass(frozen=True)
class Definition:
    """One version of one workflow profile. Records pin (profile, version)."""

    profile: str
    version: int
    title: str
    initial_state: str
    states: tuple[StateInfo, ...]
    triggers: tuple[Trigger, ...]
    timescales: tuple[TimescaleRule, ...]
    holiday_country: str
    holiday_subdivision: str | None
    timezone: str
    closure_reasons: tuple[str, ...]
    #: what recording a concern asks for: the area, the child and the concern
    new_referral: RecordForm
    roles: tuple[str, ...] = tuple(r.value for r in Role)
    #: settings a partnership may change, with what each means (shown in GET /workflow)
    settings: Mapping[str, Setting] = field(default_factory=dict)
    #: the `holidays` release whose calendar this version's working days were judged by
    holidays_version: str | None = None
    #: corrections of the child recompute due dates (v1) or leave them as they were (v2)
    recompute_on_correction: bool = True
    #: a clock still running when the referral closes, and not overdue by then, is judged
    #: `not_required` (v2) rather than left `pending` on a closed record (v1)
    closing_stops_clocks: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    def dest_of(self, trigger: Trigger, source: str) -> str:
        return trigger.dest if trigger.dest is not None else source

    def trigger(self, name: str) -> Trigger:
        for t in self.triggers:
            if t.name == name:
                return t
        raise KeyError(name)

    @property
    def trigger_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.triggers)

    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.states)

    def to_json(self) -> dict[str, Any]:
        from workflow.vocabulary import reference_vocabularies

        return {
            "profile": self.profile,
            "version": self.version,
            "title": self.title,
            "initial_state": self.initial_state,
            "states": [
                {"name": s.name, "label": s.label, "description": s.description}
                for s in self.states
            ],
            "new_referral": self.new_referral.to_json(),
            "triggers": [t.to_json() for t in self.triggers],
            "roles": list(self.roles),
            "approvals": {
                t.name: t.approval.to_json() for t in self.triggers if t.approval is not None
            },
            "timescales": [r.to_json() for r in self.timescales],
            "settings": {name: setting.to_json() for name, setting in self.settings.items()},
            "calendar": {
                "holidays": {
                    "country": self.holiday_country,
                    "subdivision": self.holiday_subdivision,
                    "library_version": self.holidays_version,
                },
                "timezone": self.timezone,
            },
            "closure_reasons": list(self.closure_reasons),
            "vocabularies": reference_vocabularies(),
        }
