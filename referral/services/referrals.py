"""Recording a concern, correcting it, and reading a referral's stage records and timescales."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from referral.errors import Conflict, Forbidden, Unprocessable
from referral.models import (
    AccessLogEntry,
    Area,
    Child,
    ChildIdentity,
    Conference,
    Event,
    Investigation,
    Ird,
    Jii,
    ReferenceSequence,
    Referral,
    ReferralAgency,
    Registration,
    User,
)
from referral.services.audit import append_event
from referral.services.pending import mark_pending_stale
from referral.services.preconditions import check_if_match
from workflow import Actor, Engine, InvalidData, Subject, ValidationContext
from workflow.calendar import calendar_for
from workflow.fields import parse_datetime
from workflow.registry import definition as get_definition
from workflow.registry import engine as engine_for
from workflow.timescales import HistoryEvent, TimescaleStatus, current_due, evaluate
from workflow.vocabulary import PRACTITIONER_ROLES


class DbDirectory:
    """The workflow's view of users and areas, read from the database (cached per request)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._agencies: dict[str, str | None] = {}

    def agency_of(self, username: str) -> str | None:
        if username not in self._agencies:
            user = self.session.scalars(select(User).where(User.username == username)).first()
            self._agencies[username] = user.agency if user is not None and user.active else None
        return self._agencies[username]

    def area_exists(self, slug: str) -> bool:
        return self.session.scalars(select(Area.id).where(Area.slug == slug)).first() is not None


# -- stage records ---------------------------------------------------------------------------


@dataclass
class Stages:
    """Every stage record of one referral, loaded in a fixed number of queries."""

    ird: Ird | None = None
    investigation: Investigation | None = None
    jiis: list[Jii] = field(default_factory=list)
    conferences: list[Conference] = field(default_factory=list)
    registrations: list[Registration] = field(default_factory=list)

    @property
    def open_conference(self) -> Conference | None:
        last = self.conferences[-1] if self.conferences else None
        return last if last is not None and last.decision is None else None

    @property
    def planned_jii(self) -> Jii | None:
        planned = [j for j in self.jiis if j.status == "planned"]
        return planned[-1] if planned else None

    @property
    def current_registration(self) -> Registration | None:
        live = [r for r in self.registrations if r.ended_at is None]
        return live[-1] if live else None


def load_stages(session: Session, referral_id: str) -> Stages:
    return Stages(
        ird=session.get(Ird, referral_id),
        investigation=session.get(Investigation, referral_id),
        jiis=list(
            session.scalars(select(Jii).where(Jii.referral_id == referral_id).order_by(Jii.id))
        ),
        conferences=list(
            session.scalars(
                select(Conference)
                .where(Conference.referral_id == referral_id)
                .order_by(Conference.id)
            )
        ),
        registrations=list(
            session.scalars(
                select(Registration)
                .where(Registration.referral_id == referral_id)
                .order_by(Registration.id)
            )
        ),
    )


def load_events(session: Session, referral_id: str) -> list[Event]:
    return list(
        session.scalars(select(Event).where(Event.referral_id == referral_id).order_by(Event.seq))
    )


def timescales(referral: Referral, events: list[Event], now: datetime) -> list[TimescaleStatus]:
    history = [
        HistoryEvent(trigger=e.trigger, at=e.at, data=e.data, to_state=e.to_state)
        for e in events
        if e.type == "transition"
    ]
    return evaluate(
        get_definition(referral.profile, referral.profile_version),
        history,
        concern_received_at=referral.received_at,
        expected_date_of_delivery=referral.child.expected_date_of_delivery,
        now=now,
    )


def profile_today(profile: str, now: datetime, version: int | None = None) -> date:
    """Today's date where the profile's work happens (overdue is judged on local dates)."""
    d = get_definition(profile, version)
    return calendar_for(d.holiday_country, d.holiday_subdivision, d.timezone).local_date(now)


def local_today(referral: Referral, now: datetime) -> date:
    return profile_today(referral.profile, now, referral.profile_version)


def refresh_due_dates(referral: Referral, stages: Stages, statuses: list[TimescaleStatus]) -> None:
    """Keep the columns that reports and the `overdue` filter read in step with the timescales."""
    open_dues = [s.due for s in statuses if s.met_at is None]
    referral.next_due = min(open_dues) if open_dues and referral.state != "closed" else None
    if stages.investigation is not None:
        stages.investigation.initial_cppm_due = current_due(statuses, "initial_cppm")


def subject_of(referral: Referral, stages: Stages, statuses: list[TimescaleStatus]) -> Subject:
    conference = stages.open_conference
    jii = stages.planned_jii
    registration = stages.current_registration
    meetings = conference.meetings if conference is not None else []
    return Subject(
        state=referral.state,
        unborn=referral.child.date_of_birth is None,
        conference_type=conference.conference_type if conference else None,
        chair=conference.chair if conference else None,
        last_meeting_inquorate=bool(meetings) and not meetings[-1].quorate,
        interviewers=tuple(jii.interviewers) if jii else (),
        core_group_agencies=frozenset(
            m["agency"] for m in (registration.core_group if registration else [])
        ),
        initial_cppm_due=current_due(statuses, "initial_cppm"),
    )


@dataclass
class Situation:
    """Everything the engine needs to judge a trigger on one referral now, read once."""

    engine: Engine
    stages: Stages
    events: list[Event]
    statuses: list[TimescaleStatus]
    subject: Subject
    ctx: ValidationContext


def situation(session: Session, referral: Referral, now: datetime) -> Situation:
    stages = load_stages(session, referral.id)
    events = load_events(session, referral.id)
    statuses = timescales(referral, events, now)
    return Situation(
        engine=engine_for(referral.profile, referral.profile_version),
        stages=stages,
        events=events,
        statuses=statuses,
        subject=subject_of(referral, stages, statuses),
        ctx=validation_context(session, now, referral),
    )


def record_agencies(referral: Referral, agencies: set[str]) -> None:
    """Remember agencies now recorded on the referral (they may then see it)."""
    known = {a.agency for a in referral.agencies}
    for agency in sorted(agencies - known):
        referral.agencies.append(ReferralAgency(referral_id=referral.id, agency=agency))


# -- recording a concern ---------------------------------------------------------------------


def _next_reference(session: Session, area: Area, year: int) -> str:
    seq = session.scalars(
        select(ReferenceSequence)
        .where(ReferenceSequence.area_id == area.id, ReferenceSequence.year == year)
        .with_for_update()
    ).one_or_none()
    if seq is None:
        try:
            with session.begin_nested():
                seq = ReferenceSequence(area_id=area.id, year=year, last_number=0)
                session.add(seq)
        except IntegrityError:  # another request created this year's counter first
            seq = session.scalars(
                select(ReferenceSequence)
                .where(ReferenceSequence.area_id == area.id, ReferenceSequence.year == year)
                .with_for_update()
            ).one()
    seq.last_number += 1
    return f"{area.reference_prefix}-{year}-{seq.last_number:05d}"


def name_key(given: str, family: str) -> str:
    return f"{given.strip().lower()}|{family.strip().lower()}"


def _as_date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


@dataclass(frozen=True)
class ChildMatch:
    """How a new concern's child matched a child already known, and where: never their details."""

    kind: str  # "new", "chi" or "possible"
    identity: ChildIdentity
    referrals: list[Referral]

    @property
    def areas(self) -> list[str]:
        return sorted({r.area.slug for r in self.referrals})


def _match_child(session: Session, details: dict[str, Any]) -> ChildMatch:
    """The identity of a known child with the same CHI number, else the same name and birth.

    Matching looks across every area (re-referral is counted across Scotland) but only the
    identity is shared: the new referral keeps its own record of the child.
    """
    chi = details.get("chi_number")
    identity: ChildIdentity | None = None
    kind = "new"
    if chi:
        identity = session.scalars(
            select(ChildIdentity).where(ChildIdentity.chi_number == chi)
        ).one_or_none()
        kind = "chi" if identity is not None else kind
    birth = _as_date(details.get("date_of_birth"))
    if identity is None and birth is not None:
        key = name_key(details["given_name"], details["family_name"])
        candidates = session.scalars(
            select(ChildIdentity)
            .join(Child, Child.identity_id == ChildIdentity.id)
            .where(Child.name_key == key, Child.date_of_birth == birth)
            .order_by(ChildIdentity.id)
        ).all()
        # a known CHI number that differs is a different child
        found = next((c for c in candidates if not chi or c.chi_number is None), None)
        if found is not None:
            identity, kind = found, "possible"
            if chi:
                found.chi_number = chi  # the identity gains the CHI number; no details move
    if identity is None:
        identity = ChildIdentity(chi_number=chi or None)
        session.add(identity)
        session.flush()
        return ChildMatch("new", identity, [])
    matched = list(
        session.scalars(
            select(Referral)
            .join(Child, Child.id == Referral.child_id)
            .where(Child.identity_id == identity.id)
            .order_by(Referral.created_at, Referral.id)
        )
    )
    return ChildMatch(kind, identity, matched)


def _child_record(identity: ChildIdentity, details: dict[str, Any], now: datetime) -> Child:
    return Child(
        identity_id=identity.id,
        created_at=now,
        chi_number=details.get("chi_number"),
        given_name=details["given_name"],
        family_name=details["family_name"],
        name_key=name_key(details["given_name"], details["family_name"]),
        date_of_birth=_as_date(details.get("date_of_birth")),
        expected_date_of_delivery=_as_date(details.get("expected_date_of_delivery")),
        sex=details.get("sex"),
        address=details.get("address"),
        school=details.get("school"),
    )


def may_record(user: User) -> bool:
    return user.role in PRACTITIONER_ROLES


def validation_context(session: Session, now: datetime, referral: Referral | None = None) -> Any:
    return ValidationContext(
        now=now,
        directory=DbDirectory(session),
        concern_received_at=referral.received_at if referral is not None else None,
    )


def create_referral(
    session: Session,
    user: User,
    payload: Any,
    profile: str,
    now: datetime,
    *,
    remote_addr: str | None = None,
) -> Referral:
    """Record a concern: the referral, its own record of the child, and its first event.

    A child already known (here or in another area) is linked by identity; the response says
    only that a match exists and in which areas, and each matched referral's access log records
    that it was matched.
    """
    if not may_record(user):
        raise Forbidden(f"a {user.role.replace('_', ' ')} may not record a concern")
    engine = engine_for(profile)
    try:
        cleaned = engine.validate_new_referral(payload, validation_context(session, now))
    except InvalidData as exc:
        raise Unprocessable(exc.errors) from exc
    area = session.scalars(select(Area).where(Area.slug == cleaned["area"])).one()
    if area.id not in user.area_ids:
        raise Forbidden("you may record concerns only in your own areas")
    details, concern = cleaned["child"], cleaned["concern"]
    d = engine.definition
    match = _match_child(session, details)
    child = _child_record(match.identity, details, now)
    session.add(child)
    year = calendar_for(d.holiday_country, d.holiday_subdivision, d.timezone).local_date(now).year
    referral = Referral(
        id=uuid.uuid4().hex,
        reference=_next_reference(session, area, year),
        area=area,
        child=child,
        child_match=match.kind,
        child_match_areas=match.areas,
        state=d.initial_state,
        profile=d.profile,
        profile_version=d.version,
        referrer_agency=user.agency,
        created_by=user.username,
        created_at=now,
        updated_at=now,
        received_at=parse_datetime(concern["received_at"]),
        concern_source=concern["source"],
        concern_summary=concern["summary"],
        concern_categories=list(concern.get("categories") or []),
        immediate_risk=concern["immediate_risk"],
        child_spoken_to=concern["child_spoken_to"],
        last_event_seq=0,
        last_event_hash="",
    )
    session.add(referral)
    session.flush()  # the referral row exists before its first event refers to it
    record_agencies(referral, {user.agency})
    actor = Actor(user.username, user.agency, user.role)
    append_event(
        session,
        referral,
        actor,
        "created",
        now,
        {
            "area": area.slug,
            "child": child_json(child),
            "child_match": child_match_json(referral),
            "concern": concern_json(referral),
        },
        to_state=referral.state,
    )
    for matched in match.referrals:
        session.add(
            AccessLogEntry(
                referral_id=matched.id,
                username=user.username,
                agency=user.agency,
                role=user.role,
                via="match",
                at=now,
                what=f"child match ({match.kind}) when {referral.reference} was recorded",
                remote_addr=remote_addr,
            )
        )
    statuses = timescales(referral, [], now)
    refresh_due_dates(referral, Stages(), statuses)
    session.flush()
    return referral


def child_match_json(referral: Referral) -> dict[str, Any] | None:
    """`{"kind", "areas"}` when the child matched one already known, else None."""
    if referral.child_match == "new":
        return None
    return {"kind": referral.child_match, "areas": list(referral.child_match_areas)}


def child_json(child: Child) -> dict[str, Any]:
    return {
        "given_name": child.given_name,
        "family_name": child.family_name,
        "date_of_birth": child.date_of_birth.isoformat() if child.date_of_birth else None,
        "expected_date_of_delivery": child.expected_date_of_delivery.isoformat()
        if child.expected_date_of_delivery
        else None,
        "chi_number": child.chi_number,
        "sex": child.sex,
        "address": child.address,
        "school": child.school,
    }


def concern_json(referral: Referral) -> dict[str, Any]:
    return {
        "received_at": referral.received_at.isoformat(),
        "source": referral.concern_source,
        "summary": referral.concern_summary,
        "categories": list(referral.concern_categories),
        "immediate_risk": referral.immediate_risk,
        "child_spoken_to": referral.child_spoken_to,
    }


# -- corrections -----------------------------------------------------------------------------

CHILD_COLUMNS = {
    "given_name": "given_name",
    "family_name": "family_name",
    "date_of_birth": "date_of_birth",
    "expected_date_of_delivery": "expected_date_of_delivery",
    "chi_number": "chi_number",
    "sex": "sex",
    "address": "address",
    "school": "school",
}
CONCERN_COLUMNS = {
    "received_at": "received_at",
    "source": "concern_source",
    "summary": "concern_summary",
    "categories": "concern_categories",
    "immediate_risk": "immediate_risk",
    "child_spoken_to": "child_spoken_to",
}
#: fields a correction may empty (the rest are required facts of the record)
CLEARABLE = {"chi_number", "sex", "address", "school", "categories"}
DATES = {"date_of_birth", "expected_date_of_delivery"}


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def _stored(name: str, value: Any) -> Any:
    """A cleaned value (ISO text for moments) as the column holds it."""
    if value is None:
        return [] if name == "categories" else None
    if name in DATES:
        return date.fromisoformat(value)
    if name == "received_at":
        return parse_datetime(value)
    return list(value) if name == "categories" else value


def _diff(record: Any, columns: dict[str, str], changes: dict[str, Any]) -> dict[str, Any]:
    diff: dict[str, Any] = {}
    for name, value in changes.items():
        old = getattr(record, columns[name])
        if old != value:
            diff[name] = {"old": _jsonable(old), "new": _jsonable(value)}
    return diff


def correct_referral(
    session: Session,
    user: User,
    referral: Referral,
    payload: Any,
    now: datetime,
    reason: str | None = None,
    *,
    if_match: str | None = None,
) -> list[Event]:
    """Correct the child's or the concern's details, field by field, every change audited.

    The child's details are this referral's record. Other open referrals of the same child
    (same identity) in the same area that the corrector can see are corrected with it, so the
    area's records agree; each referral whose child changed gets its own `child_corrected`
    event. Records the corrector cannot see, and other areas' records, are never touched.
    """
    if not may_record(user):
        raise Forbidden(f"a {user.role.replace('_', ' ')} may not correct a referral")
    if referral.is_closed:
        raise Conflict("a closed referral cannot be corrected", state=referral.state)
    if isinstance(payload, dict) and "state" in payload:
        raise Unprocessable({"state": ["cannot be corrected: fire a trigger instead"]})
    engine = engine_for(referral.profile, referral.profile_version)
    try:
        cleaned = engine.validate_correction(payload, validation_context(session, now))
    except InvalidData as exc:
        raise Unprocessable(exc.errors) from exc
    child_changes = {k: _stored(k, v) for k, v in (cleaned.get("child") or {}).items()}
    concern_changes = {k: _stored(k, v) for k, v in (cleaned.get("concern") or {}).items()}
    emptied = [
        f"child.{k}" for k, v in child_changes.items() if v is None and k not in CLEARABLE | DATES
    ] + [f"concern.{k}" for k, v in concern_changes.items() if v is None and k not in CLEARABLE]
    if emptied:
        raise Unprocessable(
            {path: ["cannot be emptied: give the corrected value"] for path in emptied}
        )
    first_step = _first_step_at(session, referral)
    if (
        "received_at" in concern_changes
        and first_step
        and concern_changes["received_at"] > first_step
    ):
        raise Conflict(
            "the concern cannot have been received after the IRD started",
            errors={
                "concern.received_at": [
                    f"must not be after the IRD started ({first_step.isoformat()})"
                ]
            },
            state=referral.state,
        )
    child = referral.child
    child_diff = _diff(child, CHILD_COLUMNS, child_changes)
    concern_diff = _diff(referral, CONCERN_COLUMNS, concern_changes)
    if not child_diff and not concern_diff:
        check_if_match(referral, if_match, required=True)
        return []
    merged = {k: getattr(child, c) for k, c in CHILD_COLUMNS.items()} | child_changes
    if (merged["date_of_birth"] is None) == (merged["expected_date_of_delivery"] is None):
        # each value may be fine; together with what the record holds they are not
        raise Conflict(
            "the child would have both or neither of a date of birth and an expected date of "
            "delivery: correct both in one request",
            errors={
                "child.date_of_birth": [
                    "give exactly one of date_of_birth or expected_date_of_delivery"
                ]
            },
            state=referral.state,
        )
    check_if_match(referral, if_match, required=True)
    actor = Actor(user.username, user.agency, user.role)
    events = []
    if concern_diff:
        for name in concern_diff:
            setattr(referral, CONCERN_COLUMNS[name], concern_changes[name])
        events.append(
            _after_change(
                session,
                referral,
                actor,
                now,
                "concern_corrected",
                {"changes": concern_diff},
                reason,
            )
        )
    if child_diff:
        siblings = _same_child_here(session, user, referral) if child_diff else []
        for each in [referral, *siblings]:
            each_diff = _diff(each.child, CHILD_COLUMNS, {k: child_changes[k] for k in child_diff})
            if not each_diff:
                continue
            for name in each_diff:
                setattr(each.child, CHILD_COLUMNS[name], child_changes[name])
            each.child.name_key = name_key(each.child.given_name, each.child.family_name)
            data = {"changes": each_diff}
            if each is not referral:
                data["corrected_through"] = referral.reference
            events.append(_after_change(session, each, actor, now, "child_corrected", data, reason))
    return events


def _first_step_at(session: Session, referral: Referral) -> datetime | None:
    """When the first step after the concern happened (the IRD's start), if it has."""
    ird = session.get(Ird, referral.id)
    return ird.started_at if ird is not None else None


def _same_child_here(session: Session, user: User, referral: Referral) -> list[Referral]:
    """Open referrals of the same child in the same area that `user` can see, locked."""
    from referral.services.visibility import visible

    return list(
        session.scalars(
            select(Referral)
            .join(Child, Child.id == Referral.child_id)
            .where(
                Child.identity_id == referral.child.identity_id,
                Referral.id != referral.id,
                Referral.area_id == referral.area_id,
                Referral.state != "closed",
                visible(user),
            )
            .order_by(Referral.id)
            .with_for_update(of=Referral)
        )
    )


def _after_change(
    session: Session,
    referral: Referral,
    actor: Actor,
    now: datetime,
    kind: str,
    data: dict[str, Any],
    reason: str | None,
) -> Event:
    """Audit a correction of `referral`, stale its pending approval, and refresh its due dates."""
    mark_pending_stale(session, referral, actor, now, kind)
    event = append_event(session, referral, actor, kind, now, data, reason=reason)
    stages = load_stages(session, referral.id)
    statuses = timescales(referral, load_events(session, referral.id), now)
    refresh_due_dates(referral, stages, statuses)
    session.flush()
    return event
