"""Timescales: from a referral's event history to the status of each national timescale rule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from workflow.calendar import WorkingCalendar, add_months, calendar_for
from workflow.definition import Definition, Period, TimescaleRule
from workflow.fields import parse_datetime

#: `starts_on` entry meaning "when the concern was received".
CONCERN = "concern"
#: Data fields that say when the thing an event records actually happened, first present wins.
MOMENT_FIELDS = ("held_at", "started_at", "conducted_at")
#: The rule data names no conference type, so the trigger and field that carry it are named here.
SCHEDULE_CONFERENCE = "schedule_case_conference"
CONFERENCE_TYPE_FIELD = "conference_type"
PRE_BIRTH = "pre_birth"
#: Field of the `extended_by` trigger holding the new due date.
NEW_DUE_DATE_FIELD = "new_due_date"
#: State whose entry freezes the judgement of rules left unmet.
CLOSED = "closed"

PENDING = "pending"
MET = "met"
MET_LATE = "met_late"
OVERDUE = "overdue"
EXTENDED = "extended"
STATUSES = (PENDING, MET, MET_LATE, OVERDUE, EXTENDED)


@dataclass(frozen=True)
class HistoryEvent:
    """One recorded event of a referral, as far as timescales care."""

    trigger: str | None  # None for events that are not transitions (created, corrected)
    at: datetime  # when it was recorded, tz-aware
    data: Mapping[str, Any]  # the trigger's cleaned data (ISO strings for dates/datetimes)
    to_state: str | None = None


@dataclass(frozen=True)
class TimescaleStatus:
    """One instance of one timescale rule: when it started, fell due and was met."""

    rule: str
    label: str
    started_at: datetime
    due: date  # inclusive local date
    original_due: date  # before any extension
    met_at: datetime | None
    status: str  # one of STATUSES
    extended: bool

    @property
    def overdue(self) -> bool:
        return self.status == OVERDUE

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "label": self.label,
            "started_at": self.started_at.isoformat(),
            "due": self.due.isoformat(),
            "original_due": self.original_due.isoformat(),
            "met_at": self.met_at.isoformat() if self.met_at is not None else None,
            "status": self.status,
            "extended": self.extended,
        }


@dataclass
class _Instance:
    """A rule instance while the history is being walked."""

    rule: TimescaleRule
    started_at: datetime
    due: date
    original_due: date
    met_at: datetime | None = None
    extended: bool = False


@dataclass
class _Walk:
    definition: Definition
    calendar: WorkingCalendar
    expected_date_of_delivery: date | None
    instances: dict[str, list[_Instance]] = field(default_factory=dict)
    conference_type: str | None = None

    def open_instance(self, rule: TimescaleRule) -> _Instance | None:
        found = self.instances.get(rule.name)
        if found and found[-1].met_at is None:
            return found[-1]
        return None

    def start(self, rule: TimescaleRule, moment: datetime) -> None:
        period = rule.period
        if rule.after_pre_birth is not None and self.conference_type == PRE_BIRTH:
            period = rule.after_pre_birth
        due = _shift(self.calendar, self.calendar.local_date(moment), period)
        if rule.unborn_cap_before_delivery is not None and self.expected_date_of_delivery:
            cap = _shift(
                self.calendar, self.expected_date_of_delivery, rule.unborn_cap_before_delivery, -1
            )
            due = min(due, cap)
        self.instances.setdefault(rule.name, []).append(_Instance(rule, moment, due, due))

    def apply(self, event: HistoryEvent) -> None:
        if event.trigger is None:
            return
        if event.trigger == SCHEDULE_CONFERENCE:
            conference_type = event.data.get(CONFERENCE_TYPE_FIELD)
            self.conference_type = str(conference_type) if conference_type is not None else None
        moment = event_moment(event)
        for rule in self.definition.timescales:
            current = self.open_instance(rule)
            if current is not None and event.trigger in rule.met_by:
                current.met_at = moment
                current = None
            if current is not None and event.trigger == rule.extended_by:
                new_due = _as_date(event.data.get(NEW_DUE_DATE_FIELD))
                if new_due is not None:
                    current.due = new_due
                    current.extended = True
            if current is None and event.trigger in rule.starts_on:
                self.start(rule, moment)


def event_moment(event: HistoryEvent) -> datetime:
    """When the thing an event records happened: its data's meeting/start time, else `at`."""
    for name in MOMENT_FIELDS:
        value = event.data.get(name)
        if isinstance(value, datetime):
            return value
        if isinstance(value, str):
            try:
                return parse_datetime(value)
            except ValueError:
                continue
    return event.at


def _as_date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _shift(calendar: WorkingCalendar, day: date, period: Period, sign: int = 1) -> date:
    """`day` moved by `period`, forwards (sign 1) or backwards (sign -1)."""
    amount = period.amount * sign
    if period.unit == "working_days":
        if amount >= 0:
            return calendar.add_working_days(day, amount)
        current, remaining = day, -amount
        while remaining > 0:
            current -= timedelta(days=1)
            if calendar.is_working_day(current):
                remaining -= 1
        return current
    if period.unit == "calendar_days":
        return day + timedelta(days=amount)
    if period.unit == "weeks":
        return day + timedelta(weeks=amount)
    if period.unit == "months":
        return add_months(day, amount)
    raise ValueError(f"unknown period unit {period.unit!r}")


def _status(instance: _Instance, calendar: WorkingCalendar, as_of: datetime) -> str:
    if instance.met_at is not None:
        return MET if calendar.local_date(instance.met_at) <= instance.due else MET_LATE
    if calendar.local_date(as_of) > instance.due:
        return OVERDUE
    return EXTENDED if instance.extended else PENDING


def evaluate(
    definition: Definition,
    history: Sequence[HistoryEvent],
    *,
    concern_received_at: datetime,
    expected_date_of_delivery: date | None,
    now: datetime,
) -> list[TimescaleStatus]:
    """Every instance of every timescale rule, rules in definition order, instances in start order.

    `history` is oldest-first. A rule left unmet when the referral closed is judged at the
    closure, not at `now`.
    """
    calendar = calendar_for(
        definition.holiday_country, definition.holiday_subdivision, definition.timezone
    )
    walk = _Walk(definition, calendar, expected_date_of_delivery)
    for rule in definition.timescales:
        if CONCERN in rule.starts_on:
            walk.start(rule, concern_received_at)
    closed_at: datetime | None = None
    for event in history:
        walk.apply(event)
        if closed_at is None and event.to_state == CLOSED:
            closed_at = event.at
    as_of = closed_at if closed_at is not None else now
    return [
        TimescaleStatus(
            rule=rule.name,
            label=rule.label,
            started_at=instance.started_at,
            due=instance.due,
            original_due=instance.original_due,
            met_at=instance.met_at,
            status=_status(instance, calendar, as_of),
            extended=instance.extended,
        )
        for rule in definition.timescales
        for instance in walk.instances.get(rule.name, [])
    ]


def current_due(statuses: Sequence[TimescaleStatus], rule: str) -> date | None:
    """The due date of the latest unmet instance of `rule`, or None when none is open."""
    for status in reversed(statuses):
        if status.rule == rule and status.met_at is None:
            return status.due
    return None
