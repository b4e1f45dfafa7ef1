"""`referral generate`: synthetic referrals for benchmarks, stored as the services store them.

Each group of referrals (one child; brothers and sisters; a child referred again; a registered
child moving between areas) is first *planned* as the steps its users would take: record the
concern, fire triggers, decide approvals, each at the moment it is recorded. The group is then
moved to its place in the last few years and *played*, step by step in the order the steps
happened, on rows held in memory, following the services line by line: the product's own
recorders (`referral.services.stages`) write the stage records, `workflow.timescales` keeps the
clocks, `referral.services.projection` builds the read document, every event is hashed with the
audit key exactly as `append_event` hashes it, and each referral's `version` counts the flushes
that would have written its row. So `referral audit verify` passes, and the API reads the
records as if they had been typed in.

No session is involved: a batch of referrals is written in one transaction, in bulk (COPY on
PostgreSQL, executemany on SQLite), while the next batch is played. Batches alternate between
two partitions, each with its own ids, reference numbers, CHI numbers and family names; on
PostgreSQL each partition runs in a process of its own. Every step of the first batch is also
checked with the workflow engine, as the API would check it (`--check`: every batch).

The same options (seed and end date included) on an empty database give the same records.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import random
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import JSON, Engine, func, select
from sqlalchemy.orm import Session

from referral.db import Base
from referral.models import (
    AccessLogEntry,
    Approval,
    Area,
    Child,
    ChildIdentity,
    ChronologyEntry,
    Conference,
    ConferenceMeeting,
    CoreGroupMeeting,
    Event,
    Investigation,
    Ird,
    IrdContribution,
    Jii,
    LeadProfessionalChange,
    ReferenceSequence,
    Referral,
    ReferralAgency,
    ReferralLink,
    ReferralShare,
    Registration,
    RegistrationConcern,
    Screening,
    Transfer,
    User,
)
from referral.services.audit import GENESIS, _hashed_fields, canonical, event_hash
from referral.services.feed import place_parameters, place_statement
from referral.services.pending import stale_comment
from referral.services.people import add_area, create_user
from referral.services.projection import document
from referral.services.referrals import SECTION_NAMES, Stages, name_key
from referral.services.stages import RECORDERS, Recording
from workflow import Actor, Outcome, Subject, ValidationContext
from workflow.calendar import calendar_for
from workflow.errors import ApprovalRequired
from workflow.fields import parse_datetime
from workflow.registry import definition as definition_of
from workflow.registry import engine as engine_of
from workflow.timescales import (
    SCHEDULE_CONFERENCE,
    Clocks,
    Facts,
    HistoryEvent,
    advance,
    begin,
    current_due,
    next_due,
)
from workflow.vocabulary import CONCERN_SOURCES, CORE_AGENCIES

PROFILE = "scotland"
CORE = [str(agency) for agency in CORE_AGENCIES]  # never changed: shared by every record
#: Groups are planned on a calendar of their own, from this Monday, then moved by whole weeks to
#: their place in the real calendar (so weekdays stay weekdays).
ORIGIN = datetime(2001, 1, 1, tzinfo=UTC)
WEEK = timedelta(weeks=1)


class GenerateError(RuntimeError):
    """A planned step the workflow refuses, or a database the generator cannot fill."""


# -- options, result, steps ----------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    referrals: int
    areas: int = 6
    years: int = 4
    seed: int = 0
    batch: int = 5000
    #: every step happens before this day (default: today, UTC)
    until: date | None = None
    #: check every step with the workflow engine, as the API would (the first batch always is)
    check: bool = False


@dataclass
class Summary:
    referrals: int = 0
    events: int = 0
    seconds: float = 0.0
    areas: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    #: with `keep_steps`: every group's steps as played, and the ids its referrals were given
    #: (to play them again through the services)
    groups: list[tuple[list[Step], dict[int, str]]] = field(default_factory=list)


@dataclass(frozen=True)
class Ref:
    """Another referral of the same group, by its key: its id once it is recorded."""

    key: int


@dataclass
class Step:
    """One thing a user records: a concern, a trigger fired, or an approval decided."""

    at: datetime  # when it is recorded
    order: int
    key: int  # the referral, within its group
    kind: str  # "create", "fire" or "decide"
    actor: str
    trigger: str | None = None
    data: Any = None  # the request's data; for "decide": {"decision", "comment"}
    child: ChildPlan | None = None  # "create": who the child is (across their referrals)


# -- the world: areas, their users, and the professionals their records name ---------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(text.split()))  # each once


USER_KINDS = (
    # username suffix, agency, role
    ("police", "police", "practitioner"),
    ("health", "health", "practitioner"),
    ("sw", "social_work", "practitioner"),
    ("sw2", "social_work", "practitioner"),
    ("chair", "social_work", "practitioner"),
    ("swsup", "social_work", "supervisor"),
    ("swsm", "social_work", "senior_manager"),
    ("education", "education", "practitioner"),
    ("other", "other", "practitioner"),
    ("auditor", "social_work", "auditor"),
)
GIVEN = _words(
    "Amy Ava Aaron Adam Aiden Alfie Alice Archie Aria Arran Ben Brodie Callum Cameron "
    "Charlie Chloe Cole Daisy Daniel Darcy Dylan Eilidh Ella Ellie Emily Emma Erin Ethan "
    "Eva Evie Ewan Finlay Fraser Freya Grace Hamish Hannah Harris Harry Harvey Hollie "
    "Holly Isaac Isla Isabella Jack Jacob Jamie Jake James Jessica Joshua Kai Katie Kayla "
    "Keira Lachlan Layla Leo Leon Lewis Lexi Lily Logan Lucas Lucy Luke Maisie Mason Max "
    "Megan Mia Millie Molly Murray Nathan Niamh Noah Olivia Oliver Orla Owen Poppy Rachel "
    "Rebecca Reuben Rory Ross Ruby Ryan Sam Sara Scott Sienna Skye Sophie Struan Summer "
    "Taylor Thomas Tyler Zara Zoe Zofia Zach Bonnie Iona Fergus "
)
FAMILY = _words(
    "Smith Brown Wilson Campbell Stewart Thomson Robertson Anderson Macdonald Scott Reid "
    "Murray Taylor Clark Ross Watson Morrison Paterson Young Mitchell Walker Fraser Miller "
    "McDonald Gray Henderson Hamilton Johnston Duncan Graham Ferguson Kerr Davidson Bell "
    "Cameron Kelly Martin Hunter Allan Mackenzie Grant Simpson Mackay McLean MacLeod Black "
    "Russell Marshall Wallace Gibson Kennedy Gordon Burns Sutherland Wood Craig Wright "
    "Cunningham Milne Johnstone Sinclair White Ritchie Watt Munro Jamieson Muir Hughes "
    "Dickson Boyle Ogilvie Crawford Docherty Gallacher Devlin McGinty Duffy Macrae "
    "Matheson Baird Lindsay Forbes Buchanan Shaw Rae Hay Fleming Brodie Bruce Lawson "
    "Hendry Chalmers Dunn Bain Dow Findlay Gillies Haddow Innes Jack Kirk Lennox Lyall "
    "Main McIntyre McKenna McPhee Nicol Orr Pirie Quinn Rennie Salmond Tait Urquhart Weir "
    "Yule Aitken Barr Cowan Donnelly Elder Galbraith Hogg Irvine Lamont Lynch McAllister "
    "McBride McCabe McCann McColl McCulloch McEwan McFarlane McGregor McInnes McKay "
)
STREETS = (
    "High Street",
    "Main Street",
    "Church Road",
    "Park Avenue",
    "Station Road",
    "Mill Lane",
    "Burnside Crescent",
    "Glebe Street",
    "Victoria Road",
    "Queen Street",
    "Hillview Drive",
    "Loch Road",
)
ROLE_OF = {
    "police": "Detective constable",
    "health": "Health visitor",
    "social_work": "Social worker",
    "education": "Depute head teacher",
    "other": "Children's worker",
}


@dataclass
class AreaWorld:
    """An area: its users, and the professionals, town and schools its records name."""

    number: int
    id: int
    slug: str
    prefix: str
    town: str
    staff: dict[str, str]  # agency -> a professional's name
    schools: tuple[str, ...]

    def user(self, kind: str) -> str:
        return f"{self.slug}.{kind}"

    def people(self, *agencies: str) -> list[dict[str, str]]:
        """Professionals of these agencies as a meeting lists them (one shared, unchanging
        list per set of agencies: its JSON is written once)."""
        return _shared(
            ("people", self.slug, agencies),
            lambda: [{"agency": a, "name": self.staff[a], "role": ROLE_OF[a]} for a in agencies],
        )

    def names(self, *agencies: str) -> list[dict[str, str]]:
        return _shared(
            ("names", self.slug, agencies),
            lambda: [{"agency": a, "name": self.staff[a]} for a in agencies],
        )

    def address(self, rng: random.Random) -> str:
        return f"{rng.randint(1, 120)} {rng.choice(STREETS)}, {self.town}"


#: values many records share, never changed once made, by what they are; and their JSON by id
_SHARED: dict[Any, Any] = {}
_SHARED_JSON: dict[int, str] = {}


def _shared(key: Any, make: Callable[[], list[dict[str, str]]]) -> list[dict[str, str]]:
    value: list[dict[str, str]] | None = _SHARED.get(key)
    if value is None:
        value = _SHARED[key] = make()
        _SHARED_JSON[id(value)] = json.dumps(value)
    return value


def _json(value: Any) -> str:
    """JSON for a column, as SQLAlchemy's JSON type would write it."""
    if not value:
        if value is None:
            return "null"
        if value == []:
            return "[]"
    return _SHARED_JSON.get(id(value)) or json.dumps(value)


_SHARED_JSON[id(CORE)] = json.dumps(CORE)


def area_slug(n: int) -> str:
    return f"gen-area-{n}"


def area_prefix(n: int) -> str:
    """GENA, GENB, ... GENZ, GENBA, ...: capital letters, as area prefixes must be."""
    letters, value = "", n - 1
    while True:
        letters = chr(ord("A") + value % 26) + letters
        value //= 26
        if value == 0:
            return "GEN" + letters


def _area_world(n: int, area_id: int, slug: str, prefix: str) -> AreaWorld:
    rng = random.Random(f"referral-generate/area/{n}")  # noqa: S311 - synthetic, not secret
    town = rng.choice(FAMILY) + rng.choice(("ton", "burgh", "field", " Bridge", "muir", "side"))
    staff = {agency: f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}" for agency in ROLE_OF}
    staff["police"] = "DC " + staff["police"]
    kinds = ("Primary School", "Primary School", "Academy", "High School", "Nursery")
    schools = tuple(f"{rng.choice(FAMILY)} {kind}, {town}" for kind in kinds * 2)
    return AreaWorld(n, area_id, slug, prefix, town, staff, schools)


@dataclass
class World:
    areas: list[AreaWorld]
    agency_of: dict[str, str]  # active username -> agency
    role_of: dict[str, str]
    slugs: set[str]

    def actor(self, username: str) -> Actor:
        return Actor(username, self.agency_of[username], self.role_of[username])

    def area(self, slug: str) -> AreaWorld:
        return next(a for a in self.areas if a.slug == slug)


class _Directory:
    """The workflow's Directory (users and areas), from the world in memory, for --check."""

    def __init__(self, world: World) -> None:
        self.world = world

    def agency_of(self, username: str) -> str | None:
        return self.world.agency_of.get(username)

    def area_exists(self, slug: str) -> bool:
        return slug in self.world.slugs


def prepare_world(engine: Engine, areas: int) -> World:
    """The areas gen-area-1..K and their users, created where missing, through the services.

    The users share one random password nobody is told: to act as one, make a token with
    `referral tokens create USERNAME --scope read`.
    """
    with Session(engine) as session:
        existing = {a.slug: a for a in session.scalars(select(Area))}
        prefixes = {a.reference_prefix for a in existing.values()}
        for n in range(1, areas + 1):
            slug = area_slug(n)
            if slug not in existing:
                candidate = n
                while area_prefix(candidate) in prefixes:  # taken by an area of another name
                    candidate += areas
                prefix = area_prefix(candidate)
                existing[slug] = add_area(session, slug, f"Generated area {n}", prefix)
                prefixes.add(prefix)
        usernames = set(session.scalars(select(User.username)))
        password = secrets.token_urlsafe(24)
        for n in range(1, areas + 1):
            area = existing[area_slug(n)]
            for kind, agency, role in USER_KINDS:
                username = f"{area.slug}.{kind}"
                if username not in usernames:
                    label = f"{kind} of {area.name}"
                    create_user(session, username, agency, role, [area.slug], password, label)
        session.commit()
        worlds = [
            _area_world(
                n, existing[area_slug(n)].id, area_slug(n), existing[area_slug(n)].reference_prefix
            )
            for n in range(1, areas + 1)
        ]
        agency_of: dict[str, str] = {}
        role_of: dict[str, str] = {}
        for username, agency, role in session.execute(
            select(User.username, User.agency, User.role).where(User.active.is_(True))
        ):
            agency_of[username] = agency
            role_of[username] = role
        slugs = set(session.scalars(select(Area.slug)))
    return World(worlds, agency_of, role_of, slugs)


# -- planning ------------------------------------------------------------------------------------

#: how a referral ends up (weights); transfers between areas are planned as their own groups
OUTCOMES: tuple[tuple[str, float], ...] = (
    ("concern", 2.5),
    ("ird", 3.5),
    ("investigation", 3.5),
    ("jii", 1.0),
    ("case_conference", 2.5),
    ("registered", 6.0),
    ("screened_out", 18.0),
    ("nfa", 17.0),
    ("single_agency", 12.0),
    ("no_case_conference", 10.0),
    ("not_registered", 6.0),
    ("deregistered", 9.0),
    ("recorded_in_error", 1.5),
    ("duplicate", 1.5),
    ("moved_away", 1.5),
    ("child_died", 0.5),
    ("other", 1.0),
)
#: earlier referrals of a child referred again
EARLIER_OUTCOMES: tuple[tuple[str, float], ...] = (
    ("screened_out", 30.0),
    ("nfa", 30.0),
    ("single_agency", 20.0),
    ("no_case_conference", 10.0),
    ("not_registered", 5.0),
    ("deregistered", 5.0),
)
GROUP_KINDS: tuple[tuple[str, float], ...] = (
    ("single", 85.0),
    ("siblings", 6.0),
    ("rereferral", 7.0),
    ("transfer", 2.0),
)
#: what the receiving area's transfer conference does (or how far the move has gone)
TRANSFER_DECISIONS: tuple[tuple[str, float], ...] = (
    ("registered", 70.0),
    ("not_registered", 15.0),
    ("scheduled", 10.0),
    ("notified", 5.0),
)
#: the first groups of a run take every path once, so even a small run shows all of them
TOUR: tuple[tuple[str, tuple[str, ...]], ...] = (
    *(("single", (name,)) for name, _ in OUTCOMES),
    ("single", ("registered_review",)),
    ("single", ("unborn",)),
    ("single", ("stale",)),
    ("single", ("rejected",)),
    ("siblings", ("investigation", "nfa")),
    ("rereferral", ("screened_out", "registered")),
    ("rereferral", ("nfa", "ird")),
    ("transfer", ("registered",)),
    ("transfer", ("not_registered",)),
    ("transfer", ("scheduled",)),
    ("transfer", ("notified",)),
)

SUMMARIES = (
    "Told a teacher that an adult at home hit them.",
    "Came to school with bruising to the face and arms that they could not explain.",
    "Neighbours reported shouting and a child crying late at night, again.",
    "The health visitor found the home without food or heating and the baby unwashed.",
    "Police attended a domestic incident; the child was in the house throughout.",
    "A parent was found intoxicated in charge of the children at the school gate.",
    "The child disclosed that an older cousin touched them inappropriately.",
    "Missed health appointments and repeated absences; the family is not engaging.",
    "Found wandering alone at night; said they did not want to go home.",
    "A parent with a drug problem stopped attending treatment; the children are at home.",
)
CATEGORIES = (
    ("physical_abuse",),
    ("neglect",),
    ("domestic_abuse", "emotional_abuse"),
    ("parental_drug_misuse", "neglect"),
    ("parental_alcohol_misuse",),
    ("sexual_abuse",),
    ("parental_mental_health", "neglect"),
    ("non_engaging_family",),
    ("child_placing_self_at_risk",),
    ("domestic_abuse",),
)
SOURCES = CONCERN_SOURCES
VIEWS = (
    "Wants to stay at home but wants the shouting to stop.",
    "Said they feel safe at their gran's.",
    "Did not want to talk about it today.",
    "Wants to see their mum every day.",
    "Said school is the best part of the day.",
)
NOT_OBTAINED = (
    "Too young to give a view.",
    "Not yet spoken to: the police asked that the child is interviewed first.",
)
RATIONALES = (
    "A reasoned inter-agency view of the risk: the agencies agree on the evidence shared.",
    "The information shared shows a risk of significant harm that needs a joint response.",
    "The concern is real but the family is engaging and the risk is managed at home.",
    "Repeated incidents over months: the pattern matters more than any one event.",
)
PLANS = (
    "Weekly visits by the social worker; school and health keep a close eye.",
    "The child stays with a relative until home is safe; support for the parents.",
    "Parenting support, a nursery place and a drug treatment referral for the mother.",
)
NOTES = (
    "Things are settling; the child seems happier at school.",
    "Attendance has improved and the parents are engaging.",
    "A difficult month: appointments missed again.",
    "The child was seen alone and said things are better at home.",
)
CLOSE_NOTES = {
    "recorded_in_error": "Recorded against the wrong child.",
    "duplicate": "The same concern was recorded twice.",
    "moved_away": "The family moved out of Scotland.",
    "child_died": "The child died; the death is being reviewed.",
    "other": "Closed after a review of the record.",
}


_encode_text = json.encoder.encode_basestring


def _json_text(value: str | None) -> str:
    """A string (or None) as canonical JSON writes it (ensure_ascii=False)."""
    return "null" if value is None else _encode_text(value)


def _weights(choices: tuple[tuple[str, float], ...]) -> tuple[list[str], list[float]]:
    names, weights, total = [], [], 0.0
    for name, weight in choices:
        total += weight
        names.append(name)
        weights.append(total)
    return names, weights


def _draw(rng: random.Random, table: tuple[list[str], list[float]]) -> str:
    names, cumulative = table
    point = rng.random() * cumulative[-1]
    for name, limit in zip(names, cumulative, strict=True):
        if point < limit:
            return name
    return names[-1]


_OUTCOMES = _weights(OUTCOMES)
_EARLIER = _weights(EARLIER_OUTCOMES)
_GROUPS = _weights(GROUP_KINDS)
_TRANSFERS = _weights(TRANSFER_DECISIONS)


@dataclass
class ChildPlan:
    """Who a child is, across their referrals (dates in planning time until placed)."""

    given_name: str
    family_name: str
    date_of_birth: date | None
    expected_date_of_delivery: date | None
    sex: str | None
    ethnicity: str | None
    disability: str | None
    religion: str | None
    has_chi: bool
    chi_number: str | None = None
    placed: bool = False  # given its real dates, a unique name and birth date, its CHI number
    identity_id: int | None = None  # once recorded
    referrals: list[Sim] = field(default_factory=list)


@dataclass(frozen=True)
class ChildDetails:
    """The child as one concern records them: filled in when the group is placed."""

    child: ChildPlan
    address: str | None
    school: str | None


def new_child(
    plan: GroupPlan, received: datetime, *, unborn: bool = False, has_chi: bool | None = None
) -> ChildPlan:
    rng, families = plan.rng, plan.families
    family = families[int(rng.random() * len(families))]
    if unborn:
        due = received.date() + timedelta(days=rng.randint(30, 270))
        return ChildPlan("Baby", family, None, due, None, None, None, None, has_chi=False)
    born = received.date() - timedelta(days=rng.randint(30, 17 * 365))
    ethnicity = rng.choice(
        (
            "white_scottish",
            "white_scottish",
            "white_other_british",
            "white_polish",
            "mixed_or_multiple",
            "asian_pakistani",
            "african",
            "not_known",
        )
    )
    return ChildPlan(
        GIVEN[int(rng.random() * len(GIVEN))],
        family,
        born,
        None,
        rng.choice(("female", "male", "female", "male", "not_known")),
        ethnicity if rng.random() < 0.7 else None,
        rng.choice(("no", "no", "yes", "not_known")) if rng.random() < 0.6 else None,
        rng.choice(("none", "none", "church_of_scotland", "roman_catholic", "muslim"))
        if rng.random() < 0.5
        else None,
        has_chi=rng.random() < 0.75 if has_chi is None else has_chi,
    )


class GroupPlan:
    """The steps of one group of referrals, in planning time."""

    def __init__(self, rng: random.Random, world: World, families: tuple[str, ...]) -> None:
        self.rng = rng
        self.world = world
        self.families = families  # the partition's (children of two partitions never match)
        self.steps: list[Step] = []
        self.stories: list[Story] = []

    @property
    def first(self) -> datetime:
        """The earliest moment: the first concern's receipt."""
        return min(s.received for s in self.stories)

    @property
    def last(self) -> datetime:
        return max(s.at for s in self.steps)

    @property
    def open(self) -> bool:
        return any(s.state != "closed" for s in self.stories)


def _at(day: datetime, hour: int, minute: int = 0) -> datetime:
    return day.replace(hour=hour, minute=minute, second=0, microsecond=0)


def _weekday(moment: datetime) -> datetime:
    while moment.weekday() >= 5:
        moment += timedelta(days=1)
    return moment


class Story:
    """One referral planned step by step: a cursor in time and what its record holds so far.

    Times are UTC between 07:00 and 19:00, so the local date in Scotland is the UTC date.
    """

    def __init__(
        self,
        plan: GroupPlan,
        area: AreaWorld,
        child: ChildPlan,
        t: datetime,
        address: str | None = None,
        school: str | None = None,
    ) -> None:
        self.plan = plan
        self.rng = plan.rng
        self.area = area
        self.child = child
        self.t = t
        self.last: datetime | None = None  # when its last step was recorded
        self.key = len(plan.stories)
        plan.stories.append(self)
        self.address = address
        self.school = school
        self.received: datetime = t
        self.state = "concern"
        self.lead = area.user("sw")
        self.chair = area.user("chair")
        self.registered_at: datetime | None = None
        self.pre_birth = False
        self.jii_planned_for: datetime | None = None
        self.core_group = ("health", "education", "police")
        self.plan_actions: list[str] = []
        self.cppm_due: date | None = None  # the initial CPPM's due date while it runs
        self.recorded: set[str] = set()  # agencies on the record (others cannot see it)

    # -- time

    def later(self, minutes: float = 0, hours: float = 0, days: float = 0) -> datetime:
        self.t = self.t + timedelta(minutes=minutes, hours=hours, days=days)
        return self.t

    def on_day(self, days: float, hour: int, minute: int = 0) -> datetime:
        """hour:minute on a weekday at least `days` on, and after the cursor."""
        moment = _weekday(_at(self.t + timedelta(days=days), hour, minute))
        while moment <= self.t:
            moment = _weekday(moment + timedelta(days=1))
        self.t = moment
        return moment

    def pick(self, options: tuple[Any, ...] | list[Any]) -> Any:
        return options[int(self.rng.random() * len(options))]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    # -- steps

    def step(self, kind: str, actor: str, trigger: str | None = None, data: Any = None) -> None:
        if self.last is not None and self.t <= self.last:
            self.t = self.last + timedelta(minutes=1)
        self.last = self.t
        plan = self.plan
        child = self.child if kind == "create" else None
        plan.steps.append(
            Step(self.t, len(plan.steps), self.key, kind, actor, trigger, data, child)
        )

    def fire(self, actor: str, trigger: str, data: dict[str, Any]) -> None:
        self.step("fire", actor, trigger, data)

    def approve(self, decider: str | None = None) -> None:
        self.later(minutes=self.rng.uniform(20, 240))
        self.step(
            "decide",
            decider or self.area.user("swsup"),
            data={"decision": "approve", "comment": "Agreed: the reasons are recorded."},
        )

    def reject(self) -> None:
        self.later(minutes=self.rng.uniform(20, 120))
        self.step(
            "decide",
            self.area.user("swsup"),
            data={"decision": "reject", "comment": "Not yet: take this back to the IRD."},
        )

    def views(self) -> dict[str, str]:
        if self.child.date_of_birth is None or self.chance(0.15):
            return {"childs_views_not_obtained_reason": self.pick(NOT_OBTAINED)}
        return {"childs_views": self.pick(VIEWS)}

    # -- the concern

    def concern(
        self,
        creator: str,
        *,
        related: list[int] | None = None,
        transfer_from: int | None = None,
        received: datetime | None = None,
    ) -> None:
        if received is None:
            self.received = self.t
            self.later(minutes=self.rng.uniform(5, 150))
        else:
            self.received = received
        born = self.child.date_of_birth is not None
        concern: dict[str, Any] = {
            "received_at": self.received,
            "source": "professional" if transfer_from is not None else self.pick(SOURCES),
            "summary": self.pick(SUMMARIES),
            "categories": list(self.pick(CATEGORIES)) if self.chance(0.9) else None,
            "immediate_risk": self.chance(0.3),
            "child_spoken_to": born and self.chance(0.6),
        }
        if concern["categories"] is None:
            del concern["categories"]
        if concern["child_spoken_to"] and self.chance(0.7):
            concern["childs_views"] = self.pick(VIEWS)
        payload: dict[str, Any] = {
            "area": self.area.slug,
            "child": ChildDetails(self.child, self.address, self.school),
            "concern": concern,
        }
        if self.chance(0.5):
            payload["named_person"] = {
                "name": f"{self.pick(GIVEN)} {self.pick(FAMILY)}",
                "service": self.school or "Health visiting",
            }
        if related:
            payload["related_referrals"] = [Ref(k) for k in related]
        if transfer_from is not None:
            payload["transfer_from"] = Ref(transfer_from)
        self.recorded.add(self.plan.world.agency_of.get(creator, ""))
        self.step("create", creator, data=payload)

    # -- the IRD

    def convene(self, out_of_hours: bool = False) -> None:
        rng = self.rng
        if out_of_hours:
            started = self.later(minutes=rng.uniform(20, 90))
        elif self.chance(0.12):  # late: after the next working day
            started = self.on_day(rng.choice((2, 3, 4)), rng.randint(9, 15), 30)
        elif self.t.hour < 15:
            started = self.later(minutes=rng.uniform(30, 200))
        else:
            started = self.on_day(1, rng.randint(9, 12))
        self.later(minutes=rng.uniform(10, 60))
        agencies = ["police", "health", "social_work"]
        if self.chance(0.4):
            agencies.append("education")
        self.recorded.update(agencies)
        self.fire(
            self.area.user(self.pick(("police", "health", "sw"))),
            "convene_ird",
            {
                "started_at": started,
                "reason": "To share what each agency knows and agree how to keep the child safe.",
                "out_of_hours": out_of_hours,
                "participants": self.area.people(*agencies),
            },
        )
        self.state = "ird"
        if out_of_hours and self.chance(0.8):
            held = self.on_day(1, 9, 30)
            self.later(minutes=rng.uniform(30, 120))
            self.fire(
                self.area.user("sw"),
                "record_full_ird",
                {
                    "held_at": held,
                    "participants": self.area.people("police", "health", "social_work"),
                    "summary": "The full IRD with every core agency; the immediate plan holds.",
                },
            )
        for _ in range(rng.choice((0, 0, 1, 1, 2))):
            self.contribution()

    def contribution(self) -> None:
        agency = self.pick(("police", "health", "education", "social_work"))
        on_behalf = agency != "social_work" and (self.chance(0.2) or agency not in self.recorded)
        self.recorded.add(agency)
        kind = "sw" if on_behalf or agency == "social_work" else agency
        self.later(minutes=self.rng.uniform(5, 60))
        data: dict[str, Any] = {
            "agency": agency,
            "information_shared": "Known to the service; recent contacts and concerns shared.",
            "lawful_basis": "UK GDPR article 6(1)(e): a task in the public interest.",
        }
        if self.chance(0.7):
            data["checks_made"] = "Case records and the agency's own systems."
        self.fire(self.area.user(kind), "add_ird_contribution", data)

    def _decision(self, extra: dict[str, Any]) -> dict[str, Any]:
        decided = self.later(minutes=self.rng.uniform(30, 300))
        self.later(minutes=self.rng.uniform(10, 60))
        return {
            "decided_at": decided,
            "decision_rationale": self.pick(RATIONALES),
            **extra,
            **self.views(),
            "named_person_informed": self.chance(0.7),
            "agencies_agreed": CORE,
        }

    def ird_close(self, outcome: str, *, pending: bool = False, detour: str | None = None) -> None:
        """No investigation: no further action, or single-agency support; both need approval."""
        requester = self.area.user(self.pick(("police", "health", "sw")))
        if outcome == "nfa":
            trigger = "close_no_further_action"
            extra = {"reasons_no_investigation": "The risk is low and the family accept help."}
        else:
            trigger = "refer_single_agency"
            extra = {
                "lead_agency": self.pick(("health", "education", "social_work")),
                "support_offered": "Family support and a named contact at school.",
            }
        data = self._decision(extra)
        self.fire(requester, trigger, data)
        if pending:
            return
        if detour is None:
            detour = "rejected" if self.chance(0.04) else "stale" if self.chance(0.03) else None
        if detour == "rejected":  # rejected, then asked again after another look
            self.reject()
            self.later(hours=self.rng.uniform(2, 30))
        elif detour == "stale":  # something new came in first: the request went stale
            self.contribution()
        if detour is not None:
            data = {**data, "decided_at": self.later(minutes=self.rng.uniform(20, 90))}
            self.later(minutes=10)
            self.fire(requester, trigger, data)
        self.approve()
        self.state = "closed"

    def screen_out(self, *, pending: bool = False) -> None:
        decided = self.later(minutes=self.rng.uniform(30, 240))
        self.later(minutes=self.rng.uniform(5, 30))
        self.fire(
            self.area.user(self.pick(("sw", "police", "health"))),
            "screen_out",
            {
                "decided_at": decided,
                "decision_rationale": "Below the child protection threshold on what is known.",
                "advice_or_support": "Advice to the family and a referral to family support.",
                "named_person_informed": self.chance(0.6),
            },
        )
        if not pending:
            self.approve()
            self.state = "closed"

    # -- the investigation

    def start_investigation(self) -> None:
        informed = self.chance(0.8)
        extra: dict[str, Any] = {
            "investigation_type": "joint" if self.chance(0.7) else "single_agency",
            "jii_required": self.chance(0.4),
            "medical_examination": self.pick(
                ("none", "none", "paediatric", "joint_paediatric_forensic", "comprehensive")
            ),
            "interim_safety_plan": "The child stays with a relative; daily contact from school; "
            "the adult concerned has no unsupervised contact.",
            "lead_professional": self.lead,
            "parents_informed": informed,
        }
        if not informed:
            extra["parents_not_informed_reason"] = "It could jeopardise the police inquiry."
        data = self._decision(extra)
        if self.chance(0.2):
            del data["named_person_informed"]  # optional here (added in version 2)
        self.fire(self.area.user(self.pick(("sw", "police"))), "start_investigation", data)
        self.state = "investigation"
        if self.child.date_of_birth is not None:
            self.cppm_due = data["decided_at"].date() + timedelta(days=28)

    def plan_jii(self) -> None:
        self.later(hours=self.rng.uniform(1, 30))
        planned = _weekday(
            _at(self.t + timedelta(days=self.rng.choice((1, 2, 3))), self.rng.randint(9, 14))
        )
        self.t = max(self.t, planned - timedelta(days=1))
        self.fire(
            self.area.user(self.pick(("police", "sw"))),
            "plan_jii",
            {
                "planned_for": planned,
                "interviewers": [self.area.user("police"), self.area.user("sw")],
                "aims": "Hear the child's account in their own words.",
            },
        )
        self.jii_planned_for = planned
        self.state = "jii"

    def record_jii(self) -> None:
        assert self.jii_planned_for is not None
        self.t = max(self.t, self.jii_planned_for) + timedelta(hours=self.rng.uniform(1.5, 5))
        outcomes = ["case_conference"] if self.chance(0.6) else []
        outcomes += self.rng.sample(
            ["further_police_investigation", "further_social_work_assessment", "medical_follow_up"],
            self.rng.choice((1, 1, 2)),
        )
        data: dict[str, Any] = {
            "conducted_at": self.jii_planned_for,
            "outcomes": outcomes,
            "recording_reference": f"JII-{self.area.prefix}-{self.rng.randint(1000, 99999)}",
            "salient_points": "A clear and consistent account, agreed by both interviewers.",
        }
        if self.chance(0.6):
            data["childs_views"] = self.pick(VIEWS)
        self.fire(self.area.user("police"), "record_jii", data)
        self.state = "investigation"

    def cancel_jii(self) -> None:
        assert self.jii_planned_for is not None
        self.later(minutes=self.rng.uniform(30, 300))
        self.fire(
            self.area.user("sw"),
            "cancel_jii",
            {"reason": "The child was unwell; the interview will not go ahead for now."},
        )
        self.state = "investigation"

    def extend(self, *, pending: bool = False) -> None:
        assert self.cppm_due is not None
        self.later(minutes=self.rng.uniform(10, 60))
        if self.t.date() >= self.cppm_due:
            return  # (about to be) overdue: too late to agree an extension (NG2021 3.38)
        new_due = max(self.cppm_due, self.t.date()) + timedelta(days=self.rng.randint(7, 21))
        self.fire(
            self.area.user("sw"),
            "extend_timescale",
            {
                "new_due_date": new_due,
                "reason": "A key agency cannot attend within 28 days; the interim safety plan "
                "keeps the child safe meanwhile.",
                "interim_safety_plan_confirmed": True,
            },
        )
        if not pending:
            self.approve(self.area.user("swsm"))
            self.cppm_due = new_due

    def investigate(self, outcome: str) -> None:
        """From the IRD's decision to investigate to where a case conference is considered."""
        self.start_investigation()
        if outcome == "jii" or self.chance(0.45):
            self.plan_jii()
            if outcome == "jii":
                return
            if self.chance(0.12):
                self.cancel_jii()
                if self.chance(0.5):
                    self.plan_jii()
                    self.record_jii()
            else:
                self.record_jii()
        if self.chance(0.06):
            self.chronology()
        if self.chance(0.05):
            self.change_lead()

    def decide_no_conference(self) -> None:
        decided = self.on_day(self.rng.uniform(1, 20), self.rng.randint(9, 15))
        self.later(minutes=self.rng.uniform(15, 90))
        data = {
            "decided_at": decided,
            "decision_rationale": self.pick(RATIONALES),
            "support_plan": "Family support for three months; school keeps a close eye.",
            **self.views(),
            "agencies_agreed": CORE,
        }
        self.fire(self.area.user("sw"), "decide_no_case_conference", data)
        self.approve()
        self.state = "closed"

    # -- conferences

    def schedule(self, kind: str) -> datetime:
        rng = self.rng
        self.on_day(rng.uniform(0.5, 6), rng.randint(9, 16))
        ahead = rng.choice((3, 7, 10, 12, 14, 18, 21))
        scheduled = _weekday(_at(self.t + timedelta(days=ahead), rng.choice((10, 11, 14))))
        self.fire(
            self.area.user("sw"),
            "schedule_case_conference",
            {
                "conference_type": kind,
                "scheduled_for": scheduled,
                "chair": self.chair,
                "invitees": self.area.names("police", "health", "education"),
            },
        )
        self.state = "case_conference"
        return scheduled

    def inquorate(self, held: datetime) -> datetime:
        rescheduled = _weekday(_at(held + timedelta(days=self.rng.choice((5, 6, 7))), 10))
        self.t = max(self.t, held) + timedelta(minutes=self.rng.uniform(30, 120))
        self.fire(
            self.chair,
            "record_inquorate",
            {
                "held_at": held,
                "absent_agencies": [self.pick(("police", "health"))],
                "rescheduled_for": rescheduled,
            },
        )
        return rescheduled

    def meeting(self, held: datetime) -> dict[str, Any]:
        self.t = max(self.t, held) + timedelta(hours=self.rng.uniform(1, 6))
        data: dict[str, Any] = {
            "held_at": held,
            "attendees": self.area.people("police", "health", "social_work", "education"),
            **self.views(),
            "decision_rationale": self.pick(RATIONALES),
        }
        if self.chance(0.3):
            data["apologies"] = self.area.names("other")
        if self.child.date_of_birth is not None and self.chance(0.7):
            data["child_attended"] = self.chance(0.3)
            data["views_given"] = self.pick(
                ("in_person", "in_writing", "through_an_advocate", "through_a_trusted_adult")
            )
            data["advocacy_offered"] = self.chance(0.8)
        if self.chance(0.8):
            data["parents_invited"] = True
            data["parents_attended"] = self.chance(0.75)
            if data["parents_attended"]:
                data["parents_views"] = "The parents accept help and want the plan to work."
        if self.chance(0.05):
            data["dissent"] = "Health would have registered; recorded as dissent."
        return data

    def protection_plan(self) -> dict[str, Any]:
        today = self.t.date()
        actions = [
            ("Visit the child at home every week and see them alone", "social_work"),
            ("Tell social work at once of any police call to the address", "police"),
            ("Check the child's weight and development every month", "health"),
            ("Give the child a named adult to talk to at school", "education"),
        ]
        chosen = self.rng.sample(actions, self.rng.choice((2, 3)))
        self.plan_actions = [what for what, _ in chosen]
        return {
            "outcomes": [
                {
                    "outcome": "The child is safe and well cared for at home.",
                    "actions": [
                        {
                            "what": what,
                            "who": {"agency": agency, "name": self.area.staff[agency]},
                            "by": today + timedelta(days=self.rng.choice((14, 28, 42, 90))),
                        }
                        for what, agency in chosen
                    ],
                }
            ],
            "contingency_plan": "If the plan is not kept, the core group meets within a week.",
        }

    def conference(self, kind: str, outcome: str) -> None:
        """Schedule a conference and hold it: it decides `outcome`, or is left waiting."""
        held = self.schedule(kind)
        if outcome == "scheduled":
            return
        if self.chance(0.08) or outcome == "inquorate":
            held = self.inquorate(held)
            if self.chance(0.2):
                held = self.inquorate(held)
            if kind != "review" and self.cppm_due is not None and self.chance(0.5):
                self.extend()
        if outcome == "inquorate":
            return
        data = self.meeting(held)
        if outcome == "not_register":
            data["support_plan"] = "Support through the child's plan, without registration."
            self.fire(self.chair, "not_register", data)
            self.state = "closed"
        elif outcome == "register":
            data["areas_of_concern"] = list(self.pick(CATEGORIES))
            data["core_group"] = self.area.names(*self.core_group)
            data["plan_outline"] = self.pick(PLANS)
            if self.chance(0.8):
                data["plan"] = self.protection_plan()
            data["reporter_referral"] = self.chance(0.3)
            data["lead_professional"] = self.lead
            if self.chance(0.6):
                data["parents_informed_in_writing_at"] = self.t
                self.later(minutes=5)
            self.fire(self.chair, "register", data)
            self.state = "registered"
            self.registered_at = held
            self.pre_birth = kind == "pre_birth"
            self.cppm_due = None
        elif outcome == "continue":
            data["plan_outline"] = self.pick(PLANS)
            if self.chance(0.5):
                data["plan"] = self.protection_plan()
            self.fire(self.chair, "continue_registration", data)
            self.state = "registered"
            self.registered_at = held
            self.pre_birth = False
        elif outcome == "deregister":
            data["deregistration_reason"] = self.pick(
                ("risk_reduced", "risk_reduced", "risk_reduced", "child_left_scotland", "other")
            )
            if self.chance(0.4):
                data["note"] = "Support continues through the child's plan."
            self.fire(self.chair, "deregister", data)
            self.state = "closed"

    def core_group_meeting(self, held: datetime) -> None:
        self.t = max(self.t, held) + timedelta(hours=self.rng.uniform(1, 5))
        data: dict[str, Any] = {
            "held_at": held,
            "attendees": self.area.people("health", "social_work", "education"),
            "significant_change": self.chance(0.1),
            "notes": self.pick(NOTES),
        }
        if self.plan_actions and self.chance(0.7):
            data["progress"] = [
                {"action": what, "status": self.pick(("in_progress", "done", "not_started"))}
                for what in self.plan_actions
            ]
        if self.chance(0.5):
            data["childs_views"] = self.pick(VIEWS)
        self.fire(self.area.user(self.pick(("sw", "health"))), "record_core_group", data)

    def registration(self, reviews: int, end: str) -> None:
        """Life on the register: core groups and reviews. `end`: "stay" (registered),
        "review_scheduled", "deregister", or "leave" (the caller ends it another way)."""
        rng = self.rng
        for review in range(reviews + 1):
            assert self.registered_at is not None
            start = self.registered_at
            months = 3 if self.pre_birth else 6
            review_at = start + timedelta(days=months * 30 - rng.uniform(0, 25))
            if self.chance(0.9):
                when = _weekday(_at(start + timedelta(days=rng.uniform(8, 20)), 14))
                while when < review_at - timedelta(days=20):
                    self.core_group_meeting(when)
                    when = _weekday(_at(when + timedelta(days=rng.uniform(28, 56)), 14))
                    if self.chance(0.04):
                        self.chronology()
                    if self.chance(0.03):
                        self.change_lead()
            last = review == reviews
            if last and end in ("stay", "leave"):
                return
            self.t = max(self.t, review_at - timedelta(days=21))
            if last:
                self.conference("review", "scheduled" if end == "review_scheduled" else end)
                return
            self.conference("review", "continue")

    # -- on the side

    def chronology(self) -> None:
        self.later(hours=self.rng.uniform(1, 30))
        data: dict[str, Any] = {
            "occurred_on": self.t.date() - timedelta(days=self.rng.randint(0, 400)),
            "source_agency": self.pick(("police", "health", "education", "social_work")),
            "what_happened": "An incident the agencies had not linked before.",
        }
        if self.chance(0.5):
            data["significance"] = "Part of a pattern of concerns."
        self.fire(
            self.area.user(self.pick(("sw", "health", "police"))), "add_chronology_entry", data
        )

    def change_lead(self) -> None:
        self.later(hours=self.rng.uniform(2, 48))
        self.lead = self.area.user("sw2" if self.lead == self.area.user("sw") else "sw")
        changed = max(self.t.date() - timedelta(days=self.rng.randint(0, 2)), self.received.date())
        self.fire(
            self.area.user("sw"),
            "change_lead_professional",
            {
                "lead_professional": self.lead,
                "changed_on": changed,
                "reason": "The previous social worker moved to another team.",
            },
        )

    def close(self, reason: str) -> None:
        self.later(hours=self.rng.uniform(1, 72))
        self.fire(
            self.area.user("sw"), "close", {"closure_reason": reason, "note": CLOSE_NOTES[reason]}
        )
        self.approve()
        self.state = "closed"


def walk(s: Story, outcome: str) -> None:
    """Take a referral whose concern is recorded to `outcome`, the way practitioners would."""
    rng = s.rng
    if outcome in ("concern", "screened_out"):
        if outcome == "screened_out" or s.chance(0.15):
            s.screen_out(pending=outcome == "concern")  # a concern may wait on its screening
        return
    if outcome in ("recorded_in_error", "duplicate") and s.chance(0.5):
        s.close(outcome)
        return
    s.convene(out_of_hours=s.chance(0.12))
    if outcome == "ird":
        if s.chance(0.25):
            s.ird_close(s.pick(("nfa", "single_agency")), pending=True)
        return
    if outcome in ("nfa", "single_agency", "stale", "rejected"):
        detour = outcome if outcome in ("stale", "rejected") else None
        s.ird_close("nfa" if detour else outcome, detour=detour)
        return
    if outcome in ("recorded_in_error", "duplicate", "moved_away", "other") and s.chance(0.5):
        s.close(outcome)
        return
    s.investigate(outcome)
    if outcome == "jii":
        return
    if outcome == "investigation":
        if s.cppm_due is not None and s.chance(0.3):
            s.extend(pending=s.chance(0.5))
        return
    if outcome == "no_case_conference":
        s.decide_no_conference()
        return
    if outcome in ("recorded_in_error", "duplicate", "moved_away", "other") or (
        outcome == "child_died" and s.chance(0.4)
    ):
        s.close(outcome)
        return
    kind = "initial" if s.child.date_of_birth is not None else "pre_birth"
    if outcome == "case_conference":
        s.conference(kind, s.pick(("scheduled", "scheduled", "scheduled", "inquorate")))
        return
    if outcome == "not_registered":
        s.conference(kind, "not_register")
        return
    s.conference(kind, "register")
    if outcome == "registered":
        s.registration(rng.choice((0, 0, 0, 1, 2)), s.pick(("stay", "stay", "review_scheduled")))
    elif outcome == "registered_review":
        s.registration(1, "review_scheduled")
    elif outcome == "deregistered":
        s.registration(rng.choice((0, 0, 1, 1, 2, 3)), "deregister")
    elif outcome == "child_died":
        s.registration(0, "leave")
        s.close("child_died")
    elif outcome == "leave":
        s.registration(rng.choice((0, 0, 1)), "leave")


def _creator(s: Story) -> str:
    return s.area.user(s.pick(("police", "health", "sw", "sw", "education", "other")))


def _start(rng: random.Random) -> datetime:
    day = ORIGIN + timedelta(days=rng.randint(0, 4))
    return _at(day, rng.randint(7, 16), rng.randint(0, 59))


def plan_group(
    rng: random.Random,
    world: World,
    kind: str,
    outcomes: tuple[str, ...],
    families: tuple[str, ...] = FAMILY,
) -> GroupPlan:
    """The steps of one group, in planning time."""
    plan = GroupPlan(rng, world, families)
    area = world.areas[int(rng.random() * len(world.areas))]
    start = _start(rng)
    if kind == "single":
        outcome = outcomes[0]
        unborn = outcome == "unborn" or (
            outcome in ("case_conference", "registered", "not_registered", "deregistered")
            and rng.random() < 0.08
        )
        child = new_child(plan, start, unborn=unborn)
        story = Story(plan, area, child, start, area.address(rng), _school(rng, area, child))
        story.concern(_creator(story))
        walk(story, "registered" if unborn and outcome == "unborn" else outcome)
    elif kind == "siblings":
        first = Story(plan, area, new_child(plan, start), start, area.address(rng))
        first.school = _school(rng, area, first.child)
        first.concern(area.user("education"))
        brother_or_sister = new_child(plan, start)
        brother_or_sister.family_name = first.child.family_name
        second = Story(
            plan,
            area,
            brother_or_sister,
            first.t + timedelta(minutes=rng.uniform(5, 30)),
            first.address,
            _school(rng, area, brother_or_sister),
        )
        second.concern(area.user("education"), related=[first.key])
        # both are discussed once the second is recorded
        first.t = second.t
        walk(first, outcomes[0])
        walk(second, outcomes[1])
    elif kind == "rereferral":
        child = new_child(plan, start)
        t = start
        here = area
        for outcome in outcomes:
            story = Story(plan, here, child, t, here.address(rng), _school(rng, here, child))
            story.concern(_creator(story))
            walk(story, outcome)
            t = _weekday(_at(story.t + timedelta(days=rng.uniform(30, 500)), rng.randint(8, 16)))
            if rng.random() < 0.2:  # moved to another area in between
                here = world.areas[int(rng.random() * len(world.areas))]
    elif kind == "transfer":
        _plan_transfer(plan, world, area, start, outcomes[0])
    return plan


def _school(rng: random.Random, area: AreaWorld, child: ChildPlan) -> str | None:
    born = child.date_of_birth
    if born is None or (ORIGIN.date() - born).days < 3 * 365 or rng.random() < 0.2:
        return None
    return area.schools[int(rng.random() * len(area.schools))]


def _plan_transfer(
    plan: GroupPlan, world: World, area: AreaWorld, start: datetime, decision: str
) -> None:
    """A registered child moves to another area: notified here, recorded and decided there."""
    rng = plan.rng
    others = [a for a in world.areas if a is not area] or [area]
    there = others[int(rng.random() * len(others))]
    child = new_child(plan, start, has_chi=True)
    sending = Story(plan, area, child, start, area.address(rng), _school(rng, area, child))
    sending.concern(_creator(sending))
    walk(sending, "leave")
    notified = sending.on_day(rng.uniform(2, 40), rng.randint(9, 15))
    moved_on = notified.date() - timedelta(days=rng.randint(0, 10))
    sending.later(minutes=rng.uniform(10, 60))
    sending.fire(
        area.user("sw"),
        "notify_transfer",
        {
            "receiving_area": there.slug,
            "moved_on": moved_on,
            "notified_at": notified,
            "interim_safety_plan": "The receiving area visits within a week; the sending social "
            "worker stays in touch until the transfer conference.",
        },
    )
    if decision == "notified":
        return
    receiving = Story(
        plan,
        there,
        child,
        sending.t + timedelta(hours=rng.uniform(2, 72)),
        there.address(rng),
        _school(rng, there, child),
    )
    receiving.concern(there.user("sw"), transfer_from=sending.key, received=notified)
    receiving.later(hours=rng.uniform(1, 48))
    outcome = {"registered": "register", "not_registered": "not_register"}.get(decision)
    receiving.conference("transfer", outcome or "scheduled")
    if decision == "registered":
        sending.state = "closed"  # transferred out by the receiving area's registration
        receiving.registration(0, "stay")
    elif decision == "not_registered":
        # the sending area keeps the child registered until its own review
        sending.t = max(sending.t, receiving.t) + timedelta(days=rng.uniform(1, 10))
        sending.conference("review", "deregister")


def choose_group(
    rng: random.Random, remaining: int, tour: list[tuple[str, tuple[str, ...]]]
) -> tuple[str, tuple[str, ...]]:
    """The next group's kind and outcomes, with at most `remaining` referrals."""
    while tour:
        kind, outcomes = tour.pop(0)
        if _group_size(kind, outcomes) <= remaining:
            return kind, outcomes
    kind = _draw(rng, _GROUPS)
    if kind == "siblings":
        outcomes = (_draw(rng, _OUTCOMES), _draw(rng, _OUTCOMES))
    elif kind == "rereferral":
        earlier = tuple(_draw(rng, _EARLIER) for _ in range(1 if rng.random() < 0.8 else 2))
        outcomes = (*earlier, _draw(rng, _OUTCOMES))
    elif kind == "transfer":
        outcomes = (_draw(rng, _TRANSFERS),)
    else:
        outcomes = (_draw(rng, _OUTCOMES),)
    if _group_size(kind, outcomes) > remaining:
        return "single", (_draw(rng, _OUTCOMES),)
    return kind, outcomes


def _group_size(kind: str, outcomes: tuple[str, ...]) -> int:
    if kind == "transfer":
        return 1 if outcomes[0] == "notified" else 2
    if kind == "siblings":
        return 2
    return len(outcomes)


# -- placing a group in the real calendar ----------------------------------------------------


def place(plan: GroupPlan, rng: random.Random, limit: datetime, years: int) -> timedelta:
    """How far to move the group: closed ones anywhere in the years before `limit`; one with
    an open referral so that its last step is recent (sometimes long ago: overdue work)."""
    first, last = plan.first, plan.last
    latest = (limit - last) // WEEK
    earliest = -((first - (limit - timedelta(days=round(365.25 * years)))) // WEEK)
    if plan.open:
        draw = rng.random()
        if draw < 0.6:
            tail = rng.uniform(0, 14)
        elif draw < 0.85:
            tail = rng.uniform(14, 90)
        else:
            tail = rng.uniform(90, 500)
        weeks = min(latest, (limit - timedelta(days=tail) - last) // WEEK)
    elif earliest <= latest:
        weeks = rng.randint(earliest, latest)
    else:
        weeks = latest
    return WEEK * weeks


class Registry:
    """What must stay unique across the whole database: CHI numbers, and a child's name with
    their date of birth (which the service would take for the same child)."""

    def __init__(
        self, chis: set[str], names: set[int], partition: int = 0, partitions: int = 1
    ) -> None:
        self.chis = chis
        self.names = names
        self.serials: dict[date, int] = {}
        # partitions never meet: each has its own CHI serial numbers and family names
        block = 898 // partitions
        self.first_serial = 100 + partition * block
        self.last_serial = self.first_serial + block
        self.families = FAMILY[partition::partitions]

    @classmethod
    def load(cls, session: Session) -> tuple[set[str], set[int]]:
        chis = set(
            session.scalars(
                select(ChildIdentity.chi_number).where(ChildIdentity.chi_number.isnot(None))
            )
        )
        chis |= set(session.scalars(select(Child.chi_number).where(Child.chi_number.isnot(None))))
        names = {
            hash((key, born))
            for key, born in session.execute(
                select(Child.name_key, Child.date_of_birth).where(Child.date_of_birth.isnot(None))
            )
        }
        return {c for c in chis if c is not None}, names

    def place(self, child: ChildPlan, shift: timedelta, rng: random.Random) -> None:
        child.placed = True
        if child.date_of_birth is None:
            assert child.expected_date_of_delivery is not None
            child.expected_date_of_delivery += shift
            return
        born = child.date_of_birth = child.date_of_birth + shift
        key = hash((name_key(child.given_name, child.family_name), born))
        while key in self.names:
            child.given_name = GIVEN[int(rng.random() * len(GIVEN))]
            key = hash((name_key(child.given_name, child.family_name), born))
        self.names.add(key)
        if child.has_chi:
            child.chi_number = self.chi(born, child.sex)

    def chi(self, born: date, sex: str | None) -> str | None:
        """A well-formed CHI number for this birth date not given before (odd ninth digit for a
        boy, even for a girl)."""
        serial = self.serials.get(born, self.first_serial)
        prefix = born.strftime("%d%m%y")
        while serial < self.last_serial:
            serial += 1
            if (sex == "male" and serial % 2 == 0) or (sex == "female" and serial % 2 == 1):
                continue
            digits = prefix + f"{serial:03d}"
            check = 11 - sum(int(d) * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
            if check == 10:
                continue
            number = digits + str(0 if check == 11 else check)
            if number not in self.chis:
                self.serials[born] = serial
                self.chis.add(number)
                return number
        self.serials[born] = serial
        return None


def resolve(steps: list[Step], shift: timedelta, registry: Registry, rng: random.Random) -> None:
    """Move the steps by `shift` and turn their data into what a client would send (ISO text
    for moments, the child's details), in place. References to other referrals stay `Ref`."""
    for step in steps:
        step.at += shift
        step.data = _resolved(step.data, shift, registry, rng)
    steps.sort(key=lambda s: (s.at, s.order))


_PLAIN = frozenset({str, bool, int, float, type(None)})


def _resolved(value: Any, shift: timedelta, registry: Registry, rng: random.Random) -> Any:
    """`value` as sent; dicts and lists are changed in place (a value already sent is left)."""
    kind = type(value)
    if id(value) in _SHARED_JSON:  # nothing to resolve in a shared value
        return value
    if kind is dict:
        for key, item in value.items():
            if type(item) not in _PLAIN:
                value[key] = _resolved(item, shift, registry, rng)
        return value
    if kind is list:
        for i, item in enumerate(value):
            if type(item) not in _PLAIN:
                value[i] = _resolved(item, shift, registry, rng)
        return value
    if kind is datetime or kind is date:
        return (value + shift).isoformat()
    if kind is ChildDetails:
        child = value.child
        if not child.placed:
            registry.place(child, shift, rng)
        details: dict[str, Any] = {"given_name": child.given_name, "family_name": child.family_name}
        if child.date_of_birth is not None:
            details["date_of_birth"] = child.date_of_birth.isoformat()
        else:
            assert child.expected_date_of_delivery is not None
            details["expected_date_of_delivery"] = child.expected_date_of_delivery.isoformat()
        for name, given in (
            ("chi_number", child.chi_number),
            ("sex", child.sex),
            ("address", value.address),
            ("school", value.school),
            ("ethnicity", child.ethnicity),
            ("disability", child.disability),
            ("religion", child.religion),
        ):
            if given is not None:
                details[name] = given
        return details
    return value


# -- playing: the services' writes, on rows in memory ------------------------------------------


class Ids:
    """The next surrogate key of each table, continuing from what the database holds."""

    TABLES = (
        ChildIdentity,
        Child,
        IrdContribution,
        Jii,
        Conference,
        ConferenceMeeting,
        Registration,
        CoreGroupMeeting,
        Transfer,
        LeadProfessionalChange,
        ChronologyEntry,
        Event,
        AccessLogEntry,
    )

    def __init__(self, base: dict[str, int], partition: int = 0, partitions: int = 1) -> None:
        self.base = base
        self.partition = partition
        self.partitions = partitions
        self.taken = dict.fromkeys(base, 0)
        self.last = dict.fromkeys(base, 0)  # the highest id given, per table (0: none)

    @classmethod
    def highest(cls, session: Session) -> dict[str, int]:
        return {
            model.__tablename__: session.scalar(select(func.max(model.id))) or 0
            for model in cls.TABLES
        }

    def next(self, table: str) -> int:
        """Partitions take turns: partition p of P gives base + p + 1, then + P, and so on."""
        taken = self.taken[table]
        self.taken[table] = taken + 1
        value = self.base[table] + taken * self.partitions + self.partition + 1
        self.last[table] = value
        return value


class References:
    """Each area's reference numbers by year, continuing from the database; partitions take
    turns as with ids (numbers are unique, not always consecutive)."""

    def __init__(
        self, base: dict[tuple[int, int], int], partition: int = 0, partitions: int = 1
    ) -> None:
        self.base = base
        self.partition = partition
        self.partitions = partitions
        self.taken: dict[tuple[int, int], int] = {}
        self.last: dict[tuple[int, int], int] = {}

    def next(self, area_id: int, year: int) -> int:
        key = (area_id, year)
        taken = self.taken.get(key, 0)
        self.taken[key] = taken + 1
        value = self.base.get(key, 0) + taken * self.partitions + self.partition + 1
        self.last[key] = value
        return value


class MemoryStages(Stages):
    """A referral's stage records, kept in memory from step to step.

    `seen` is what the current step has read so far: a service's first read of a section in a
    request queries the database, which first flushes the session (`on_read`).
    """

    def __init__(self, on_read: Callable[[], None] | None) -> None:
        super().__init__()
        self.held: dict[str, Any] = {
            "ird": None,
            "screening": None,
            "investigation": None,
            "jiis": [],
            "conferences": [],
            "registrations": [],
            "transfers": [],
            "shares": [],
        }
        self.seen: set[str] = set()
        self.on_read = on_read

    def _read(self, name: str) -> Any:
        if name not in self.seen:
            self.seen.add(name)
            if self.on_read is not None:
                self.on_read()
        return self.held[name]

    def _write(self, name: str, value: Any) -> None:
        self.seen.add(name)
        self.held[name] = value

    ird = property(lambda self: self._read("ird"), lambda self, v: self._write("ird", v))
    screening = property(
        lambda self: self._read("screening"), lambda self, v: self._write("screening", v)
    )
    investigation = property(
        lambda self: self._read("investigation"), lambda self, v: self._write("investigation", v)
    )
    jiis = property(lambda self: self._read("jiis"))
    conferences = property(lambda self: self._read("conferences"))
    registrations = property(lambda self: self._read("registrations"))
    transfers = property(lambda self: self._read("transfers"))
    shares = property(lambda self: self._read("shares"))

    def loaded_sections(self) -> list[str]:
        return [name for name in SECTION_NAMES if name in self.seen]


#: stage rows with a surrogate key, numbered when added (as a flush would number them)
NUMBERED = (
    Jii,
    Conference,
    Registration,
    Transfer,
    LeadProfessionalChange,
    ChronologyEntry,
    IrdContribution,
)


class _Added:
    """Stands in for the session in a `Recording`: keeps the rows a recorder adds."""

    def __init__(self, ids: Ids, stages: MemoryStages) -> None:
        self.ids = ids
        self.stages = stages
        self.rows: list[Any] = []

    def add(self, row: Any) -> None:
        model = _model_of(row)
        if model in NUMBERED:
            row.id = self.ids.next(row.__tablename__)
        if model is IrdContribution:
            # added beside the IRD: the IRD's contributions are its rows, as loading shows them
            contributions = self.stages.held["ird"].contributions
            if row not in contributions:
                contributions.append(row)
        self.rows.append(row)


class Sim:
    """One referral's row and everything recorded against it, in memory."""

    profile = PROFILE

    def __init__(self, ids: Ids, on_read: Callable[[], None]) -> None:
        self.id = ""
        self.profile_version = 0
        self.reference = ""
        self.area: AreaWorld
        self.child_row: tuple[Any, ...] = ()
        self.child_plan: ChildPlan | None = None
        self.date_of_birth: date | None = None
        self.edd: date | None = None
        self.state = "concern"
        self.closure_reason: str | None = None
        self.closed_at: datetime | None = None
        self.created_at: datetime
        self.updated_at: datetime
        self.received_at: datetime
        self.row: dict[str, Any] = {}
        self.transfer_from: str | None = None
        self.related: set[str] = set()
        self.agencies: set[str] = set()
        self.pending: dict[str, Any] | None = None
        self.approvals: list[dict[str, Any]] = []
        self.version = 0
        self.dirty = True  # a new row, not yet written
        self.seq = 0
        self.last_hash = ""
        self.events: list[tuple[Any, ...]] = []
        self.stages = MemoryStages(on_read)
        self.added = _Added(ids, self.stages)
        self.clocks = Clocks()

    @property
    def stages_doc(self) -> dict[str, Any]:
        """The read document as the row holds it (built from the rows: a recorder that adds to
        it sees what it would see; what it sets is built again from the rows at the end)."""
        stages = self.stages
        seen, on_read = set(stages.seen), stages.on_read
        stages.on_read = None
        try:
            return document(stages)
        finally:
            stages.seen, stages.on_read = seen, on_read

    @stages_doc.setter
    def stages_doc(self, value: dict[str, Any]) -> None:
        pass


@dataclass
class Played:
    """The rows of the groups played so far in a batch, by table."""

    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    referrals: int = 0
    events: int = 0

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        self.rows.setdefault(table, []).append(row)


class Player:
    """Plays a group's steps, in order, as the services would (referral.services.referrals,
    transitions, approvals, transfers), on referrals held in memory."""

    def __init__(
        self,
        world: World,
        audit_key: bytes,
        ids: Ids,
        references: References,
        rng: random.Random,
    ) -> None:
        self.world = world
        self.key = audit_key
        self.ids = ids
        self.references = references
        self.rng = rng
        self.definition = definition_of(PROFILE)
        self.engine = engine_of(PROFILE, self.definition.version)
        self.calendar = calendar_for(
            self.definition.holiday_country,
            self.definition.holiday_subdivision,
            self.definition.timezone,
        )
        self.directory = _Directory(world)
        # triggers that can move a clock (advance returns the clocks unchanged for the rest)
        self.moving: set[str] = {SCHEDULE_CONFERENCE}
        for rule in self.definition.timescales:
            self.moving |= {*rule.starts_on, *rule.met_by, *rule.not_required_by}
            self.moving |= {*(rule.unborn_starts_on or ()), rule.extended_by or ""}
        self.check = False
        self.hash_checked = False
        self.sims: dict[int, Sim] = {}
        self.by_id: dict[str, Sim] = {}
        self.links: list[tuple[str, str, datetime]] = []
        self.access: list[tuple[Any, ...]] = []
        self.identities: list[tuple[int, str | None, datetime]] = []

    # -- the unit of work

    def _flush(self) -> None:
        """A flush: every referral whose row changed is written, its version counted."""
        for sim in self.sims.values():
            if sim.dirty:
                sim.version += 1
                sim.dirty = False

    def _append(
        self,
        sim: Sim,
        actor: Actor,
        type_: str,
        at: datetime,
        data: dict[str, Any],
        *,
        trigger: str | None = None,
        from_state: str | None = None,
        to_state: str | None = None,
        reason: str | None = None,
    ) -> dict[str, Any]:
        """`append_event`: the next event of the referral's chain, hashed with the audit key."""
        seq = sim.seq + 1
        prev = sim.last_hash or GENESIS
        stored = canonical(data)  # what the column holds: the same JSON, without spaces
        # canonical(fields) of append_event, put together around the data's text
        message = "".join(
            (
                prev,
                '{"actor":',
                _json_text(actor.username),
                ',"agency":',
                _json_text(actor.agency),
                ',"at":"',
                at.isoformat(),
                '","data":',
                stored,
                ',"from_state":',
                _json_text(from_state),
                ',"reason":',
                _json_text(reason),
                ',"referral_id":"',
                sim.id,
                '","role":',
                _json_text(actor.role),
                ',"seq":',
                str(seq),
                ',"to_state":',
                _json_text(to_state),
                ',"trigger":',
                _json_text(trigger),
                ',"type":',
                _json_text(type_),
                "}",
            )
        )
        digest = hmac.new(self.key, message.encode(), hashlib.sha256).hexdigest()
        if not self.hash_checked:
            self._check_hash(
                sim,
                seq,
                type_,
                trigger,
                from_state,
                to_state,
                actor,
                at,
                data,
                reason,
                prev,
                digest,
            )
        sim.events.append(
            (
                self.ids.next("events"),
                sim.id,
                seq,
                type_,
                trigger,
                from_state,
                to_state,
                actor.username,
                actor.agency,
                actor.role,
                at,
                stored,
                reason,
                prev,
                digest,
            )
        )
        sim.seq, sim.last_hash, sim.updated_at = seq, digest, at
        sim.dirty = True
        return data

    def _check_hash(
        self,
        sim: Sim,
        seq: int,
        type_: str,
        trigger: str | None,
        from_state: str | None,
        to_state: str | None,
        actor: Actor,
        at: datetime,
        data: dict[str, Any],
        reason: str | None,
        prev: str,
        digest: str,
    ) -> None:
        """Once per batch: the hash is append_event's, over the fields audit verify reads."""
        event = SimpleNamespace(
            referral_id=sim.id,
            seq=seq,
            type=type_,
            trigger=trigger,
            from_state=from_state,
            to_state=to_state,
            actor=actor.username,
            agency=actor.agency,
            role=actor.role,
            at=at.astimezone(UTC),
            data=json.loads(canonical(data)),
            reason=reason,
        )
        if event_hash(self.key, prev, _hashed_fields(event)) != digest:
            raise GenerateError("the events' hashes are not append_event's: update the generator")
        self.hash_checked = True

    def _id(self) -> str:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4).hex

    # -- playing a group

    def play(self, steps: list[Step], check: bool = False) -> list[Sim]:
        self.check = check
        self.sims, self.by_id = {}, {}
        self.links, self.access, self.identities = [], [], []
        for step in steps:
            for sim in self.sims.values():
                sim.stages.seen.clear()
            try:
                if step.kind == "create":
                    self._create(step)
                elif step.kind == "fire":
                    self._fire(step)
                else:
                    self._decide(step)
            except GenerateError:
                raise
            except Exception as exc:
                raise GenerateError(
                    f"{step.kind} {step.trigger or ''} by {step.actor} at {step.at}: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            self._flush()  # the request's commit
        return list(self.sims.values())

    def _ids(self, value: Any) -> Any:
        """References to the group's other referrals, as their ids."""
        if isinstance(value, Ref):
            return self.sims[value.key].id
        if isinstance(value, list):
            return [self._ids(v) for v in value]
        return value

    def _context(self, at: datetime, sim: Sim | None) -> ValidationContext:
        return ValidationContext(
            now=at,
            directory=self.directory,
            concern_received_at=sim.received_at if sim is not None else None,
            today=self.calendar.local_date(at),
        )

    # -- recording a concern (services.referrals.create_referral)

    def _create(self, step: Step) -> None:
        at = step.at
        actor = self.world.actor(step.actor)
        payload = {k: self._ids(v) for k, v in step.data.items()}
        if self.check:
            cleaned = self.engine.validate_new_referral(payload, self._context(at, None))
            if cleaned != payload:
                raise GenerateError(f"the concern is not as the API would clean it: {payload}")
        area = self.world.area(payload["area"])
        details, concern = payload["child"], payload["concern"]
        transfer = sending = None
        if payload.get("transfer_from"):
            sending = self.by_id[payload["transfer_from"]]
            transfer = next(
                t
                for t in reversed(sending.stages.held["transfers"])
                if t.outcome is None and t.receiving_area == area.slug
            )
        siblings = [self.by_id[rid] for rid in payload.get("related_referrals") or ()]
        plan = step.child
        assert plan is not None
        kind = "new"
        matched = list(plan.referrals)
        if plan.identity_id is None:
            plan.identity_id = self.ids.next("child_identities")
            self.identities.append((plan.identity_id, details.get("chi_number"), at))
            matched = []
        else:
            kind = "chi" if details.get("chi_number") else "possible"
        sim = Sim(self.ids, self._flush)
        sim.id = self._id()
        sim.profile_version = self.definition.version
        sim.area = area
        sim.child_plan = plan
        plan.referrals.append(sim)
        self.sims[step.key] = sim
        self.by_id[sim.id] = sim
        born = details.get("date_of_birth")
        due = details.get("expected_date_of_delivery")
        sim.date_of_birth = date.fromisoformat(born) if born else None
        sim.edd = date.fromisoformat(due) if due else None
        child_id = self.ids.next("children")
        sim.child_row = (
            child_id,
            plan.identity_id,
            details.get("chi_number"),
            details["given_name"],
            details["family_name"],
            name_key(details["given_name"], details["family_name"]),
            sim.date_of_birth,
            sim.edd,
            details.get("sex"),
            details.get("address"),
            details.get("school"),
            details.get("ethnicity"),
            details.get("disability"),
            details.get("religion"),
            at,
        )
        year = self.calendar.local_date(at).year
        number = self.references.next(area.id, year)
        sim.reference = f"{area.prefix}-{year}-{number:05d}"
        received = parse_datetime(concern["received_at"])
        sim.received_at = received
        sim.created_at = sim.updated_at = at
        match_areas = sorted({m.area.slug for m in matched})
        sim.row = {
            "child_match": kind,
            "child_match_areas": match_areas,
            "referrer_agency": actor.agency,
            "created_by": actor.username,
            "concern_source": concern["source"],
            "concern_summary": concern["summary"],
            "concern_categories": list(concern.get("categories") or []),
            "immediate_risk": concern["immediate_risk"],
            "child_spoken_to": concern["child_spoken_to"],
            "childs_views": concern.get("childs_views"),
            "named_person": payload.get("named_person"),
        }
        sim.transfer_from = sending.id if sending is not None else None
        sim.agencies.add(actor.agency)
        extras: dict[str, Any] = {}
        if payload.get("named_person"):
            extras["named_person"] = payload["named_person"]
        if siblings:
            extras["related_referrals"] = [s.id for s in siblings]
        if transfer is not None:
            extras["transfer_from"] = transfer.referral_id
            extras["moved_on"] = transfer.moved_on.isoformat()
        self._append(
            sim,
            actor,
            "created",
            at,
            {
                "area": area.slug,
                "child": {
                    "given_name": details["given_name"],
                    "family_name": details["family_name"],
                    "date_of_birth": born,
                    "expected_date_of_delivery": due,
                    "chi_number": details.get("chi_number"),
                    "sex": details.get("sex"),
                    "address": details.get("address"),
                    "school": details.get("school"),
                    "ethnicity": details.get("ethnicity"),
                    "disability": details.get("disability"),
                    "religion": details.get("religion"),
                },
                "child_match": None if kind == "new" else {"kind": kind, "areas": match_areas},
                "concern": {
                    "received_at": received.isoformat(),
                    "source": concern["source"],
                    "summary": concern["summary"],
                    "categories": list(concern.get("categories") or []),
                    "immediate_risk": concern["immediate_risk"],
                    "child_spoken_to": concern["child_spoken_to"],
                    "childs_views": concern.get("childs_views"),
                },
                **extras,
            },
            to_state="concern",
        )
        moved_on = transfer.moved_on if transfer is not None else None
        sim.clocks = begin(self.definition, Facts(received, sim.edd, moved_on))
        sim.dirty = True  # written with its clocks (create_referral keeps them before writing)
        if siblings or transfer is not None:
            self._flush()  # the links and the transfer name the new row
        for sibling in siblings:
            self.links.append((sim.id, sibling.id, at))
            self.links.append((sibling.id, sim.id, at))
            sim.related.add(sibling.id)
            sibling.related.add(sim.id)
            sim.dirty = sibling.dirty = True
            self._mark_stale(sibling, actor, at, "sibling_linked")
            self._append(
                sibling,
                actor,
                "sibling_linked",
                at,
                {"related_referral": sim.id, "related_reference": sim.reference},
            )
        if transfer is not None and sending is not None:
            transfer.receiving_referral_id = sim.id
            self._flush()  # the sending referral's document shows the transfer as it stands
            sending.dirty = True
            self._mark_stale(sending, actor, at, "transfer_received")
            self._append(
                sending,
                actor,
                "transfer_received",
                at,
                {"receiving_referral": sim.id, "receiving_area": area.slug},
            )
        for earlier in matched:
            self.access.append(
                (
                    self.ids.next("access_log"),
                    earlier.id,
                    actor.username,
                    actor.agency,
                    actor.role,
                    "match",
                    None,
                    at,
                    f"child match ({kind}) when {sim.reference} was recorded",
                    None,
                    None,
                )
            )

    # -- firing a trigger (services.transitions.fire)

    def _subject(self, sim: Sim, at: datetime) -> Subject:
        held = sim.stages.held
        conferences = held["conferences"]
        conference = conferences[-1] if conferences and conferences[-1].decision is None else None
        planned = [j for j in held["jiis"] if j.status == "planned"]
        live = [r for r in held["registrations"] if r.ended_at is None]
        meetings = conference.meetings if conference is not None else []
        return Subject(
            state=sim.state,
            unborn=sim.date_of_birth is None,
            conference_type=conference.conference_type if conference else None,
            chair=conference.chair if conference else None,
            last_meeting_inquorate=bool(meetings) and not meetings[-1].quorate,
            interviewers=tuple(planned[-1].interviewers) if planned else (),
            core_group_agencies=frozenset(
                m["agency"] for m in (live[-1].core_group if live else [])
            ),
            initial_cppm_due=current_due(sim.clocks, "initial_cppm"),
            today=self.calendar.local_date(at),
            area=sim.area.slug,
            transfer_in=sim.transfer_from is not None,
        )

    def _flags(
        self, sim: Sim, actor: Actor, trigger: str, data: dict[str, Any], at: datetime
    ) -> dict[str, Any]:
        """What the engine flags a firing with (workflow.engine.Engine.fire)."""
        t = self.definition.trigger(trigger)
        flags: dict[str, Any] = {}
        if t.short_notice is not None:
            when = parse_datetime(data[t.short_notice[0]])
            if when - at < timedelta(days=t.short_notice[1]):
                flags["short_notice"] = True
        if t.on_behalf_field and data.get(t.on_behalf_field) not in (None, actor.agency):
            flags["recorded_on_behalf_of"] = data[t.on_behalf_field]
        if t.flag_rules:
            subject = self._subject(sim, at)
            for rule in t.flag_rules:
                value = rule.check(data, subject)
                if value is not None and value is not False:
                    flags[rule.name] = value
        return flags

    def _checked(
        self,
        sim: Sim,
        actor: Actor,
        trigger: str,
        data: dict[str, Any],
        at: datetime,
        flags: dict[str, Any],
        *,
        approved: bool = False,
        system: bool = False,
    ) -> None:
        """The engine, as the API would run it, agrees with what is about to be recorded."""
        try:
            outcome = self.engine.fire(
                self._subject(sim, at),
                actor,
                trigger,
                data,
                self._context(at, sim),
                approved=approved,
                system=system,
            )
        except ApprovalRequired as exc:
            if exc.data != data:
                raise GenerateError(f"{trigger}: the data is not as the API cleans it") from exc
            return
        except Exception as exc:
            raise GenerateError(f"{trigger} by {actor.username} at {at}: {exc}") from exc
        if outcome.data != data or outcome.flags != flags:
            raise GenerateError(
                f"{trigger}: the engine records {outcome.data} {outcome.flags}, "
                f"the generator {data} {flags}"
            )

    def _fire(self, step: Step) -> None:
        sim = self.sims[step.key]
        actor = self.world.actor(step.actor)
        trigger = self.definition.trigger(step.trigger or "")
        data = {k: self._ids(v) for k, v in step.data.items()}
        flags = (
            {}
            if trigger.approval is not None
            else self._flags(sim, actor, trigger.name, data, step.at)
        )
        if self.check:
            self._checked(sim, actor, trigger.name, data, step.at, flags)
        if trigger.approval is not None:
            self._request(
                sim,
                actor,
                trigger.name,
                data,
                step.at,
                trigger.approval.role,
                trigger.approval.agency,
            )
        else:
            self._apply(sim, actor, trigger.name, data, step.at, flags)

    def _mark_stale(self, sim: Sim, actor: Actor, at: datetime, because: str) -> None:
        """services.pending.mark_pending_stale"""
        pending = sim.pending
        if pending is None:
            return
        self._flush()  # reading the approval flushes the session first
        sim.pending = None
        pending.update(status="stale", decided_at=at, comment=stale_comment(because))
        self._append(
            sim,
            actor,
            "approval_stale",
            at,
            {"approval_id": pending["id"], "trigger": pending["trigger"], "because": because},
        )

    def _request(
        self,
        sim: Sim,
        actor: Actor,
        trigger: str,
        data: dict[str, Any],
        at: datetime,
        role: str,
        agency: str,
    ) -> None:
        """services.transitions.request_approval"""
        if sim.pending is not None:
            raise GenerateError(f"{trigger}: an approval is already pending")
        approval = {
            "id": self._id(),
            "referral_id": sim.id,
            "trigger": trigger,
            "data": data,
            "reason": None,
            "referral_version": 0,
            "requested_by": actor.username,
            "requested_agency": actor.agency,
            "requested_role": actor.role,
            "requested_at": at,
            "approver_role": role,
            "approver_agency": agency,
            "status": "pending",
            "decided_by": None,
            "decided_at": None,
            "comment": None,
        }
        self._append(
            sim,
            actor,
            "approval_requested",
            at,
            {"approval_id": approval["id"], "trigger": trigger, "data": data},
            trigger=trigger,
        )
        sim.pending = approval
        sim.approvals.append(approval)
        self._flush()
        approval["referral_version"] = sim.version

    def _decide(self, step: Step) -> None:
        """services.approvals.decide"""
        sim = self.sims[step.key]
        actor = self.world.actor(step.actor)
        approval = sim.pending
        if approval is None:
            raise GenerateError("nothing is pending to decide")
        comment = step.data["comment"]
        approval.update(decided_by=actor.username, decided_at=step.at, comment=comment)
        sim.pending = None
        sim.dirty = True
        decided = {
            "approval_id": approval["id"],
            "trigger": approval["trigger"],
            "comment": comment,
        }
        if step.data["decision"] == "reject":
            approval["status"] = "rejected"
            self._append(
                sim, actor, "approval_rejected", step.at, decided, trigger=approval["trigger"]
            )
            self._flush()
            return
        requester = Actor(
            approval["requested_by"], approval["requested_agency"], approval["requested_role"]
        )
        trigger, data = approval["trigger"], approval["data"]
        flags = self._flags(sim, requester, trigger, data, step.at)
        if self.check:
            self._checked(sim, requester, trigger, data, step.at, flags, approved=True)
        approval["status"] = "approved"
        self._append(sim, actor, "approval_approved", step.at, decided, trigger=trigger)
        self._apply(sim, requester, trigger, data, step.at, flags, approval=approval)

    def _apply(
        self,
        sim: Sim,
        actor: Actor,
        trigger: str,
        data: dict[str, Any],
        at: datetime,
        flags: dict[str, Any],
        *,
        approval: dict[str, Any] | None = None,
    ) -> None:
        """services.transitions.apply"""
        t = self.definition.trigger(trigger)
        if approval is None:
            self._mark_stale(sim, actor, at, trigger)
        closure = t.closure_reason
        if t.closure_reason_field:
            closure = data[t.closure_reason_field]
        from_state = sim.state
        to_state = t.dest or from_state
        outcome = Outcome(trigger, from_state, to_state, data, closure, flags)
        recording = Recording(sim.added, sim, sim.stages, outcome, actor, at)  # type: ignore[arg-type]
        RECORDERS[trigger](recording)
        sim.agencies |= recording.agencies
        sim.state = to_state
        if to_state == "closed":
            sim.closure_reason = closure
            sim.closed_at = at
        event = dict(data)
        if flags:
            event["_flags"] = flags
        if approval is not None:
            event["_approval"] = {"id": approval["id"], "approved_by": approval["decided_by"]}
        self._append(
            sim,
            actor,
            "transition",
            at,
            event,
            trigger=trigger,
            from_state=from_state,
            to_state=to_state,
        )
        clocks = sim.clocks
        if trigger in self.moving or to_state == "closed":
            clocks = advance(
                self.definition,
                clocks,
                HistoryEvent(trigger, at, event, to_state),
                Facts(sim.received_at, sim.edd),
            )
        # services.referrals.keep_clocks: the investigation's row is read when its due date moves
        due = current_due(clocks, "initial_cppm")
        changed = due != current_due(sim.clocks, "initial_cppm")
        sim.clocks = clocks
        if (changed or "investigation" in sim.stages.seen) and sim.stages.investigation:
            sim.stages.investigation.initial_cppm_due = due
        sim.dirty = True  # the document, projected without a flush
        self._flush()
        if sim.transfer_from is not None and trigger in ("register", "not_register"):
            self._transfer_decided(sim, actor, trigger, data, at)

    def _transfer_decided(
        self, receiving: Sim, actor: Actor, trigger: str, data: dict[str, Any], at: datetime
    ) -> None:
        """services.transfers.transfer_decided"""
        conferences = receiving.stages.held["conferences"]
        if not conferences or conferences[-1].conference_type != "transfer":
            return
        self._flush()  # reading the sending referral
        assert receiving.transfer_from is not None
        sending = self.by_id[receiving.transfer_from]
        held_at = data["held_at"]
        if trigger == "register" and sending.state == "registered":
            closing = {"receiving_referral": receiving.id, "held_at": held_at}
            if self.check:
                self._checked(sending, actor, "transferred_out", closing, at, {}, system=True)
            self._apply(sending, actor, "transferred_out", closing, at, {})
            return
        self._flush()  # reading the sending referral's transfers
        transfer = next(
            (
                t
                for t in reversed(sending.stages.held["transfers"])
                if t.outcome is None and t.receiving_referral_id == receiving.id
            ),
            None,
        )
        if transfer is not None:
            transfer.outcome = "registered" if trigger == "register" else "not_registered"
            transfer.decided_at = datetime.fromisoformat(str(held_at))
            self._flush()
            sending.dirty = True
        self._mark_stale(sending, actor, at, "transfer_decided")
        self._append(
            sending,
            actor,
            "transfer_decided",
            at,
            {
                "receiving_referral": receiving.id,
                "decision": trigger,
                "held_at": held_at,
                "still_registered_here": sending.state == "registered",
            },
        )

    # -- the rows of a played group

    def rows(self, sims: list[Sim], out: Played) -> None:
        for identity in self.identities:
            out.add("child_identities", identity)
        for sim in sims:
            out.referrals += 1
            out.events += len(sim.events)
            out.add("children", sim.child_row)
            out.add("referrals", self._referral_row(sim))
            for agency in sorted(sim.agencies):
                out.add("referral_agencies", (sim.id, agency))
            self._stage_rows(sim, out)
            for approval in sim.approvals:
                out.add(
                    "approvals",
                    tuple(
                        _json(approval[c]) if c == "data" else approval[c] for c in APPROVAL_COLUMNS
                    ),
                )
        for sim in sims:
            for event in sim.events:
                out.add("events", event)
        for link in self.links:
            out.add("referral_links", link)
        for entry in self.access:
            out.add("access_log", entry)

    def _referral_row(self, sim: Sim) -> tuple[Any, ...]:
        sim.stages.on_read = None
        doc = document(sim.stages)
        clocks = sim.clocks
        row = sim.row
        return (
            sim.id,
            sim.reference,
            sim.area.id,
            sim.child_row[0],
            row["child_match"],
            _json(row["child_match_areas"]),
            sim.state,
            PROFILE,
            sim.profile_version,
            sim.version,
            sim.closure_reason,
            sim.closed_at,
            row["referrer_agency"],
            row["created_by"],
            sim.created_at,
            sim.updated_at,
            sim.received_at,
            row["concern_source"],
            row["concern_summary"],
            _json(row["concern_categories"]),
            row["immediate_risk"],
            row["child_spoken_to"],
            row["childs_views"],
            _json(row["named_person"]),
            sim.transfer_from,
            json.dumps(clocks.to_json()),
            json.dumps(doc),
            sim.pending["id"] if sim.pending is not None else None,
            _json(sorted(sim.related)),
            next_due(clocks),
            sim.seq,
            sim.last_hash,
        )

    def _stage_rows(self, sim: Sim, out: Played) -> None:
        held = sim.stages.held
        ird = held["ird"]
        if ird is not None:
            out.add("irds", _orm_row(ird))
            for contribution in ird.contributions:
                if contribution.__dict__.get("id") is None:
                    contribution.id = self.ids.next("ird_contributions")
                out.add("ird_contributions", _orm_row(contribution))
        if held["screening"] is not None:
            out.add("screenings", _orm_row(held["screening"]))
        if held["investigation"] is not None:
            out.add("investigations", _orm_row(held["investigation"]))
        for jii in held["jiis"]:
            out.add("jiis", _orm_row(jii))
        for conference in held["conferences"]:
            out.add("conferences", _orm_row(conference))
            for meeting in conference.meetings:
                meeting.id = self.ids.next("conference_meetings")
                meeting.conference_id = conference.id
                out.add("conference_meetings", _orm_row(meeting))
        for registration in held["registrations"]:
            out.add("registrations", _orm_row(registration))
            for concern in registration.areas_of_concern:
                concern.registration_id = registration.id
                out.add("registration_concerns", _orm_row(concern))
            for meeting in registration.core_group_meetings:
                meeting.id = self.ids.next("core_group_meetings")
                meeting.registration_id = registration.id
                out.add("core_group_meetings", _orm_row(meeting))
        for transfer in held["transfers"]:
            out.add("transfers", _orm_row(transfer))
        for share in held["shares"]:
            out.add("referral_shares", _orm_row(share))
        for row in sim.added.rows:
            if _model_of(row) in (LeadProfessionalChange, ChronologyEntry):
                out.add(row.__tablename__, _orm_row(row))


#: the columns of the rows the player puts together itself, in the order it gives them
BUILT_COLUMNS: dict[str, tuple[str, ...]] = {
    "child_identities": ("id", "chi_number", "created_at"),
    "children": (
        "id",
        "identity_id",
        "chi_number",
        "given_name",
        "family_name",
        "name_key",
        "date_of_birth",
        "expected_date_of_delivery",
        "sex",
        "address",
        "school",
        "ethnicity",
        "disability",
        "religion",
        "created_at",
    ),
    "referrals": (
        "id",
        "reference",
        "area_id",
        "child_id",
        "child_match",
        "child_match_areas",
        "state",
        "profile",
        "profile_version",
        "version",
        "closure_reason",
        "closed_at",
        "referrer_agency",
        "created_by",
        "created_at",
        "updated_at",
        "received_at",
        "concern_source",
        "concern_summary",
        "concern_categories",
        "immediate_risk",
        "child_spoken_to",
        "childs_views",
        "named_person",
        "transfer_from",
        "clocks",
        "stages_doc",
        "pending_approval_id",
        "related_ids",
        "next_due",
        "last_event_seq",
        "last_event_hash",
    ),
    "referral_agencies": ("referral_id", "agency"),
    "referral_links": ("referral_id", "related_id", "created_at"),
    "approvals": (
        "id",
        "referral_id",
        "trigger",
        "data",
        "reason",
        "referral_version",
        "requested_by",
        "requested_agency",
        "requested_role",
        "requested_at",
        "approver_role",
        "approver_agency",
        "status",
        "decided_by",
        "decided_at",
        "comment",
    ),
    "events": (
        "id",
        "referral_id",
        "seq",
        "type",
        "trigger",
        "from_state",
        "to_state",
        "actor",
        "agency",
        "role",
        "at",
        "data",
        "reason",
        "prev_hash",
        "hash",
    ),
    "access_log": (
        "id",
        "referral_id",
        "username",
        "agency",
        "role",
        "via",
        "token_prefix",
        "at",
        "what",
        "remote_addr",
        "user_agent",
    ),
}
APPROVAL_COLUMNS = BUILT_COLUMNS["approvals"]
_MISSING = object()


def _model_of(row: Any) -> type[Any]:
    """The model a stage row is of (itself, or the model a plain row stands in for)."""
    kind = type(row)
    return getattr(kind, "model", kind)


class PlainRow:
    """A stage row as a plain object: what the recorders set, nothing else (see plain_rows)."""

    model: type[Any]
    __tablename__: str
    columns: frozenset[str]
    lists: frozenset[str]

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:
        if name in self.lists:  # a one-to-many relationship: empty until appended to
            rows: list[Any] = []
            self.__dict__[name] = rows
            return rows
        if name in self.columns:  # never set: None, as on a new ORM object
            return None
        raise AttributeError(name)


def _plain_class(model: type[Any]) -> type[PlainRow]:
    return type(
        model.__name__,
        (PlainRow,),
        {
            "model": model,
            "__tablename__": model.__tablename__,
            "columns": frozenset(c.key for c in model.__table__.columns),
            "lists": frozenset(r.key for r in model.__mapper__.relationships if r.uselist),
        },
    )


@contextmanager
def plain_rows() -> Iterator[None]:
    """The recorders (referral.services.stages) build plain objects instead of ORM ones while
    this lasts: the same rows, without the ORM's bookkeeping (a third of the time). Only for a
    process that does nothing else meanwhile: it swaps the recorders' module globals."""
    from referral.services import stages

    swapped = {
        name: value
        for name, value in vars(stages).items()
        if isinstance(value, type) and hasattr(value, "__table__") and hasattr(value, "__mapper__")
    }
    for name, model in swapped.items():
        setattr(stages, name, _plain_class(model))
    try:
        yield
    finally:
        for name, model in swapped.items():
            setattr(stages, name, model)


def _is_json(column: Any) -> bool:
    return isinstance(column.type, JSON)


def _column_specs(model: type[Any]) -> list[tuple[str, bool, Any]]:
    """(attribute, JSON?, value when never set) for each column, in the table's order."""
    specs = []
    for column in model.__table__.columns:
        default = None
        if column.default is not None and column.default.is_scalar:
            default = column.default.arg
        elif column.default is not None and _is_json(column):
            default = column.default.arg(None)  # list or dict
        specs.append((column.key, _is_json(column), default))
    return specs


_SPECS: dict[type[Any], list[tuple[str, bool, Any]]] = {}


def _orm_row(obj: Any) -> tuple[Any, ...]:
    """A row as the unit of work would INSERT it: JSON columns serialised (None set on purpose
    is JSON null; a column never set is SQL NULL, or its default)."""
    model = _model_of(obj)
    specs = _SPECS.get(model)
    if specs is None:
        specs = _SPECS[model] = _column_specs(model)
    values = obj.__dict__
    row = []
    for key, is_json, default in specs:
        value = values.get(key, _MISSING)
        if value is _MISSING:
            value = default if default is None or not is_json else _json(default)
        elif is_json:
            value = _json(value)
        row.append(value)
    return tuple(row)


# -- writing ---------------------------------------------------------------------------------------

#: tables in the order a batch is written (every row after the rows it refers to)
TABLE_ORDER = (
    ChildIdentity,
    Child,
    Referral,
    ReferralAgency,
    ReferralLink,
    Ird,
    IrdContribution,
    Screening,
    Investigation,
    Jii,
    Conference,
    ConferenceMeeting,
    Registration,
    RegistrationConcern,
    CoreGroupMeeting,
    Transfer,
    ReferralShare,
    LeadProfessionalChange,
    ChronologyEntry,
    Approval,
    Event,
    AccessLogEntry,
)


class Writer:
    """Writes batches, each in one transaction with the reference counters and the id
    sequences brought up to it: on PostgreSQL with COPY, from a thread of its own (the next
    batch is played meanwhile); on SQLite with executemany.

    On PostgreSQL a role allowed to (a superuser) writes with `session_replication_role =
    replica`, which skips the foreign key checks: the rows refer only to rows written before
    them in the same transaction or already in the database, as the SQLite path (which checks
    every key) and the tests show.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        self.failed: BaseException | None = None
        self.replica = self.postgres
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=1)
        self.thread: threading.Thread | None = None
        if self.postgres:
            self.thread = threading.Thread(target=self._run, name="generate-writer", daemon=True)
            self.thread.start()

    def write(self, played: Played, references: References) -> None:
        self._raise()
        if self.postgres:
            self.queue.put((played.rows, dict(references.last)))
        else:
            self._sqlite(played.rows, references.last)

    def close(self) -> None:
        if self.thread is not None:
            self.queue.put(None)
            self.thread.join()
            self.thread = None
        self._raise()

    def _raise(self) -> None:
        if self.failed is not None:
            raise GenerateError(f"writing failed: {self.failed}") from self.failed

    def _run(self) -> None:
        raw = self.engine.raw_connection()
        try:
            connection = raw.driver_connection
            assert connection is not None
            while True:
                item = self.queue.get()
                if item is None:
                    return
                if self.failed is None:
                    try:
                        self._copy(connection, *item)
                    except BaseException as exc:  # reported to the generating thread
                        connection.rollback()
                        self.failed = exc
        finally:
            raw.close()

    def _copy(
        self,
        connection: Any,
        rows: dict[str, list[tuple[Any, ...]]],
        references: dict[tuple[int, int], int],
    ) -> None:
        import psycopg

        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")  # a lost batch is run again
            if self.replica:
                try:
                    cursor.execute("SET LOCAL session_replication_role = replica")
                except psycopg.errors.InsufficientPrivilege:
                    connection.rollback()
                    self.replica = False
            for model in TABLE_ORDER:
                table = model.__tablename__
                if not rows.get(table):
                    continue
                columns = ", ".join(COLUMNS[table])
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    write = copy.write_row
                    for row in rows[table]:
                        write(row)
            for model in Ids.TABLES:
                if rows.get(model.__tablename__):
                    cursor.execute(_setval(model.__tablename__))
            _save_references(cursor, references, postgres=True)
            _place_in_feed(cursor, rows, postgres=True)  # last: it holds the feed's lock
        connection.commit()

    def _sqlite(
        self, rows: dict[str, list[tuple[Any, ...]]], references: dict[tuple[int, int], int]
    ) -> None:
        dialect = self.engine.dialect
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            for model in TABLE_ORDER:
                table = model.__tablename__
                if not rows.get(table):
                    continue
                columns = [model.__table__.columns[name] for name in COLUMNS[table]]
                processors = [
                    None if _is_json(c) else c.type.dialect_impl(dialect).bind_processor(dialect)
                    for c in columns
                ]
                converted = [
                    tuple(
                        v if p is None or v is None else p(v)
                        for p, v in zip(processors, row, strict=True)
                    )
                    for row in rows[table]
                ]
                names = ", ".join(COLUMNS[table])
                marks = ", ".join("?" for _ in columns)
                insert = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 - our names
                cursor.executemany(insert, converted)
            _save_references(cursor, references, postgres=False)
            _place_in_feed(cursor, rows, postgres=False)
            cursor.execute("COMMIT")
        except BaseException:
            raw.rollback()
            raise
        finally:
            raw.close()


def _place_in_feed(cursor: Any, rows: dict[str, list[tuple[Any, ...]]], *, postgres: bool) -> None:
    """The batch's events get the next change-feed positions, in the order they were played
    (each referral's in `seq` order), as the app's transactions place theirs at commit."""
    ids = [row[0] for row in rows.get("events", ())]
    if not ids:
        return
    dialect = "postgresql" if postgres else "sqlite"
    marks = ("%(n)s", "%(ids)s") if postgres else (":n", ":ids")
    cursor.execute(place_statement(dialect, *marks), place_parameters(dialect, ids))
    if cursor.rowcount != len(ids):
        placed = cursor.rowcount
        raise GenerateError(f"{len(ids)} events to place in the change feed, {placed} placed")


def _setval(table: str) -> str:
    """The table's id sequence set to its highest id (partitions write side by side)."""
    sequence = f"pg_get_serial_sequence('{table}', 'id')"
    return f"SELECT setval({sequence}, (SELECT max(id) FROM {table}))"  # noqa: S608 - our names


#: every table's columns, in the order its rows give them
COLUMNS: dict[str, tuple[str, ...]] = {
    model.__tablename__: BUILT_COLUMNS.get(
        model.__tablename__, tuple(c.name for c in model.__table__.columns)
    )
    for model in TABLE_ORDER
}


def check_columns() -> None:
    """A table that gained or lost a column since the generator was written is refused, not
    filled with NULLs."""
    for table, columns in BUILT_COLUMNS.items():
        model = next(m for m in TABLE_ORDER if m.__tablename__ == table)
        actual = {c.name for c in model.__table__.columns}
        if set(columns) != actual:
            raise GenerateError(
                f"{table} has columns {sorted(actual ^ set(columns))} the generator does not "
                "know: update referral/generate.py"
            )


def _save_references(
    cursor: Any, references: dict[tuple[int, int], int], *, postgres: bool
) -> None:
    """Each area's reference counter for each year, at least as far as the numbers given."""
    if postgres:
        sql = (
            "INSERT INTO reference_sequences (area_id, year, last_number) VALUES (%s, %s, %s) "
            "ON CONFLICT (area_id, year) DO UPDATE SET last_number = "
            "GREATEST(reference_sequences.last_number, EXCLUDED.last_number)"
        )
    else:
        sql = (
            "INSERT INTO reference_sequences (area_id, year, last_number) VALUES (?, ?, ?) "
            "ON CONFLICT (area_id, year) DO UPDATE SET last_number = "
            "MAX(reference_sequences.last_number, excluded.last_number)"
        )
    for (area_id, year), number in sorted(references.items()):
        cursor.execute(sql, (area_id, year, number))


# -- the whole run ---------------------------------------------------------------------------------


#: the run is split into this many partitions, batch k going to partition k % PARTITIONS; each
#: has its own ids, reference numbers, CHI numbers and family names, so on PostgreSQL each runs
#: in a process of its own, and the records are the same however the partitions are run
PARTITIONS = 2


@dataclass
class Start:
    """What every partition starts from, read once from the database."""

    world: World
    ids: dict[str, int]
    references: dict[tuple[int, int], int]
    existing: int  # referrals already there (they change the seed: no id is drawn twice)
    chis: set[str]
    names: set[int]
    limit: datetime


class Partition:
    """The state one partition carries from batch to batch."""

    def __init__(self, number: int, start: Start) -> None:
        self.number = number
        self.ids = Ids(start.ids, number, PARTITIONS)
        self.references = References(start.references, number, PARTITIONS)
        self.registry = Registry(set(start.chis), set(start.names), number, PARTITIONS)


def batch_sizes(total: int, size: int) -> list[int]:
    return [min(size, total - first) for first in range(0, total, size)]


def play_batch(
    number: int,
    size: int,
    partition: Partition,
    start: Start,
    options: Options,
    audit_key: bytes,
    groups: list[tuple[list[Step], dict[int, str]]] | None = None,
) -> Played:
    """Plan, place and play batch `number`: `size` referrals, in groups."""
    # synthetic data from a seed, not secrets
    rng = random.Random(f"referral-generate/{options.seed}/{start.existing}/{number}")  # noqa: S311
    player = Player(start.world, audit_key, partition.ids, partition.references, rng)
    tour = list(TOUR) if number == 0 else []
    played = Played()
    families = partition.registry.families
    while played.referrals < size:
        kind, outcomes = choose_group(rng, size - played.referrals, tour)
        plan = plan_group(rng, start.world, kind, outcomes, families)
        shift = place(plan, rng, start.limit, options.years)
        resolve(plan.steps, shift, partition.registry, rng)
        sims = player.play(plan.steps, check=options.check or number == 0)
        player.rows(sims, played)
        if groups is not None:
            groups.append((plan.steps, {key: sim.id for key, sim in player.sims.items()}))
    return played


def _worker(
    url: str, audit_key: bytes, options: Options, start: Start, number: int, reports: Any
) -> None:
    """One partition in a process of its own: its batches, played and written in turn."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        partition = Partition(number, start)
        writer = Writer(engine)
        try:
            sizes = batch_sizes(options.referrals, options.batch)
            with plain_rows():  # this process does nothing else
                for batch in range(number, len(sizes), PARTITIONS):
                    played = play_batch(batch, sizes[batch], partition, start, options, audit_key)
                    writer.write(played, partition.references)
                    reports.put(("batch", played.referrals, played.events))
        finally:
            writer.close()
        reports.put(("done", number, partition.references.last))
    except BaseException as exc:
        reports.put(("error", number, f"{type(exc).__name__}: {exc}"))
    finally:
        engine.dispose()


def generate(
    engine: Engine,
    audit_key: bytes,
    options: Options,
    *,
    progress: Callable[[int], None] | None = None,
    keep_steps: bool = False,
) -> Summary:
    """Fill the database behind `engine` with `options.referrals` synthetic referrals."""
    started = time.perf_counter()
    check_columns()
    if options.referrals < 1 or options.areas < 1 or options.years < 1 or options.batch < 1:
        raise GenerateError("referrals, areas, years and batch must each be at least 1")
    if options.until is not None and options.until > datetime.now(UTC).date():
        raise GenerateError("--until must not be after today: nothing is recorded in the future")
    world = prepare_world(engine, options.areas)
    with Session(engine) as session:
        chis, names = Registry.load(session)
        start = Start(
            world=world,
            ids=Ids.highest(session),
            references={
                (row.area_id, row.year): row.last_number
                for row in session.scalars(select(ReferenceSequence))
            },
            existing=session.scalar(select(func.count()).select_from(Referral)) or 0,
            chis=chis,
            names=names,
            limit=_limit(options.until),
        )
    summary = Summary(
        areas=[a.slug for a in world.areas],
        users=sorted(u for u in world.agency_of if u.startswith("gen-area-")),
    )
    sizes = batch_sizes(options.referrals, options.batch)
    references: dict[tuple[int, int], int] = {}
    if engine.dialect.name == "postgresql" and len(sizes) > 1 and not keep_steps:
        references = _in_processes(engine, audit_key, options, start, summary, progress)
    else:
        partitions = [Partition(n, start) for n in range(PARTITIONS)]
        writer = Writer(engine)
        try:
            for number, size in enumerate(sizes):
                partition = partitions[number % PARTITIONS]
                groups = summary.groups if keep_steps else None
                played = play_batch(number, size, partition, start, options, audit_key, groups)
                writer.write(played, partition.references)
                summary.referrals += played.referrals
                summary.events += played.events
                if progress is not None:
                    progress(played.referrals)
        finally:
            writer.close()
        for partition in partitions:
            _merge(references, partition.references.last)
    _finish(engine, references)
    summary.seconds = time.perf_counter() - started
    return summary


def _limit(until: date | None) -> datetime:
    """Every step is recorded before the day `until` (UTC) begins."""
    day = until or datetime.now(UTC).date()
    return datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(minutes=1)


def _merge(into: dict[tuple[int, int], int], numbers: dict[tuple[int, int], int]) -> None:
    for key, number in numbers.items():
        into[key] = max(into.get(key, 0), number)


def _in_processes(
    engine: Engine,
    audit_key: bytes,
    options: Options,
    start: Start,
    summary: Summary,
    progress: Callable[[int], None] | None,
) -> dict[tuple[int, int], int]:
    """Each partition in a process of its own (PostgreSQL); their progress as it comes."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    reports = context.Queue()
    url = engine.url.render_as_string(hide_password=False)
    workers = [
        context.Process(
            target=_worker,
            args=(url, audit_key, options, start, number, reports),
            name=f"referral-generate-{number}",
        )
        for number in range(PARTITIONS)
    ]
    for worker in workers:
        worker.start()
    references: dict[tuple[int, int], int] = {}
    running = len(workers)
    try:
        while running:
            try:
                kind, *report = reports.get(timeout=5)
            except queue.Empty:
                dead = [w for w in workers if not w.is_alive() and w.exitcode != 0]
                if dead:
                    stopped = f"{dead[0].name} stopped (exit code {dead[0].exitcode})"
                    raise GenerateError(stopped) from None
                continue
            if kind == "batch":
                referrals, events = report
                summary.referrals += referrals
                summary.events += events
                if progress is not None:
                    progress(referrals)
            elif kind == "done":
                _merge(references, report[1])
                running -= 1
            else:
                raise GenerateError(f"partition {report[0]}: {report[1]}")
    finally:
        for worker in workers:
            if worker.is_alive() and running:
                worker.terminate()
            worker.join()
    return references


def _finish(engine: Engine, references: dict[tuple[int, int], int]) -> None:
    """Every id sequence past the highest id, every reference counter past the numbers given;
    on PostgreSQL, the planner's statistics of every table made anew, as after any bulk load
    (with autovacuum off, nothing else would: the planner would go on planning for the tables
    as they were before the load)."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        postgres = engine.dialect.name == "postgresql"
        if postgres:
            for model in Ids.TABLES:
                cursor.execute(_setval(model.__tablename__))
        _save_references(cursor, references, postgres=postgres)
        if postgres:
            quote = engine.dialect.identifier_preparer.quote
            tables = ", ".join(quote(name) for name in Base.metadata.tables)
            cursor.execute(f"ANALYZE {tables}")
        raw.commit()
    finally:
        raw.close()
