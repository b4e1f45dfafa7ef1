"""Timescales: the clocks a referral's events start, extend, stop and meet, kept as state.

The state (`Clocks`) is a pure fold over the referral's history: `begin` when the concern is
recorded, `advance` for each event. The service stores it beside the referral and advances it
with each write, so reading "what is due" never replays the history; `evaluate` replays it
from scratch, which is what `audit verify` checks the stored state against.

Each due date is computed when its clock starts, from the facts as they stand then (the
expected date of delivery, the pinned working-day calendar). A later correction of those facts
changes no past due date or status. (Version 1 of the Scotland profile recomputed them: its
records keep that behaviour through `evaluate`.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from workflow.calendar import WorkingCalendar, add_months, calendar_for
from workflow.definition import Definition, Period, TimescaleRule
from workflow.fields import parse_datetime

#: `starts_on` entry meaning "when the concern was received".
CONCERN = "concern"
#: `starts_on` entry meaning "when the child moved into this area" (a transfer in).
TRANSFER = "transfer"
#: Data fields that say when the thing an event records actually happened, first present wins.
MOMENT_FIELDS = ("held_at", "started_at", "conducted_at", "decided_at", "notified_at")
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
NOT_REQUIRED = "not_required"
STATUSES = (PENDING, MET, MET_LATE, OVERDUE, EXTENDED, NOT_REQUIRED)
#: Flag on an unborn child's initial CPPM when the pregnancy was notified after 28 weeks.
LATE_NOTIFICATION = "late_notification"


@dataclass(frozen=True)
class HistoryEvent:
    """One recorded event of a referral, as far as timescales care."""

    trigger: str | None  # None for events that are not transitions (created, corrected)
    at: datetime  # when it was recorded, tz-aware
    data: Mapping[str, Any]  # the trigger's cleaned data (ISO strings for dates/datetimes)
    to_state: str | None = None


@dataclass(frozen=True)
class Facts:
    """What the clocks need to know about the referral when an event happens."""

    concern_received_at: datetime
    expected_date_of_delivery: date | None = None  # None for a child already born
    transfer_moved_on: date | None = None  # the move into this area, for a transfer in


@dataclass
class Clock:
    """One instance of one timescale rule: when it started, falls due, and how it ended."""

    rule: str
    started_at: datetime
    due: date  # inclusive local date
    original_due: date  # before any extension
    met_at: datetime | None = None
    not_required: bool = False  # stopped by a decision that the step is not needed
    extended: bool = False
    flags: tuple[str, ...] = ()

    @property
    def open(self) -> bool:
        return self.met_at is None and not self.not_required

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "started_at": self.started_at.isoformat(),
            "due": self.due.isoformat(),
            "original_due": self.original_due.isoformat(),
            "met_at": self.met_at.isoformat() if self.met_at else None,
            "not_required": self.not_required,
            "extended": self.extended,
            "flags": list(self.flags),
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Clock:
        return cls(
            rule=doc["rule"],
            started_at=datetime.fromisoformat(doc["started_at"]),
            due=date.fromisoformat(doc["due"]),
            original_due=date.fromisoformat(doc["original_due"]),
            met_at=datetime.fromisoformat(doc["met_at"]) if doc.get("met_at") else None,
            not_required=bool(doc.get("not_required")),
            extended=bool(doc.get("extended")),
            flags=tuple(doc.get("flags") or ()),
        )


@dataclass
class Clocks:
    """Every clock of one referral, and the little the fold must remember between events."""

    clocks: list[Clock] = field(default_factory=list)
    conference_type: str | None = None  # type of the conference last scheduled
    closed_at: datetime | None = None

    def open_clock(self, rule: str) -> Clock | None:
        for clock in reversed(self.clocks):
            if clock.rule == rule:
                return clock if clock.open else None
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "clocks": [c.to_json() for c in self.clocks],
            "conference_type": self.conference_type,
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any] | None) -> Clocks:
        if not doc:
            return cls()
        closed = doc.get("closed_at")
        return cls(
            clocks=[Clock.from_json(c) for c in doc.get("clocks") or ()],
            conference_type=doc.get("conference_type"),
            closed_at=datetime.fromisoformat(closed) if closed else None,
        )


@dataclass(frozen=True)
class TimescaleStatus:
    """One clock as judged at a moment: the shape the API and the pages show."""

    rule: str
    label: str
    started_at: datetime
    due: date  # inclusive local date
    original_due: date  # before any extension
    met_at: datetime | None
    status: str  # one of STATUSES
    extended: bool
    flags: tuple[str, ...] = ()

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
            "flags": list(self.flags),
        }


# -- the fold --------------------------------------------------------------------------------


def calendar_of(definition: Definition) -> WorkingCalendar:
    return calendar_for(
        definition.holiday_country, definition.holiday_subdivision, definition.timezone
    )


def event_moment(event: HistoryEvent) -> datetime:
    """When the thing an event records happened: its data's meeting/decision time, else `at`."""
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


def shift(calendar: WorkingCalendar, day: date, period: Period, sign: int = 1) -> date:
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


def _start(
    definition: Definition, state: Clocks, rule: TimescaleRule, moment: datetime, facts: Facts
) -> None:
    calendar = calendar_of(definition)
    period = rule.period
    if rule.after_pre_birth is not None and state.conference_type == PRE_BIRTH:
        period = rule.after_pre_birth
    start_day = calendar.local_date(moment)
    due = shift(calendar, start_day, period)
    flags: tuple[str, ...] = ()
    edd = facts.expected_date_of_delivery
    if rule.unborn_cap_before_delivery is not None and edd is not None:
        cap = shift(calendar, edd, rule.unborn_cap_before_delivery, -1)
        if rule.late_notification_floor and cap < start_day:
            flags = (LATE_NOTIFICATION,)  # notified after 28 weeks: the cap has passed
        else:
            due = min(due, cap)
    state.clocks.append(Clock(rule.name, moment, due, due, flags=flags))


def _starts_on_concern(rule: TimescaleRule, facts: Facts) -> bool:
    if facts.transfer_moved_on is not None:
        return TRANSFER in rule.starts_on
    if facts.expected_date_of_delivery is not None and rule.unborn_starts_on is not None:
        return CONCERN in rule.unborn_starts_on
    return CONCERN in rule.starts_on


def begin(definition: Definition, facts: Facts) -> Clocks:
    """The clocks a referral has when its concern is recorded."""
    state = Clocks()
    for rule in definition.timescales:
        if _starts_on_concern(rule, facts):
            moment = facts.concern_received_at
            if facts.transfer_moved_on is not None:
                zone = calendar_of(definition).zone
                moment = datetime.combine(facts.transfer_moved_on, time(), tzinfo=zone)
            _start(definition, state, rule, moment, facts)
    return state


def _starts_on(rule: TimescaleRule, event: HistoryEvent, facts: Facts) -> bool:
    starts = rule.starts_on
    if facts.expected_date_of_delivery is not None and rule.unborn_starts_on is not None:
        starts = rule.unborn_starts_on
    if event.trigger not in starts:
        return False
    if rule.start_when is not None:
        name, value = rule.start_when
        return bool(event.data.get(name) == value)
    return True


def advance(definition: Definition, state: Clocks, event: HistoryEvent, facts: Facts) -> Clocks:
    """The clocks after `event` (a new object; `state` is left as it was)."""
    new = Clocks([replace(c) for c in state.clocks], state.conference_type, state.closed_at)
    if event.trigger is None:
        return new
    if event.trigger == SCHEDULE_CONFERENCE:
        conference_type = event.data.get(CONFERENCE_TYPE_FIELD)
        new.conference_type = str(conference_type) if conference_type is not None else None
    moment = event_moment(event)
    for rule in definition.timescales:
        current = new.open_clock(rule.name)
        if current is not None and event.trigger in rule.met_by:
            current.met_at = moment
            current = None
        if current is not None and event.trigger in rule.not_required_by:
            current.not_required = True
            current.met_at = moment
            current = None
        if current is not None and event.trigger == rule.extended_by:
            new_due = _as_date(event.data.get(NEW_DUE_DATE_FIELD))
            if new_due is not None:
                current.due = new_due
                current.extended = True
        if current is None and _starts_on(rule, event, facts):
            _start(definition, new, rule, moment, facts)
    if new.closed_at is None and event.to_state == CLOSED:
        new.closed_at = moment  # when it was decided, not when it was approved or typed in
    return new


def fold(definition: Definition, history: Sequence[HistoryEvent], facts: Facts) -> Clocks:
    """The clocks after the whole history, from scratch (what the stored state must equal)."""
    state = begin(definition, facts)
    for event in history:
        state = advance(definition, state, event, facts)
    return state


# -- judging -----------------------------------------------------------------------------------


def _status(clock: Clock, calendar: WorkingCalendar, as_of: datetime, stopped: bool) -> str:
    if clock.not_required:
        return NOT_REQUIRED
    if clock.met_at is not None:
        return MET if calendar.local_date(clock.met_at) <= clock.due else MET_LATE
    if calendar.local_date(as_of) > clock.due:
        return OVERDUE
    if stopped:  # closed before it fell due: nothing is left to do
        return NOT_REQUIRED
    return EXTENDED if clock.extended else PENDING


def statuses(definition: Definition, state: Clocks, now: datetime) -> list[TimescaleStatus]:
    """Every clock judged now, rules in definition order, instances in start order.

    A clock left open when the referral closed is judged at the closure, not at `now`.
    """
    calendar = calendar_of(definition)
    as_of = state.closed_at if state.closed_at is not None else now
    stopped = state.closed_at is not None and definition.closing_stops_clocks
    labels = {r.name: r.label for r in definition.timescales}
    order = {r.name: i for i, r in enumerate(definition.timescales)}
    clocks = sorted(state.clocks, key=lambda c: order.get(c.rule, len(order)))
    return [
        TimescaleStatus(
            rule=c.rule,
            label=labels.get(c.rule, c.rule),
            started_at=c.started_at,
            due=c.due,
            original_due=c.original_due,
            met_at=None if c.not_required else c.met_at,
            status=_status(c, calendar, as_of, stopped),
            extended=c.extended,
            flags=c.flags,
        )
        for c in clocks
    ]


def evaluate(
    definition: Definition,
    history: Sequence[HistoryEvent],
    *,
    concern_received_at: datetime,
    expected_date_of_delivery: date | None,
    now: datetime,
    transfer_moved_on: date | None = None,
) -> list[TimescaleStatus]:
    """Every clock of a referral with this history, judged now (a replay from scratch)."""
    facts = Facts(concern_received_at, expected_date_of_delivery, transfer_moved_on)
    return statuses(definition, fold(definition, history, facts), now)


def current_due(state: Clocks | Sequence[TimescaleStatus], rule: str) -> date | None:
    """The due date of the latest open clock of `rule`, or None when none is open."""
    if isinstance(state, Clocks):
        clock = state.open_clock(rule)
        return clock.due if clock is not None else None
    for status in reversed(state):
        if status.rule == rule and status.met_at is None and status.status != NOT_REQUIRED:
            return status.due
    return None


def next_due(state: Clocks) -> date | None:
    """The earliest due date of any open clock (drives the `overdue` filter), None when closed."""
    if state.closed_at is not None:
        return None
    dues = [c.due for c in state.clocks if c.open]
    return min(dues) if dues else None
