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
    Area,
    Child,
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
from workflow import Actor, Engine, Subject, ValidationContext
from workflow.calendar import calendar_for
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
        ctx=ValidationContext(now=now, directory=DbDirectory(session)),
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


def _name_key(given: str, family: str) -> str:
    return f"{given.strip().lower()}|{family.strip().lower()}"


def _find_or_add_child(
    session: Session, details: dict[str, Any]
) -> tuple[Child, str, dict[str, Any]]:
    """Link to a known child: same CHI number, else same name and date of birth.

    Returns the child, how it matched, and any change made to a known child's record.
    """
    chi = details.get("chi_number")
    if chi:
        known = session.scalars(select(Child).where(Child.chi_number == chi)).one_or_none()
        if known is not None:
            return known, "chi", {}
    key = _name_key(details["given_name"], details["family_name"])
    if details.get("date_of_birth") is not None:
        match = session.scalars(
            select(Child)
            .where(Child.name_key == key, Child.date_of_birth == details["date_of_birth"])
            .order_by(Child.id)
        ).first()
        if match is not None and (not chi or match.chi_number is None):
            if chi:  # the known child gains the CHI number; the created event records it
                match.chi_number = chi
                return match, "possible_duplicate", {"chi_number": {"old": None, "new": chi}}
            return match, "possible_duplicate", {}
    child = Child(
        chi_number=chi or None,
        given_name=details["given_name"].strip(),
        family_name=details["family_name"].strip(),
        name_key=key,
        date_of_birth=details.get("date_of_birth"),
        expected_date_of_delivery=details.get("expected_date_of_delivery"),
        sex=details.get("sex"),
        address=details.get("address"),
        school=details.get("school"),
    )
    session.add(child)
    return child, "new", {}


def may_record(user: User) -> bool:
    return user.role in PRACTITIONER_ROLES


def create_referral(
    session: Session, user: User, payload: dict[str, Any], profile: str, now: datetime
) -> Referral:
    """Record a concern: the child (linked if known), the referral, and its first event."""
    if not may_record(user):
        raise Forbidden(f"a {user.role.replace('_', ' ')} may not record a concern")
    area = session.scalars(select(Area).where(Area.slug == payload["area"])).one_or_none()
    if area is None:
        raise Unprocessable({"area": ["is not an area known to this system"]})
    if area.id not in user.area_ids:
        raise Forbidden("you may record concerns only in your own areas")
    concern = payload["concern"]
    if concern["received_at"] > now:
        raise Unprocessable({"concern.received_at": ["must not be in the future"]})
    d = get_definition(profile)
    child, match, child_changes = _find_or_add_child(session, payload["child"])
    year = calendar_for(d.holiday_country, d.holiday_subdivision, d.timezone).local_date(now).year
    referral = Referral(
        id=uuid.uuid4().hex,
        reference=_next_reference(session, area, year),
        area=area,
        child=child,
        child_match=match,
        state=d.initial_state,
        profile=d.profile,
        profile_version=d.version,
        referrer_agency=user.agency,
        created_by=user.username,
        created_at=now,
        updated_at=now,
        received_at=concern["received_at"],
        concern_source=concern["source"],
        concern_summary=concern["summary"].strip(),
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
            "child_match": match,
            "child_changes": child_changes,
            "concern": concern_json(referral),
        },
        to_state=referral.state,
    )
    statuses = timescales(referral, [], now)
    refresh_due_dates(referral, Stages(), statuses)
    session.flush()
    return referral


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


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def correct_referral(
    session: Session,
    user: User,
    referral: Referral,
    changes: dict[str, Any],
    now: datetime,
    reason: str | None = None,
) -> Event | None:
    """Apply corrections field by field; the event keeps every old and new value."""
    if not may_record(user):
        raise Forbidden(f"a {user.role.replace('_', ' ')} may not correct a referral")
    if referral.is_closed:
        raise Conflict("a closed referral cannot be corrected", state=referral.state)
    diff: dict[str, dict[str, Any]] = {}
    child = referral.child
    for name, value in (changes.get("child") or {}).items():
        column = CHILD_COLUMNS[name]
        if name in ("given_name", "family_name") and (value is None or not str(value).strip()):
            raise Unprocessable({f"child.{name}": ["must not be blank"]})
        old = getattr(child, column)
        if old != value:
            diff.setdefault("child", {})[name] = {"old": _jsonable(old), "new": _jsonable(value)}
    for name, value in (changes.get("concern") or {}).items():
        column = CONCERN_COLUMNS[name]
        if value is None and name != "categories":
            raise Unprocessable({f"concern.{name}": ["must not be empty"]})
        if name == "received_at" and value > now:
            raise Unprocessable({"concern.received_at": ["must not be in the future"]})
        old = getattr(referral, column)
        if old != value:
            diff.setdefault("concern", {})[name] = {"old": _jsonable(old), "new": _jsonable(value)}
    if not diff:
        return None
    new_child = {
        **{k: getattr(child, c) for k, c in CHILD_COLUMNS.items()},
        **(changes.get("child") or {}),
    }
    if (new_child["date_of_birth"] is None) == (new_child["expected_date_of_delivery"] is None):
        raise Unprocessable(
            {
                "child.date_of_birth": [
                    "give exactly one of date_of_birth or expected_date_of_delivery"
                ]
            }
        )
    chi = new_child["chi_number"]
    if chi and chi != child.chi_number:
        other = session.scalars(
            select(Child.id).where(Child.chi_number == chi, Child.id != child.id)
        ).first()
        if other is not None:
            raise Unprocessable({"child.chi_number": ["another child already has this CHI number"]})
    for name in diff.get("child", {}):
        setattr(
            child,
            CHILD_COLUMNS[name],
            (changes["child"][name] or None)
            if name not in ("given_name", "family_name")
            else changes["child"][name].strip(),
        )
    child.name_key = _name_key(child.given_name, child.family_name)
    for name in diff.get("concern", {}):
        value = changes["concern"][name]
        setattr(
            referral, CONCERN_COLUMNS[name], list(value or []) if name == "categories" else value
        )
    actor = Actor(user.username, user.agency, user.role)
    mark_pending_stale(session, referral, actor, now, "corrected")
    event = append_event(session, referral, actor, "corrected", now, diff, reason=reason)
    stages = load_stages(session, referral.id)
    statuses = timescales(referral, load_events(session, referral.id), now)
    refresh_due_dates(referral, stages, statuses)
    session.flush()
    return event
