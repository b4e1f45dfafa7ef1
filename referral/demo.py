"""Demo data: two areas, demo users of every agency and role, and referrals showing each feature.

The sample referrals are recorded through the services, step by step, each step at the moment
it would have been typed in over the last months (the concern, the IRD the same afternoon, the
CPPM some weeks later), so their timescales show a realistic mix of met, late, overdue, pending
and not required, and every event's recording time follows the moment it records.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from referral import db
from referral.auth import hash_password
from referral.errors import ApiError
from referral.models import Area, Referral, User
from referral.models.types import utcnow
from referral.services import approvals, people, referrals, transitions
from workflow.calendar import calendar_for
from workflow.registry import definition
from workflow.vocabulary import AGENCIES, ROLES

PROFILE = "scotland"
WD, HL = "west-dunbartonshire", "highland"
AREAS = (
    (WD, "West Dunbartonshire", "WD"),
    (HL, "Highland", "HL"),
)
#: Beside one user of every agency and role (who work in both areas): a conference chair, and
#: social workers of one area only, so each area's own staff do their side of a transfer.
EXTRA_USERS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("sw.chair", "social_work", "practitioner", (WD, HL)),
    ("wd.socialworker", "social_work", "practitioner", (WD,)),
    ("hl.socialworker", "social_work", "practitioner", (HL,)),
    ("hl.sw.chair", "social_work", "practitioner", (HL,)),
    ("hl.sw.supervisor", "social_work", "supervisor", (HL,)),
)
CORE = ["police", "health", "social_work"]
#: The professionals each area's records name (free text in the records, not users).
STAFF = {
    WD: {
        "police": ("DC Gillian Murray", "Detective constable"),
        "health": ("Karen Boyle", "Health visitor"),
        "social_work": ("Stephen Reid", "Social worker"),
        "education": ("Lorna McGinty", "Depute head teacher"),
        "other": ("Claire Duffy", "Women's Aid children's worker"),
    },
    HL: {
        "police": ("DS Iain Macrae", "Detective sergeant"),
        "health": ("Dr Ruth Ogilvie", "Community paediatrician"),
        "social_work": ("Catriona Ross", "Social worker"),
        "education": ("Alasdair Munro", "Guidance teacher"),
        "other": ("Ewan Matheson", "Youth worker"),
    },
}


def demo_users() -> list[tuple[str, str, str, tuple[str, ...]]]:
    """Every demo user: username, agency, role and the areas they work in."""
    both = tuple(a[0] for a in AREAS)
    users = [
        (f"{agency.replace('_', '')}.{role.replace('_', '')}", agency, role, both)
        for agency in AGENCIES
        for role in ROLES
        if role != "admin"
    ]
    return [*users, ("admin", "social_work", "admin", both), *EXTRA_USERS]


def demo_usernames() -> list[tuple[str, str, str]]:
    """Every demo user: username, agency and role (the table `make run` prints)."""
    return [(username, agency, role) for username, agency, role, _ in demo_users()]


def load_demo(say: Callable[[str], None]) -> None:
    session = db.session()
    for slug, name, prefix in AREAS:
        if not session.scalars(select(Area).where(Area.slug == slug)).first():
            people.add_area(session, slug, name, prefix)
    passwords: dict[str, str] = {}
    for username, agency, role, areas in demo_users():
        password = secrets.token_urlsafe(12)
        passwords[username] = password
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None:
            people.create_user(
                session, username, agency, role, list(areas), password, display_name=username
            )
        else:
            user.password_hash = hash_password(password)
    db.commit()
    if session.scalars(select(Referral.id).limit(1)).first() is None:
        count = _sample_referrals(session)
        db.commit()
        say(f"sample referrals: {count}")
    else:
        say("sample referrals already loaded; left as they are")
    say("demo users (username / password; new passwords on every run):")
    for username, agency, role in demo_usernames():
        say(f"  {username:28} {passwords[username]:20} {role} of {agency}")


# -- a timeline of steps, each recorded when it happened ----------------------------------------


@dataclass(frozen=True)
class Ref:
    """Another sample referral, by its key: its id once it has been recorded."""

    key: str


class DemoFailed(RuntimeError):
    """A service refused a step of the demo: the demo data is out of step with the workflow."""


def iso(moment: datetime) -> str:
    return moment.isoformat()


def chi_number(born: date, male: bool) -> str:
    """A well-formed CHI number: date of birth, three digits (odd third for a boy), check digit."""
    for serial in range(101, 1000):
        if (serial % 2 == 1) != male:
            continue
        digits = born.strftime("%d%m%y") + f"{serial:03d}"
        total = sum(int(d) * w for d, w in zip(digits, range(10, 1, -1), strict=True))
        check = (11 - total % 11) % 11
        if check != 10:
            return digits + str(check)
    raise ValueError("no CHI number for this date")  # pragma: no cover - some serial always fits


def attendees(area: str, *agencies: str) -> list[dict[str, str]]:
    """The area's professionals of these agencies, as a meeting records them."""
    return [{"agency": a, "name": STAFF[area][a][0], "role": STAFF[area][a][1]} for a in agencies]


def invitees(area: str, *agencies: str) -> list[dict[str, str]]:
    return [{"agency": a, "name": STAFF[area][a][0]} for a in agencies]


class Timeline:
    """Steps of every sample referral, run in the order they happened.

    Each step is recorded through the services at its own moment (`recorded`), never later
    than now; the moments the data carries (`held_at`, `decided_at`, ...) come before it.
    Days count back in working days, so meetings fall on working days whatever today is.
    """

    def __init__(self, session: Session, now: datetime) -> None:
        d = definition(PROFILE)
        self.calendar = calendar_for(d.holiday_country, d.holiday_subdivision, d.timezone)
        self.session = session
        self.now = now
        self.today = self.calendar.local_date(now)
        self.users = {u.username: u for u in session.scalars(select(User))}
        self.referrals: dict[str, Referral] = {}
        self._steps: list[tuple[datetime, int, str, Callable[[], None]]] = []

    # moments

    def working_day(self, n: int) -> date:
        """The n-th working day before today (after it when n is negative; today for 0)."""
        day, step, left = self.today, (-1 if n > 0 else 1), abs(n)
        while left:
            day += timedelta(days=step)
            if self.calendar.is_working_day(day):
                left -= 1
        return day

    def at(self, n: int, clock: str) -> datetime:
        """`clock` (HH:MM, local time) on the n-th working day before today."""
        hour, minute = (int(part) for part in clock.split(":"))
        return datetime.combine(self.working_day(n), time(hour, minute), tzinfo=self.calendar.zone)

    def day(self, n: int) -> str:
        return self.working_day(n).isoformat()

    def days_ago(self, days: int) -> str:
        """A calendar date `days` before today (negative: after)."""
        return (self.today - timedelta(days=days)).isoformat()

    def born(self, age: int, month: int, day: int) -> date:
        return date(self.today.year - age, month, day)

    # steps

    def recording_time(self, moment: datetime) -> datetime:
        """When a step is typed in: at `moment`, never after now, in UTC as services expect."""
        return min(moment, self.now).astimezone(UTC)

    def _add(self, recorded: datetime, what: str, step: Callable[[], None]) -> None:
        self._steps.append((recorded, len(self._steps), what, step))

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, Ref):
            return self.referrals[value.key].id
        if isinstance(value, dict):
            return {k: self._resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._resolve(v) for v in value]
        return value

    def concern(self, key: str, by: str, recorded: datetime, payload: dict[str, Any]) -> None:
        """Record a concern: `key` names the referral in later steps."""
        when = self.recording_time(recorded)

        def step() -> None:
            self.referrals[key] = referrals.create_referral(
                self.session, self.users[by], self._resolve(payload), PROFILE, when
            )

        self._add(when, f"{key}: record the concern", step)

    def fire(
        self,
        key: str,
        by: str,
        recorded: datetime,
        trigger: str,
        data: dict[str, Any],
        *,
        approved_by: tuple[str, str] | None = None,
    ) -> None:
        """Fire `trigger`; one needing approval is decided by `approved_by` (user, comment)
        40 minutes later, or is left waiting when no one is named."""
        when = self.recording_time(recorded)

        def step() -> None:
            fired = transitions.fire(
                self.session,
                self.users[by],
                self.referrals[key],
                trigger,
                self._resolve(data),
                None,
                when,
            )
            if approved_by is None:
                return
            if fired.approval is None:
                raise DemoFailed(f"{key}: {trigger} was applied without the approval expected")
            decider, comment = approved_by
            approvals.decide(
                self.session,
                self.users[decider],
                fired.approval.id,
                "approve",
                comment,
                self.recording_time(when + timedelta(minutes=40)),
            )

        self._add(when, f"{key}: {trigger} by {by}", step)

    def run(self) -> int:
        """Run every step in the order it happened; the number of referrals recorded."""
        for _recorded, _order, what, step in sorted(self._steps, key=lambda s: (s[0], s[1])):
            try:
                step()
            except ApiError as exc:
                raise DemoFailed(f"{what}: {exc.detail} {exc.extra or ''}".strip()) from exc
        return len(self.referrals)


def _sample_referrals(session: Session) -> int:
    t = Timeline(session, utcnow())
    for story in STORIES:
        story(t)
    return t.run()


# -- the sample referrals -------------------------------------------------------------------------
# Each story is one child's referral (two for the transfer and for the siblings); the timeline
# runs their steps in the order they happened. The oldest Highland referral (Millie, reference
# HL-...-00001) carries no v2-only records, so the audit tests may delete it whole.


def plan(
    outcomes: list[tuple[str, list[tuple[str, str, str, str]]]], contingency: str
) -> dict[str, Any]:
    """A Child Protection Plan: outcomes, each with actions (what, agency, who, by)."""
    return {
        "outcomes": [
            {
                "outcome": outcome,
                "actions": [
                    {"what": what, "who": {"agency": agency, "name": who}, "by": by}
                    for what, agency, who, by in actions
                ],
            }
            for outcome, actions in outcomes
        ],
        "contingency_plan": contingency,
    }


def daniel_deregistered(t: Timeline) -> None:
    """Registered after a burn from his stepfather; de-registered at a quorate review."""
    born = t.born(10, 5, 14)
    t.concern(
        "daniel",
        "education.practitioner",
        t.at(140, "09:40"),
        {
            "area": WD,
            "child": {
                "given_name": "Daniel",
                "family_name": "Campbell",
                "date_of_birth": born.isoformat(),
                "sex": "male",
                "address": "Dalmuir, Clydebank",
                "school": "Riverside Primary School",
                "ethnicity": "white_scottish",
                "disability": "no",
                "religion": "none",
            },
            "concern": {
                "received_at": iso(t.at(140, "09:20")),
                "source": "child_disclosure",
                "summary": "Daniel came to school with a burn on his arm. He told his teacher "
                "his stepdad held his arm against the cooker because he was cheeky.",
                "categories": ["physical_abuse", "domestic_abuse"],
                "immediate_risk": True,
                "child_spoken_to": True,
                "childs_views": "He does not want to go home tonight if his stepdad is there.",
            },
            "named_person": {"name": "Mrs Lorna McGinty", "service": "Riverside Primary School"},
        },
    )
    t.fire(
        "daniel",
        "police.practitioner",
        t.at(140, "11:15"),
        "convene_ird",
        {
            "started_at": iso(t.at(140, "11:00")),
            "reason": "A child says an adult at home burned him on purpose.",
            "participants": attendees(WD, "police", "health", "social_work", "education"),
        },
    )
    t.fire(
        "daniel",
        "education.practitioner",
        t.at(140, "11:40"),
        "add_ird_contribution",
        {
            "agency": "education",
            "information_shared": "Attendance 88% this year. Staff saw a bruise on his neck "
            "in the spring; mum said he fell in the park.",
            "checks_made": "Pupil record and the school's wellbeing notes.",
            "lawful_basis": "UK GDPR article 6(1)(e): a task in the public interest.",
        },
    )
    t.fire(
        "daniel",
        "socialwork.practitioner",
        t.at(140, "14:30"),
        "start_investigation",
        {
            "decided_at": iso(t.at(140, "14:00")),
            "investigation_type": "joint",
            "decision_rationale": "A deliberate burn by a carer: risk of significant harm.",
            "jii_required": True,
            "medical_examination": "paediatric",
            "interim_safety_plan": "Daniel stays with his gran in Dalmuir. His stepdad is on "
            "bail not to contact him. School checks in with him every morning.",
            "lead_professional": "socialwork.practitioner",
            "childs_views": "He wants to stay at his gran's until it is safe at home.",
            "parents_informed": True,
            "named_person_informed": True,
            "agencies_agreed": CORE,
        },
    )
    t.fire(
        "daniel",
        "police.practitioner",
        t.at(140, "15:00"),
        "plan_jii",
        {
            "planned_for": iso(t.at(139, "10:00")),
            "interviewers": ["police.practitioner", "socialwork.practitioner"],
            "aims": "Hear Daniel's account of the burn and of life at home.",
        },
    )
    t.fire(
        "daniel",
        "police.practitioner",
        t.at(139, "13:00"),
        "record_jii",
        {
            "conducted_at": iso(t.at(139, "10:00")),
            "outcomes": ["further_police_investigation", "case_conference"],
            "recording_reference": "JII-WD-0412",
            "salient_points": "A clear account that matches the injury; he also described "
            "shouting and his mum being pushed.",
            "childs_views": "He misses his mum but is scared of his stepdad.",
        },
    )
    t.fire(
        "daniel",
        "socialwork.practitioner",
        t.at(138, "10:00"),
        "schedule_case_conference",
        {
            "conference_type": "initial",
            "scheduled_for": iso(t.at(128, "10:00")),
            "chair": "sw.chair",
            "invitees": invitees(WD, "police", "health", "education"),
        },
    )
    t.fire(
        "daniel",
        "sw.chair",
        t.at(128, "13:00"),
        "register",
        {
            "held_at": iso(t.at(128, "10:00")),
            "attendees": attendees(WD, "police", "health", "social_work", "education"),
            "childs_views": "Daniel wrote that he likes living at his gran's and wants his "
            "mum to be safe too.",
            "child_attended": False,
            "views_given": "in_writing",
            "advocacy_offered": True,
            "parents_invited": True,
            "parents_attended": True,
            "parents_views": "Mum agrees with the plan and has asked her partner to leave.",
            "decision_rationale": "Daniel is at continued risk of physical harm at home; all "
            "agencies agree a plan is needed.",
            "areas_of_concern": ["physical_abuse", "domestic_abuse"],
            "core_group": invitees(WD, "health", "education", "police"),
            "plan_outline": "Daniel lives with his gran until home is safe; mum gets support "
            "from Women's Aid; school and health keep a close eye on him.",
            "plan": plan(
                [
                    (
                        "Daniel is safe from physical harm at home.",
                        [
                            (
                                "Visit Daniel at home every week and see him alone",
                                "social_work",
                                "Stephen Reid",
                                t.day(118),
                            ),
                            (
                                "Tell social work at once of any contact from the stepdad",
                                "police",
                                "DC Gillian Murray",
                                t.day(118),
                            ),
                        ],
                    ),
                    (
                        "Daniel's mum understands the risk and can protect him.",
                        [
                            (
                                "Offer mum a place on the Women's Aid recovery group",
                                "other",
                                "Claire Duffy",
                                t.day(108),
                            ),
                        ],
                    ),
                ],
                "If the stepdad returns home, police and social work visit the same day "
                "and Daniel stays with his gran.",
            ),
            "reporter_referral": True,
            "lead_professional": "socialwork.practitioner",
        },
    )
    t.fire(
        "daniel",
        "health.practitioner",
        t.at(121, "16:00"),
        "record_core_group",
        {
            "held_at": iso(t.at(121, "14:00")),
            "attendees": attendees(WD, "health", "social_work", "education"),
            "significant_change": False,
            "notes": "Daniel settled at his gran's; the burn has healed.",
            "progress": [
                {"action": "Visit Daniel at home every week and see him alone", "status": "done"},
                {
                    "action": "Offer mum a place on the Women's Aid recovery group",
                    "status": "in_progress",
                    "note": "Mum went to the first session.",
                },
            ],
            "childs_views": "He said he is happy at his gran's.",
        },
    )
    t.fire(
        "daniel",
        "socialwork.practitioner",
        t.at(25, "10:00"),
        "schedule_case_conference",
        {
            "conference_type": "review",
            "scheduled_for": iso(t.at(15, "10:00")),
            "chair": "sw.chair",
            "invitees": invitees(WD, "police", "health", "education"),
        },
    )
    t.fire(
        "daniel",
        "sw.chair",
        t.at(15, "12:30"),
        "deregister",
        {
            "held_at": iso(t.at(15, "10:00")),
            "attendees": attendees(WD, "police", "health", "social_work", "education"),
            "childs_views": "Daniel said home feels safe now and he wants things to stay "
            "like this.",
            "child_attended": True,
            "views_given": "in_person",
            "advocacy_offered": True,
            "parents_invited": True,
            "parents_attended": True,
            "parents_views": "Mum is proud of how Daniel is doing and will keep going to the "
            "group.",
            "decision_rationale": "The stepdad has moved away and has no contact. Daniel is "
            "back home, attending well, and mum has protected him for four months.",
            "deregistration_reason": "risk_reduced",
            "note": "Support continues through Daniel's child's plan with the school.",
        },
    )


def millie_review_due(t: Timeline) -> None:
    """A toddler registered for neglect; her review CPPM is booked."""
    t.concern(
        "millie",
        "health.practitioner",
        t.at(115, "14:30"),
        {
            "area": HL,
            "child": {
                "given_name": "Millie",
                "family_name": "Sutherland",
                "date_of_birth": t.born(2, 3, 9).isoformat(),
                "sex": "female",
                "address": "Pultneytown, Wick",
                "ethnicity": "white_other_british",
            },
            "concern": {
                "received_at": iso(t.at(115, "14:10")),
                "source": "observation",
                "summary": "At a home visit the flat was very cold, there was almost no food, "
                "and Millie had a bad nappy rash. Her mum seemed drunk.",
                "categories": ["neglect", "parental_alcohol_misuse"],
                "immediate_risk": False,
                "child_spoken_to": False,
            },
            "named_person": {"name": "Moira Grant", "service": "Health visiting, Wick"},
        },
    )
    t.fire(
        "millie",
        "health.practitioner",
        t.at(114, "10:15"),
        "convene_ird",
        {
            "started_at": iso(t.at(114, "10:00")),
            "reason": "A toddler living in a cold home without enough food.",
            "participants": attendees(HL, "police", "health", "social_work"),
        },
    )
    t.fire(
        "millie",
        "hl.socialworker",
        t.at(114, "15:30"),
        "start_investigation",
        {
            "decided_at": iso(t.at(114, "15:00")),
            "investigation_type": "single_agency",
            "decision_rationale": "Signs of long-standing neglect of a very young child.",
            "jii_required": False,
            "medical_examination": "paediatric",
            "interim_safety_plan": "Health visitor and social worker visit on alternate "
            "days; emergency food and heating money given; Millie starts nursery.",
            "lead_professional": "hl.socialworker",
            "childs_views_not_obtained_reason": "Millie is two; staff watched how she played "
            "and settled at nursery.",
            "parents_informed": True,
            "agencies_agreed": CORE,
        },
    )
    t.fire(
        "millie",
        "hl.socialworker",
        t.at(113, "10:00"),
        "schedule_case_conference",
        {
            "conference_type": "initial",
            "scheduled_for": iso(t.at(103, "10:00")),
            "chair": "hl.sw.chair",
            "invitees": invitees(HL, "police", "health"),
        },
    )
    t.fire(
        "millie",
        "hl.sw.chair",
        t.at(103, "14:00"),
        "register",
        {
            "held_at": iso(t.at(103, "10:00")),
            "attendees": attendees(HL, "police", "health", "social_work"),
            "childs_views_not_obtained_reason": "Millie is too young to give her views; the "
            "nursery described her as quiet and hungry.",
            "child_attended": False,
            "parents_invited": True,
            "parents_attended": True,
            "parents_views": "Mum said she has been struggling since her partner left.",
            "decision_rationale": "Millie's basic needs are not being met and mum's drinking "
            "puts her at risk.",
            "areas_of_concern": ["neglect", "parental_alcohol_misuse"],
            "core_group": invitees(HL, "health", "police"),
            "plan_outline": "Warm home and regular meals; mum starts alcohol support; Millie "
            "goes to nursery every day.",
            "reporter_referral": False,
            "lead_professional": "hl.socialworker",
        },
    )
    t.fire(
        "millie",
        "health.practitioner",
        t.at(97, "15:00"),
        "record_core_group",
        {
            "held_at": iso(t.at(97, "13:00")),
            "attendees": attendees(HL, "health", "social_work"),
            "significant_change": False,
            "notes": "The flat is warm now; Millie goes to nursery four days a week.",
        },
    )
    t.fire(
        "millie",
        "hl.socialworker",
        t.at(5, "10:00"),
        "schedule_case_conference",
        {
            "conference_type": "review",
            "scheduled_for": iso(t.at(-4, "10:00")),
            "chair": "hl.sw.chair",
            "invitees": invitees(HL, "police", "health"),
        },
    )


def rory_transferred(t: Timeline) -> None:
    """Registered in West Dunbartonshire, moves to Inverness; Highland's transfer conference
    registers him, which closes this referral as transferred out."""
    born = t.born(7, 8, 21)
    child = {
        "given_name": "Rory",
        "family_name": "Sinclair",
        "date_of_birth": born.isoformat(),
        "chi_number": chi_number(born, male=True),
        "sex": "male",
        "ethnicity": "white_scottish",
        "disability": "not_known",
        "religion": "roman_catholic",
    }
    t.concern(
        "rory",
        "police.practitioner",
        t.at(100, "08:30"),
        {
            "area": WD,
            "child": {**child, "address": "Alexandria", "school": "Leven Valley Primary School"},
            "concern": {
                "received_at": iso(t.at(100, "00:20")),
                "source": "third_party",
                "summary": "Police were called at midnight after neighbours heard shouting. "
                "Mum had a black eye. Rory was hiding in his room and said this happens a lot.",
                "categories": ["domestic_abuse", "emotional_abuse"],
                "immediate_risk": True,
                "child_spoken_to": True,
                "childs_views": "He gets scared when mum's partner shouts and wants it to stop.",
            },
            "named_person": {"name": "Mr Paul Devlin", "service": "Leven Valley Primary School"},
        },
    )
    t.fire(
        "rory",
        "police.practitioner",
        t.at(100, "10:45"),
        "convene_ird",
        {
            "started_at": iso(t.at(100, "10:30")),
            "reason": "Domestic abuse witnessed by a child, overnight.",
            "participants": attendees(WD, "police", "health", "social_work", "education"),
        },
    )
    t.fire(
        "rory",
        "socialwork.practitioner",
        t.at(100, "15:30"),
        "start_investigation",
        {
            "decided_at": iso(t.at(100, "15:00")),
            "investigation_type": "joint",
            "decision_rationale": "Repeated domestic abuse at home with Rory present.",
            "jii_required": False,
            "medical_examination": "none",
            "interim_safety_plan": "Mum and Rory stay with her sister in Balloch; her partner "
            "is on bail not to contact them.",
            "lead_professional": "socialwork.practitioner",
            "childs_views": "He wants to stay with his mum and his auntie.",
            "parents_informed": True,
            "named_person_informed": True,
            "agencies_agreed": CORE,
        },
    )
    t.fire(
        "rory",
        "socialwork.practitioner",
        t.at(99, "11:00"),
        "schedule_case_conference",
        {
            "conference_type": "initial",
            "scheduled_for": iso(t.at(89, "10:00")),
            "chair": "sw.chair",
            "invitees": invitees(WD, "police", "health", "education"),
        },
    )
    t.fire(
        "rory",
        "sw.chair",
        t.at(89, "13:30"),
        "register",
        {
            "held_at": iso(t.at(89, "10:00")),
            "attendees": attendees(WD, "police", "health", "social_work", "education"),
            "childs_views": "Rory told his social worker he feels safer at his auntie's.",
            "child_attended": False,
            "views_given": "through_a_trusted_adult",
            "advocacy_offered": True,
            "parents_invited": True,
            "parents_attended": True,
            "decision_rationale": "Rory has lived with domestic abuse for years and the "
            "partner has breached his bail once.",
            "areas_of_concern": ["domestic_abuse", "emotional_abuse"],
            "core_group": invitees(WD, "health", "education"),
            "plan_outline": "Mum and Rory stay away from her partner; Women's Aid support for "
            "mum; school support for Rory.",
            "reporter_referral": False,
            "lead_professional": "socialwork.practitioner",
        },
    )
    t.fire(
        "rory",
        "education.practitioner",
        t.at(82, "16:00"),
        "record_core_group",
        {
            "held_at": iso(t.at(82, "14:30")),
            "attendees": attendees(WD, "education", "health", "social_work"),
            "significant_change": False,
            "notes": "Rory is settled at school; mum is going to Women's Aid.",
        },
    )
    t.fire(
        "rory",
        "socialwork.practitioner",
        t.at(18, "11:00"),
        "notify_transfer",
        {
            "receiving_area": HL,
            "moved_on": t.day(20),
            "notified_at": iso(t.at(18, "10:30")),
            "interim_safety_plan": "Mum and Rory live with her parents in Inverness. Highland "
            "social work visits within a week and Rory starts at Crown Primary; his West "
            "Dunbartonshire social worker stays in touch until the transfer conference.",
        },
    )
    # the receiving area records its own referral, naming the one it was shared
    t.concern(
        "rory_highland",
        "hl.socialworker",
        t.at(17, "10:00"),
        {
            "area": HL,
            "child": {**child, "address": "Crown, Inverness", "school": "Crown Primary School"},
            "concern": {
                "received_at": iso(t.at(18, "10:30")),
                "source": "professional",
                "summary": "West Dunbartonshire told us Rory, on their child protection "
                "register, has moved to Inverness with his mum to live with his grandparents.",
                "categories": ["domestic_abuse"],
                "immediate_risk": False,
                "child_spoken_to": False,
            },
            "named_person": {"name": "Mrs Anne Fraser", "service": "Crown Primary School"},
            "transfer_from": Ref("rory"),
        },
    )
    t.fire(
        "rory_highland",
        "hl.socialworker",
        t.at(17, "11:00"),
        "schedule_case_conference",
        {
            "conference_type": "transfer",
            "scheduled_for": iso(t.at(7, "10:00")),
            "chair": "hl.sw.chair",
            "invitees": [
                *invitees(HL, "police", "health", "education"),
                {"agency": "social_work", "name": "Stephen Reid (West Dunbartonshire)"},
            ],
        },
    )
    t.fire(
        "rory_highland",
        "hl.sw.chair",
        t.at(7, "15:00"),
        "register",
        {
            "held_at": iso(t.at(7, "10:00")),
            "attendees": [
                *attendees(HL, "police", "health", "social_work", "education"),
                {
                    "agency": "social_work",
                    "name": "Stephen Reid",
                    "role": "Social worker, West Dunbartonshire",
                },
            ],
            "childs_views": "Rory likes his new school and his granda's dog. He does not want "
            "to see mum's old partner.",
            "child_attended": True,
            "views_given": "in_person",
            "advocacy_offered": True,
            "parents_invited": True,
            "parents_attended": True,
            "parents_views": "Mum wants a fresh start near her family and agrees with the plan.",
            "decision_rationale": "The risk from the ex-partner remains (he knows the family's "
            "new town); Rory needs a plan here.",
            "areas_of_concern": ["domestic_abuse"],
            "core_group": invitees(HL, "health", "education", "police"),
            "plan_outline": "Keep Rory and mum safe from the ex-partner; help Rory settle in "
            "his new school.",
            "plan": plan(
                [
                    (
                        "Rory and his mum are safe from her ex-partner.",
                        [
                            (
                                "Put a marker on the grandparents' address",
                                "police",
                                "DS Iain Macrae",
                                t.days_ago(-7),
                            ),
                            (
                                "Visit Rory at home every fortnight",
                                "social_work",
                                "Catriona Ross",
                                t.days_ago(-30),
                            ),
                        ],
                    ),
                    (
                        "Rory feels settled and has an adult he trusts at school.",
                        [
                            (
                                "Give Rory a named member of staff to talk to",
                                "education",
                                "Alasdair Munro",
                                t.days_ago(-14),
                            ),
                        ],
                    ),
                ],
                "If the ex-partner turns up, police attend at once and social work calls an "
                "urgent core group.",
            ),
            "reporter_referral": False,
            "lead_professional": "hl.socialworker",
            "parents_informed_in_writing_at": iso(t.at(7, "14:30")),
        },
    )
    t.fire(
        "rory_highland",
        "hl.socialworker",
        t.at(2, "16:00"),
        "record_core_group",
        {
            "held_at": iso(t.at(2, "14:00")),
            "attendees": attendees(HL, "health", "social_work", "education"),
            "significant_change": False,
            "notes": "First core group in Highland: Rory is settling well.",
            "progress": [
                {"action": "Put a marker on the grandparents' address", "status": "done"},
                {
                    "action": "Give Rory a named member of staff to talk to",
                    "status": "done",
                    "note": "Mr Munro meets him every Monday.",
                },
                {"action": "Visit Rory at home every fortnight", "status": "in_progress"},
            ],
            "childs_views": "Rory said school is 'alright' and he has made a friend.",
        },
    )


def ellie_registered(t: Timeline) -> None:
    """The fullest record: contributions, a JII, a chronology from four agencies, a plan with
    outcomes and actions, core groups with progress and a significant change, and a new lead
    professional."""
    t.concern(
        "ellie",
        "education.practitioner",
        t.at(80, "09:30"),
        {
            "area": WD,
            "child": {
                "given_name": "Ellie",
                "family_name": "Docherty",
                "date_of_birth": t.born(9, 11, 2).isoformat(),
                "sex": "female",
                "address": "Faifley, Clydebank",
                "school": "St Columba's Primary School",
                "ethnicity": "mixed_or_multiple",
                "disability": "yes",
                "religion": "not_known",
            },
            "concern": {
                "received_at": iso(t.at(80, "09:05")),
                "source": "child_disclosure",
                "summary": "Ellie told her teacher there is often no food in the house and her "
                "mum 'sleeps all day'. She comes to school hungry, in the same clothes.",
                "categories": ["neglect", "parental_drug_misuse"],
                "immediate_risk": False,
                "child_spoken_to": True,
                "childs_views": "She loves her mum but wishes someone would help her.",
            },
            "named_person": {"name": "Mrs Jean Quinn", "service": "St Columba's Primary School"},
        },
    )
    t.fire(
        "ellie",
        "socialwork.practitioner",
        t.at(80, "13:15"),
        "convene_ird",
        {
            "started_at": iso(t.at(80, "13:00")),
            "reason": "A child describing a parent who cannot care for her.",
            "participants": attendees(WD, "police", "health", "social_work", "education"),
        },
    )
    t.fire(
        "ellie",
        "education.practitioner",
        t.at(80, "13:40"),
        "add_ird_contribution",
        {
            "agency": "education",
            "information_shared": "Attendance 81% this term; often late; takes food home "
            "from breakfast club.",
            "lawful_basis": "UK GDPR article 6(1)(e): a task in the public interest.",
        },
    )
    t.fire(
        "ellie",
        "health.practitioner",
        t.at(80, "14:00"),
        "add_ird_contribution",
        {
            "agency": "health",
            "information_shared": "Mum is on a methadone prescription and missed her last "
            "three pick-ups. Ellie has missed dental and eye appointments.",
            "checks_made": "GP record and the addiction service's record.",
            "lawful_basis": "UK GDPR article 6(1)(e); article 9(2)(h) for health data.",
        },
    )
    t.fire(
        "ellie",
        "socialwork.practitioner",
        t.at(80, "16:00"),
        "start_investigation",
        {
            "decided_at": iso(t.at(80, "15:30")),
            "investigation_type": "joint",
            "decision_rationale": "Neglect linked to mum's drug use, over months.",
            "jii_required": True,
            "medical_examination": "paediatric",
            "interim_safety_plan": "Ellie's aunt has her after school and for tea every day; "
            "social worker visits mum twice a week.",
            "lead_professional": "socialwork.practitioner",
            "childs_views": "She wants to stay at home and see her aunt more.",
            "parents_informed": True,
            "named_person_informed": True,
            "agencies_agreed": CORE,
        },
    )
    t.fire(
        "ellie",
        "socialwork.practitioner",
        t.at(80, "16:30"),
        "plan_jii",
        {
            "planned_for": iso(t.at(78, "10:00")),
            "interviewers": ["police.practitioner", "socialwork.practitioner"],
            "aims": "Hear from Ellie what a normal day at home is like.",
        },
    )
    t.fire(
        "ellie",
        "socialwork.practitioner",
        t.at(78, "15:00"),
        "record_jii",
        {
            "conducted_at": iso(t.at(78, "10:00")),
            "outcomes": ["further_social_work_assessment", "case_conference"],
            "recording_reference": "JII-WD-0431",
            "salient_points": "Ellie often makes her own meals and gets herself to school; "
            "she has found mum asleep and could not wake her.",
            "childs_views": "She is worried about her mum and does not want her to get into "
            "trouble.",
        },
    )
    chronology = [
        (
            "health.practitioner",
            t.at(77, "11:00"),
            t.days_ago(420),
            "health",
            "Ellie missed her dental check and two eye appointments.",
            "Early signs that her health needs were not being met.",
            "Health visitor wrote to mum to re-book.",
        ),
        (
            "education.practitioner",
            t.at(77, "12:00"),
            t.days_ago(150),
            "education",
            "Attendance fell to 81%; Ellie often late and hungry.",
            "A change from last year, when she attended well.",
            "Ellie offered a breakfast club place.",
        ),
        (
            "police.practitioner",
            t.at(76, "10:00"),
            t.days_ago(125),
            "police",
            "Police called to the house for a disturbance; a visitor was arrested for "
            "supplying drugs.",
            "Drug dealing in the home where Ellie lives.",
            "Concern form sent to social work; no one else was told.",
        ),
    ]
    for by, recorded, occurred, agency, what, why, action in chronology:
        t.fire(
            "ellie",
            by,
            recorded,
            "add_chronology_entry",
            {
                "occurred_on": occurred,
                "source_agency": agency,
                "what_happened": what,
                "significance": why,
                "action": action,
            },
        )
    t.fire(
        "ellie",
        "socialwork.practitioner",
        t.at(76, "14:00"),
        "schedule_case_conference",
        {
            "conference_type": "initial",
            "scheduled_for": iso(t.at(66, "10:00")),
            "chair": "sw.chair",
            "invitees": invitees(WD, "police", "health", "education"),
        },
    )
    t.fire(
        "ellie",
        "sw.chair",
        t.at(66, "14:00"),
        "register",
        {
            "held_at": iso(t.at(66, "10:00")),
            "attendees": attendees(WD, "police", "health", "social_work", "education"),
            "apologies": [{"agency": "other", "name": "Addiction service worker"}],
            "childs_views": "Ellie drew a picture of her family and said she wants her mum "
            "to get better.",
            "child_attended": False,
            "views_given": "through_an_advocate",
            "advocacy_offered": True,
            "parents_invited": True,
            "parents_attended": True,
            "parents_views": "Mum accepts she has not been coping and wants help.",
            "decision_rationale": "Ellie's needs have been neglected for months because of "
            "mum's drug use; she needs a plan.",
            "areas_of_concern": ["neglect", "parental_drug_misuse"],
            "core_group": invitees(WD, "health", "education", "police"),
            "plan_outline": "Mum back on her treatment; Ellie fed, clean and at school every "
            "day; her aunt part of the plan.",
            "plan": plan(
                [
                    (
                        "Ellie has regular meals and clean clothes every day.",
                        [
                            (
                                "Breakfast club every morning",
                                "education",
                                "Lorna McGinty",
                                t.day(61),
                            ),
                            (
                                "Aunt has Ellie for tea on school days",
                                "social_work",
                                "Stephen Reid",
                                t.day(61),
                            ),
                        ],
                    ),
                    (
                        "Mum is stable on her treatment.",
                        [
                            (
                                "Mum picks up her prescription every day",
                                "health",
                                "Karen Boyle",
                                t.day(46),
                            ),
                            (
                                "Weekly visit from the addiction worker",
                                "other",
                                "Claire Duffy",
                                t.day(46),
                            ),
                        ],
                    ),
                ],
                "If mum misses two pick-ups in a row, Ellie stays with her aunt and the chair "
                "is told the same day.",
            ),
            "reporter_referral": True,
            "lead_professional": "socialwork.practitioner",
            "parents_informed_in_writing_at": iso(t.at(66, "13:00")),
        },
    )
    t.fire(
        "ellie",
        "health.practitioner",
        t.at(59, "16:30"),
        "record_core_group",
        {
            "held_at": iso(t.at(59, "14:00")),
            "attendees": attendees(WD, "health", "social_work", "education"),
            "significant_change": False,
            "notes": "A good start: Ellie at breakfast club every day.",
            "progress": [
                {"action": "Breakfast club every morning", "status": "done"},
                {"action": "Aunt has Ellie for tea on school days", "status": "in_progress"},
                {
                    "action": "Mum picks up her prescription every day",
                    "status": "in_progress",
                    "note": "One missed pick-up this fortnight.",
                },
            ],
            "childs_views": "Ellie said she likes having tea at her aunt's.",
        },
    )
    t.fire(
        "ellie",
        "socialwork.supervisor",
        t.at(45, "09:30"),
        "change_lead_professional",
        {
            "lead_professional": "wd.socialworker",
            "changed_on": t.day(45),
            "reason": "Ellie's social worker moved to the fostering team; a colleague who "
            "knows the family takes over.",
        },
    )
    t.fire(
        "ellie",
        "wd.socialworker",
        t.at(35, "12:00"),
        "add_chronology_entry",
        {
            "occurred_on": t.day(36),
            "source_agency": "social_work",
            "what_happened": "Mum was admitted to hospital after an overdose. Ellie went to "
            "stay with her aunt.",
            "significance": "The plan's contingency was used.",
            "action": "Core group called the next day.",
        },
    )
    t.fire(
        "ellie",
        "wd.socialworker",
        t.at(35, "16:00"),
        "record_core_group",
        {
            "held_at": iso(t.at(35, "14:00")),
            "attendees": attendees(WD, "health", "social_work", "education", "police"),
            "significant_change": True,
            "notes": "Mum in hospital after an overdose; Ellie staying with her aunt, who "
            "will look after her until mum is home and stable.",
            "progress": [
                {
                    "action": "Mum picks up her prescription every day",
                    "status": "not_done",
                    "note": "Mum stopped her treatment two weeks ago.",
                },
                {"action": "Aunt has Ellie for tea on school days", "status": "done"},
            ],
            "childs_views": "Ellie is frightened for her mum but feels safe at her aunt's.",
        },
    )
    t.fire(
        "ellie",
        "education.practitioner",
        t.at(12, "16:00"),
        "record_core_group",
        {
            "held_at": iso(t.at(12, "15:00")),
            "attendees": attendees(WD, "education", "health", "social_work"),
            "significant_change": False,
            "notes": "Mum home and back on her treatment; Ellie back home with daily visits "
            "from her aunt.",
            "progress": [
                {"action": "Mum picks up her prescription every day", "status": "in_progress"},
                {"action": "Weekly visit from the addiction worker", "status": "done"},
            ],
        },
    )


def freya_not_registered(t: Timeline) -> None:
    """A JII and an initial CPPM that decides not to register, with a support plan."""
    t.concern(
        "freya",
        "police.practitioner",
        t.at(50, "16:00"),
        {
            "area": HL,
            "child": {
                "given_name": "Freya",
                "family_name": "Grant",
                "date_of_birth": t.born(8, 6, 30).isoformat(),
                "sex": "female",
                "address": "Hilton, Inverness",
                "school": "Hilton Primary School",
            },
            "concern": {
                "received_at": iso(t.at(50, "15:30")),
                "source": "family",
                "summary": "Freya's dad told police that her mum's new boyfriend hit Freya at "
                "the weekend; she has a bruise on her upper arm.",
                "categories": ["physical_abuse"],
                "immediate_risk": False,
                "child_spoken_to": False,
            },
        },
    )
    t.fire(
        "freya",
        "police.practitioner",
        t.at(49, "09:45"),
        "convene_ird",
        {
            "started_at": iso(t.at(49, "09:30")),
            "reason": "An adult in the household said to have hit a child.",
            "participants": attendees(HL, "police", "health", "social_work", "education"),
        },
    )
    t.fire(
        "freya",
        "police.practitioner",
        t.at(49, "12:30"),
        "start_investigation",
        {
            "decided_at": iso(t.at(49, "12:00")),
            "investigation_type": "joint",
            "decision_rationale": "A reported assault by an adult living in the home.",
            "jii_required": True,
            "medical_examination": "paediatric",
            "interim_safety_plan": "The boyfriend stays away from the house while police "
            "make enquiries; Freya stays with mum.",
            "lead_professional": "hl.socialworker",
            "childs_views_not_obtained_reason": "Freya will be heard at the interview.",
            "parents_informed": True,
            "agencies_agreed": CORE,
        },
    )
    t.fire(
        "freya",
        "police.practitioner",
        t.at(49, "13:00"),
        "plan_jii",
        {
            "planned_for": iso(t.at(47, "14:00")),
            "interviewers": ["police.practitioner", "hl.socialworker"],
            "aims": "Hear Freya's account of how she got the bruise.",
        },
    )
    t.fire(
        "freya",
        "hl.socialworker",
        t.at(47, "17:00"),
        "record_jii",
        {
            "conducted_at": iso(t.at(47, "14:00")),
            "outcomes": ["case_conference"],
            "recording_reference": "JII-HL-0207",
            "salient_points": "Freya said the boyfriend grabbed her arm when she would not "
            "go to her room. It has not happened before.",
            "childs_views": "She wants to stay with her mum and does not like the boyfriend.",
        },
    )
    t.fire(
        "freya",
        "hl.socialworker",
        t.at(46, "10:00"),
        "schedule_case_conference",
        {
            "conference_type": "initial",
            "scheduled_for": iso(t.at(36, "10:00")),
            "chair": "hl.sw.chair",
            "invitees": invitees(HL, "police", "health", "education"),
        },
    )
    t.fire(
        "freya",
        "hl.sw.chair",
        t.at(36, "13:00"),
        "not_register",
        {
            "held_at": iso(t.at(36, "10:00")),
            "attendees": attendees(HL, "police", "health", "social_work", "education"),
            "childs_views": "Freya said things are better now the boyfriend has gone.",
            "child_attended": False,
            "views_given": "through_a_trusted_adult",
            "advocacy_offered": False,
            "parents_invited": True,
            "parents_attended": True,
            "parents_views": "Mum has ended the relationship and agrees to support.",
            "decision_rationale": "A single incident; the boyfriend has left and mum has "
            "acted to protect Freya. Support without a child protection plan.",
            "support_plan": "Family support worker for 12 weeks; school pastoral support; "
            "both parents agree contact arrangements.",
        },
    )


def jamie_no_further_action(t: Timeline) -> None:
    """An injury explained at the IRD: no further action, approved by a supervisor."""
    t.concern(
        "jamie",
        "health.practitioner",
        t.at(42, "11:20"),
        {
            "area": WD,
            "child": {
                "given_name": "Jamie",
                "family_name": "McLaughlin",
                "date_of_birth": t.born(3, 1, 17).isoformat(),
                "sex": "male",
                "address": "Bellsmyre, Dumbarton",
            },
            "concern": {
                "received_at": iso(t.at(42, "11:00")),
                "source": "professional",
                "summary": "Jamie was brought to A&E with a broken arm. Mum said he fell off the "
                "back of the sofa.",
                "categories": ["physical_abuse"],
                "immediate_risk": False,
                "child_spoken_to": False,
            },
        },
    )
    t.fire(
        "jamie",
        "health.practitioner",
        t.at(42, "14:15"),
        "convene_ird",
        {
            "started_at": iso(t.at(42, "14:00")),
            "reason": "A fracture in a young child.",
            "participants": attendees(WD, "police", "health", "social_work"),
        },
    )
    t.fire(
        "jamie",
        "police.practitioner",
        t.at(42, "14:40"),
        "add_ird_contribution",
        {
            "agency": "police",
            "information_shared": "No police record for anyone in the household.",
            "checks_made": "Police national and local systems.",
            "lawful_basis": "UK GDPR article 6(1)(e); DPA 2018 part 3 for police data.",
        },
    )
    t.fire(
        "jamie",
        "health.practitioner",
        t.at(42, "17:00"),
        "close_no_further_action",
        {
            "decided_at": iso(t.at(42, "16:30")),
            "decision_rationale": "The paediatrician found the fracture fits the fall "
            "described; no other injuries; the health visitor knows the family well.",
            "reasons_no_investigation": "No sign of harm by anyone.",
            "childs_views_not_obtained_reason": "Jamie is three; he was seen with his mum.",
            "named_person_informed": True,
            "agencies_agreed": CORE,
        },
        approved_by=("socialwork.supervisor", "Agreed: a reasoned decision by all three."),
    )


def ross_no_conference(t: Timeline) -> None:
    """An investigation ended by an inter-agency decision that no CPPM is needed."""
    t.concern(
        "ross",
        "education.practitioner",
        t.at(36, "14:00"),
        {
            "area": HL,
            "child": {
                "given_name": "Ross",
                "family_name": "Munro",
                "date_of_birth": t.born(15, 2, 11).isoformat(),
                "sex": "male",
                "address": "Inshes, Inverness",
                "school": "Millburn Academy",
                "ethnicity": "white_scottish",
                "disability": "not_known",
                "religion": "declined",
            },
            "concern": {
                "received_at": iso(t.at(36, "13:40")),
                "source": "child_disclosure",
                "summary": "Ross told his guidance teacher that older boys make him carry "
                "packages for them and he is frightened of what they will do if he stops.",
                "categories": ["child_criminal_exploitation", "child_placing_self_at_risk"],
                "immediate_risk": True,
                "child_spoken_to": True,
                "childs_views": "He wants it to stop but is scared the boys find out he told.",
            },
            "named_person": {"name": "Mr Alasdair Munro", "service": "Millburn Academy"},
        },
    )
    t.fire(
        "ross",
        "police.practitioner",
        t.at(36, "16:15"),
        "convene_ird",
        {
            "started_at": iso(t.at(36, "16:00")),
            "reason": "A young person being used to move drugs.",
            "participants": attendees(HL, "police", "health", "social_work", "education"),
        },
    )
    t.fire(
        "ross",
        "police.practitioner",
        t.at(36, "18:00"),
        "start_investigation",
        {
            "decided_at": iso(t.at(36, "17:30")),
            "investigation_type": "joint",
            "decision_rationale": "Criminal exploitation of a child by older youths.",
            "jii_required": False,
            "medical_examination": "none",
            "interim_safety_plan": "Ross gets a lift to and from school; police speak to the "
            "older boys; a youth worker meets him twice a week.",
            "lead_professional": "hl.socialworker",
            "childs_views": "He wants to keep going to school and football.",
            "parents_informed": True,
            "agencies_agreed": CORE,
        },
    )
    t.fire(
        "ross",
        "hl.socialworker",
        t.at(22, "14:00"),
        "decide_no_case_conference",
        {
            "decided_at": iso(t.at(22, "11:00")),
            "decision_rationale": "Two older youths have been charged; Ross and his mum are "
            "working well with the youth worker, and the risk is managed by his child's plan.",
            "support_plan": "Youth worker twice a week; guidance teacher checks in every "
            "Monday; a named police officer he can contact.",
            "childs_views": "Ross said he feels safer and wants to keep seeing the youth worker.",
            "agencies_agreed": CORE,
        },
        approved_by=("hl.sw.supervisor", "Agreed: the risk is now managed without a CPPM."),
    )


def ruby_inquorate_twice(t: Timeline) -> None:
    """An initial CPPM inquorate twice in a row (the second flagged); its timescale extended
    by a senior manager in between."""
    t.concern(
        "ruby",
        "socialwork.practitioner",
        t.at(31, "10:20"),
        {
            "area": WD,
            "child": {
                "given_name": "Ruby",
                "family_name": "Kerr",
                "date_of_birth": t.born(11, 9, 3).isoformat(),
                "sex": "female",
                "address": "Brucehill, Dumbarton",
                "school": "Castlehill Primary School",
            },
            "concern": {
                "received_at": iso(t.at(31, "10:00")),
                "source": "family",
                "summary": "Ruby's aunt phoned the duty team: mum's new partner, who has a "
                "conviction for harming a child, has moved in.",
                "categories": ["other"],
                "immediate_risk": True,
                "child_spoken_to": False,
            },
        },
    )
    t.fire(
        "ruby",
        "socialwork.practitioner",
        t.at(31, "13:15"),
        "convene_ird",
        {
            "started_at": iso(t.at(31, "13:00")),
            "reason": "A person who has harmed a child living with a child.",
            "participants": attendees(WD, "police", "health", "social_work"),
        },
    )
    t.fire(
        "ruby",
        "socialwork.practitioner",
        t.at(30, "11:30"),
        "start_investigation",
        {
            "decided_at": iso(t.at(30, "11:00")),
            "investigation_type": "joint",
            "decision_rationale": "A man convicted of harming a child now lives with Ruby.",
            "jii_required": False,
            "medical_examination": "none",
            "interim_safety_plan": "The partner has moved to his brother's while checks are "
            "made; Ruby is seen at school every day.",
            "lead_professional": "socialwork.practitioner",
            "childs_views": "Ruby likes mum's partner and does not understand the worry.",
            "parents_informed": True,
            "agencies_agreed": CORE,
        },
    )
    t.fire(
        "ruby",
        "socialwork.practitioner",
        t.at(27, "09:30"),
        "schedule_case_conference",
        {
            "conference_type": "initial",
            "scheduled_for": iso(t.at(15, "10:00")),
            "chair": "sw.chair",
            "invitees": invitees(WD, "police", "health", "education"),
        },
    )
    t.fire(
        "ruby",
        "sw.chair",
        t.at(15, "10:45"),
        "record_inquorate",
        {
            "held_at": iso(t.at(15, "10:00")),
            "absent_agencies": ["police"],
            "rescheduled_for": iso(t.at(8, "10:00")),
        },
    )
    t.fire(
        "ruby",
        "socialwork.practitioner",
        t.at(15, "12:00"),
        "extend_timescale",
        {
            "new_due_date": t.day(-5),
            "reason": "The CPPM could not decide without police. It meets again next week; "
            "the interim safety plan is working.",
            "interim_safety_plan_confirmed": True,
        },
        approved_by=("socialwork.seniormanager", "Agreed: safety plan checked with the school."),
    )
    t.fire(
        "ruby",
        "sw.chair",
        t.at(8, "10:40"),
        "record_inquorate",
        {
            "held_at": iso(t.at(8, "10:00")),
            "absent_agencies": ["health"],
            "rescheduled_for": iso(t.at(-1, "10:00")),
        },
    )


def harris_moved_away(t: Timeline) -> None:
    """Closed after the IRD because the family had left Scotland (closure approved)."""
    t.concern(
        "harris",
        "health.practitioner",
        t.at(11, "10:50"),
        {
            "area": HL,
            "child": {
                "given_name": "Harris",
                "family_name": "Macleod",
                "date_of_birth": t.born(9, 4, 26).isoformat(),
                "sex": "male",
                "address": "Portree, Isle of Skye",
            },
            "concern": {
                "received_at": iso(t.at(11, "10:30")),
                "source": "professional",
                "summary": "Harris's mum told the GP she cannot cope and has smacked Harris "
                "hard when he will not go to bed.",
                "categories": ["physical_abuse", "parental_mental_health"],
                "immediate_risk": False,
                "child_spoken_to": False,
            },
        },
    )
    t.fire(
        "harris",
        "health.practitioner",
        t.at(11, "14:15"),
        "convene_ird",
        {
            "started_at": iso(t.at(11, "14:00")),
            "reason": "A parent saying she has hit her child.",
            "participants": attendees(HL, "police", "health", "social_work"),
        },
    )
    t.fire(
        "harris",
        "hl.socialworker",
        t.at(10, "12:00"),
        "close",
        {
            "closure_reason": "moved_away",
            "note": "The family moved to Carlisle the day before; Cumbria children's services "
            "have the concern and confirmed they will visit.",
        },
        approved_by=("hl.sw.supervisor", "Agreed: Cumbria confirmed by phone and e-mail."),
    )


def isla_and_kai_siblings(t: Timeline) -> None:
    """A brother and sister: the second concern names the first; both at one IRD."""
    home = {"family_name": "Gallacher", "address": "Bonhill, Alexandria"}
    equalities = {
        "ethnicity": "white_scottish",
        "disability": "no",
        "religion": "church_of_scotland",
    }
    t.concern(
        "kai",
        "education.practitioner",
        t.at(10, "09:25"),
        {
            "area": WD,
            "child": {
                "given_name": "Kai",
                **home,
                "date_of_birth": t.born(11, 7, 19).isoformat(),
                "sex": "male",
                "school": "Vale Primary School",
                **equalities,
            },
            "concern": {
                "received_at": iso(t.at(10, "09:10")),
                "source": "child_disclosure",
                "summary": "Kai told his teacher his dad hit him with a belt at the weekend, "
                "with his little sister Isla there. He has marks on his legs.",
                "categories": ["physical_abuse"],
                "immediate_risk": True,
                "child_spoken_to": True,
                "childs_views": "He is scared to go home and worried about Isla.",
            },
            "named_person": {"name": "Mrs Lorna McGinty", "service": "Vale Primary School"},
        },
    )
    t.concern(
        "isla",
        "education.practitioner",
        t.at(10, "09:50"),
        {
            "area": WD,
            "child": {
                "given_name": "Isla",
                **home,
                "date_of_birth": t.born(6, 10, 4).isoformat(),
                "sex": "female",
                "school": "Vale Primary School",
                **equalities,
            },
            "concern": {
                "received_at": iso(t.at(10, "09:15")),
                "source": "professional",
                "summary": "Isla's brother Kai says she saw their dad hit him. Isla is quiet "
                "and withdrawn in class today.",
                "categories": ["emotional_abuse", "physical_abuse"],
                "immediate_risk": True,
                "child_spoken_to": True,
                "childs_views": "She said 'Daddy gets angry' and would not say more.",
            },
            "named_person": {"name": "Mrs Lorna McGinty", "service": "Vale Primary School"},
            "related_referrals": [Ref("kai")],
        },
    )
    for key in ("kai", "isla"):
        t.fire(
            key,
            "police.practitioner",
            t.at(10, "11:15"),
            "convene_ird",
            {
                "started_at": iso(t.at(10, "11:00")),
                "reason": "A brother and sister: one hit with a belt, the other saw it.",
                "participants": attendees(WD, "police", "health", "social_work", "education"),
            },
        )
    t.fire(
        "kai",
        "socialwork.practitioner",
        t.at(10, "15:30"),
        "start_investigation",
        {
            "decided_at": iso(t.at(10, "15:00")),
            "investigation_type": "joint",
            "decision_rationale": "Physical assault with an object, with marks.",
            "jii_required": True,
            "medical_examination": "paediatric",
            "interim_safety_plan": "Dad has agreed to stay with his brother; the children "
            "stay with mum; police check on them each evening.",
            "lead_professional": "socialwork.practitioner",
            "childs_views": "He wants his dad out of the house for now.",
            "parents_informed": True,
            "named_person_informed": True,
            "agencies_agreed": CORE,
        },
    )
    t.fire(
        "isla",
        "socialwork.practitioner",
        t.at(10, "15:35"),
        "start_investigation",
        {
            "decided_at": iso(t.at(10, "15:00")),
            "investigation_type": "joint",
            "decision_rationale": "Isla saw her brother being hit and is frightened.",
            "jii_required": False,
            "medical_examination": "none",
            "interim_safety_plan": "As for her brother Kai: dad stays with his brother.",
            "lead_professional": "socialwork.practitioner",
            "childs_views": "Isla wants to stay with mum and Kai.",
            "parents_informed": True,
            "named_person_informed": True,
            "agencies_agreed": CORE,
        },
    )
    t.fire(
        "kai",
        "police.practitioner",
        t.at(10, "16:00"),
        "plan_jii",
        {
            "planned_for": iso(t.at(8, "10:00")),
            "interviewers": ["police.practitioner", "socialwork.practitioner"],
            "aims": "Hear Kai's account of the weekend and of any earlier times.",
        },
    )
    t.fire(
        "kai",
        "police.practitioner",
        t.at(8, "09:00"),
        "cancel_jii",
        {"reason": "Kai is off school unwell; the interview is put back."},
    )
    t.fire(
        "kai",
        "police.practitioner",
        t.at(8, "09:30"),
        "plan_jii",
        {
            "planned_for": iso(t.at(-1, "10:00")),
            "interviewers": ["police.practitioner", "socialwork.practitioner"],
            "aims": "Hear Kai's account of the weekend and of any earlier times.",
        },
    )


def lewis_screened_out(t: Timeline) -> None:
    """An anonymous call screened out (below the child protection threshold), approved."""
    t.concern(
        "lewis",
        "socialwork.practitioner",
        t.at(14, "16:50"),
        {
            "area": WD,
            "child": {
                "given_name": "Lewis",
                "family_name": "Paterson",
                "date_of_birth": t.born(14, 12, 1).isoformat(),
                "sex": "male",
                "address": "Whitecrook, Clydebank",
            },
            "concern": {
                "received_at": iso(t.at(14, "16:30")),
                "source": "anonymous",
                "summary": "An anonymous caller said a teenager at the address is left on his "
                "own for days at a time.",
                "categories": ["neglect"],
                "immediate_risk": False,
                "child_spoken_to": False,
            },
        },
    )
    t.fire(
        "lewis",
        "socialwork.practitioner",
        t.at(13, "11:00"),
        "screen_out",
        {
            "decided_at": iso(t.at(13, "10:30")),
            "decision_rationale": "Lewis lives with his gran, who works night shifts. He is "
            "14, well cared for, and school has no worries about him.",
            "advice_or_support": "Gran was given details of the young carers' group and the "
            "school's family link worker.",
            "named_person_informed": True,
        },
        approved_by=("socialwork.supervisor", "Agreed: below the child protection threshold."),
    )


def baby_pre_birth(t: Timeline) -> None:
    """An unborn baby (due in about four months) registered at a pre-birth CPPM with a plan."""
    t.concern(
        "baby",
        "health.practitioner",
        t.at(17, "11:40"),
        {
            "area": HL,
            "child": {
                "given_name": "Baby",
                "family_name": "MacKenzie",
                "expected_date_of_delivery": t.days_ago(-120),
                "address": "Merkinch, Inverness",
            },
            "concern": {
                "received_at": iso(t.at(17, "11:20")),
                "source": "professional",
                "summary": "At her booking appointment the mother, 20 weeks pregnant, said she "
                "uses heroin most days and that her partner hits her. Her first child lives "
                "with his grandparents.",
                "categories": ["parental_drug_misuse", "domestic_abuse"],
                "immediate_risk": False,
                "child_spoken_to": False,
            },
        },
    )
    t.fire(
        "baby",
        "health.practitioner",
        t.at(17, "15:15"),
        "convene_ird",
        {
            "started_at": iso(t.at(17, "15:00")),
            "reason": "An unborn baby at risk from drug use and domestic abuse.",
            "participants": attendees(HL, "police", "health", "social_work"),
        },
    )
    t.fire(
        "baby",
        "hl.socialworker",
        t.at(16, "11:30"),
        "start_investigation",
        {
            "decided_at": iso(t.at(16, "11:00")),
            "investigation_type": "single_agency",
            "decision_rationale": "The baby will be at risk of significant harm at birth "
            "unless things change.",
            "jii_required": False,
            "medical_examination": "none",
            "interim_safety_plan": "The midwife sees mum every week; mum starts a methadone "
            "programme; social work begins a pre-birth assessment.",
            "lead_professional": "hl.socialworker",
            "childs_views_not_obtained_reason": "The baby is not yet born.",
            "parents_informed": True,
            "agencies_agreed": CORE,
        },
    )
    t.fire(
        "baby",
        "hl.socialworker",
        t.at(15, "10:00"),
        "schedule_case_conference",
        {
            "conference_type": "pre_birth",
            "scheduled_for": iso(t.at(6, "10:00")),
            "chair": "hl.sw.chair",
            "invitees": [
                *invitees(HL, "police"),
                {"agency": "health", "name": "Fiona Cameron, midwife"},
                {"agency": "other", "name": "Highland drug and alcohol service"},
            ],
        },
    )
    t.fire(
        "baby",
        "hl.sw.chair",
        t.at(6, "15:00"),
        "register",
        {
            "held_at": iso(t.at(6, "10:00")),
            "attendees": [
                *attendees(HL, "police", "social_work"),
                {"agency": "health", "name": "Fiona Cameron", "role": "Midwife"},
                {"agency": "other", "name": "Gordon Bain", "role": "Drug and alcohol worker"},
            ],
            "childs_views_not_obtained_reason": "The baby is not yet born.",
            "parents_invited": True,
            "parents_attended": True,
            "parents_views": "Mum wants to keep her baby and will work with the plan. Her "
            "partner did not come.",
            "decision_rationale": "Without change the baby would be at risk from the day she "
            "is born; mum has made a good start on treatment.",
            "areas_of_concern": ["parental_drug_misuse", "domestic_abuse"],
            "core_group": [
                {"agency": "health", "name": "Fiona Cameron"},
                {"agency": "other", "name": "Gordon Bain"},
                {"agency": "police", "name": "DS Iain Macrae"},
            ],
            "plan_outline": "Mum stable on treatment before the birth; a safe home free of "
            "violence; a birth plan agreed with the maternity ward.",
            "plan": plan(
                [
                    (
                        "Mum is stable on her methadone treatment before the birth.",
                        [
                            (
                                "Weekly key-work session and drug testing",
                                "other",
                                "Gordon Bain",
                                t.days_ago(-60),
                            ),
                        ],
                    ),
                    (
                        "The baby goes home to a place free of violence.",
                        [
                            (
                                "Safety planning with mum about her partner",
                                "social_work",
                                "Catriona Ross",
                                t.days_ago(-30),
                            ),
                            (
                                "Agree a birth plan with the maternity ward",
                                "health",
                                "Fiona Cameron",
                                t.days_ago(-90),
                            ),
                        ],
                    ),
                ],
                "If mum stops treatment or goes back to her partner, an urgent CPPM and a "
                "legal planning meeting before the birth.",
            ),
            "reporter_referral": False,
            "lead_professional": "hl.socialworker",
            "parents_informed_in_writing_at": iso(t.at(6, "14:00")),
        },
    )


def callum_out_of_hours(t: Timeline) -> None:
    """An out-of-hours IRD at night, then the full IRD on the next working day."""
    night = t.at(5, "22:40")
    next_morning = datetime.combine(
        t.calendar.add_working_days(night.date(), 1), time(10, 0), tzinfo=t.calendar.zone
    )
    t.concern(
        "callum",
        "police.practitioner",
        t.at(5, "22:55"),
        {
            "area": HL,
            "child": {
                "given_name": "Callum",
                "family_name": "Mackay",
                "date_of_birth": t.born(13, 1, 28).isoformat(),
                "sex": "male",
                "address": "Fairways, Nairn",
                "school": "Nairn Academy",
            },
            "concern": {
                "received_at": iso(night),
                "source": "observation",
                "summary": "Police called to the house at night. Callum's dad was drunk and had "
                "thrown a bottle; Callum has a cut on his hand and was frightened.",
                "categories": ["domestic_abuse", "parental_alcohol_misuse", "physical_abuse"],
                "immediate_risk": True,
                "child_spoken_to": True,
                "childs_views": "He wants to go with his mum to his aunt's house tonight.",
            },
        },
    )
    t.fire(
        "callum",
        "police.practitioner",
        t.at(5, "23:30"),
        "convene_ird",
        {
            "started_at": iso(t.at(5, "23:10")),
            "reason": "Where Callum sleeps safely tonight.",
            "out_of_hours": True,
            "participants": [
                *attendees(HL, "police"),
                {
                    "agency": "social_work",
                    "name": "Neil Forbes",
                    "role": "Out-of-hours social worker",
                },
            ],
        },
    )
    t.fire(
        "callum",
        "hl.socialworker",
        next_morning + timedelta(minutes=90),
        "record_full_ird",
        {
            "held_at": iso(next_morning),
            "participants": attendees(HL, "police", "health", "social_work", "education"),
            "summary": "Dad was arrested and bailed not to go home. Callum and his mum are at "
            "his aunt's. The cut was cleaned at A&E. School will keep an eye on him.",
        },
    )
    t.fire(
        "callum",
        "education.practitioner",
        next_morning + timedelta(minutes=120),
        "add_ird_contribution",
        {
            "agency": "education",
            "information_shared": "Callum has been tired and withdrawn this term; he told a "
            "teacher his dad 'drinks too much'.",
            "lawful_basis": "UK GDPR article 6(1)(e): a task in the public interest.",
        },
    )


def zofia_ird_late(t: Timeline) -> None:
    """A concern from Women's Aid whose IRD was convened days late."""
    t.concern(
        "zofia",
        "other.practitioner",
        t.at(7, "15:20"),
        {
            "area": WD,
            "child": {
                "given_name": "Zofia",
                "family_name": "Nowak",
                "date_of_birth": t.born(7, 4, 12).isoformat(),
                "sex": "female",
                "school": "Riverside Primary School",
                "ethnicity": "white_polish",
                "disability": "no",
                "religion": "roman_catholic",
            },
            "concern": {
                "received_at": iso(t.at(7, "15:00")),
                "source": "professional",
                "summary": "Zofia's mum has come into the refuge after years of abuse by her "
                "partner. Zofia has seen him hurt her mum and has nightmares.",
                "categories": ["domestic_abuse", "emotional_abuse"],
                "immediate_risk": False,
                "child_spoken_to": True,
                "childs_views": "She feels safe in the refuge and wants to stay at her school.",
            },
        },
    )
    t.fire(
        "zofia",
        "socialwork.practitioner",
        t.at(2, "10:15"),
        "convene_ird",
        {
            "started_at": iso(t.at(2, "10:00")),
            "reason": "A child who has lived with domestic abuse, now in a refuge.",
            "participants": attendees(WD, "police", "health", "social_work", "other"),
        },
    )
    t.fire(
        "zofia",
        "police.practitioner",
        t.at(2, "11:00"),
        "add_ird_contribution",
        {
            "agency": "police",
            "information_shared": "Two domestic incidents recorded at the family's old address "
            "this year.",
            "lawful_basis": "UK GDPR article 6(1)(e); DPA 2018 part 3 for police data.",
        },
    )
    t.fire(
        "zofia",
        "other.practitioner",
        t.at(2, "11:30"),
        "add_ird_contribution",
        {
            "agency": "other",
            "information_shared": "Mum and Zofia arrived at the refuge a week ago; the partner "
            "does not know where they are.",
            "lawful_basis": "UK GDPR article 6(1)(e), shared with mum's agreement.",
        },
    )


def nathan_cppm_overdue(t: Timeline) -> None:
    """An investigation past its 28 days with no CPPM; an extension asked for in time still
    waits for a senior manager."""
    t.concern(
        "nathan",
        "health.practitioner",
        t.at(28, "12:50"),
        {
            "area": WD,
            "child": {
                "given_name": "Nathan",
                "family_name": "Quinn",
                "date_of_birth": t.born(6, 5, 5).isoformat(),
                "sex": "male",
                "address": "Balloch",
                "school": "Leven Valley Primary School",
            },
            "concern": {
                "received_at": iso(t.at(28, "12:30")),
                "source": "professional",
                "summary": "The school nurse says Nathan has had head lice and bad tooth decay "
                "for months, and he says there is often no electricity at home.",
                "categories": ["neglect"],
                "immediate_risk": False,
                "child_spoken_to": True,
                "childs_views": "He said his house is cold and dark at night.",
            },
        },
    )
    t.fire(
        "nathan",
        "health.practitioner",
        t.at(28, "15:15"),
        "convene_ird",
        {
            "started_at": iso(t.at(28, "15:00")),
            "reason": "Long-standing neglect of a young child's health and home.",
            "participants": attendees(WD, "police", "health", "social_work", "education"),
        },
    )
    t.fire(
        "nathan",
        "socialwork.practitioner",
        t.at(27, "11:30"),
        "start_investigation",
        {
            "decided_at": iso(t.at(27, "11:00")),
            "investigation_type": "single_agency",
            "decision_rationale": "Neglect of health and living conditions over months.",
            "jii_required": False,
            "medical_examination": "comprehensive",
            "interim_safety_plan": "Electricity reconnected with emergency money; school "
            "nurse treats the lice; dentist appointment booked.",
            "lead_professional": "socialwork.practitioner",
            "childs_views": "He would like his room to be warm.",
            "parents_informed": True,
            "agencies_agreed": CORE,
        },
    )
    t.fire(
        "nathan",
        "socialwork.practitioner",
        t.at(12, "16:00"),  # asked for while the 28 days still ran
        "extend_timescale",
        {
            "new_due_date": t.day(-10),
            "reason": "The paediatric report is not back yet and the CPPM needs it.",
            "interim_safety_plan_confirmed": True,
        },
    )


def amy_new_today(t: Timeline) -> None:
    """A concern recorded this morning: its IRD is still to be convened."""
    received = t.now - timedelta(hours=2)
    t.concern(
        "amy",
        "education.practitioner",
        received + timedelta(minutes=20),
        {
            "area": WD,
            "child": {
                "given_name": "Amy",
                "family_name": "Wilson",
                "date_of_birth": t.born(5, 2, 20).isoformat(),
                "sex": "female",
                "school": "Riverside Primary School",
            },
            "concern": {
                "received_at": iso(received),
                "source": "observation",
                "summary": "Amy came to school with a bruise on her cheek. She said she "
                "bumped it, but looked scared when asked.",
                "categories": ["physical_abuse"],
                "immediate_risk": False,
                "child_spoken_to": True,
                "childs_views": "She said she bumped it on the door.",
            },
        },
    )


def logan_waiting_for_ird(t: Timeline) -> None:
    """A concern nobody has picked up: its IRD is overdue."""
    t.concern(
        "logan",
        "other.practitioner",
        t.at(7, "17:05"),
        {
            "area": HL,
            "child": {
                "given_name": "Logan",
                "family_name": "Stewart",
                "date_of_birth": t.born(12, 10, 30).isoformat(),
                "sex": "male",
                "address": "Caol, Fort William",
            },
            "concern": {
                "received_at": iso(t.at(7, "16:45")),
                "source": "third_party",
                "summary": "A youth worker heard that Logan has been staying out overnight with "
                "older teenagers and was seen drunk in the town centre.",
                "categories": ["child_placing_self_at_risk"],
                "immediate_risk": False,
                "child_spoken_to": False,
            },
        },
    )


def eilidh_single_agency(t: Timeline) -> None:
    """An IRD that refers to health for support (approved by a Highland supervisor)."""
    t.concern(
        "eilidh",
        "education.practitioner",
        t.at(25, "10:30"),
        {
            "area": HL,
            "child": {
                "given_name": "Eilidh",
                "family_name": "Fraser",
                "date_of_birth": t.born(4, 8, 8).isoformat(),
                "sex": "female",
                "address": "Claggan, Fort William",
                "school": "Claggan Nursery",
            },
            "concern": {
                "received_at": iso(t.at(25, "10:15")),
                "source": "observation",
                "summary": "Eilidh is often collected late from nursery by different adults and "
                "has missed her health checks. Staff worry about her speech.",
                "categories": ["neglect", "non_engaging_family"],
                "immediate_risk": False,
                "child_spoken_to": True,
                "childs_views": "She said she likes nursery because there is lunch.",
            },
            "named_person": {"name": "Moira Grant", "service": "Health visiting, Lochaber"},
        },
    )
    t.fire(
        "eilidh",
        "health.practitioner",
        t.at(25, "14:15"),
        "convene_ird",
        {
            "started_at": iso(t.at(25, "14:00")),
            "reason": "A young child whose health needs are being missed.",
            "participants": attendees(HL, "police", "health", "social_work", "education"),
        },
    )
    t.fire(
        "eilidh",
        "health.practitioner",
        t.at(24, "11:00"),
        "refer_single_agency",
        {
            "decided_at": iso(t.at(24, "10:30")),
            "decision_rationale": "Mum is struggling but wants help; no sign of harm. Health "
            "support is what the family needs.",
            "lead_agency": "health",
            "support_offered": "Health visitor every week for eight weeks; a speech and "
            "language assessment; extra funded nursery hours.",
            "childs_views": "Eilidh said she likes her nursery teacher.",
            "named_person_informed": True,
            "agencies_agreed": CORE,
        },
        approved_by=("hl.sw.supervisor", "Agreed: proportionate support through health."),
    )


#: Earlier West Dunbartonshire referrals that closed at the IRD, so a record reading exercise
#: can sample 35 files of one area (given name, family name, age, concern, categories, source,
#: who raised it, and the child's words or none for a young child)
EARLIER_CLOSED_AT_IRD: tuple[tuple[str, str, int, str, str, str, str, str | None], ...] = (
    (
        "Aiden",
        "Docherty",
        9,
        "Bruising on his upper arm noticed in PE.",
        "physical_abuse",
        "professional",
        "education.practitioner",
        "Aiden said his brother grabbed him.",
    ),
    (
        "Bethany",
        "Gallacher",
        14,
        "Told a teacher she had been left alone all weekend.",
        "neglect",
        "child_disclosure",
        "education.practitioner",
        "Bethany wants help with meals.",
    ),
    (
        "Connor",
        "Rooney",
        2,
        "Missed three health appointments; weight faltering.",
        "neglect",
        "professional",
        "health.practitioner",
        None,
    ),
    (
        "Darcy",
        "McGowan",
        11,
        "Neighbour heard shouting and a child crying late at night.",
        "domestic_abuse",
        "third_party",
        "police.practitioner",
        "Darcy said it was an argument.",
    ),
    (
        "Euan",
        "Kerr",
        6,
        "Came to school hungry and in the same clothes all week.",
        "neglect",
        "professional",
        "education.practitioner",
        "Euan said his mum is poorly.",
    ),
    (
        "Fiona",
        "Lafferty",
        15,
        "Disclosed an older boyfriend who asks for photos.",
        "sexual_abuse",
        "professional",
        "health.practitioner",
        "Fiona says she has ended it and wants school to know.",
    ),
    (
        "Grant",
        "Mulholland",
        4,
        "Attended A&E with a scald; history consistent.",
        "physical_abuse",
        "professional",
        "health.practitioner",
        None,
    ),
    (
        "Hannah",
        "Quinn",
        12,
        "Anonymous call about cannabis use in the home.",
        "neglect",
        "third_party",
        "police.practitioner",
        "Hannah said home is fine and she feels safe.",
    ),
    (
        "Ivan",
        "Petrov",
        8,
        "Police attended a domestic incident; Ivan was in the house.",
        "domestic_abuse",
        "professional",
        "police.practitioner",
        "Ivan said he hid upstairs.",
    ),
    (
        "Jodie",
        "Brennan",
        13,
        "Self-harm marks seen by the school nurse.",
        "emotional_abuse",
        "professional",
        "health.practitioner",
        "Jodie wants to talk to the school counsellor.",
    ),
    (
        "Kyle",
        "Sweeney",
        7,
        "Dad collected him from school under the influence.",
        "neglect",
        "professional",
        "education.practitioner",
        "Kyle said dad was tired.",
    ),
    (
        "Leah",
        "McIntyre",
        1,
        "Health visitor concerned about a cold, sparse flat.",
        "neglect",
        "professional",
        "health.practitioner",
        None,
    ),
    (
        "Marcus",
        "O'Hara",
        10,
        "Said at school that his uncle hits him with a belt.",
        "physical_abuse",
        "child_disclosure",
        "education.practitioner",
        "Marcus later said it was a game and he is not scared.",
    ),
    (
        "Nadia",
        "Hussain",
        16,
        "Missing overnight; returned and would not say where.",
        "child_sexual_exploitation",
        "professional",
        "police.practitioner",
        "Nadia said she was at a friend's.",
    ),
    (
        "Owen",
        "Devlin",
        5,
        "Mum disclosed to the GP that she cannot cope.",
        "neglect",
        "professional",
        "health.practitioner",
        "Owen said he likes his new bed.",
    ),
    (
        "Poppy",
        "Friel",
        3,
        "Nursery saw a bruise on her cheek.",
        "physical_abuse",
        "professional",
        "education.practitioner",
        None,
    ),
    (
        "Quinn",
        "Cairns",
        14,
        "Reported online threats from an adult he met gaming.",
        "child_criminal_exploitation",
        "child_disclosure",
        "police.practitioner",
        "Quinn wants the messages to stop.",
    ),
    (
        "Rhianna",
        "Toner",
        9,
        "Grandmother worried about mum's new partner.",
        "domestic_abuse",
        "family",
        "socialwork.practitioner",
        "Rhianna said he is kind to her.",
    ),
    (
        "Sami",
        "Ahmed",
        6,
        "Found walking to school alone on a busy road at 7am.",
        "neglect",
        "third_party",
        "police.practitioner",
        "Sami said mum was at work.",
    ),
    (
        "Tegan",
        "Boyle",
        11,
        "Told a classmate her stepdad watches her in the shower.",
        "sexual_abuse",
        "professional",
        "education.practitioner",
        "Tegan said she made it up to be dared.",
    ),
    (
        "Uzair",
        "Malik",
        2,
        "Two minor injuries in a month at the childminder's.",
        "physical_abuse",
        "professional",
        "health.practitioner",
        None,
    ),
    (
        "Vicky",
        "Lennon",
        15,
        "Drunk and alone in the town centre on a school night.",
        "neglect",
        "professional",
        "police.practitioner",
        "Vicky said she argued with her mum.",
    ),
    (
        "Wyatt",
        "Conway",
        8,
        "Teacher noticed sudden withdrawn behaviour.",
        "emotional_abuse",
        "professional",
        "education.practitioner",
        "Wyatt said he misses his dad.",
    ),
    (
        "Xander",
        "Reilly",
        12,
        "Housing officer saw the home without heating or food.",
        "neglect",
        "professional",
        "socialwork.practitioner",
        "Xander said they manage.",
    ),
    (
        "Yasmin",
        "Ali",
        10,
        "Aunt worried about a planned trip abroad.",
        "other",
        "family",
        "socialwork.practitioner",
        "Yasmin is excited to see her cousins.",
    ),
    (
        "Zack",
        "Harkins",
        7,
        "A fight between parents in the school car park.",
        "domestic_abuse",
        "professional",
        "education.practitioner",
        "Zack said they shout a lot.",
    ),
)


def earlier_closed_at_ird(t: Timeline) -> None:
    """Concerns of the last year in West Dunbartonshire that the IRD closed: no further action
    or single-agency support, each with its reasons and the child's views (or why not)."""
    for n, row in enumerate(EARLIER_CLOSED_AT_IRD):
        given, family, age, summary, category, source, by, views = row
        key = f"earlier-{n + 1:02d}"
        day = 250 - 7 * n  # every seven working days, from about a year ago
        t.concern(
            key,
            by,
            t.at(day, "10:20"),
            {
                "area": WD,
                "child": {
                    "given_name": given,
                    "family_name": family,
                    "date_of_birth": t.born(age, 1 + n % 12, 1 + n).isoformat(),
                    "sex": "male" if n % 2 == 0 else "female",
                    "address": "Dumbarton" if n % 3 else "Alexandria",
                },
                "concern": {
                    "received_at": iso(t.at(day, "10:00")),
                    "source": source,
                    "summary": summary,
                    "categories": [category],
                    "immediate_risk": False,
                    "child_spoken_to": views is not None,
                },
            },
        )
        t.fire(
            key,
            "socialwork.practitioner",
            t.at(day, "13:15"),
            "convene_ird",
            {
                "started_at": iso(t.at(day, "13:00")),
                "reason": "To share what each agency knows and decide whether to investigate.",
                "participants": attendees(WD, "police", "health", "social_work"),
            },
        )
        t.fire(
            key,
            "police.practitioner",
            t.at(day, "14:00"),
            "add_ird_contribution",
            {
                "agency": "police",
                "information_shared": "No recent police involvement with the household.",
                "checks_made": "Police national and local systems.",
                "lawful_basis": "UK GDPR article 6(1)(e); DPA 2018 part 3 for police data.",
            },
        )
        heard = (
            {"childs_views": views}
            if views is not None
            else {"childs_views_not_obtained_reason": f"{given} is too young to give a view."}
        )
        single_agency = n % 3 == 1
        t.fire(
            key,
            "socialwork.practitioner",
            t.at(day, "16:30"),
            "refer_single_agency" if single_agency else "close_no_further_action",
            {
                "decided_at": iso(t.at(day, "16:00")),
                "decision_rationale": "What the agencies know does not suggest significant harm; "
                "the family accept the support offered.",
                **(
                    {
                        "lead_agency": "health" if age < 5 else "education",
                        "support_offered": "A named contact and weekly check-ins for a month.",
                    }
                    if single_agency
                    else {"reasons_no_investigation": "No indication of significant harm."}
                ),
                **heard,
                "named_person_informed": True,
                "agencies_agreed": CORE,
            },
            approved_by=("socialwork.supervisor", "Agreed: reasons and views recorded."),
        )


STORIES: tuple[Callable[[Timeline], None], ...] = (
    daniel_deregistered,
    millie_review_due,
    rory_transferred,
    ellie_registered,
    freya_not_registered,
    jamie_no_further_action,
    ross_no_conference,
    ruby_inquorate_twice,
    eilidh_single_agency,
    nathan_cppm_overdue,
    baby_pre_birth,
    lewis_screened_out,
    harris_moved_away,
    isla_and_kai_siblings,
    logan_waiting_for_ird,
    zofia_ird_late,
    callum_out_of_hours,
    amy_new_today,
    earlier_closed_at_ird,
)
