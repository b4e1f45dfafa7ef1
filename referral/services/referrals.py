"""Recording a concern, correcting it, and reading a referral's stage records and timescales."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any, NamedTuple, cast
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ARRAY,
    Date,
    String,
    Table,
    Text,
    bindparam,
    exists,
    func,
    insert,
    inspect,
    literal_column,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from referral.db import (
    attach_loaded,
    column_values,
    insert_for,
    insert_loaded,
    reading_apart,
)
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
    ReferralLink,
    ReferralShare,
    Registration,
    Screening,
    Transfer,
    User,
)
from referral.services import trail
from referral.services.audit import append_event, chain_event
from referral.services.directory import may_be_named
from referral.services.pending import mark_pending_stale
from referral.services.preconditions import check_if_match
from workflow import Actor, Engine, InvalidData, Subject, ValidationContext
from workflow.calendar import calendar_for
from workflow.definition import Definition
from workflow.fields import parse_datetime
from workflow.registry import definition as get_definition
from workflow.registry import engine as engine_for
from workflow.timescales import (
    Clocks,
    Facts,
    HistoryEvent,
    TimescaleStatus,
    advance,
    begin,
    current_due,
    next_due,
    statuses,
)
from workflow.vocabulary import PRACTITIONER_ROLES, with_article


class DbDirectory:
    """The workflow's view of users and areas, read from the database (cached per request)."""

    def __init__(
        self,
        session: Session,
        known_areas: frozenset[str] = frozenset(),
        area_id: int | None = None,
    ) -> None:
        self.session = session
        self._agencies: dict[str, str | None] = {}
        self._known_areas = known_areas  # slugs already read (the user's own areas)
        self._area_id = area_id  # the referral's area, when a referral's record is checked

    def agency_of(self, username: str) -> str | None:
        """The agency of a user the record may name (`may_be_named`), or None."""
        if username not in self._agencies:
            query = select(User.agency).where(
                User.username == username, may_be_named(self._area_id)
            )
            self._agencies[username] = self.session.scalars(query).first()
        return self._agencies[username]

    def area_exists(self, slug: str) -> bool:
        if slug in self._known_areas:
            return True
        return self.session.scalars(select(Area.id).where(Area.slug == slug)).first() is not None


# -- stage records ---------------------------------------------------------------------------


class Stages:
    """A referral's stage records, each read from the database the first time it is asked for.

    A write touches only the records its trigger changes; a referral's state and clocks come
    from its own row. Without a session (a replay) every record starts out absent. A new row
    goes on its list before it is added to the session: loading the list flushes pending rows,
    which would then be listed twice.
    """

    def __init__(self, session: Session | None = None, referral_id: str | None = None) -> None:
        self._session = session
        self._referral_id = referral_id
        self._loaded: dict[str, Any] = {}

    def _load(self, name: str, query: Any, one: bool = False) -> Any:
        if name not in self._loaded:
            if self._session is None:
                self._loaded[name] = None if one else []
            elif one:
                self._loaded[name] = self._session.get(query, self._referral_id)
            else:
                self._loaded[name] = list(self._session.scalars(query))
        return self._loaded[name]

    def _rows(self, model: Any, *order: Any) -> Any:
        return select(model).where(model.referral_id == self._referral_id).order_by(*order)

    @property
    def ird(self) -> Ird | None:
        found: Ird | None = self._load("ird", Ird, one=True)
        return found

    @ird.setter
    def ird(self, value: Ird | None) -> None:
        self._loaded["ird"] = value

    @property
    def investigation(self) -> Investigation | None:
        found: Investigation | None = self._load("investigation", Investigation, one=True)
        return found

    @investigation.setter
    def investigation(self, value: Investigation | None) -> None:
        self._loaded["investigation"] = value

    @property
    def jiis(self) -> list[Jii]:
        rows: list[Jii] = self._load("jiis", self._rows(Jii, Jii.id))
        return rows

    @property
    def conferences(self) -> list[Conference]:
        rows: list[Conference] = self._load("conferences", self._rows(Conference, Conference.id))
        return rows

    @property
    def registrations(self) -> list[Registration]:
        rows: list[Registration] = self._load(
            "registrations", self._rows(Registration, Registration.id)
        )
        return rows

    @property
    def transfers(self) -> list[Transfer]:
        rows: list[Transfer] = self._load("transfers", self._rows(Transfer, Transfer.id))
        return rows

    @property
    def shares(self) -> list[ReferralShare]:
        rows: list[ReferralShare] = self._load(
            "shares", self._rows(ReferralShare, ReferralShare.area)
        )
        return rows

    @property
    def screening(self) -> Screening | None:
        found: Screening | None = self._load("screening", Screening, one=True)
        return found

    @screening.setter
    def screening(self, value: Screening | None) -> None:
        self._loaded["screening"] = value

    def loaded_sections(self) -> list[str]:
        """The stage records this write read (or made): the only ones it may have changed."""
        return [name for name in SECTION_NAMES if name in self._loaded]

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

    def open_transfer(self, receiving_referral_id: str | None = None) -> Transfer | None:
        """The transfer awaiting the receiving area's conference (to that referral, if named)."""
        for transfer in reversed(self.transfers):
            if transfer.outcome is None and receiving_referral_id in (
                None,
                transfer.receiving_referral_id,
            ):
                return transfer
        return None


#: the sections of the read document (referral.services.projection), in their order
SECTION_NAMES = (
    "ird",
    "screening",
    "investigation",
    "jiis",
    "conferences",
    "registrations",
    "transfers",
)
#: the read document of a referral with no stage records yet
EMPTY_STAGES: dict[str, Any] = {
    name: None if name in ("ird", "screening", "investigation") else [] for name in SECTION_NAMES
}


def load_stages(session: Session, referral_id: str) -> Stages:
    return Stages(session, referral_id)


def load_events(session: Session, referral_id: str) -> list[Event]:
    return list(
        session.scalars(select(Event).where(Event.referral_id == referral_id).order_by(Event.seq))
    )


# -- timescales: clocks kept with the referral ----------------------------------------------------


def history_event(e: Event) -> HistoryEvent:
    return HistoryEvent(trigger=e.trigger, at=e.at, data=e.data, to_state=e.to_state)


def facts_of(referral: Referral) -> Facts:
    """The facts the clocks read, as the referral holds them now."""
    return Facts(referral.received_at, referral.child.expected_date_of_delivery)


def definition_of(referral: Referral) -> Definition:
    return get_definition(referral.profile, referral.profile_version)


def clocks_of(referral: Referral) -> Clocks:
    return Clocks.from_json(referral.clocks)


def timescales(referral: Referral, now: datetime) -> list[TimescaleStatus]:
    """Every clock of the referral judged now, from its stored state (no replay)."""
    return statuses(definition_of(referral), clocks_of(referral), now)


def keep_clocks(referral: Referral, stages: Stages, state: Clocks) -> None:
    """Store the clocks, and the columns that reports and the `overdue` filter read."""
    due = current_due(state, "initial_cppm")
    changed = due != current_due(clocks_of(referral), "initial_cppm")
    referral.clocks = state.to_json()
    referral.next_due = next_due(state)
    # the investigation's row is read only when its due date moves (the write that moves it
    # has it in hand: starting, extending or deciding)
    if (changed or "investigation" in stages.loaded_sections()) and stages.investigation:
        stages.investigation.initial_cppm_due = due


def advance_clocks(referral: Referral, stages: Stages, event: Event) -> None:
    """The clocks after one transition, judged on the facts as they stand now."""
    state = advance(
        definition_of(referral), clocks_of(referral), history_event(event), facts_of(referral)
    )
    keep_clocks(referral, stages, state)


def clocks_from_events(definition: Definition, events: Sequence[Any]) -> Clocks:
    """A referral's clocks from its events alone (the service's writes, replayed).

    Every clock runs from when the concern was received, as last corrected. Version 1 judges
    every clock on the child's facts as they are now; version 2 on the facts as they stood
    when the clock ran (the expected date of delivery then), so a correction of the child
    changes no past due date.
    """
    received: datetime | None = None
    edd: date | None = None
    moved_on: date | None = None
    timeline: list[tuple[Any, date | None]] = []  # each transition, and the EDD it saw
    for event in events:
        data = event.data
        if event.type == "created":
            received = parse_datetime(data["concern"]["received_at"])
            edd = _iso_date(data["child"].get("expected_date_of_delivery"))
            moved_on = _iso_date(data.get("moved_on"))
        elif event.type == "concern_corrected" and "received_at" in data["changes"]:
            received = parse_datetime(data["changes"]["received_at"]["new"])
        elif event.type in ("child_corrected", "corrected"):
            changes = data.get("changes") or data.get("child") or {}
            if "expected_date_of_delivery" in changes:
                edd = _iso_date(changes["expected_date_of_delivery"]["new"])
        elif event.type == "corrected" and "received_at" in (data.get("concern") or {}):
            received = parse_datetime(data["concern"]["received_at"]["new"])
        elif event.type == "transition":
            timeline.append((event, edd))
    if received is None:
        return Clocks()
    if definition.recompute_on_correction:
        timeline = [(event, edd) for event, _ in timeline]
        first_edd = edd
    else:
        first_edd = next(
            (
                _iso_date(e.data["child"].get("expected_date_of_delivery"))
                for e in events
                if e.type == "created"
            ),
            None,
        )
    state = begin(definition, Facts(received, first_edd, moved_on))
    for event, seen in timeline:
        state = advance(
            definition,
            state,
            HistoryEvent(event.trigger, event.at, event.data, event.to_state),
            Facts(received, seen),
        )
    return state


def _iso_date(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


def refold_clocks(session: Session, referral: Referral, stages: Stages) -> None:
    """After a correction that moves clocks: every clock again, from the events."""
    events = load_events(session, referral.id)
    keep_clocks(referral, stages, clocks_from_events(definition_of(referral), events))


def profile_today(profile: str, now: datetime, version: int | None = None) -> date:
    """Today's date where the profile's work happens (overdue is judged on local dates)."""
    d = get_definition(profile, version)
    return calendar_for(d.holiday_country, d.holiday_subdivision, d.timezone).local_date(now)


def local_today(referral: Referral, now: datetime) -> date:
    return profile_today(referral.profile, now, referral.profile_version)


def subject_of(referral: Referral, doc: dict[str, Any], today: date | None = None) -> Subject:
    """What the guards and rules read: the referral's row and its read document, on `today`."""
    conferences = doc.get("conferences") or []
    conference = conferences[-1] if conferences and conferences[-1]["decision"] is None else None
    planned = [j for j in doc.get("jiis") or [] if j["status"] == "planned"]
    jii = planned[-1] if planned else None
    live = [r for r in doc.get("registrations") or [] if r["ended_at"] is None]
    registration = live[-1] if live else None
    meetings = conference["meetings"] if conference is not None else []
    return Subject(
        state=referral.state,
        unborn=referral.child.date_of_birth is None,
        conference_type=conference["conference_type"] if conference else None,
        chair=conference["chair"] if conference else None,
        last_meeting_inquorate=bool(meetings) and not meetings[-1]["quorate"],
        interviewers=tuple(jii["interviewers"]) if jii else (),
        core_group_agencies=frozenset(
            m["agency"] for m in (registration["core_group"] if registration else [])
        ),
        initial_cppm_due=current_due(clocks_of(referral), "initial_cppm"),
        today=today,
        area=referral.area.slug,
        transfer_in=referral.transfer_from is not None,
    )


@dataclass
class Situation:
    """Everything the engine needs to judge a trigger on one referral now, read once.

    A fixed number of queries whatever the referral's history: the clocks are stored.
    """

    engine: Engine
    stages: Stages
    statuses: list[TimescaleStatus]
    subject: Subject
    ctx: ValidationContext


def situation(session: Session, referral: Referral, now: datetime) -> Situation:
    from referral.services.projection import stored_document

    stages = load_stages(session, referral.id)
    ctx = validation_context(session, now, referral)
    return Situation(
        engine=engine_for(referral.profile, referral.profile_version),
        stages=stages,
        statuses=timescales(referral, now),
        subject=subject_of(referral, stored_document(session, referral), ctx.local_today),
        ctx=ctx,
    )


def record_agencies(referral: Referral, agencies: set[str]) -> None:
    """Remember agencies now recorded on the referral (they may then see it)."""
    known = referral.agency_set
    new = agencies - known
    if not new:
        return
    state = inspect(referral)
    for agency in sorted(new):
        row = ReferralAgency(referral_id=referral.id, agency=agency)
        if state.session is not None and "agencies" not in state.dict:
            # not loaded (a referral read for one request): loading it would flush the changes
            # made so far, and the referral's row would be written, and versioned, twice
            state.session.add(row)
        else:
            referral.agencies.append(row)
    set_committed_value(referral, "agency_list", ",".join(sorted(known | new)))


# -- recording a concern ---------------------------------------------------------------------


#: the width a reference's number is padded to (a wider one is written in full)
REFERENCE_DIGITS = 5


@cache
def _take_reference_number(dialect: str, where: Any = None) -> Any:
    """The area's counter for the year moved on by one, or made at 1 (the year's first), in one
    statement; the number taken is the answer. Its row stays locked to the commit. The area's
    id is bound as `r_area_id` (the new referral's own, in `_new_concern_rows`), the year as
    `n_year`. With `where`, only if that holds."""
    counters = cast(Table, ReferenceSequence.__table__)
    one: Any = literal_column("1")  # written into the statement: only the values are parameters
    taken = insert_for(dialect, counters)
    if where is None:
        taken = taken.values(
            area_id=bindparam("r_area_id"), year=bindparam("n_year"), last_number=one
        )
    else:
        values = select(
            bindparam("r_area_id", type_=counters.c.area_id.type),
            bindparam("n_year", type_=counters.c.year.type),
            one,
        ).where(where)
        taken = taken.from_select(["area_id", "year", "last_number"], values)
    return taken.on_conflict_do_update(
        index_elements=[counters.c.area_id, counters.c.year],
        set_={"last_number": counters.c.last_number + one},
    ).returning(counters.c.last_number)


def _reference_stem(area: Area, year: int) -> str:
    return f"{area.reference_prefix}-{year}-"


def _next_reference(session: Session, area: Area, year: int) -> str:
    """The area's next reference number this year, from its counter row (SQLite; PostgreSQL
    takes it in the statement that writes the referral).

    Taking the number holds the counter's row lock to the commit, so other concerns recorded
    in the area at the same time wait for this one: it is taken last, just before the new
    referral is written.
    """
    statement = _take_reference_number(session.get_bind().dialect.name)
    number = session.connection().execute(statement, {"r_area_id": area.id, "n_year": year})
    return f"{_reference_stem(area, year)}{number.scalar_one():0{REFERENCE_DIGITS}d}"


def name_key(given: str, family: str) -> str:
    return f"{given.strip().lower()}|{family.strip().lower()}"


def _as_date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


class MatchedReferral(NamedTuple):
    """A referral of a matched child: all a match needs of it (its id, for the access log that
    records the disclosure, and its area, which the answer names)."""

    id: str
    area: str


@dataclass(frozen=True)
class ChildMatch:
    """How a new concern's child matched a child already known, and where: never their details."""

    kind: str  # "new", "chi" or "possible"
    identity: ChildIdentity
    referrals: list[MatchedReferral]

    @property
    def areas(self) -> list[str]:
        return sorted({r.area for r in self.referrals})


# built once: every concern recorded (and every match previewed) runs one or both; they read
# ids (the identity itself is loaded only when one matches: most children are new). On
# PostgreSQL a concern recorded runs the same two queries inside `match_child_locked`
# (migration 0010), after the child's locks: a change to one is a change to both.
_IDENTITY_BY_CHI = select(ChildIdentity.id).where(ChildIdentity.chi_number == bindparam("chi"))
_IDENTITIES_BY_NAME_AND_BIRTH = (
    select(ChildIdentity.id, ChildIdentity.chi_number)
    .join(Child, Child.identity_id == ChildIdentity.id)
    .where(Child.name_key == bindparam("key"), Child.date_of_birth == bindparam("birth"))
    .order_by(ChildIdentity.id)
)


class MatchedBy(NamedTuple):
    """What a child is matched by: its CHI number, else its name with its date of birth."""

    chi: str | None
    name: str  # `name_key`
    birth: date | None

    @classmethod
    def of(cls, details: dict[str, Any]) -> MatchedBy:
        name = name_key(details["given_name"], details["family_name"])
        return cls(details.get("chi_number") or None, name, _as_date(details.get("date_of_birth")))


def _known_identity(session: Session, by: MatchedBy) -> tuple[str, ChildIdentity | None]:
    """How a child's details match a child already known: ("chi" or "possible", its identity),
    or ("new", None). Only reads: the same answer for a preview and for the record made."""
    connection = session.connection()
    by_chi = None
    if by.chi:
        by_chi = connection.execute(_IDENTITY_BY_CHI, {"chi": by.chi}).scalar_one_or_none()
    candidates: Sequence[Any] = ()
    if by_chi is None and by.birth is not None:
        same = {"key": by.name, "birth": by.birth}
        candidates = connection.execute(_IDENTITIES_BY_NAME_AND_BIRTH, same).all()
    return _chosen(session, by, by_chi, candidates)


def _chosen(
    session: Session, by: MatchedBy, by_chi: int | None, candidates: Sequence[Any]
) -> tuple[str, ChildIdentity | None]:
    """The identity with the child's CHI number, else the first with its name and date of birth
    (`candidates`, by id) that has no other CHI number: a known CHI number that differs is a
    different child."""
    if by_chi is not None:
        return "chi", session.get_one(ChildIdentity, by_chi)
    found = next((c.id for c in candidates if not by.chi or c.chi_number is None), None)
    if found is not None:
        return "possible", session.get_one(ChildIdentity, found)
    return "new", None


#: the referrals of one identity, oldest first: ids and areas, not the referrals themselves
_REFERRALS_OF_IDENTITY = (
    select(Referral.id, Area.slug)
    .join(Child, Child.id == Referral.child_id)
    .join(Area, Area.id == Referral.area_id)
    .where(Child.identity_id == bindparam("identity_id"))
    .order_by(Referral.created_at, Referral.id)
)


def _matched_referrals(session: Session, identity: ChildIdentity) -> list[MatchedReferral]:
    found = session.execute(_REFERRALS_OF_IDENTITY, {"identity_id": identity.id})
    return [MatchedReferral(*row) for row in found]


#: PostgreSQL: a lock for each of a child's keys, held to the end of the transaction, then the
#: identities it may be (migration 0010): one call, reading what was committed while it waited
_LOCKED_MATCH = text(
    "SELECT identity_id AS id, chi_number, by_chi "
    "FROM match_child_locked(CAST(:keys AS TEXT[]), :chi, :key, :birth)"
).bindparams(bindparam("keys", type_=ARRAY(Text)), bindparam("birth", type_=Date))


def _locked_identity(session: Session, by: MatchedBy) -> tuple[str, ChildIdentity | None]:
    """PostgreSQL: `_known_identity`, once the child's locks are taken."""
    if not (keys := _child_keys(by)):
        return "new", None  # nothing to match by, nothing to lock
    params = {"keys": keys, "chi": by.chi, "key": by.name, "birth": by.birth}
    rows = session.connection().execute(_LOCKED_MATCH, params).all()
    by_chi = next((row.id for row in rows if row.by_chi), None)
    return _chosen(session, by, by_chi, [row for row in rows if not row.by_chi])


def _child_keys(by: MatchedBy) -> list[str]:
    """What a child is matched by."""
    keys = []
    if by.chi:
        keys.append(f"chi:{by.chi}")
    if by.birth is not None:
        keys.append(f"birth:{by.name}|{by.birth}")
    return keys


#: whether a child with this CHI number, or with this name and date of birth, is known now
_KNOWN_NOW = select(
    or_(
        exists().where(ChildIdentity.chi_number == bindparam("chi")),
        exists().where(
            Child.name_key == bindparam("key"), Child.date_of_birth == bindparam("birth")
        ),
    )
)


class _ChildKnownMeanwhile(Exception):
    """SQLite: the child, new when matched, was recorded by another writer before the lock."""


class _MatchFirst(Exception):
    """PostgreSQL: the statement writing a new child's rows found that the child may be known,
    and wrote nothing; the concern is recorded again with its child matched first."""


def _check_still_new(session: Session, by: MatchedBy) -> None:
    """SQLite, for a child found new before the write lock was taken: look once more by one
    statement, the first of the writing transaction (so with the lock held)."""
    if not by.chi and by.birth is None:
        return  # nothing to match by
    params = {"chi": by.chi, "key": by.name, "birth": by.birth}
    if session.connection().execute(_KNOWN_NOW, params).scalar():
        raise _ChildKnownMeanwhile


def _match_child(session: Session, by: MatchedBy) -> tuple[ChildMatch, bool]:
    """The identity of a known child with the same CHI number, else the same name and birth;
    and whether a child found new must be looked for again once the write lock is taken.

    Matching looks across every area (re-referral is counted across Scotland) but only the
    identity is shared: the new referral keeps its own record of the child.

    Concerns about one child recorded at the same moment are matched one after the other, so
    the second matches the first's child instead of making it a second identity. On
    PostgreSQL each takes a lock on the child's keys, held until it commits (a different
    child's concern does not wait), and then looks, in one call (`match_child_locked`,
    migration 0010) that reads what was committed while it waited. A concern's first try on
    PostgreSQL makes that call in the statement that writes a new child's rows instead, which
    writes nothing if the child may be known (`_MatchFirst`); most children are new, so most
    concerns cost one statement less. On SQLite the match is
    read before the single write lock is taken (`reading_apart`), so other writers need not
    wait while the concern is matched and its rows are made: a child found known is matched
    again with the lock taken, and one found new is looked for once more before its rows are
    written (`_check_still_new`).
    """
    if session.get_bind().dialect.name == "postgresql":
        kind, identity = _locked_identity(session, by)
        apart = False
    else:
        with reading_apart(session) as apart:
            kind, identity = _known_identity(session, by)
        if apart and identity is not None:
            kind, identity = _known_identity(session, by)  # again, the write lock taken
    if identity is None:
        identity = ChildIdentity(chi_number=by.chi)
        return ChildMatch("new", identity, []), apart  # written with the child's record
    if kind == "possible" and by.chi:
        identity.chi_number = by.chi  # the identity gains the CHI number; no details move
    return ChildMatch(kind, identity, _matched_referrals(session, identity)), False


def _child_record(identity: ChildIdentity, details: dict[str, Any], now: datetime) -> Child:
    return Child(
        identity=identity,
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
        ethnicity=details.get("ethnicity"),
        disability=details.get("disability"),
        religion=details.get("religion"),
    )


def may_record(user: User) -> bool:
    return user.role in PRACTITIONER_ROLES


def check_may_record(user: User) -> None:
    """403 for a user who may not record a concern (an auditor, an administrator)."""
    if not may_record(user):
        raise Forbidden(f"{with_article(user.role)} may not record a concern")


def validation_context(
    session: Session,
    now: datetime,
    referral: Referral | None = None,
    profile: str = "scotland",
    known_areas: frozenset[str] = frozenset(),
) -> Any:
    if referral is not None:
        today = local_today(referral, now)
        zone = definition_of(referral).timezone
    else:
        today = profile_today(profile, now)
        zone = get_definition(profile).timezone
    return ValidationContext(
        now=now,
        directory=DbDirectory(
            session, known_areas, referral.area_id if referral is not None else None
        ),
        concern_received_at=referral.received_at if referral is not None else None,
        today=today,
        zone=ZoneInfo(zone),
    )


def _checked_concern(
    session: Session, user: User, payload: Any, profile: str, now: datetime
) -> tuple[Engine, dict[str, Any], Area]:
    """A new concern as recording it checks it: the engine, the cleaned body and its area."""
    check_may_record(user)
    engine = engine_for(profile)
    try:
        cleaned = engine.validate_new_referral(
            payload,
            validation_context(
                session, now, profile=profile, known_areas=frozenset(a.slug for a in user.areas)
            ),
        )
    except InvalidData as exc:
        raise Unprocessable(exc.errors) from exc
    # the area exists (validated above); it must be one of the user's, already loaded with them
    area = next((a for a in user.areas if a.slug == cleaned["area"]), None)
    if area is None:
        raise Forbidden("you may record concerns only in your own areas")
    return engine, cleaned, area


def _log_matched(
    session: Session,
    user: User,
    matched: list[MatchedReferral],
    what: str,
    now: datetime,
    remote_addr: str | None,
) -> None:
    """Each matched referral's access log records that a child match disclosed it exists.

    The rows are objects for the unit of work, written at the next flush, not rows waiting for
    the commit (`trail`): each one's foreign key waits for a matched referral that another
    request may hold locked, and that request may itself be waiting for the change feed's
    lock, which the commit's statement takes before it writes waiting rows (a deadlock)."""
    for each in matched:
        session.add(
            AccessLogEntry(
                referral_id=each.id,
                username=user.username,
                agency=user.agency,
                role=user.role,
                via="match",
                at=now,
                what=what,
                remote_addr=remote_addr,
            )
        )


def preview_child_match(
    session: Session,
    user: User,
    payload: Any,
    profile: str,
    now: datetime,
    *,
    shown: dict[str, Any] | None = None,
    remote_addr: str | None = None,
) -> dict[str, Any] | None:
    """Would recording this concern match a child already known? Asked before saving.

    The concern is checked as `create_referral` checks it (the same errors), and the child
    matched by the same code. The answer is what the recorded referral's `child_match` would
    say, `{"kind", "areas"}` or None: that a match exists and where, never its details.
    Since that answer discloses that the child is known there, each matched referral's access
    log records it now, as recording does, whether or not the concern is then saved; unless
    it is the match already `shown` (the user confirms it and records the concern, which logs
    the match again).
    """
    _, cleaned, _ = _checked_concern(session, user, payload, profile, now)
    kind, identity = _known_identity(session, MatchedBy.of(cleaned["child"]))
    if identity is None:
        return None
    match = ChildMatch(kind, identity, _matched_referrals(session, identity))
    answer = {"kind": match.kind, "areas": match.areas}
    if answer != shown:
        what = f"child match ({kind}) shown before a concern was recorded"
        _log_matched(session, user, match.referrals, what, now, remote_addr)
    return answer


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
    try:
        return _record_concern(session, user, payload, profile, now, remote_addr, first_try=True)
    except _ChildKnownMeanwhile:
        # nothing is written yet: record it again, matched with the write lock held throughout
        session.rollback()
        session.connection()
    except _MatchFirst:
        pass  # nothing is written or waiting: record it again in this transaction, matched first
    return _record_concern(session, user, payload, profile, now, remote_addr, first_try=False)


def _record_concern(
    session: Session,
    user: User,
    payload: Any,
    profile: str,
    now: datetime,
    remote_addr: str | None,
    *,
    first_try: bool,
) -> Referral:
    engine, cleaned, area = _checked_concern(session, user, payload, profile, now)
    details, concern = cleaned["child"], cleaned["concern"]
    d = engine.definition
    transfer = None
    if cleaned.get("transfer_from"):
        from referral.services.transfers import awaiting_receipt

        transfer = awaiting_receipt(session, area, cleaned["transfer_from"])
    siblings = _siblings(session, user, cleaned.get("related_referrals") or [])
    year = calendar_for(d.holiday_country, d.holiday_subdivision, d.timezone).local_date(now).year
    matched_by = MatchedBy.of(details)
    speculate = first_try and transfer is None  # a child transferred in is known already
    if speculate and session.get_bind().dialect.name == "postgresql" and _child_keys(matched_by):
        # most children are new: matched in the statement that writes the rows, which writes
        # nothing if the child may be known (`_MatchFirst`)
        match = ChildMatch("new", ChildIdentity(chi_number=matched_by.chi), [])
        check_still_new, unless_known = False, matched_by
    else:
        match, check_still_new = _match_child(session, matched_by)
        unless_known = None
    child = _child_record(match.identity, details, now)
    referral = Referral(
        id=uuid.uuid4().hex,
        area=area,
        area_id=area.id,
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
        childs_views=concern.get("childs_views"),
        named_person=cleaned.get("named_person"),
        transfer_from=transfer.referral_id if transfer is not None else None,
        last_event_seq=0,
        last_event_hash="",
        clocks={},
        stages_doc=dict(EMPTY_STAGES),
        related_ids=[],
        agency_list=user.agency,
    )
    agency = ReferralAgency(referral_id=referral.id, agency=user.agency)
    referral.agencies = [agency]
    actor = Actor(user.username, user.agency, user.role)
    # added to the trail once the rows are written (a first try may write nothing)
    created = chain_event(
        referral,
        actor,
        "created",
        now,
        {
            "area": area.slug,
            "child": child_json(child),
            "child_match": child_match_json(referral),
            "concern": concern_json(referral),
            **new_referral_extras(referral, transfer, siblings),
        },
        to_state=referral.state,
    )
    moved_on = transfer.moved_on if transfer is not None else None
    facts = Facts(referral.received_at, child.expected_date_of_delivery, moved_on)
    keep_clocks(referral, Stages(), begin(d, facts))
    if check_still_new:
        _check_still_new(session, matched_by)
    _write_new_rows(session, match, child, referral, agency, year, unless_known=unless_known)
    trail.add_event(session, created)
    for sibling in siblings:
        _link_siblings(session, referral, sibling, actor, now)
    if transfer is not None:
        from referral.services.transfers import received

        received(session, transfer, referral, actor, now)
    what = f"child match ({match.kind}) when {referral.reference} was recorded"
    _log_matched(session, user, match.referrals, what, now, remote_addr)
    session.flush()
    return referral


def _write_new_rows(
    session: Session,
    match: ChildMatch,
    child: Child,
    referral: Referral,
    agency: ReferralAgency,
    year: int,
    *,
    unless_known: MatchedBy | None = None,
) -> None:
    """The referral's reference number, the child's identity (when new), record, the referral
    and its agency, without the unit of work's bookkeeping (a later change to one is an UPDATE
    as usual): one statement on PostgreSQL, one each on SQLite. The number is taken last, just
    before the rows are written: the counter's row lock is held from there to the commit.

    `unless_known` (PostgreSQL, a child not matched yet, by what it is matched by): the
    statement matches the child first and writes nothing if it may be known; `_MatchFirst` is
    raised then."""
    identity = match.identity
    new_identity = match.kind == "new"
    if not new_identity:
        session.flush()  # an identity that gained its CHI number
    if session.get_bind().dialect.name == "postgresql":
        params = {f"c_{k}": v for k, v in column_values(child).items() if k != "identity_id"}
        params |= {
            f"r_{k}": v
            for k, v in column_values(referral).items()
            if k not in ("child_id", "reference")
        }
        params |= {
            "a_agency": agency.agency,
            "n_year": year,
            "n_stem": _reference_stem(referral.area, year),
        }
        if new_identity:
            params |= {f"i_{k}": v for k, v in column_values(identity).items()}
        else:
            params["c_identity_id"] = identity.id
        if unless_known is not None:
            params["m_keys"] = _child_keys(unless_known)
        statement = _new_concern_rows(new_identity, unless_known is not None)
        row = session.connection().execute(statement, params).one_or_none()
        if row is None:
            raise _MatchFirst
        identity.id = child.identity_id = row.identity_id
        child.id = referral.child_id = row.child_id
        referral.reference = row.reference
        attach_loaded(session, *([identity] if new_identity else []), child, referral, agency)
        return
    referral.reference = _next_reference(session, referral.area, year)
    if new_identity:
        insert_loaded(session, identity)
    child.identity_id = identity.id
    insert_loaded(session, child)
    referral.child_id = child.id
    insert_loaded(session, referral, agency)


@cache
def _new_concern_rows(new_identity: bool, unless_known: bool = False) -> Any:
    """PostgreSQL: a new concern's reference number, identity (when new), child, referral and
    agency, each INSERT reading the one before it (data-modifying CTEs), built once; the answer
    is the identity's and the child's ids and the reference. Every value is a bound parameter
    named `<i|c|r|a|n>_<column>`; the reference is `n_stem` and the number taken, padded as
    `_next_reference` pads it. Its constants are written into it: psycopg converts a statement
    with more than 50 parameters anew on every call, and this one has a few under that.

    `unless_known` (with a new identity): the child's locks are taken and the child looked for
    first, as `_LOCKED_MATCH` does (`m_keys` and the child's own CHI number, name key and date
    of birth), and nothing is written, and no row answered, if any identity may be the child's."""
    identities, children, referrals, agencies = (
        cast(Table, model.__table__) for model in (ChildIdentity, Child, Referral, ReferralAgency)
    )

    def bound(table: Table, prefix: str, *leave_out: str) -> list[Any]:
        return [
            bindparam(f"{prefix}_{c.name}", type_=c.type).label(c.name)
            for c in table.columns
            if c.name not in leave_out
        ]

    number_taken = _take_reference_number("postgresql")
    unknown: Any = true()
    if unless_known:
        known = (
            select(literal_column("identity_id"))
            .select_from(
                func.match_child_locked(
                    bindparam("m_keys", type_=ARRAY(Text)),
                    bindparam("c_chi_number", type_=children.c.chi_number.type),
                    bindparam("c_name_key", type_=children.c.name_key.type),
                    bindparam("c_date_of_birth", type_=children.c.date_of_birth.type),
                )
            )
            .cte("known_child")
        )
        unknown = ~select(known).exists()
        number_taken = _take_reference_number("postgresql", unknown)
    number = number_taken.cte("next_number")
    digits = number.c.last_number.cast(Text)
    width = func.greatest(func.length(digits), literal_column(str(REFERENCE_DIGITS)))
    reference = bindparam("n_stem", type_=String) + func.lpad(digits, width, literal_column("'0'"))
    identity_id: Any = bindparam("c_identity_id", type_=children.c.identity_id.type)
    if new_identity:
        identity_columns = bound(identities, "i", "id")
        made = (
            insert(identities)
            .from_select(
                [c.name for c in identity_columns], select(*identity_columns).where(unknown)
            )
            .returning(identities.c.id)
            .cte("new_identity")
        )
        identity_id = made.c.id
    child_columns = bound(children, "c", "id", "identity_id")
    new_child = (
        insert(children)
        .from_select(
            ["identity_id", *(c.name for c in child_columns)],
            select(identity_id.label("identity_id"), *child_columns),
        )
        .returning(children.c.id, children.c.identity_id)
        .cte("new_child")
    )
    referral_columns = bound(referrals, "r", "child_id", "reference")
    new_referral = (
        insert(referrals)
        .from_select(
            ["child_id", "reference", *(c.name for c in referral_columns)],
            select(new_child.c.id, reference, *referral_columns).select_from(
                new_child.join(number, true())
            ),
        )
        .returning(referrals.c.id, referrals.c.reference)
        .cte("new_referral")
    )
    new_agency = (
        insert(agencies)
        .from_select(
            ["referral_id", "agency"],
            select(new_referral.c.id, bindparam("a_agency", type_=agencies.c.agency.type)),
        )
        .cte("new_agency")
    )
    return (
        select(
            new_child.c.identity_id.label("identity_id"),
            new_child.c.id.label("child_id"),
            new_referral.c.reference.label("reference"),
        )
        .select_from(new_child.join(new_referral, true()))
        .add_cte(new_agency)
    )


def new_referral_extras(
    referral: Referral, transfer: Transfer | None, siblings: list[Referral]
) -> dict[str, Any]:
    """What a v2 concern records beside the child and the concern (absent when not given)."""
    extras: dict[str, Any] = {}
    if referral.named_person:
        extras["named_person"] = referral.named_person
    if siblings:
        extras["related_referrals"] = [s.id for s in siblings]
    if transfer is not None:
        extras["transfer_from"] = transfer.referral_id
        extras["moved_on"] = transfer.moved_on.isoformat()
    return extras


def _siblings(session: Session, user: User, ids: list[str]) -> list[Referral]:
    """The referrals named as brothers' and sisters', each one the user can see, locked."""
    from referral.services.visibility import writable

    if not ids:
        return []
    found = {
        r.id: r
        for r in session.scalars(
            select(Referral)
            .where(Referral.id.in_(ids), writable(user))
            .order_by(Referral.id)
            .with_for_update(of=Referral)
        )
    }
    unseen = [i for i, rid in enumerate(ids) if rid not in found]
    if unseen:
        raise Unprocessable(
            {f"related_referrals.{i}": ["is not a referral you can see"] for i in unseen}
        )
    return [found[rid] for rid in ids]


def _link_siblings(
    session: Session, referral: Referral, sibling: Referral, actor: Actor, now: datetime
) -> None:
    """Each lists the other; the sibling's change is audited on its own trail."""
    session.add(ReferralLink(referral_id=referral.id, related_id=sibling.id, created_at=now))
    session.add(ReferralLink(referral_id=sibling.id, related_id=referral.id, created_at=now))
    referral.related_ids = sorted({*referral.related_ids, sibling.id})
    sibling.related_ids = sorted({*sibling.related_ids, referral.id})
    mark_pending_stale(session, sibling, actor, now, "sibling_linked")
    append_event(
        session,
        sibling,
        actor,
        "sibling_linked",
        now,
        {"related_referral": referral.id, "related_reference": referral.reference},
    )


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
        "ethnicity": child.ethnicity,
        "disability": child.disability,
        "religion": child.religion,
    }


def concern_json(referral: Referral) -> dict[str, Any]:
    return {
        "received_at": referral.received_at.isoformat(),
        "source": referral.concern_source,
        "summary": referral.concern_summary,
        "categories": list(referral.concern_categories),
        "immediate_risk": referral.immediate_risk,
        "child_spoken_to": referral.child_spoken_to,
        "childs_views": referral.childs_views,
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
    "ethnicity": "ethnicity",
    "disability": "disability",
    "religion": "religion",
}
CONCERN_COLUMNS = {
    "received_at": "received_at",
    "source": "concern_source",
    "summary": "concern_summary",
    "categories": "concern_categories",
    "immediate_risk": "immediate_risk",
    "child_spoken_to": "child_spoken_to",
    "childs_views": "childs_views",
}
#: fields a correction may empty (the rest are required facts of the record)
CLEARABLE = {
    "chi_number",
    "sex",
    "address",
    "school",
    "categories",
    "ethnicity",
    "disability",
    "religion",
    "childs_views",
}
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
        raise Forbidden(f"{with_article(user.role)} may not correct a referral")
    if referral.is_closed:
        raise Conflict("a closed referral cannot be corrected", state=referral.state)
    if isinstance(payload, dict) and "state" in payload:
        raise Unprocessable({"state": ["cannot be corrected: fire a trigger instead"]})
    engine = engine_for(referral.profile, referral.profile_version)
    ctx = validation_context(session, now, referral)
    try:
        cleaned = engine.validate_correction(payload, ctx)
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
                    f"must not be after the IRD started ({ctx.said(first_step)})"
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
                    "give the date of birth or, for an unborn baby, the expected date of "
                    "delivery (one, not both)"
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
            data: dict[str, Any] = {"changes": each_diff}
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
    moves_clocks = "received_at" in data.get("changes", {}) and kind == "concern_corrected"
    if definition_of(referral).recompute_on_correction or moves_clocks:
        from referral.services.projection import project

        stages = load_stages(session, referral.id)
        refold_clocks(session, referral, stages)
        session.flush()
        project(referral, stages)  # the investigation's due date may have moved
    session.flush()
    return event
