"""Demo data: two areas, a user of every agency and role, and referrals in every state."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from referral import db
from referral.auth import hash_password
from referral.models import Referral, User
from referral.models.types import utcnow
from referral.services import approvals, people, referrals, transitions
from workflow.vocabulary import AGENCIES, ROLES

AREAS = (
    ("west-dunbartonshire", "West Dunbartonshire", "WD"),
    ("highland", "Highland", "HL"),
)
EXTRA_USERS = (("sw.chair", "social_work", "practitioner"),)


def demo_usernames() -> list[tuple[str, str, str]]:
    users = [
        (f"{agency.replace('_', '')}.{role.replace('_', '')}", agency, role)
        for agency in AGENCIES
        for role in ROLES
        if role != "admin"
    ]
    return [*users, ("admin", "social_work", "admin"), *EXTRA_USERS]


def _people(*agencies: str) -> list[dict[str, str]]:
    names = {
        "police": "DS Morgan",
        "health": "Dr Shah",
        "social_work": "S Reid",
        "education": "Ms Ng",
        "other": "A Volunteer",
    }
    return [{"agency": a, "name": names[a], "role": "practitioner"} for a in agencies]


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def load_demo(say: Callable[[str], None]) -> None:
    session = db.session()
    for slug, name, prefix in AREAS:
        if not session.scalars(select(people.Area).where(people.Area.slug == slug)).first():
            people.add_area(session, slug, name, prefix)
    passwords: dict[str, str] = {}
    for username, agency, role in demo_usernames():
        password = secrets.token_urlsafe(12)
        passwords[username] = password
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None:
            people.create_user(
                session,
                username,
                agency,
                role,
                [a[0] for a in AREAS],
                password,
                display_name=username,
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


def _sample_referrals(session: Any) -> int:
    now = utcnow()
    users = {u.username: u for u in session.scalars(select(User))}
    police, health, sw = (
        users["police.practitioner"],
        users["health.practitioner"],
        users["socialwork.practitioner"],
    )
    supervisor, manager = users["socialwork.supervisor"], users["socialwork.seniormanager"]
    chair = users["sw.chair"]
    past = _iso(now - timedelta(hours=1))
    views = {"childs_views": "Says she feels safe at her gran's."}
    core = ["police", "health", "social_work"]
    meeting = {
        "held_at": past,
        "attendees": _people("police", "health", "social_work"),
        **views,
        "decision_rationale": "Agreed by all agencies present.",
    }

    children = [
        ("Amy", "Brown"),
        ("Ben", "Campbell"),
        ("Cara", "Docherty"),
        ("Dan", "Fraser"),
        ("Eve", "Gallacher"),
        ("Finn", "Hamilton"),
        ("Gail", "Irvine"),
        ("Hugh", "Jamieson"),
        ("Iona", "Kerr"),
        ("Jack", "Lennox"),
        ("Kirsty", "MacLeod"),
        ("Liam", "Munro"),
        ("Mhairi", "Nicol"),
        ("Neil", "Ogilvie"),
        ("Orla", "Paterson"),
        ("Pete", "Quinn"),
        ("Rhona", "Ross"),
        ("Sean", "Stewart"),
        ("Tess", "Urquhart"),
        ("Una", "Wallace"),
    ]
    steps: dict[str, list[tuple[User, str, dict[str, Any]]]] = {}
    convene = (
        police,
        "convene_ird",
        {
            "started_at": past,
            "reason": "Disclosure at school",
            "participants": _people("police", "health", "social_work", "education"),
        },
    )
    contribute = (
        users["education.practitioner"],
        "add_ird_contribution",
        {
            "agency": "education",
            "information_shared": "Attendance 71%; arrives hungry.",
            "lawful_basis": "UK GDPR 6(1)(e) and DPA 2018 Sch 1 para 18",
        },
    )
    investigate = (
        sw,
        "start_investigation",
        {
            "investigation_type": "joint",
            "decision_rationale": "Disclosure of physical harm.",
            "jii_required": True,
            "medical_examination": "paediatric",
            "interim_safety_plan": "Stays with gran; seen daily at school.",
            "lead_professional": "socialwork.practitioner",
            **views,
            "parents_informed": True,
            "agencies_agreed": core,
        },
    )
    plan = (
        police,
        "plan_jii",
        {
            "planned_for": _iso(now + timedelta(days=2)),
            "interviewers": ["police.practitioner", "socialwork.practitioner"],
            "aims": "The child's account.",
        },
    )
    record = (
        police,
        "record_jii",
        {
            "conducted_at": past,
            "outcome": "case_conference",
            "recording_reference": "JII-118",
            "salient_points": "Consistent account.",
        },
    )
    schedule = (
        sw,
        "schedule_case_conference",
        {
            "conference_type": "initial",
            "scheduled_for": _iso(now + timedelta(days=12)),
            "chair": "sw.chair",
            "invitees": [
                {"agency": "health", "name": "Dr Shah"},
                {"agency": "education", "name": "Ms Ng"},
            ],
        },
    )
    register = (
        chair,
        "register",
        {
            **meeting,
            "areas_of_concern": ["neglect", "domestic_abuse"],
            "core_group": [
                {"agency": "health", "name": "HV Lee"},
                {"agency": "education", "name": "Ms Ng"},
            ],
            "plan_outline": "Weekly visits; nursery place.",
            "reporter_referral": True,
            "lead_professional": "socialwork.practitioner",
        },
    )
    review = (
        sw,
        "schedule_case_conference",
        {
            "conference_type": "review",
            "scheduled_for": _iso(now + timedelta(days=30)),
            "chair": "sw.chair",
            "invitees": [{"agency": "health", "name": "Dr Shah"}],
        },
    )
    nfa = (
        health,
        "close_no_further_action",
        {
            "decision_rationale": "Injury consistent with the account given.",
            "reasons_no_investigation": "No risk of significant harm.",
            **views,
            "named_person_informed": True,
            "agencies_agreed": core,
        },
    )
    single = (
        health,
        "refer_single_agency",
        {
            "decision_rationale": "Needs support, not investigation.",
            "lead_agency": "health",
            "support_offered": "Health visitor weekly.",
            **views,
            "named_person_informed": True,
            "agencies_agreed": core,
        },
    )
    core_group = (
        users["health.practitioner"],
        "record_core_group",
        {
            "held_at": past,
            "attendees": _people("health", "social_work"),
            "significant_change": False,
            "notes": "Plan on track.",
        },
    )
    paths = [
        [],
        [],
        [],
        [convene],
        [convene, contribute],
        [convene, contribute],
        [convene, nfa],
        [convene, nfa],
        [convene, single],
        [convene, investigate],
        [convene, investigate],
        [convene, investigate, plan],
        [convene, investigate, plan],
        [convene, investigate, plan, record, schedule],
        [convene, investigate, schedule],
        [convene, investigate, schedule, register],
        [convene, investigate, schedule, register, core_group],
        [convene, investigate, schedule, register, core_group, review],
        [
            convene,
            investigate,
            schedule,
            (
                chair,
                "not_register",
                {**meeting, "support_plan": "Family support through the child's plan."},
            ),
        ],
        [
            convene,
            investigate,
            schedule,
            register,
            review,
            (
                chair,
                "deregister",
                {**meeting, "deregistration_reason": "Risk reduced; plan achieved."},
            ),
        ],
    ]
    del steps
    for i, ((given, family), path) in enumerate(zip(children, paths, strict=True)):
        area = AREAS[i % 2][0]
        referral = referrals.create_referral(
            session,
            police if i % 3 else sw,
            {
                "area": area,
                "child": {
                    "given_name": given,
                    "family_name": family,
                    "date_of_birth": date(2014 + i % 8, 1 + i % 12, 1 + i).isoformat(),
                    "school": "Demo Primary",
                },
                "concern": {
                    "received_at": (now - timedelta(hours=3)).isoformat(),
                    "source": "professional",
                    "summary": "Bruising seen at school; child says dad hit her.",
                    "categories": ["physical_abuse"],
                    "immediate_risk": False,
                    "child_spoken_to": True,
                },
            },
            "scotland",
            now,
        )
        for actor, trigger, data in path:
            fired = transitions.fire(session, actor, referral, trigger, data, None, utcnow())
            if fired.approval is not None:
                decider = (
                    manager if fired.approval.approver_role == "senior_manager" else supervisor
                )
                approvals.decide(
                    session,
                    decider,
                    fired.approval.id,
                    "approve",
                    "Agreed: rationale is clear.",
                    utcnow(),
                )
    return len(paths)
