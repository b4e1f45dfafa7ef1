"""`referral demo`, run twice on a fresh database: its sample referrals show every v2 feature."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from referral.models import (
    Approval,
    ChronologyEntry,
    Conference,
    CoreGroupMeeting,
    Event,
    Investigation,
    Ird,
    LeadProfessionalChange,
    Referral,
    ReferralLink,
    Registration,
    Screening,
    Transfer,
    User,
)
from referral.models.types import utcnow
from tests.conftest import BACKENDS, empty_database
from tests.referral.test_cli import ok, run
from tests.referral.test_generate import CLI_AUDIT_KEY
from workflow.fields import parse_datetime
from workflow.registry import definition
from workflow.timescales import MOMENT_FIELDS, Clocks, TimescaleStatus, statuses

WD, HL = "west-dunbartonshire", "highland"


@dataclass
class Demo:
    """What the operator saw, and the database the two runs left behind."""

    first: str
    second: str
    verify: Any
    session: Session
    now: datetime
    url: str

    def referrals(self) -> list[Referral]:
        return list(self.session.scalars(select(Referral).order_by(Referral.received_at)))

    def one(self, given_name: str, area: str | None = None) -> Referral:
        found = [
            r
            for r in self.referrals()
            if r.child.given_name == given_name and (area is None or r.area.slug == area)
        ]
        assert len(found) == 1, f"{given_name} in {area}: {len(found)} referrals"
        return found[0]

    def timescales(self, referral: Referral) -> dict[str, TimescaleStatus]:
        d = definition(referral.profile, referral.profile_version)
        judged = statuses(d, Clocks.from_json(referral.clocks), self.now)
        return {s.rule: s for s in judged}

    def events(self, referral: Referral) -> list[Event]:
        return list(
            self.session.scalars(
                select(Event).where(Event.referral_id == referral.id).order_by(Event.seq)
            )
        )

    def registration(self, referral: Referral) -> Registration:
        return self.session.scalars(
            select(Registration).where(Registration.referral_id == referral.id)
        ).one()

    def conferences(self, referral: Referral) -> list[Conference]:
        return list(
            self.session.scalars(
                select(Conference)
                .where(Conference.referral_id == referral.id)
                .order_by(Conference.id)
            )
        )


@pytest.fixture(scope="module", params=BACKENDS)
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Demo]:
    folder: Path = tmp_path_factory.mktemp("demo")
    with empty_database(request.param, folder, "demo") as url:
        ok(run(url, "db", "upgrade"))
        first = ok(run(url, "demo"))
        second = ok(run(url, "demo"))
        verified = run(url, "audit", "verify")
        engine = create_engine(url)
        try:
            with Session(engine) as session:
                yield Demo(first, second, verified, session, utcnow(), url)
        finally:
            engine.dispose()


def test_a_second_run_succeeds_and_the_audit_trail_verifies(demo: Demo) -> None:
    assert "sample referrals: 46" in demo.first
    assert "already loaded" in demo.second
    for out in (demo.first, demo.second):
        assert "socialwork.supervisor" in out
        assert "hl.socialworker" in out
    assert len(demo.referrals()) == 46
    assert demo.verify.returncode == 0, demo.verify.stderr
    assert demo.verify.stdout.startswith("ok: ")


def test_every_state_and_every_way_of_closing(demo: Demo) -> None:
    states = {r.state for r in demo.referrals()}
    assert states == {
        "concern",
        "ird",
        "investigation",
        "jii",
        "case_conference",
        "registered",
        "closed",
    }
    assert {r.closure_reason for r in demo.referrals() if r.closure_reason} >= {
        "screened_out",
        "nfa",
        "single_agency",
        "no_case_conference",
        "not_registered",
        "deregistered",
        "transferred_out",
        "moved_away",
    }
    assert {r.area.slug for r in demo.referrals()} == {WD, HL}


def test_a_transfer_from_west_dunbartonshire_registers_the_child_in_highland(demo: Demo) -> None:
    sending, receiving = demo.one("Rory", WD), demo.one("Rory", HL)
    assert (sending.state, sending.closure_reason) == ("closed", "transferred_out")
    assert receiving.transfer_from == sending.id
    assert receiving.state == "registered"
    assert receiving.child_match == "chi"
    assert receiving.child_match_areas == [WD]
    (conference,) = demo.conferences(receiving)
    assert (conference.conference_type, conference.decision) == ("transfer", "register")
    transfer = demo.session.scalars(
        select(Transfer).where(Transfer.referral_id == sending.id)
    ).one()
    assert transfer.receiving_area == HL
    assert transfer.receiving_referral_id == receiving.id
    assert transfer.outcome == "registered"
    # the child left the sending register the moment the receiving area registered them
    ended = demo.registration(sending)
    assert ended.end_reason == "transferred_out"
    assert ended.ended_at == demo.registration(receiving).registered_at == conference.decided_at
    assert [e.trigger for e in demo.events(sending)][-1] == "transferred_out"
    # Highland's own staff, who work in Highland only, did Highland's side
    highland_only = {
        u.username for u in demo.session.scalars(select(User)) if [a.slug for a in u.areas] == [HL]
    }
    assert {e.actor for e in demo.events(receiving)} <= highland_only
    assert conference.chair in highland_only
    assert demo.timescales(receiving)["transfer_cppm"].status == "met"


def test_a_concern_screened_out_with_a_supervisors_approval(demo: Demo) -> None:
    lewis = demo.one("Lewis")
    assert (lewis.state, lewis.closure_reason) == ("closed", "screened_out")
    assert demo.session.get(Screening, lewis.id) is not None
    approval = demo.session.scalars(select(Approval).where(Approval.referral_id == lewis.id)).one()
    assert (approval.trigger, approval.status) == ("screen_out", "approved")
    decider = demo.session.scalars(select(User).where(User.username == approval.decided_by)).one()
    assert (decider.agency, decider.role) == ("social_work", "supervisor")
    assert demo.timescales(lewis)["ird_convened"].status == "not_required"


def test_an_unborn_baby_registered_at_a_pre_birth_conference(demo: Demo) -> None:
    (baby,) = [r for r in demo.referrals() if r.child.expected_date_of_delivery is not None]
    due = baby.child.expected_date_of_delivery
    assert due is not None
    assert timedelta(days=100) < due - demo.now.date() < timedelta(days=140)  # about 4 months
    assert baby.state == "registered"
    (conference,) = demo.conferences(baby)
    assert (conference.conference_type, conference.decision) == ("pre_birth", "register")
    registration = demo.registration(baby)
    assert registration.pre_birth is True
    assert registration.plan is not None
    assert registration.plan["outcomes"]
    assert demo.timescales(baby)["initial_cppm"].status == "met"


def test_an_out_of_hours_ird_followed_by_the_full_ird(demo: Demo) -> None:
    (ird,) = demo.session.scalars(select(Ird).where(Ird.out_of_hours.is_(True)))
    assert ird.full_ird_held_at is not None
    assert ird.full_ird_held_at > ird.started_at
    assert {p["agency"] for p in ird.full_ird_participants or []} >= {
        "police",
        "health",
        "social_work",
    }
    referral = demo.session.get(Referral, ird.referral_id)
    assert referral is not None
    assert demo.timescales(referral)["full_ird"].status == "met"


def test_a_chronology_from_several_agencies_reaching_back_before_the_concern(demo: Demo) -> None:
    entries = list(demo.session.scalars(select(ChronologyEntry)))
    (referral_id,) = {e.referral_id for e in entries}
    referral = demo.session.get(Referral, referral_id)
    assert referral is not None
    assert referral.state == "registered"
    assert len(entries) >= 4
    assert len({e.source_agency for e in entries}) >= 3
    assert any(e.occurred_on < referral.received_at.date() for e in entries)


def test_a_plan_with_outcomes_and_actions_and_core_group_progress_against_it(demo: Demo) -> None:
    ellie = demo.one("Ellie")
    registration = demo.registration(ellie)
    plan = registration.plan
    assert plan is not None
    assert plan["contingency_plan"]
    actions = [a["what"] for o in plan["outcomes"] for a in o["actions"]]
    assert len(plan["outcomes"]) >= 2
    assert all(o["actions"] for o in plan["outcomes"])
    meetings = list(
        demo.session.scalars(
            select(CoreGroupMeeting).where(CoreGroupMeeting.registration_id == registration.id)
        )
    )
    progressed = [p for m in meetings for p in m.progress or []]
    assert progressed
    assert {p["action"] for p in progressed} <= set(actions)
    (significant,) = [m for m in meetings if m.significant_change]
    assert significant.refer_to_chair_by is not None
    assert significant.refer_to_chair_by > significant.held_at.date()
    flags = [e.data.get("_flags", {}) for e in demo.events(ellie)]
    assert any("refer_to_chair_by" in f for f in flags)


def test_a_change_of_lead_professional(demo: Demo) -> None:
    ellie = demo.one("Ellie")
    (change,) = demo.session.scalars(
        select(LeadProfessionalChange).where(LeadProfessionalChange.referral_id == ellie.id)
    )
    assert demo.registration(ellie).lead_professional == change.lead_professional
    investigation = demo.session.get(Investigation, ellie.id)
    assert investigation is not None
    assert investigation.lead_professional != change.lead_professional


def test_a_brother_and_sister_linked_to_each_other(demo: Demo) -> None:
    kai, isla = demo.one("Kai"), demo.one("Isla")
    assert kai.child.family_name == isla.child.family_name
    links = {
        (link.referral_id, link.related_id) for link in demo.session.scalars(select(ReferralLink))
    }
    assert links == {(kai.id, isla.id), (isla.id, kai.id)}
    assert demo.events(isla)[0].data["related_referrals"] == [kai.id]
    assert "sibling_linked" in [e.type for e in demo.events(kai)]


def test_the_record_contents_added_in_v2(demo: Demo) -> None:
    everyone = demo.referrals()
    assert sum(1 for r in everyone if r.named_person) >= 5
    assert sum(1 for r in everyone if r.child.ethnicity and r.child.religion) >= 4
    assert sum(1 for r in everyone if r.child_spoken_to and r.childs_views) >= 8
    meetings = [
        m
        for r in everyone
        for c in demo.conferences(r)
        for m in c.meetings
        if m.quorate and m.child_attended is not None
    ]
    assert any(m.views_given and m.advocacy_offered is not None for m in meetings)
    assert any(m.parents_invited and m.parents_attended for m in meetings)
    assert any(m.child_attended for m in meetings)


def test_a_coded_deregistration_at_a_quorate_review(demo: Demo) -> None:
    daniel = demo.one("Daniel")
    assert (daniel.state, daniel.closure_reason) == ("closed", "deregistered")
    registration = demo.registration(daniel)
    assert registration.deregistration_reason == "risk_reduced"
    assert registration.deregistration_note
    assert [c.conference_type for c in demo.conferences(daniel)] == ["initial", "review"]
    assert demo.timescales(daniel)["review_cppm"].status == "met"


def test_a_repeat_inquorate_meeting_and_an_extension_a_senior_manager_approved(
    demo: Demo,
) -> None:
    ruby = demo.one("Ruby")
    assert ruby.state == "case_conference"
    (conference,) = demo.conferences(ruby)
    assert [m.quorate for m in conference.meetings] == [False, False]
    flags = [e.data.get("_flags", {}) for e in demo.events(ruby)]
    assert sum(1 for f in flags if f.get("repeat_inquorate")) == 1
    (approval,) = demo.session.scalars(
        select(Approval).where(
            Approval.referral_id == ruby.id, Approval.trigger == "extend_timescale"
        )
    )
    assert approval.status == "approved"
    decider = demo.session.scalars(select(User).where(User.username == approval.decided_by)).one()
    assert (decider.agency, decider.role) == ("social_work", "senior_manager")
    investigation = demo.session.get(Investigation, ruby.id)
    assert investigation is not None
    assert investigation.extensions == 1
    assert demo.timescales(ruby)["initial_cppm"].status == "extended"
    # and an extension still waiting, for the senior manager's queue
    waiting = demo.session.scalars(select(Approval).where(Approval.status == "pending")).all()
    assert [a.trigger for a in waiting] == ["extend_timescale"]


def test_every_moment_follows_the_concern_and_none_is_in_the_future(demo: Demo) -> None:
    for referral in demo.referrals():
        assert referral.received_at <= demo.now
        for event in demo.events(referral):
            assert referral.received_at <= event.at <= demo.now, (referral.reference, event.seq)
            if event.type != "transition":
                continue
            for name in MOMENT_FIELDS:
                if name in event.data:
                    moment = parse_datetime(event.data[name])
                    assert referral.received_at <= moment <= event.at, (referral.reference, name)
    received = [r.received_at for r in demo.referrals()]
    assert max(received) - min(received) > timedelta(days=120)


def test_the_timescales_show_a_mix_of_met_late_overdue_pending_and_not_required(
    demo: Demo,
) -> None:
    seen = {s.status for r in demo.referrals() for s in demo.timescales(r).values()}
    assert seen >= {"met", "met_late", "overdue", "pending", "not_required", "extended"}
    assert demo.timescales(demo.one("Amy"))["ird_convened"].status == "pending"
    assert demo.timescales(demo.one("Logan"))["ird_convened"].status == "overdue"
    assert demo.timescales(demo.one("Nathan"))["initial_cppm"].status == "overdue"
    assert demo.timescales(demo.one("Ross"))["initial_cppm"].status == "not_required"


def test_an_auditor_draws_a_35_record_reading_sample_of_one_area(demo: Demo) -> None:
    """What the inspectors asked for: 35 files of one area, read by two agencies."""
    from referral import create_app
    from referral.db import unit_of_work
    from referral.services.people import create_token

    app = create_app({"REFERRAL_DATABASE_URL": demo.url, "REFERRAL_AUDIT_KEY": CLI_AUDIT_KEY})
    try:
        with app.app_context(), unit_of_work() as session:
            token = create_token(session, "health.auditor", "write", utcnow())
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        today = demo.now.date()
        body = {
            "title": "West Dunbartonshire IRD records",
            "area": WD,
            "from": (today - timedelta(days=730)).isoformat(),
            "to": today.isoformat(),
            "sample_size": 35,
            "seed": 2026,
            "stratify": True,
        }
        made = client.post("/api/v1/reading/exercises", json=body, headers=headers)
        assert made.status_code == 201, made.get_json()
        exercise = made.get_json()
        assert exercise["population_size"] >= 35
        assert len(set(exercise["sample"])) == 35
        outcomes = {r["outcome"] for r in exercise["records"]}
        assert outcomes == {"closed_at_ird", "registered", "not_registered"}
        again = client.post("/api/v1/reading/exercises", json=body, headers=headers).get_json()
        assert again["sample"] == exercise["sample"]  # the same seed, the same files
        # two readers of two agencies who did not work on the record
        first = exercise["sample"][0]
        assigned = client.post(
            f"/api/v1/reading/exercises/{exercise['id']}/assignments",
            json={"referral_id": first, "readers": ["health.seniormanager", "police.auditor"]},
            headers=headers,
        )
        assert assigned.status_code == 201, assigned.get_json()
    finally:
        app.extensions["referral.db"].engine.dispose()
