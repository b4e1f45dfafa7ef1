"""The partnership's indicators (SPEC section 8), computed in SQL over the stored facts.

Each indicator is defined once, as data (`INDICATORS`): its id, title, one-line description
and anchor in `docs/indicators.md`, where its definition is written out precisely enough to
recompute it by hand. `compute` answers every indicator for a period and a set of areas;
`suppress` applies small-number suppression for readers who may not see case-level counts.

Rules shared by every indicator (docs/indicators.md, "How every indicator counts"):

- A thing belongs to the period in which it happened (its domain moment: `received_at`,
  `started_at`, `decided_at`, `held_at`, `conducted_at`, `registered_at`, `ended_at`), never to
  when it was typed in. The period runs from 00:00 on `from` to 24:00 on `to`, Europe/London.
- Referrals closed as `recorded_in_error` or `duplicate` count nowhere.
- A child is identified across referrals and areas by `children.identity_id` (the child
  identity: CHI number, else name and date of birth; see migration 0003).
- Month arithmetic (12 and 18 month windows, the time-on-register bands) compares calendar
  dates in UTC: "n months before 10 May" is 10 May n months earlier, whatever the month length.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    cast,
    distinct,
    extract,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased

from referral.errors import Forbidden, NotFound, Unprocessable
from referral.models import (
    Area,
    Child,
    Conference,
    ConferenceMeeting,
    Ird,
    Jii,
    Referral,
    Registration,
    RegistrationConcern,
    Screening,
    User,
)
from workflow.profiles.scotland_v2 import DEREGISTRATION_REASONS
from workflow.registry import definition, versions
from workflow.timescales import MET, MET_LATE, OVERDUE, Clocks, statuses
from workflow.vocabulary import CONCERN_CATEGORIES, Role

ZONE = ZoneInfo("Europe/London")
DOCS = "docs/indicators.md"
#: referrals closed for these reasons were never real: they count in no indicator
NOT_COUNTED = ("recorded_in_error", "duplicate")
#: counts from 1 to this are shown as "<5" to readers of aggregates only
SMALL = 4
SUPPRESSED = "<5"
#: a cell hidden only so that a total cannot give away a suppressed one
SECONDARY = "suppressed"
IRD_OUTCOMES = ("screened_out", "no_further_action", "single_agency", "investigation")
IRD_DECISIONS = {
    "close_no_further_action": "no_further_action",
    "refer_single_agency": "single_agency",
    "start_investigation": "investigation",
}
CONFERENCE_TYPES = ("initial", "pre_birth", "transfer", "review")
REGISTER_KEYS = ("born", "unborn")
BANDS = (
    ("under_3m", 0, 3),
    ("3m_to_6m", 3, 6),
    ("6m_to_12m", 6, 12),
    ("12m_to_18m", 12, 18),
    ("18m_plus", 18, None),
)
COMPLIANCE = (MET, MET_LATE, OVERDUE)


@dataclass(frozen=True)
class Indicator:
    id: str
    title: str
    description: str
    #: "count", "breakdown" (of counts), "percent" or "median"
    kind: str

    @property
    def definition_url(self) -> str:
        return f"{DOCS}#{self.id}"


INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        "concerns_received",
        "Concerns received",
        "Referrals whose concern was received in the period (transfers in excluded).",
        "count",
    ),
    Indicator("irds_held", "IRDs held", "IRDs that started in the period.", "count"),
    Indicator(
        "children_repeat_ird_12m",
        "Children with a repeat IRD within 12 months",
        "Children with an IRD in the period who had another IRD in the 12 months before it.",
        "count",
    ),
    Indicator(
        "ird_outcomes",
        "IRD outcomes",
        "Screening and IRD decisions made in the period, by outcome.",
        "breakdown",
    ),
    Indicator("jiis_held", "JIIs held", "Joint investigative interviews conducted.", "count"),
    Indicator(
        "cppms_held",
        "CPPMs held",
        "Child protection planning meetings that decided in the period, by type.",
        "breakdown",
    ),
    Indicator(
        "registrations",
        "Registrations",
        "Children placed on the child protection register in the period.",
        "count",
    ),
    Indicator(
        "deregistrations",
        "De-registrations",
        "Children who left the register in the period, by reason.",
        "breakdown",
    ),
    Indicator(
        "on_register_at",
        "Children on the register",
        "Children on the register on the date `at` (default 31 July), born and unborn.",
        "breakdown",
    ),
    Indicator(
        "median_days_concern_to_ird",
        "Median days from concern to IRD",
        "For IRDs started in the period: days from the concern to the IRD's start.",
        "median",
    ),
    Indicator(
        "median_days_ird_to_initial_cppm",
        "Median days from IRD decision to initial CPPM",
        "For initial and pre-birth CPPMs that decided in the period: days from the IRD decision.",
        "median",
    ),
    Indicator(
        "initial_cppm_within_timescale_pct",
        "Initial CPPMs within the national timescale (%)",
        "Initial and pre-birth CPPMs held in the period on or before the original due date.",
        "percent",
    ),
    Indicator(
        "initial_cppm_within_timescale_with_extensions_pct",
        "Initial CPPMs within the timescale, counting approved extensions (%)",
        "As above, against the due date after any approved extension.",
        "percent",
    ),
    Indicator(
        "reregistrations_18m",
        "Re-registrations within 18 months",
        "Registrations in the period of a child de-registered in the 18 months before.",
        "count",
    ),
    Indicator(
        "areas_of_concern_at_registration",
        "Areas of concern at registration",
        "Areas of concern recorded at registrations in the period (several per child).",
        "breakdown",
    ),
    Indicator(
        "time_on_register_at_deregistration",
        "Time on the register at de-registration",
        "De-registrations in the period, by time since the registration (national bands).",
        "breakdown",
    ),
    Indicator(
        "childs_views_recorded_pct",
        "IRD and CPPM decisions recording the child's views (%)",
        "IRD decisions and CPPM decisions in the period that record the child's views.",
        "percent",
    ),
    Indicator(
        "timescale_compliance",
        "Timescales met, met late and overdue",
        "Timescale clocks falling due in the period, by rule and status.",
        "breakdown",
    ),
)
BY_ID = {i.id: i for i in INDICATORS}


# -- periods ----------------------------------------------------------------------------------


def statistical_year(day: date) -> tuple[date, date]:
    """The statistical year (1 August to 31 July) holding `day`."""
    start_year = day.year if day.month >= 8 else day.year - 1
    return date(start_year, 8, 1), date(start_year + 1, 7, 31)


def default_at(period_from: date, period_to: date) -> date:
    """The 31 July that ends the period's statistical year, or the period's end if earlier."""
    return min(statistical_year(period_to)[1], period_to)


def local_start(day: date) -> datetime:
    """00:00 on `day` in Europe/London, in UTC (how moments are stored and compared)."""
    return datetime.combine(day, time(), tzinfo=ZONE).astimezone(UTC)


@dataclass(frozen=True)
class Scope:
    """The period and the areas an answer covers."""

    period_from: date
    period_to: date
    area_ids: tuple[int, ...]
    at: date
    now: datetime

    @property
    def start(self) -> datetime:
        return local_start(self.period_from)

    @property
    def end(self) -> datetime:  # exclusive
        return local_start(self.period_to + timedelta(days=1))

    def during(self, moment: Any) -> ColumnElement[bool]:
        return and_(moment >= self.start, moment < self.end)


# -- dialect helpers ----------------------------------------------------------------------------


class Sql:
    """The few expressions SQLite and PostgreSQL write differently."""

    def __init__(self, session: Session) -> None:
        self.postgres = session.get_bind().dialect.name == "postgresql"

    def _utc(self, moment: Any) -> Any:
        # PostgreSQL's extract on a timestamptz reads it in the session's zone: pin UTC
        return func.timezone("UTC", moment) if self.postgres else moment

    def day_key(self, moment: Any) -> ColumnElement[int]:
        """(year * 12 + month) * 100 + day of the UTC date: adding n months adds n * 100."""
        utc = self._utc(moment)
        year = cast(extract("year", utc), Integer)
        month = cast(extract("month", utc), Integer)
        day = cast(extract("day", utc), Integer)
        return (year * 12 + month) * 100 + day

    def days_between(self, start: Any, end: Any) -> ColumnElement[Any]:
        """Elapsed days (fractional) from `start` to `end`."""
        if self.postgres:
            return extract("epoch", end - start) / 86400.0
        return func.julianday(end) - func.julianday(start)


def _counted() -> ColumnElement[bool]:
    return or_(Referral.closure_reason.is_(None), Referral.closure_reason.not_in(NOT_COUNTED))


def _in_scope(scope: Scope) -> ColumnElement[bool]:
    return and_(Referral.area_id.in_(scope.area_ids), _counted())


def _count(session: Session, query: Any) -> int:
    return int(session.scalar(query) or 0)


def _median(session: Session, values: Any) -> tuple[float | None, int]:
    """The median of a one-column query `values` (labelled `v`), in SQL; and how many values."""
    sub = values.subquery()
    ranked = select(
        sub.c.v,
        func.row_number().over(order_by=sub.c.v).label("rn"),
        func.count().over().label("n"),
    ).subquery()
    middle = or_(ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == (ranked.c.n + 2) // 2)
    row = session.execute(select(func.avg(ranked.c.v), func.max(ranked.c.n)).where(middle)).one()
    if row[1] is None:
        return None, 0
    return round(float(row[0]), 1), int(row[1])


def _percent(numerator: int, denominator: int) -> float | None:
    return round(100.0 * numerator / denominator, 1) if denominator else None


# -- the indicators ------------------------------------------------------------------------------


def _concerns(session: Session, scope: Scope) -> int:
    query = select(func.count(Referral.id)).where(
        _in_scope(scope), scope.during(Referral.received_at), Referral.transfer_from.is_(None)
    )
    return _count(session, query)


def _irds(session: Session, scope: Scope) -> int:
    query = (
        select(func.count(Ird.referral_id))
        .join(Referral, Referral.id == Ird.referral_id)
        .where(_in_scope(scope), scope.during(Ird.started_at))
    )
    return _count(session, query)


def _repeat_irds(session: Session, scope: Scope, sql: Sql) -> int:
    earlier_ird = aliased(Ird)
    earlier_referral = aliased(Referral)
    earlier_child = aliased(Child)
    earlier = (
        select(earlier_ird.referral_id)
        .join(earlier_referral, earlier_referral.id == earlier_ird.referral_id)
        .join(earlier_child, earlier_child.id == earlier_referral.child_id)
        .where(
            earlier_child.identity_id == Child.identity_id,
            earlier_ird.referral_id != Ird.referral_id,
            or_(
                earlier_referral.closure_reason.is_(None),
                earlier_referral.closure_reason.not_in(NOT_COUNTED),
            ),
            earlier_ird.started_at < Ird.started_at,
            sql.day_key(earlier_ird.started_at) >= sql.day_key(Ird.started_at) - 1200,
        )
        .exists()
    )
    query = (
        select(func.count(distinct(Child.identity_id)))
        .select_from(Ird)
        .join(Referral, Referral.id == Ird.referral_id)
        .join(Child, Child.id == Referral.child_id)
        .where(_in_scope(scope), scope.during(Ird.started_at), earlier)
    )
    return _count(session, query)


def _ird_outcomes(session: Session, scope: Scope) -> dict[str, int]:
    out = dict.fromkeys(IRD_OUTCOMES, 0)
    screened = (
        select(func.count(Screening.referral_id))
        .join(Referral, Referral.id == Screening.referral_id)
        .where(_in_scope(scope), scope.during(Screening.decided_at))
    )
    out["screened_out"] = _count(session, screened)
    decided = (
        select(Ird.decision, func.count(Ird.referral_id))
        .join(Referral, Referral.id == Ird.referral_id)
        .where(
            _in_scope(scope),
            Ird.decision.in_(list(IRD_DECISIONS)),
            scope.during(Ird.decided_at),
        )
        .group_by(Ird.decision)
    )
    for decision, count in session.execute(decided):
        out[IRD_DECISIONS[str(decision)]] = int(count)
    return out


def _jiis(session: Session, scope: Scope) -> int:
    query = (
        select(func.count(Jii.id))
        .join(Referral, Referral.id == Jii.referral_id)
        .where(_in_scope(scope), Jii.status == "conducted", scope.during(Jii.conducted_at))
    )
    return _count(session, query)


def _cppms(session: Session, scope: Scope) -> dict[str, int]:
    out = dict.fromkeys(CONFERENCE_TYPES, 0)
    query = (
        select(Conference.conference_type, func.count(Conference.id))
        .join(Referral, Referral.id == Conference.referral_id)
        .where(
            _in_scope(scope), Conference.decision.is_not(None), scope.during(Conference.decided_at)
        )
        .group_by(Conference.conference_type)
    )
    for kind, count in session.execute(query):
        out[kind] = int(count)
    return out


def _registrations(session: Session, scope: Scope) -> int:
    query = (
        select(func.count(Registration.id))
        .join(Referral, Referral.id == Registration.referral_id)
        .where(_in_scope(scope), scope.during(Registration.registered_at))
    )
    return _count(session, query)


def _deregistration_reason() -> ColumnElement[str]:
    """The reason a registration ended, as a de-registration reason; NULL when it did not end
    a registration (a transfer to another area, a record in error or a duplicate)."""
    return case(
        (
            Registration.end_reason == "deregistered",
            func.coalesce(Registration.deregistration_reason, "other"),
        ),
        (Registration.end_reason == "child_died", "child_died"),
        (Registration.end_reason.in_(("transferred_out", *NOT_COUNTED)), None),
        else_="other",
    )


def _ended(scope: Scope) -> ColumnElement[bool]:
    return and_(
        _in_scope(scope),
        Registration.ended_at.is_not(None),
        scope.during(Registration.ended_at),
        Registration.end_reason.not_in(("transferred_out", *NOT_COUNTED)),
    )


def _deregistrations(session: Session, scope: Scope) -> dict[str, int]:
    out = dict.fromkeys(DEREGISTRATION_REASONS, 0)
    reason = _deregistration_reason().label("reason")
    query = (
        select(reason, func.count(Registration.id))
        .join(Referral, Referral.id == Registration.referral_id)
        .where(_ended(scope))
        .group_by(reason)
    )
    for key, count in session.execute(query):
        out[key] = out.get(key, 0) + int(count)
    return out


def _on_register(session: Session, scope: Scope) -> dict[str, int]:
    day_after = local_start(scope.at + timedelta(days=1))
    unborn = or_(Child.date_of_birth.is_(None), Child.date_of_birth > scope.at)
    kind = case((unborn, "unborn"), else_="born").label("kind")
    query = (
        select(kind, func.count(distinct(Child.identity_id)))
        .select_from(Registration)
        .join(Referral, Referral.id == Registration.referral_id)
        .join(Child, Child.id == Referral.child_id)
        .where(
            _in_scope(scope),
            Registration.registered_at < day_after,
            or_(Registration.ended_at.is_(None), Registration.ended_at >= day_after),
        )
        .group_by(kind)
    )
    out = dict.fromkeys(REGISTER_KEYS, 0)
    for key, count in session.execute(query):
        out[key] = int(count)
    return out


def _concern_to_ird(session: Session, scope: Scope, sql: Sql) -> tuple[float | None, int]:
    values = (
        select(sql.days_between(Referral.received_at, Ird.started_at).label("v"))
        .select_from(Ird)
        .join(Referral, Referral.id == Ird.referral_id)
        .where(_in_scope(scope), scope.during(Ird.started_at))
    )
    return _median(session, values)


def _ird_to_initial_cppm(session: Session, scope: Scope, sql: Sql) -> tuple[float | None, int]:
    values = (
        select(sql.days_between(Ird.decided_at, Conference.decided_at).label("v"))
        .select_from(Conference)
        .join(Referral, Referral.id == Conference.referral_id)
        .join(Ird, Ird.referral_id == Conference.referral_id)
        .where(
            _in_scope(scope),
            Conference.conference_type.in_(("initial", "pre_birth")),
            Conference.decision.is_not(None),
            scope.during(Conference.decided_at),
            Ird.decided_at.is_not(None),
        )
    )
    return _median(session, values)


def _reregistrations(session: Session, scope: Scope, sql: Sql) -> int:
    before = aliased(Registration)
    before_referral = aliased(Referral)
    before_child = aliased(Child)
    earlier = (
        select(before.id)
        .join(before_referral, before_referral.id == before.referral_id)
        .join(before_child, before_child.id == before_referral.child_id)
        .where(
            before_child.identity_id == Child.identity_id,
            before.end_reason == "deregistered",
            before.ended_at <= Registration.registered_at,
            sql.day_key(before.ended_at) >= sql.day_key(Registration.registered_at) - 1800,
        )
        .exists()
    )
    query = (
        select(func.count(Registration.id))
        .join(Referral, Referral.id == Registration.referral_id)
        .join(Child, Child.id == Referral.child_id)
        .where(_in_scope(scope), scope.during(Registration.registered_at), earlier)
    )
    return _count(session, query)


def _areas_of_concern(session: Session, scope: Scope) -> dict[str, int]:
    out = dict.fromkeys(CONCERN_CATEGORIES, 0)
    query = (
        select(RegistrationConcern.category, func.count())
        .join(Registration, Registration.id == RegistrationConcern.registration_id)
        .join(Referral, Referral.id == Registration.referral_id)
        .where(_in_scope(scope), scope.during(Registration.registered_at))
        .group_by(RegistrationConcern.category)
    )
    for category, count in session.execute(query):
        out[category] = int(count)
    return out


def _time_on_register(session: Session, scope: Scope, sql: Sql) -> dict[str, int]:
    months = sql.day_key(Registration.ended_at) - sql.day_key(Registration.registered_at)
    band = case(
        *[(months < upper * 100, key) for key, _lower, upper in BANDS if upper is not None],
        else_=BANDS[-1][0],
    ).label("band")
    query = (
        select(band, func.count(Registration.id))
        .join(Referral, Referral.id == Registration.referral_id)
        .where(_ended(scope))
        .group_by(band)
    )
    out = {key: 0 for key, _lower, _upper in BANDS}
    for key, count in session.execute(query):
        out[key] = int(count)
    return out


def _views(session: Session, scope: Scope) -> tuple[int, int]:
    """(decisions recording the child's views, decisions) for IRDs and CPPMs in the period."""
    recorded_ird = func.length(func.coalesce(Ird.childs_views, "")) > 0
    ird = session.execute(
        select(func.count(), func.count().filter(recorded_ird))
        .select_from(Ird)
        .join(Referral, Referral.id == Ird.referral_id)
        .where(_in_scope(scope), Ird.decision.is_not(None), scope.during(Ird.decided_at))
    ).one()
    recorded_cppm = func.length(func.coalesce(ConferenceMeeting.childs_views, "")) > 0
    cppm = session.execute(
        select(func.count(), func.count().filter(recorded_cppm))
        .select_from(ConferenceMeeting)
        .join(Conference, Conference.id == ConferenceMeeting.conference_id)
        .join(Referral, Referral.id == Conference.referral_id)
        .where(
            _in_scope(scope),
            ConferenceMeeting.decision.is_not(None),
            scope.during(ConferenceMeeting.held_at),
        )
    ).one()
    return int(ird[1]) + int(cppm[1]), int(ird[0]) + int(cppm[0])


def _rules(profile: str) -> list[str]:
    names: list[str] = []
    for version in sorted(versions(profile), reverse=True):
        for rule in definition(profile, version).timescales:
            if rule.name not in names:
                names.append(rule.name)
    return names


def _clocks(session: Session, scope: Scope) -> Iterable[tuple[str, int, Clocks]]:
    """The stored clocks of the referrals whose clocks may fall due in the period (SQL picks
    the referrals; each clock is judged as the referral shows it)."""
    query = select(Referral.profile, Referral.profile_version, Referral.clocks).where(
        _in_scope(scope),
        Referral.received_at < scope.end,
        or_(Referral.closed_at.is_(None), Referral.closed_at >= scope.start - timedelta(days=1)),
    )
    for profile, version, doc in session.execute(query.execution_options(yield_per=1000)):
        yield profile, version, Clocks.from_json(doc)


def _timescales(
    session: Session, scope: Scope, profile: str
) -> tuple[dict[str, int], tuple[int, int, int]]:
    """timescale_compliance, and (initial CPPMs held, within original due, within extended due)."""
    out = {f"{rule}.{status}": 0 for rule in _rules(profile) for status in COMPLIANCE}
    held = within = within_extended = 0
    for profile_name, version, clocks in _clocks(session, scope):
        judged = statuses(definition(profile_name, version), clocks, scope.now)
        for status in judged:
            if scope.period_from <= status.due <= scope.period_to and status.status in COMPLIANCE:
                key = f"{status.rule}.{status.status}"
                out[key] = out.get(key, 0) + 1
            if (
                status.rule == "initial_cppm"
                and status.status in (MET, MET_LATE)
                and status.met_at is not None
                and scope.start <= status.met_at < scope.end
            ):
                met_day = status.met_at.astimezone(ZONE).date()
                held += 1
                within += met_day <= status.original_due
                within_extended += met_day <= status.due
    return out, (held, within, within_extended)


@dataclass(frozen=True)
class Result:
    """One indicator's answer before suppression: `value` or `breakdown`, and `n`, the number
    of cases a percentage or median stands on."""

    indicator: Indicator
    value: float | int | None = None
    breakdown: dict[str, int] | None = None
    n: int | None = None


def compute(
    session: Session,
    *,
    period_from: date,
    period_to: date,
    area_ids: Sequence[int],
    profile: str,
    now: datetime,
    at: date | None = None,
) -> list[Result]:
    """Every indicator, in `INDICATORS` order, for the period and the areas."""
    scope = Scope(
        period_from,
        period_to,
        tuple(sorted(area_ids)) or (-1,),
        at or default_at(period_from, period_to),
        now,
    )
    sql = Sql(session)
    concern_to_ird, concern_n = _concern_to_ird(session, scope, sql)
    ird_to_cppm, cppm_n = _ird_to_initial_cppm(session, scope, sql)
    compliance, (held, within, within_extended) = _timescales(session, scope, profile)
    views, decisions = _views(session, scope)
    b = BY_ID
    return [
        Result(b["concerns_received"], _concerns(session, scope)),
        Result(b["irds_held"], _irds(session, scope)),
        Result(b["children_repeat_ird_12m"], _repeat_irds(session, scope, sql)),
        Result(b["ird_outcomes"], breakdown=_ird_outcomes(session, scope)),
        Result(b["jiis_held"], _jiis(session, scope)),
        Result(b["cppms_held"], breakdown=_cppms(session, scope)),
        Result(b["registrations"], _registrations(session, scope)),
        Result(b["deregistrations"], breakdown=_deregistrations(session, scope)),
        Result(b["on_register_at"], breakdown=_on_register(session, scope)),
        Result(b["median_days_concern_to_ird"], concern_to_ird, n=concern_n),
        Result(b["median_days_ird_to_initial_cppm"], ird_to_cppm, n=cppm_n),
        Result(b["initial_cppm_within_timescale_pct"], _percent(within, held), n=held),
        Result(
            b["initial_cppm_within_timescale_with_extensions_pct"],
            _percent(within_extended, held),
            n=held,
        ),
        Result(b["reregistrations_18m"], _reregistrations(session, scope, sql)),
        Result(b["areas_of_concern_at_registration"], breakdown=_areas_of_concern(session, scope)),
        Result(
            b["time_on_register_at_deregistration"],
            breakdown=_time_on_register(session, scope, sql),
        ),
        Result(b["childs_views_recorded_pct"], _percent(views, decisions), n=decisions),
        Result(b["timescale_compliance"], breakdown=compliance),
    ]


# -- trends -------------------------------------------------------------------------------------


def _month_starts(first: date, last: date) -> list[date]:
    months, current = [], date(first.year, first.month, 1)
    while current <= last:
        months.append(current)
        current = date(current.year + (current.month == 12), current.month % 12 + 1, 1)
    return months


def monthly(
    session: Session, *, period_from: date, period_to: date, area_ids: Sequence[int]
) -> list[tuple[date, int, int]]:
    """Concerns received and IRDs held in each calendar month of the period (SQL counts per
    month: one statement per series, grouped by the month's bounds)."""
    months = _month_starts(period_from, period_to)
    ids = tuple(sorted(area_ids)) or (-1,)
    rows: list[tuple[date, int, int]] = []
    for month in months:
        following = _month_starts(month, month + timedelta(days=31))[1]
        scope = Scope(
            max(month, period_from),
            min(following - timedelta(days=1), period_to),
            ids,
            period_to,
            datetime.now(UTC),
        )
        rows.append((month, _concerns(session, scope), _irds(session, scope)))
    return rows


def yearly(
    session: Session, *, years: Sequence[date], area_ids: Sequence[int]
) -> list[tuple[date, int, int, int]]:
    """Concerns, IRDs and registrations in each statistical year starting on `years`."""
    ids = tuple(sorted(area_ids)) or (-1,)
    out = []
    for start in years:
        first, last = statistical_year(start)
        scope = Scope(first, last, ids, last, datetime.now(UTC))
        out.append(
            (
                first,
                _concerns(session, scope),
                _irds(session, scope),
                _registrations(session, scope),
            )
        )
    return out


# -- suppression --------------------------------------------------------------------------------


def _small(value: int) -> bool:
    return 1 <= value <= SMALL


def suppress_breakdown(breakdown: dict[str, int]) -> dict[str, int | str]:
    """Counts 1..4 as "<5"; if that hides exactly one cell, the next smallest non-zero cell is
    hidden too, so that the breakdown's total (known elsewhere) cannot give the hidden one away."""
    out: dict[str, int | str] = {k: (SUPPRESSED if _small(v) else v) for k, v in breakdown.items()}
    hidden = [k for k, v in breakdown.items() if _small(v)]
    if len(hidden) == 1:
        others = sorted((v, k) for k, v in breakdown.items() if k not in hidden and v > 0)
        if others:
            out[others[0][1]] = SECONDARY
    return out


def as_json(result: Result, *, suppressed: bool) -> dict[str, Any]:
    """One indicator in the API's shape: `value` (a number, "<5" or null) or `breakdown`."""
    ind = result.indicator
    body: dict[str, Any] = {
        "id": ind.id,
        "title": ind.title,
        "definition_url": ind.definition_url,
    }
    if result.breakdown is not None:
        body["breakdown"] = (
            suppress_breakdown(result.breakdown) if suppressed else dict(result.breakdown)
        )
        return body
    value: Any = result.value
    small_count = ind.kind == "count" and isinstance(value, int) and _small(value)
    few_cases = ind.kind in ("percent", "median") and result.n is not None and _small(result.n)
    if suppressed and (small_count or few_cases):
        value = SUPPRESSED
    body["value"] = value
    return body


def csv_rows(indicators: Sequence[dict[str, Any]]) -> list[list[str]]:
    """The answer as CSV rows: id, title, key (empty for a single value), value, definition."""
    rows = [["id", "title", "key", "value", "definition_url"]]
    for ind in indicators:
        if "breakdown" in ind:
            for key, value in ind["breakdown"].items():
                rows.append([ind["id"], ind["title"], key, _cell(value), ind["definition_url"]])
        else:
            rows.append([ind["id"], ind["title"], "", _cell(ind["value"]), ind["definition_url"]])
    return rows


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


__all__ = [
    "INDICATORS",
    "Indicator",
    "Result",
    "as_json",
    "compute",
    "csv_rows",
    "default_at",
    "monthly",
    "statistical_year",
    "suppress_breakdown",
    "yearly",
]


# -- who may read which areas -------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    """An answer: the period, the areas it covers (slugs) and every indicator's result."""

    period_from: date
    period_to: date
    at: date
    areas: list[str]
    area_ids: list[int]
    results: list[Result]

    def to_json(self, *, suppressed: bool) -> dict[str, Any]:
        return {
            "from": self.period_from.isoformat(),
            "to": self.period_to.isoformat(),
            "at": self.at.isoformat(),
            "areas": self.areas,
            "suppressed": suppressed,
            "indicators": [as_json(r, suppressed=suppressed) for r in self.results],
        }


def readable_areas(session: Session, user: User, slug: str | None) -> list[Area]:
    """The areas `user` may read indicators for: all of theirs, or the one asked for.

    Administrators read no case records and no figures drawn from them (403); an unknown area
    is 404; another area than the user's own is 403, as recording a concern there is.
    """
    if user.role == Role.ADMIN:
        raise Forbidden("administrators do not read indicators drawn from case records")
    own = sorted(user.areas, key=lambda a: a.slug)
    if slug is None:
        return own
    area = session.scalars(select(Area).where(Area.slug == slug)).one_or_none()
    if area is None:
        raise NotFound(f"no area {slug!r}")
    if area.id not in {a.id for a in own}:
        raise Forbidden("you may read indicators only for your own areas")
    return [area]


def report(
    session: Session,
    user: User,
    *,
    period_from: date | None,
    period_to: date | None,
    area: str | None,
    at: date | None,
    profile: str,
    now: datetime,
) -> Report:
    """Every indicator for `user`'s areas (or one of them) over the period (default: the
    current statistical year)."""
    today = now.astimezone(ZONE).date()
    default_from, default_to = statistical_year(today)
    first = period_from or (default_from if period_to is None else statistical_year(period_to)[0])
    last = period_to or (default_to if period_from is None else statistical_year(first)[1])
    if first > last:
        raise Unprocessable({"from": ["must not be after `to`"]})
    areas = readable_areas(session, user, area)
    ids = [a.id for a in areas]
    chosen_at = at or default_at(first, last)
    results = compute(
        session,
        period_from=first,
        period_to=last,
        area_ids=ids,
        profile=profile,
        now=now,
        at=chosen_at,
    )
    return Report(first, last, chosen_at, [a.slug for a in areas], ids, results)


def suppress_count(value: int) -> int | str:
    """A count as the page and `reports` tokens see it."""
    return SUPPRESSED if _small(value) else value


def csv_download(body: dict[str, Any]) -> tuple[str, str]:
    """The answer (its JSON form) as CSV text, and the file name to offer it under."""
    out = io.StringIO()
    csv.writer(out).writerows(csv_rows(body["indicators"]))
    return out.getvalue(), f"indicators-{body['from']}-{body['to']}.csv"
