"""Scotland v2 (SPEC section 4, "Profile scotland v2"): its lifecycle, corrections and records."""

from __future__ import annotations

import contextlib
import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import workflow
from tests.workflow.samples import ATTENDEES, NOW, iso
from tests.workflow.samples_v2 import (
    CONCERN_AT,
    CTX_V2,
    FIRER,
    NEW_REFERRAL,
    OTHER_AREA,
    SYSTEM,
    VALID,
    data_for,
    subject_for,
)
from workflow import (
    Actor,
    ActorNotPermitted,
    ApprovalRequired,
    DataConflict,
    InvalidData,
    Outcome,
    Subject,
    TriggerNotAllowed,
)
from workflow.fields import FieldType
from workflow.timescales import (
    Clocks,
    Facts,
    HistoryEvent,
    TimescaleStatus,
    advance,
    begin,
    current_due,
    evaluate,
    statuses,
)

ENGINE = workflow.engine("scotland", 2)
V2 = ENGINE.definition
LONDON = ZoneInfo("Europe/London")
OPEN_STATES = ("concern", "ird", "investigation", "jii", "case_conference", "registered")
P, SUP, SM = "practitioner", "supervisor", "senior_manager"


def fire(
    trigger: str,
    state: str,
    data: dict[str, Any] | None = None,
    *,
    subject: Subject | None = None,
    actor: Actor | None = None,
    approved: bool = True,
    ctx: Any = CTX_V2,
) -> Outcome:
    """Fire `trigger` in `state` with valid data (or `data`), approved unless told otherwise."""
    firer = actor or FIRER[trigger]
    return ENGINE.fire(
        subject or subject_for(trigger, state),
        firer or SYSTEM,
        trigger,
        data_for(trigger, state) if data is None else data,
        ctx,
        approved=approved,
        system=firer is None,
    )


def changed(trigger: str, state: str | None = None, **changes: Any) -> dict[str, Any]:
    """Valid data for `trigger` with `changes` (a value of None leaves the field out)."""
    data = data_for(trigger, state or V2.trigger(trigger).sources[0])
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


# -- 1. every (state, trigger) pair -----------------------------------------------------------

#: Where each trigger goes from each state it may fire in (SPEC section 4 and the v2 list).
DESTINATIONS: dict[str, dict[str, str]] = {
    "screen_out": {"concern": "closed"},
    "convene_ird": {"concern": "ird"},
    "record_full_ird": {"ird": "ird"},
    "add_ird_contribution": {"ird": "ird"},
    "close_no_further_action": {"ird": "closed"},
    "refer_single_agency": {"ird": "closed"},
    "start_investigation": {"ird": "investigation"},
    "plan_jii": {"investigation": "jii"},
    "record_jii": {"jii": "investigation"},
    "cancel_jii": {"jii": "investigation"},
    "extend_timescale": {
        "investigation": "investigation",
        "jii": "jii",
        "case_conference": "case_conference",
    },
    "decide_no_case_conference": {"investigation": "closed"},
    "schedule_case_conference": {
        "concern": "case_conference",  # a transfer in only
        "investigation": "case_conference",
        "registered": "case_conference",
    },
    "record_inquorate": {"case_conference": "case_conference"},
    "register": {"case_conference": "registered"},
    "not_register": {"case_conference": "closed"},
    "continue_registration": {"case_conference": "registered"},
    "deregister": {"case_conference": "closed"},
    "record_core_group": {"registered": "registered"},
    "notify_transfer": {"registered": "registered"},
    "transferred_out": {"registered": "closed"},
    "change_lead_professional": {
        "investigation": "investigation",
        "jii": "jii",
        "case_conference": "case_conference",
        "registered": "registered",
    },
    "add_chronology_entry": {state: state for state in OPEN_STATES},
    "close": {state: "closed" for state in OPEN_STATES},
}
#: The reason a referral keeps when a trigger closes it.
CLOSURE_REASONS = {
    "screen_out": "screened_out",
    "close_no_further_action": "nfa",
    "refer_single_agency": "single_agency",
    "decide_no_case_conference": "no_case_conference",
    "not_register": "not_registered",
    "deregister": "deregistered",
    "transferred_out": "transferred_out",
    "close": "duplicate",  # from the data
}
APPROVALS = {
    "screen_out": SUP,
    "close_no_further_action": SUP,
    "refer_single_agency": SUP,
    "extend_timescale": SM,
    "decide_no_case_conference": SUP,
    "close": SUP,
}
PAIRS = [(s, t) for s in V2.state_names for t in V2.trigger_names]


def test_version_2_has_the_states_of_version_1_and_the_triggers_of_the_spec() -> None:
    assert (V2.profile, V2.version) == ("scotland", 2)
    assert V2.state_names == workflow.definition("scotland", 1).state_names
    assert set(V2.trigger_names) == set(DESTINATIONS) == set(VALID)
    assert "transfer_out" not in V2.trigger_names  # replaced by notify_transfer
    assert {t.name for t in V2.triggers if t.approval} == set(APPROVALS)
    for name, role in APPROVALS.items():
        rule = V2.trigger(name).approval
        assert rule is not None
        assert (rule.role, rule.agency) == (role, "social_work")


@pytest.mark.parametrize(("state", "trigger"), PAIRS)
def test_every_state_and_trigger_pair(state: str, trigger: str) -> None:
    subject, actor = subject_for(trigger, state), FIRER[trigger]
    data = data_for(trigger, state)
    expected = DESTINATIONS[trigger].get(state)
    if expected is None:
        with pytest.raises(TriggerNotAllowed) as refused:
            ENGINE.fire(subject, actor or SYSTEM, trigger, data, CTX_V2, system=actor is None)
        assert refused.value.state == state
        if actor is not None:
            assert trigger not in ENGINE.allowed_triggers(subject, actor)
        return
    if actor is None:  # recorded by the system only: no user may fire it
        for role in (P, SUP, SM):
            with pytest.raises(ActorNotPermitted, match="system"):
                ENGINE.fire(subject, Actor("sw.reid", "social_work", role), trigger, data, CTX_V2)
        outcome = ENGINE.fire(subject, SYSTEM, trigger, data, CTX_V2, system=True)
    else:
        assert trigger in ENGINE.allowed_triggers(subject, actor)
        if trigger in APPROVALS:
            with pytest.raises(ApprovalRequired) as pending:
                ENGINE.fire(subject, actor, trigger, data, CTX_V2)
            assert pending.value.role == APPROVALS[trigger]
        outcome = fire(trigger, state, data, subject=subject)
    assert (outcome.from_state, outcome.to_state) == (state, expected)
    assert outcome.closure_reason == (
        CLOSURE_REASONS.get(trigger) if expected == "closed" else None
    )


@pytest.mark.parametrize("trigger", ["change_lead_professional", "add_chronology_entry"])
def test_triggers_without_a_destination_leave_the_referral_where_it_was(trigger: str) -> None:
    spec = V2.trigger(trigger)
    assert spec.dest is None
    assert spec.to_json()["dest"] is None
    for state in spec.sources:
        assert fire(trigger, state).to_state == state
        assert V2.dest_of(spec, state) == state


# -- who may fire the new triggers ----------------------------------------------------------------

PERMISSIONS: list[tuple[str, str, Actor, bool]] = [
    # trigger, state, actor, allowed
    ("screen_out", "concern", Actor("pc.morgan", "police", P), True),
    ("screen_out", "concern", Actor("dr.shah", "health", P), True),
    ("screen_out", "concern", Actor("sw.reid", "social_work", SUP), True),
    ("screen_out", "concern", Actor("teacher.ng", "education", P), False),
    ("screen_out", "concern", Actor("audit", "social_work", "auditor"), False),
    ("record_full_ird", "ird", Actor("dr.shah", "health", P), True),
    ("record_full_ird", "ird", Actor("third.sector", "other", P), False),
    ("notify_transfer", "registered", Actor("sw.reid", "social_work", P), True),
    ("notify_transfer", "registered", Actor("pc.morgan", "police", SM), False),
    ("transferred_out", "registered", Actor("sw.reid", "social_work", SM), False),
    ("transferred_out", "registered", Actor("admin", "social_work", "admin"), False),
    ("change_lead_professional", "jii", Actor("sw.reid", "social_work", P), True),
    ("change_lead_professional", "jii", Actor("dr.shah", "health", SUP), False),
    ("add_chronology_entry", "ird", Actor("teacher.ng", "education", P), True),
    ("add_chronology_entry", "ird", Actor("third.sector", "other", P), True),
    ("add_chronology_entry", "ird", Actor("audit", "police", "auditor"), False),
    ("extend_timescale", "jii", Actor("sw.reid", "social_work", P), True),
    ("extend_timescale", "jii", Actor("pc.morgan", "police", SM), False),
    ("decide_no_case_conference", "investigation", Actor("dr.shah", "health", SUP), False),
]


@pytest.mark.parametrize(("trigger", "state", "actor", "allowed"), PERMISSIONS)
def test_who_may_fire_the_new_triggers(
    trigger: str, state: str, actor: Actor, allowed: bool
) -> None:
    subject = subject_for(trigger, state)
    assert (trigger in ENGINE.allowed_triggers(subject, actor)) is allowed
    if allowed:
        with contextlib.suppress(ApprovalRequired):
            ENGINE.fire(subject, actor, trigger, data_for(trigger, state), CTX_V2)
    else:
        with pytest.raises(ActorNotPermitted) as refused:
            ENGINE.fire(subject, actor, trigger, data_for(trigger, state), CTX_V2)
        assert ENGINE.refusals(subject, actor)[trigger] == refused.value.reason


# -- timescale helpers ----------------------------------------------------------------------------


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """A local (Europe/London) moment on `day`."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


def event(
    trigger: str | None, recorded: datetime, to_state: str | None = None, **data: Any
) -> HistoryEvent:
    """An event recorded at `recorded`; dates and datetimes in `data` become ISO strings."""
    cleaned = {k: v.isoformat() if isinstance(v, date) else v for k, v in data.items()}
    return HistoryEvent(trigger=trigger, at=recorded, data=cleaned, to_state=to_state)


def replay(facts: Facts, *history: HistoryEvent | tuple[HistoryEvent, Facts]) -> Clocks:
    """`begin`, then `advance` each event with `facts` (or the facts given beside it)."""
    state = begin(V2, facts)
    for item in history:
        step, step_facts = item if isinstance(item, tuple) else (item, facts)
        state = advance(V2, state, step, step_facts)
    return state


def judged(state: Clocks, now: datetime) -> list[TimescaleStatus]:
    return statuses(V2, state, now)


def only(found: list[TimescaleStatus], rule: str) -> TimescaleStatus:
    matching = [s for s in found if s.rule == rule]
    assert len(matching) == 1, matching
    return matching[0]


def rules_of(found: list[TimescaleStatus]) -> list[str]:
    return [s.rule for s in found]


def investigate(decided: datetime, recorded: datetime) -> HistoryEvent:
    return event("start_investigation", recorded, "investigation", decided_at=decided)


def scheduled(recorded: datetime, conference_type: str) -> HistoryEvent:
    return event(
        "schedule_case_conference", recorded, "case_conference", conference_type=conference_type
    )


def held(
    trigger: str, when: datetime, recorded: datetime | None = None, **data: Any
) -> HistoryEvent:
    """A meeting's decision held at `when` (recorded then, or at `recorded`)."""
    to_state = {"register": "registered", "continue_registration": "registered"}.get(
        trigger, "closed" if trigger in ("not_register", "deregister") else None
    )
    return event(trigger, recorded or when, to_state, held_at=when, **data)


# -- correction 1: leaving the register --------------------------------------------------------

#: Only these may close a referral whose child is on the register or at a CPPM.
REFUSED_CLOSES = {
    (state, reason)
    for state in ("registered", "case_conference")
    for reason in ("moved_away", "other")
}


@pytest.mark.parametrize("state", OPEN_STATES)
@pytest.mark.parametrize(
    "reason", ["recorded_in_error", "child_died", "moved_away", "duplicate", "other"]
)
def test_a_registered_child_is_closed_only_for_death_error_or_duplicate(
    state: str, reason: str
) -> None:
    data = {"closure_reason": reason, "note": "As discussed with the team manager."}
    if (state, reason) in REFUSED_CLOSES:
        with pytest.raises(DataConflict) as conflict:  # before any approval is asked for
            fire("close", state, data, approved=False)
        assert list(conflict.value.errors) == ["closure_reason"]
        assert "child_died" in conflict.value.errors["closure_reason"][0]
        return
    outcome = fire("close", state, data)
    assert (outcome.to_state, outcome.closure_reason) == ("closed", reason)


# -- correction 2: transfers between areas ------------------------------------------------------


def test_notify_transfer_keeps_the_child_registered_here() -> None:
    spec = V2.trigger("notify_transfer")
    assert spec.approval is None
    assert [f.name for f in spec.fields] == [
        "receiving_area",
        "moved_on",
        "notified_at",
        "interim_safety_plan",
    ]
    outcome = fire("notify_transfer", "registered", approved=False)
    assert (outcome.from_state, outcome.to_state) == ("registered", "registered")
    assert outcome.data["receiving_area"] == OTHER_AREA


def test_a_transfer_cannot_name_the_referrals_own_area() -> None:
    own = changed("notify_transfer", receiving_area="west-dunbartonshire")
    with pytest.raises(DataConflict) as conflict:
        fire("notify_transfer", "registered", own)
    assert list(conflict.value.errors) == ["receiving_area"]
    unknown = changed("notify_transfer", receiving_area="atlantis")
    with pytest.raises(InvalidData) as bad:
        fire("notify_transfer", "registered", unknown)
    assert "not an area" in bad.value.errors["receiving_area"][0]


def test_a_transfer_in_goes_straight_from_the_concern_to_a_transfer_conference() -> None:
    sw = FIRER["schedule_case_conference"]
    assert sw is not None
    transfer_in = Subject("concern", area="highland", transfer_in=True)
    data = changed("schedule_case_conference", "concern", conference_type="transfer")
    outcome = ENGINE.fire(transfer_in, sw, "schedule_case_conference", data, CTX_V2)
    assert (outcome.from_state, outcome.to_state) == ("concern", "case_conference")
    # only a transfer conference, and only for a transfer in
    for kind in ("initial", "pre_birth", "review"):
        with pytest.raises(DataConflict) as conflict:
            ENGINE.fire(
                transfer_in,
                sw,
                "schedule_case_conference",
                {**data, "conference_type": kind},
                CTX_V2,
            )
        assert list(conflict.value.errors) == ["conference_type"]
    ordinary = Subject("concern", area="highland")
    assert "schedule_case_conference" not in ENGINE.allowed_triggers(ordinary, sw)
    with pytest.raises(TriggerNotAllowed, match="another area's register"):
        ENGINE.fire(ordinary, sw, "schedule_case_conference", data, CTX_V2)


def test_after_an_investigation_the_conference_is_initial_not_transfer() -> None:
    data = changed("schedule_case_conference", "investigation", conference_type="transfer")
    with pytest.raises(DataConflict) as conflict:
        fire("schedule_case_conference", "investigation", data)
    assert list(conflict.value.errors) == ["conference_type"]


# Moved Mon 1 Jun 2026; 21 working days, counted by hand (Mon 15 Jun is a holiday):
# Jun 2 3 4 5 (4), 8-12 (9), 16-19 (13), 22-26 (18), 29 30 (20), Wed 1 Jul (21).
MOVED_ON = date(2026, 6, 1)
TRANSFER_CPPM_DUE = date(2026, 7, 1)
TRANSFER_FACTS = Facts(concern_received_at=at(date(2026, 6, 3), 9), transfer_moved_on=MOVED_ON)


def test_a_transfer_in_has_only_the_transfer_cppm_clock() -> None:
    found = judged(replay(TRANSFER_FACTS), at(date(2026, 6, 3), 12))
    assert rules_of(found) == ["transfer_cppm"]  # no ird_convened, no initial_cppm
    cppm = found[0]
    assert cppm.started_at.date() == MOVED_ON
    assert (cppm.due, cppm.status) == (TRANSFER_CPPM_DUE, "pending")


@pytest.mark.parametrize(
    ("decision", "when", "status"),
    [
        ("register", date(2026, 6, 30), "met"),
        ("register", TRANSFER_CPPM_DUE, "met"),
        ("not_register", date(2026, 7, 2), "met_late"),
    ],
)
def test_the_transfer_cppm_is_met_by_the_conference_decision(
    decision: str, when: date, status: str
) -> None:
    state = replay(
        TRANSFER_FACTS,
        scheduled(at(date(2026, 6, 4)), "transfer"),
        held(decision, at(when, 11)),
    )
    cppm = only(judged(state, at(date(2026, 12, 1))), "transfer_cppm")
    assert (cppm.status, cppm.met_at) == (status, at(when, 11))


def test_an_undecided_transfer_cppm_is_overdue_the_day_after_it_falls_due() -> None:
    state = replay(TRANSFER_FACTS, scheduled(at(date(2026, 6, 4)), "transfer"))
    assert only(judged(state, at(TRANSFER_CPPM_DUE, 23)), "transfer_cppm").status == "pending"
    assert only(judged(state, at(date(2026, 7, 2), 9)), "transfer_cppm").status == "overdue"


def test_the_transfer_cppm_is_a_local_setting() -> None:
    doc = json.loads(json.dumps(V2.to_json()))
    rules = {r["name"]: r for r in doc["timescales"]}
    assert rules["transfer_cppm"]["basis"] == "local practice"
    assert rules["transfer_cppm"]["period"] == {"amount": 21, "unit": "working_days"}
    assert doc["settings"]["transfer_cppm_working_days"]["value"] == 21
    assert doc["settings"]["transfer_cppm_working_days"]["basis"] == "local practice"


def test_transferred_out_is_recorded_by_the_system_alone() -> None:
    spec = V2.trigger("transferred_out")
    assert spec.permission.to_json()["roles"] == []
    registered = subject_for("transferred_out", "registered")
    for role in (P, SUP, SM):
        actor = Actor("sw.reid", "social_work", role)
        assert "transferred_out" not in ENGINE.allowed_triggers(registered, actor)
    outcome = ENGINE.fire(
        registered, SYSTEM, "transferred_out", VALID["transferred_out"], CTX_V2, system=True
    )
    assert (outcome.to_state, outcome.closure_reason) == ("closed", "transferred_out")
    with pytest.raises(InvalidData) as bad:  # the system's data is checked all the same
        ENGINE.fire(
            registered,
            SYSTEM,
            "transferred_out",
            {**VALID["transferred_out"], "receiving_referral": "WD-2026-1"},
            CTX_V2,
            system=True,
        )
    assert list(bad.value.errors) == ["receiving_referral"]


# -- correction 3: clocks run on when things happened ----------------------------------------------

CONCERN_2_JUNE = Facts(concern_received_at=at(date(2026, 6, 2), 9, 30))  # Tue 2 Jun 2026


def test_an_ird_decision_recorded_days_later_is_judged_on_when_it_was_decided() -> None:
    decided, recorded = at(date(2026, 6, 4), 11), at(date(2026, 6, 8), 16)  # Thu, then Mon
    state = replay(
        CONCERN_2_JUNE,
        event("convene_ird", at(date(2026, 6, 4), 12), "ird", started_at=at(date(2026, 6, 3), 9)),
        investigate(decided, recorded),
    )
    found = judged(state, at(date(2026, 6, 10)))
    assert only(found, "ird_convened").status == "met"  # started Wed 3 Jun, recorded Thu 4
    cppm = only(found, "initial_cppm")
    assert cppm.started_at == decided
    assert cppm.due == date(2026, 7, 2)  # Thu 4 Jun + 28 days, not Mon 8 Jun + 28


def test_a_conference_held_on_time_and_recorded_late_is_met() -> None:
    state = replay(
        CONCERN_2_JUNE,
        investigate(at(date(2026, 6, 4), 11), at(date(2026, 6, 4), 12)),
        scheduled(at(date(2026, 6, 20)), "initial"),
        held("not_register", at(date(2026, 7, 2), 14), recorded=at(date(2026, 7, 6), 9)),
    )
    cppm = only(judged(state, at(date(2026, 7, 6), 10)), "initial_cppm")
    assert (cppm.status, cppm.met_at) == ("met", at(date(2026, 7, 2), 14))


def test_the_reconvene_clock_starts_when_the_inquorate_meeting_was_held() -> None:
    # Held Fri 12 Jun, recorded Tue 16 Jun: 10 working days over the Mon 15 Jun holiday
    # (16-19, 22-26 = 9, Mon 29 Jun = 10).
    state = replay(
        CONCERN_2_JUNE,
        investigate(at(date(2026, 6, 4), 11), at(date(2026, 6, 4), 12)),
        scheduled(at(date(2026, 6, 5)), "initial"),
        event(
            "record_inquorate",
            at(date(2026, 6, 16), 9),
            "case_conference",
            held_at=at(date(2026, 6, 12), 10),
            absent_agencies=["health"],
        ),
    )
    again = only(judged(state, at(date(2026, 6, 16), 10)), "inquorate_reconvene")
    assert again.started_at == at(date(2026, 6, 12), 10)
    assert again.due == date(2026, 6, 29)


def test_a_clock_left_open_at_closure_is_judged_when_the_closure_was_decided() -> None:
    # Out-of-hours IRD Fri 1 May 2026; its full IRD is due Tue 5 May (Mon 4 May is May Day).
    # No further action is decided on Tue 5 May and approved on Thu 7 May.
    state = replay(
        Facts(concern_received_at=at(date(2026, 5, 1), 21)),
        event(
            "convene_ird",
            at(date(2026, 5, 1), 23),
            "ird",
            started_at=at(date(2026, 5, 1), 22, 30),
            out_of_hours=True,
        ),
        event(
            "close_no_further_action",
            at(date(2026, 5, 7), 9),
            "closed",
            decided_at=at(date(2026, 5, 5), 15),
        ),
    )
    assert state.closed_at == at(date(2026, 5, 5), 15)
    full = only(judged(state, at(date(2027, 1, 1))), "full_ird")
    # not overdue when decided (only on approval); the closure stops it: nothing is left to do
    assert (full.due, full.status) == (date(2026, 5, 5), "not_required")


#: Every moment v2 records as having happened, by hand: (trigger, field).
HAPPENED = [
    ("screen_out", "decided_at"),
    ("convene_ird", "started_at"),
    ("record_full_ird", "held_at"),
    ("close_no_further_action", "decided_at"),
    ("refer_single_agency", "decided_at"),
    ("start_investigation", "decided_at"),
    ("record_jii", "conducted_at"),
    ("decide_no_case_conference", "decided_at"),
    ("record_inquorate", "held_at"),
    ("register", "held_at"),
    ("register", "parents_informed_in_writing_at"),
    ("not_register", "held_at"),
    ("continue_registration", "held_at"),
    ("deregister", "held_at"),
    ("record_core_group", "held_at"),
    ("notify_transfer", "notified_at"),
    ("transferred_out", "held_at"),
    ("change_lead_professional", "changed_on"),
]


def test_every_moment_that_happened_is_checked_against_now_and_the_concern() -> None:
    declared = [
        (t.name, f.name)
        for t in V2.triggers
        for f in t.fields
        if f.not_future and f.not_before_concern
    ]
    assert sorted(declared) == sorted(HAPPENED)


def _moment(trigger: str, name: str, delta: timedelta) -> str:
    field = next(f for f in V2.trigger(trigger).fields if f.name == name)
    if field.type is FieldType.DATE:
        return (NOW + delta).date().isoformat()
    return iso(delta)


@pytest.mark.parametrize(("trigger", "name"), HAPPENED)
def test_a_moment_that_happened_is_not_in_the_future(trigger: str, name: str) -> None:
    state = V2.trigger(trigger).sources[-1]
    data = changed(trigger, state, **{name: _moment(trigger, name, timedelta(days=1))})
    with pytest.raises(InvalidData) as bad:
        fire(trigger, state, data)
    assert list(bad.value.errors) == [name]
    assert "future" in bad.value.errors[name][0]


@pytest.mark.parametrize(("trigger", "name"), HAPPENED)
def test_a_moment_that_happened_is_not_before_the_concern(trigger: str, name: str) -> None:
    state = V2.trigger(trigger).sources[-1]
    before = CONCERN_AT - NOW - timedelta(days=1)
    data = changed(trigger, state, **{name: _moment(trigger, name, before)})
    with pytest.raises(DataConflict) as conflict:
        fire(trigger, state, data)
    assert list(conflict.value.errors) == [name]
    assert "before the concern" in conflict.value.errors[name][0]


# -- correction 4: pre-birth ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "edd", "due", "flags"),
    [
        # 28 weeks is EDD 1 Nov - 84 days = Sun 9 Aug; concern + 28 = Mon 29 Jun: the earlier.
        (date(2026, 6, 1), date(2026, 11, 1), date(2026, 6, 29), ()),
        # EDD Tue 15 Sep - 84 days (12 weeks) = Tue 23 Jun: earlier than 29 Jun.
        (date(2026, 6, 1), date(2026, 9, 15), date(2026, 6, 23), ()),
        # Notified on Tue 1 Sep, after 28 weeks (9 Aug): concern + 28 = Tue 29 Sep, flagged.
        (date(2026, 9, 1), date(2026, 11, 1), date(2026, 9, 29), ("late_notification",)),
    ],
)
def test_an_unborn_childs_initial_cppm_starts_at_the_concern(
    received: date, edd: date, due: date, flags: tuple[str, ...]
) -> None:
    facts = Facts(concern_received_at=at(received, 9), expected_date_of_delivery=edd)
    found = judged(replay(facts), at(received, 12))
    assert rules_of(found) == ["ird_convened", "initial_cppm"]
    cppm = only(found, "initial_cppm")
    assert (cppm.started_at, cppm.due, cppm.original_due) == (at(received, 9), due, due)
    assert cppm.flags == flags
    assert cppm.status == "pending"


def test_an_unborn_childs_investigation_does_not_restart_the_initial_cppm() -> None:
    facts = Facts(
        concern_received_at=at(date(2026, 6, 1), 9), expected_date_of_delivery=date(2026, 11, 1)
    )
    state = replay(
        facts,
        event("convene_ird", at(date(2026, 6, 2)), "ird", started_at=at(date(2026, 6, 2), 9)),
        investigate(at(date(2026, 6, 10), 11), at(date(2026, 6, 10), 12)),
    )
    cppm = only(judged(state, at(date(2026, 6, 10), 13)), "initial_cppm")
    assert cppm.due == date(2026, 6, 29)  # still from the concern, not 10 Jun + 28


@pytest.mark.parametrize(
    ("unborn", "kind", "allowed"),
    [
        (True, "pre_birth", True),
        (True, "initial", False),
        (False, "initial", True),
        (False, "pre_birth", False),
    ],
)
def test_initial_conferences_are_for_born_children_and_pre_birth_for_unborn(
    unborn: bool, kind: str, allowed: bool
) -> None:
    subject = subject_for("schedule_case_conference", "investigation", unborn=unborn)
    data = changed("schedule_case_conference", "investigation", conference_type=kind)
    if allowed:
        assert fire(
            "schedule_case_conference", "investigation", data, subject=subject
        ).to_state == ("case_conference")
        return
    with pytest.raises(DataConflict) as conflict:
        fire("schedule_case_conference", "investigation", data, subject=subject)
    assert list(conflict.value.errors) == ["conference_type"]
    assert ("unborn" if kind == "pre_birth" else "pre_birth") in conflict.value.errors[
        "conference_type"
    ][0]


def test_a_pre_birth_registration_is_reviewed_within_3_months_then_every_6() -> None:
    facts = Facts(
        concern_received_at=at(date(2026, 6, 1), 9), expected_date_of_delivery=date(2026, 11, 1)
    )
    state = replay(
        facts,
        event("convene_ird", at(date(2026, 6, 2)), "ird", started_at=at(date(2026, 6, 2), 9)),
        investigate(at(date(2026, 6, 3), 11), at(date(2026, 6, 3), 12)),
        scheduled(at(date(2026, 6, 10)), "pre_birth"),
        held("register", at(date(2026, 6, 26), 11)),  # Fri 26 Jun
    )
    found = judged(state, at(date(2026, 6, 27)))
    assert only(found, "initial_cppm").status == "met"
    assert only(found, "review_cppm").due == date(2026, 9, 26)  # 3 months, not 6
    state = advance(V2, state, scheduled(at(date(2026, 9, 1)), "review"), facts)
    state = advance(V2, state, held("continue_registration", at(date(2026, 9, 24), 11)), facts)
    reviews = [s for s in judged(state, at(date(2026, 9, 25))) if s.rule == "review_cppm"]
    assert [(r.due, r.status) for r in reviews] == [
        (date(2026, 9, 26), "met"),
        (date(2027, 3, 24), "pending"),  # a review conference's decision: 6 months
    ]


# -- correction 5: history is not rewritten -------------------------------------------------------


def test_clocks_keep_the_due_dates_of_the_facts_they_started_with() -> None:
    # Recorded with EDD 15 Sep 2026: due 23 Jun (EDD - 84 days, before concern + 28).
    then = Facts(
        concern_received_at=at(date(2026, 6, 1), 9), expected_date_of_delivery=date(2026, 9, 15)
    )
    corrected = replace(then, expected_date_of_delivery=date(2026, 10, 20))
    born = replace(then, expected_date_of_delivery=None)
    state = replay(
        then,
        (
            event("convene_ird", at(date(2026, 6, 2)), "ird", started_at=at(date(2026, 6, 2), 9)),
            corrected,
        ),
        (investigate(at(date(2026, 6, 5), 11), at(date(2026, 6, 5), 12)), corrected),
        (scheduled(at(date(2026, 6, 8)), "pre_birth"), born),
        (held("register", at(date(2026, 6, 22), 11)), born),
    )
    found = judged(state, at(date(2027, 1, 5)))
    cppm = only(found, "initial_cppm")
    assert (cppm.due, cppm.status) == (date(2026, 6, 23), "met")
    assert only(found, "review_cppm").due == date(2026, 9, 22)
    # what the corrected facts would have said had they stood from the start
    assert only(judged(replay(corrected), at(date(2026, 6, 2))), "initial_cppm").due == date(
        2026, 6, 29
    )
    assert "initial_cppm" not in rules_of(judged(replay(born), at(date(2026, 6, 2))))


def test_the_stored_clocks_read_back_as_they_were_written() -> None:
    state = replay(
        Facts(
            concern_received_at=at(date(2026, 9, 1), 9), expected_date_of_delivery=date(2026, 11, 1)
        ),
        scheduled(at(date(2026, 9, 2)), "pre_birth"),
    )
    stored = json.loads(json.dumps(state.to_json()))
    again = Clocks.from_json(stored)
    now = at(date(2026, 9, 30))
    assert judged(again, now) == judged(state, now)
    assert only(judged(again, now), "initial_cppm").flags == ("late_notification",)
    assert V2.recompute_on_correction is False


def test_advance_leaves_the_state_it_was_given_as_it_was() -> None:
    before = replay(CONCERN_2_JUNE)
    snapshot = before.to_json()
    after = advance(
        V2,
        before,
        event("convene_ird", at(date(2026, 6, 2), 11), "ird", started_at=at(date(2026, 6, 2), 10)),
        CONCERN_2_JUNE,
    )
    assert before.to_json() == snapshot
    assert after.clocks[0].met_at == at(date(2026, 6, 2), 10)


# -- correction 6: screening out ----------------------------------------------------------------


def test_screen_out_closes_with_screened_out_after_a_supervisors_approval() -> None:
    with pytest.raises(ApprovalRequired) as pending:
        fire("screen_out", "concern", approved=False)
    assert (pending.value.role, pending.value.agency) == ("supervisor", "social_work")
    outcome = fire("screen_out", "concern")
    assert (outcome.to_state, outcome.closure_reason) == ("closed", "screened_out")
    assert "screened_out" in V2.closure_reasons
    assert [f.name for f in V2.trigger("screen_out").fields] == [
        "decided_at",
        "decision_rationale",
        "advice_or_support",
        "named_person_informed",
    ]


@pytest.mark.parametrize("edd", [None, date(2026, 11, 1)])
def test_a_screened_out_concern_needs_no_ird(edd: date | None) -> None:
    # Screened out on Fri 5 Jun, after the IRD fell due (Wed 3 Jun), approved on Mon 8 Jun.
    facts = Facts(concern_received_at=at(date(2026, 6, 2), 9), expected_date_of_delivery=edd)
    state = replay(
        facts,
        event("screen_out", at(date(2026, 6, 8), 9), "closed", decided_at=at(date(2026, 6, 5), 15)),
    )
    found = judged(state, at(date(2027, 1, 1)))
    assert [(s.rule, s.status, s.met_at) for s in found] == [
        (rule, "not_required", None) for rule in rules_of(found)
    ]
    assert rules_of(found) == (
        ["ird_convened"] if edd is None else ["ird_convened", "initial_cppm"]
    )


# -- correction 7: no conference is an inter-agency decision ------------------------------------


@pytest.mark.parametrize(
    ("changes", "path", "fragment"),
    [
        ({"decided_at": None}, "decided_at", "required"),
        ({"agencies_agreed": None}, "agencies_agreed", "required"),
        ({"agencies_agreed": ["police", "social_work"]}, "agencies_agreed", "must include health"),
        ({"childs_views": None}, "childs_views", "child's views"),
        (
            {"childs_views_not_obtained_reason": "Too young"},
            "childs_views_not_obtained_reason",
            "not both",
        ),
        ({"decision_rationale": None}, "decision_rationale", "required"),
        ({"support_plan": None}, "support_plan", "required"),
    ],
)
def test_deciding_against_a_conference_needs_the_whole_inter_agency_decision(
    changes: dict[str, Any], path: str, fragment: str
) -> None:
    data = changed("decide_no_case_conference", **changes)
    with pytest.raises(InvalidData) as bad:
        fire("decide_no_case_conference", "investigation", data)
    assert list(bad.value.errors) == [path]
    assert fragment in bad.value.errors[path][0]


def test_deciding_against_a_conference_makes_the_initial_cppm_not_required_never_met() -> None:
    state = replay(
        CONCERN_2_JUNE,
        investigate(at(date(2026, 6, 4), 11), at(date(2026, 6, 4), 12)),
        event(
            "decide_no_case_conference",
            at(date(2026, 6, 22), 9),
            "closed",
            decided_at=at(date(2026, 6, 19), 15),
        ),
    )
    assert current_due(state, "initial_cppm") is None
    cppm = only(judged(state, at(date(2027, 1, 1))), "initial_cppm")
    assert (cppm.status, cppm.met_at, cppm.overdue) == ("not_required", None, False)
    rule = next(r for r in V2.timescales if r.name == "initial_cppm")
    assert "decide_no_case_conference" not in rule.met_by
    assert "decide_no_case_conference" in rule.not_required_by


# -- correction 8: IRD timing --------------------------------------------------------------------


def test_the_ird_timescale_is_local_practice_with_its_setting() -> None:
    doc = json.loads(json.dumps(V2.to_json()))
    rules = {r["name"]: r for r in doc["timescales"]}
    assert rules["ird_convened"]["basis"] == "local practice"
    assert rules["ird_convened"]["period"] == {"amount": 1, "unit": "working_days"}
    assert doc["settings"]["ird_convened_working_days"]["value"] == 1
    assert doc["settings"]["ird_convened_working_days"]["basis"] == "local practice"
    assert rules["initial_cppm"]["basis"] == "national"
    assert doc["settings"]["quorum"]["value"] == ["police", "health", "social_work"]


# An out-of-hours IRD on Fri 1 May 2026 at 22:30: Mon 4 May is May Day, so due Tue 5 May.
OUT_OF_HOURS = at(date(2026, 5, 1), 22, 30)
MAY_CONCERN = Facts(concern_received_at=at(date(2026, 5, 1), 21))


def _convened(out_of_hours: bool | None) -> HistoryEvent:
    data: dict[str, Any] = {"started_at": OUT_OF_HOURS}
    if out_of_hours is not None:
        data["out_of_hours"] = out_of_hours
    return event("convene_ird", OUT_OF_HOURS + timedelta(minutes=30), "ird", **data)


@pytest.mark.parametrize(
    ("full_ird_held", "status"),
    [(date(2026, 5, 5), "met"), (date(2026, 5, 6), "met_late"), (None, "overdue")],
)
def test_an_out_of_hours_ird_is_followed_by_a_full_ird_by_the_next_working_day(
    full_ird_held: date | None, status: str
) -> None:
    history = [_convened(True)]
    if full_ird_held is not None:
        history.append(
            event(
                "record_full_ird",
                at(full_ird_held, 17),
                "ird",
                held_at=at(full_ird_held, 10),
                participants=ATTENDEES,
            )
        )
    found = judged(replay(MAY_CONCERN, *history), at(date(2026, 5, 6), 12))
    assert only(found, "ird_convened").status == "met"
    full = only(found, "full_ird")
    assert (full.started_at, full.due, full.status) == (OUT_OF_HOURS, date(2026, 5, 5), status)


@pytest.mark.parametrize("out_of_hours", [False, None])
def test_an_ird_in_hours_has_no_full_ird_clock(out_of_hours: bool | None) -> None:
    found = judged(replay(MAY_CONCERN, _convened(out_of_hours)), at(date(2026, 5, 6)))
    assert rules_of(found) == ["ird_convened"]


def test_the_full_ird_is_attended_by_every_core_agency() -> None:
    two_police = [ATTENDEES[0], {**ATTENDEES[0], "name": "PC Bell"}, ATTENDEES[2]]
    with pytest.raises(InvalidData) as bad:
        fire("record_full_ird", "ird", changed("record_full_ird", participants=two_police))
    assert list(bad.value.errors) == ["participants"]
    assert "missing health" in bad.value.errors["participants"][0]
    with pytest.raises(InvalidData) as few:
        fire("record_full_ird", "ird", changed("record_full_ird", participants=ATTENDEES[:2]))
    assert "at least 3" in few.value.errors["participants"][0]
    assert fire("record_full_ird", "ird").to_state == "ird"


# -- correction 9: what happens must be recordable ------------------------------------------------


@pytest.mark.parametrize("again", [False, True])
def test_a_second_inquorate_meeting_in_a_row_is_recorded_and_flagged(again: bool) -> None:
    subject = subject_for("record_inquorate", "case_conference", last_meeting_inquorate=again)
    outcome = fire("record_inquorate", "case_conference", subject=subject)
    assert outcome.to_state == "case_conference"
    assert outcome.flags.get("repeat_inquorate") is (True if again else None)


@pytest.mark.parametrize("state", ["investigation", "jii", "case_conference"])
def test_the_initial_cppm_can_be_extended_wherever_it_is_still_to_be_held(state: str) -> None:
    with pytest.raises(ApprovalRequired) as pending:
        fire("extend_timescale", state, approved=False)
    assert pending.value.role == "senior_manager"
    assert fire("extend_timescale", state).to_state == state
    not_running = subject_for("extend_timescale", state, initial_cppm_due=None)
    actor = FIRER["extend_timescale"]
    assert actor is not None
    assert "extend_timescale" not in ENGINE.allowed_triggers(not_running, actor)
    with pytest.raises(TriggerNotAllowed, match="nothing to extend"):
        fire("extend_timescale", state, subject=not_running)


@pytest.mark.parametrize(("days_to_due", "allowed"), [(0, True), (-1, False)])
def test_an_overdue_initial_cppm_cannot_be_extended(days_to_due: int, allowed: bool) -> None:
    """An exception to the 28 days is agreed while they run (NG2021 3.38; correction 9: while
    the timescale is pending): on its due date it may be, the day after it may not, so the
    breach stays on the record."""
    due = (NOW + timedelta(days=days_to_due)).date()
    subject = subject_for(
        "extend_timescale", "investigation", initial_cppm_due=due, today=NOW.date()
    )
    actor = FIRER["extend_timescale"]
    assert actor is not None
    assert ("extend_timescale" in ENGINE.allowed_triggers(subject, actor)) is allowed
    data = changed("extend_timescale", new_due_date=(due + timedelta(days=14)).isoformat())
    if allowed:
        assert fire("extend_timescale", "investigation", data, subject=subject)
    else:
        with pytest.raises(TriggerNotAllowed, match="already overdue"):
            fire("extend_timescale", "investigation", data, subject=subject)


def test_an_extension_must_be_later_than_the_current_due_date() -> None:
    subject = subject_for("extend_timescale", "case_conference")
    assert subject.initial_cppm_due is not None
    same_day = changed("extend_timescale", new_due_date=subject.initial_cppm_due.isoformat())
    with pytest.raises(DataConflict) as conflict:
        fire("extend_timescale", "case_conference", same_day, subject=subject)
    assert list(conflict.value.errors) == ["new_due_date"]


# -- correction 10: vocabularies ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcomes", "path", "fragment"),
    [
        (None, "outcomes", "required"),
        ([], "outcomes", "at least 1"),
        (["prison"], "outcomes.0", "one of"),
        (["case_conference", "case_conference"], "outcomes", "repeat"),
        ("case_conference", "outcomes", "must be a list"),
    ],
)
def test_the_jii_records_a_non_empty_list_of_outcomes(
    outcomes: Any, path: str, fragment: str
) -> None:
    with pytest.raises(InvalidData) as bad:
        fire("record_jii", "jii", changed("record_jii", outcomes=outcomes))
    assert list(bad.value.errors) == [path]
    assert fragment in bad.value.errors[path][0]


def test_the_jii_outcomes_are_all_kept_and_the_v1_field_is_not_taken() -> None:
    outcome = fire("record_jii", "jii")
    assert outcome.data["outcomes"] == ["further_police_investigation", "case_conference"]
    with pytest.raises(InvalidData) as bad:
        fire("record_jii", "jii", {**VALID["record_jii"], "outcome": "case_conference"})
    assert bad.value.errors == {"outcome": ["is not a field of this record"]}


@pytest.mark.parametrize(
    "reason",
    ["risk_reduced", "child_died", "child_reached_age_limit", "child_left_scotland", "other"],
)
def test_a_deregistration_reason_is_coded_with_an_optional_note(reason: str) -> None:
    with_note = fire(
        "deregister", "case_conference", changed("deregister", deregistration_reason=reason)
    )
    assert (with_note.data["deregistration_reason"], with_note.closure_reason) == (
        reason,
        "deregistered",
    )
    without = fire(
        "deregister",
        "case_conference",
        changed("deregister", deregistration_reason=reason, note=None),
    )
    assert "note" not in without.data


def test_a_free_text_deregistration_reason_is_refused() -> None:
    data = changed("deregister", deregistration_reason="Risk reduced.")
    with pytest.raises(InvalidData) as bad:
        fire("deregister", "case_conference", data)
    assert list(bad.value.errors) == ["deregistration_reason"]
    assert "risk_reduced" in bad.value.errors["deregistration_reason"][0]


@pytest.mark.parametrize("absent", ["police", "health", "social_work"])
def test_only_a_quorate_review_deregisters(absent: str) -> None:
    attendees = [a for a in ATTENDEES if a["agency"] != absent]
    attendees.append({"agency": "education", "name": "T Ng", "role": "head teacher"})
    with pytest.raises(InvalidData) as bad:
        fire("deregister", "case_conference", changed("deregister", attendees=attendees))
    assert list(bad.value.errors) == ["attendees"]
    assert absent.replace("_", " ") in bad.value.errors["attendees"][0]


def test_no_further_action_after_a_jii_stands_alone() -> None:
    both = changed("record_jii", outcomes=["no_further_action", "case_conference"])
    with pytest.raises(InvalidData) as bad:
        fire("record_jii", "jii", both)
    assert list(bad.value.errors) == ["outcomes"]
    assert "cannot go with another outcome" in bad.value.errors["outcomes"][0]
    alone = changed("record_jii", outcomes=["no_further_action"])
    assert fire("record_jii", "jii", alone).data["outcomes"] == ["no_further_action"]


WITHOUT_POLICE = [a for a in ATTENDEES if a["agency"] != "police"]


@pytest.mark.parametrize("trigger", ["register", "not_register", "continue_registration"])
def test_a_decision_without_the_quorum_needs_the_chairs_reason(trigger: str) -> None:
    """An inquorate CPPM should not ordinarily decide (Highland 'Quorate'): recording its
    decision needs the chair's reason for going ahead, and only then is one given."""
    with pytest.raises(InvalidData) as bad:
        fire(trigger, "case_conference", changed(trigger, attendees=WITHOUT_POLICE))
    assert list(bad.value.errors) == ["attendees"]
    assert "quorum did not attend (missing police)" in bad.value.errors["attendees"][0]

    why = "The child's safety could not wait; police sent a report."
    data = changed(trigger, attendees=WITHOUT_POLICE, inquorate_reason=why)
    assert fire(trigger, "case_conference", data).data["inquorate_reason"] == why

    with pytest.raises(InvalidData) as bad:
        fire(trigger, "case_conference", changed(trigger, inquorate_reason=why))
    assert list(bad.value.errors) == ["inquorate_reason"]
    assert "the quorum attended" in bad.value.errors["inquorate_reason"][0]


def test_a_reason_does_not_let_an_inquorate_review_deregister() -> None:
    data = changed("deregister", attendees=WITHOUT_POLICE)
    data["inquorate_reason"] = "We went ahead."
    with pytest.raises(InvalidData) as bad:
        fire("deregister", "case_conference", data)
    assert "inquorate_reason" in bad.value.errors  # not a field of deregister
    assert "missing police" in bad.value.errors["attendees"][0]


# -- record contents added in v2 ------------------------------------------------------------------


@pytest.mark.parametrize("trigger", ["register", "continue_registration"])
def test_the_child_protection_plan_is_kept_with_its_outcomes_and_actions(trigger: str) -> None:
    outcome = fire(trigger, "case_conference")
    plan = outcome.data["plan"]
    action = plan["outcomes"][0]["actions"][0]
    assert action["who"] == {"agency": "health", "name": "HV Lee"}
    assert action["by"] == (NOW + timedelta(days=30)).date().isoformat()
    assert plan["contingency_plan"].startswith("If attendance falls")
    assert "plan" not in fire(trigger, "case_conference", changed(trigger, plan=None)).data


def _plan(**changes: Any) -> dict[str, Any]:
    plan: dict[str, Any] = json.loads(json.dumps(VALID["register"]["plan"]))
    action = plan["outcomes"][0]["actions"][0]
    for key, value in changes.items():
        if key in ("outcomes", "contingency_plan"):
            target: dict[str, Any] = plan
        else:
            target = action
        if value is None:
            target.pop(key)
        else:
            target[key] = value
    return plan


@pytest.mark.parametrize(
    ("plan", "path", "fragment"),
    [
        (_plan(contingency_plan=None), "plan.contingency_plan", "required"),
        (_plan(outcomes=[]), "plan.outcomes", "at least 1"),
        (_plan(what=None), "plan.outcomes.0.actions.0.what", "required"),
        (
            _plan(who={"agency": "fbi", "name": "X"}),
            "plan.outcomes.0.actions.0.who.agency",
            "one of",
        ),
        (_plan(who={"agency": "health"}), "plan.outcomes.0.actions.0.who.name", "required"),
        (_plan(by="2030-01-01"), "plan.outcomes.0.actions.0.by", "must not be after"),
        (_plan(by="next week"), "plan.outcomes.0.actions.0.by", "YYYY-MM-DD"),
        (
            {"outcomes": [{"outcome": "Safe at home", "actions": []}], "contingency_plan": "x"},
            "plan.outcomes.0.actions",
            "at least 1",
        ),
    ],
)
def test_a_plan_names_what_who_and_by_when(plan: dict[str, Any], path: str, fragment: str) -> None:
    with pytest.raises(InvalidData) as bad:
        fire("register", "case_conference", changed("register", plan=plan))
    assert list(bad.value.errors) == [path]
    assert fragment in bad.value.errors[path][0]


def test_a_core_group_records_progress_and_the_childs_views() -> None:
    outcome = fire("record_core_group", "registered")
    assert [p["status"] for p in outcome.data["progress"]] == ["in_progress", "done"]
    assert outcome.data["childs_views"] == "Likes the breakfast club."
    assert "refer_to_chair_by" not in outcome.flags
    bad_progress = [{"action": "Weekly visit", "status": "sort_of"}]
    with pytest.raises(InvalidData) as bad:
        fire("record_core_group", "registered", changed("record_core_group", progress=bad_progress))
    assert list(bad.value.errors) == ["progress.0.status"]


@pytest.mark.parametrize(
    ("held_at", "chair_by"),
    [
        ("2026-03-09T14:00:00+00:00", "2026-03-12"),
        # 23:30 UTC on Sun 8 Mar is still Sunday in London (GMT): by Wed 11 Mar
        ("2026-03-08T23:30:00+00:00", "2026-03-11"),
    ],
)
def test_a_significant_change_goes_to_the_chair_within_3_days(held_at: str, chair_by: str) -> None:
    data = changed("record_core_group", held_at=held_at, significant_change=True)
    outcome = fire("record_core_group", "registered", data)
    assert outcome.flags == {"refer_to_chair_by": chair_by}


def test_the_chair_date_counts_from_the_day_the_meeting_was_held_in_scotland() -> None:
    # 23:30 UTC on Tue 2 Jun 2026 is 00:30 BST on Wed 3 Jun: the chair is told by Sat 6 Jun.
    held_at = "2026-06-02T23:30:00+00:00"
    ctx = replace(CTX_V2, now=datetime(2026, 6, 4, 9, 0, tzinfo=LONDON), concern_received_at=None)
    data = changed("record_core_group", held_at=held_at, significant_change=True)
    outcome = fire("record_core_group", "registered", data, ctx=ctx)
    assert outcome.flags == {"refer_to_chair_by": "2026-06-06"}


@pytest.mark.parametrize(
    "trigger", ["register", "not_register", "continue_registration", "deregister"]
)
def test_every_cppm_records_the_child_and_the_parents_part(trigger: str) -> None:
    outcome = fire(trigger, "case_conference")
    for name, value in {
        "child_attended": False,
        "views_given": "through_an_advocate",
        "advocacy_offered": True,
        "parents_invited": True,
        "parents_attended": True,
    }.items():
        assert outcome.data[name] == value
    with pytest.raises(InvalidData) as bad:
        fire(
            trigger,
            "case_conference",
            changed(trigger, views_given="telepathy", parents_invited="yes"),
        )
    assert sorted(bad.value.errors) == ["parents_invited", "views_given"]
    minimal = changed(
        trigger,
        child_attended=None,
        views_given=None,
        advocacy_offered=None,
        parents_invited=None,
        parents_attended=None,
    )
    assert (
        fire(trigger, "case_conference", minimal).to_state
        == DESTINATIONS[trigger]["case_conference"]
    )


def test_an_investigation_may_say_whether_the_named_person_was_told() -> None:
    told = fire("start_investigation", "ird")
    assert told.data["named_person_informed"] is True
    unsaid = fire(
        "start_investigation", "ird", changed("start_investigation", named_person_informed=None)
    )
    assert "named_person_informed" not in unsaid.data


def test_register_records_when_the_parents_were_told_in_writing() -> None:
    outcome = fire("register", "case_conference")
    assert (
        outcome.data["parents_informed_in_writing_at"]
        == VALID["register"]["parents_informed_in_writing_at"]
    )
    bad = changed("register", parents_informed_in_writing_at="2026-03-10")
    with pytest.raises(InvalidData) as refused:
        fire("register", "case_conference", bad)
    assert "date and time" in refused.value.errors["parents_informed_in_writing_at"][0]


@pytest.mark.parametrize(
    ("changes", "path", "fragment"),
    [
        ({"lead_professional": "pc.morgan"}, "lead_professional", "social work"),
        ({"lead_professional": "nobody"}, "lead_professional", "working in this area"),
        ({"lead_professional": None}, "lead_professional", "required"),
        ({"changed_on": "10/03/2026"}, "changed_on", "YYYY-MM-DD"),
        ({"changed_on": None}, "changed_on", "required"),
        ({"reason": "  "}, "reason", "blank"),
    ],
)
def test_a_change_of_lead_professional_is_dated_and_reasoned(
    changes: dict[str, Any], path: str, fragment: str
) -> None:
    with pytest.raises(InvalidData) as bad:
        fire(
            "change_lead_professional", "registered", changed("change_lead_professional", **changes)
        )
    assert list(bad.value.errors) == [path]
    assert fragment in bad.value.errors[path][0]


@pytest.mark.parametrize(
    ("changes", "path", "fragment"),
    [
        ({"occurred_on": "2026-03-11"}, "occurred_on", "future"),
        ({"occurred_on": "1990-01-01"}, "occurred_on", "must not be before"),
        ({"source_agency": "fbi"}, "source_agency", "one of"),
        ({"what_happened": None}, "what_happened", "required"),
        ({"what_happened": "x" * 4001}, "what_happened", "at most 4000"),
    ],
)
def test_a_chronology_entry_is_validated(changes: dict[str, Any], path: str, fragment: str) -> None:
    with pytest.raises(InvalidData) as bad:
        fire("add_chronology_entry", "ird", changed("add_chronology_entry", **changes))
    assert list(bad.value.errors) == [path]
    assert fragment in bad.value.errors[path][0]


def test_a_chronology_entry_may_predate_the_concern_and_leave_out_the_optional_parts() -> None:
    data = changed("add_chronology_entry", significance=None, action=None)
    outcome = fire("add_chronology_entry", "registered", data)
    assert outcome.data["occurred_on"] < CONCERN_AT.date().isoformat()
    assert outcome.to_state == "registered"


def test_the_v2_new_referral_form_takes_people_siblings_transfers_and_equalities() -> None:
    cleaned = ENGINE.validate_new_referral(NEW_REFERRAL, CTX_V2)
    assert cleaned["named_person"] == NEW_REFERRAL["named_person"]
    assert cleaned["related_referrals"] == NEW_REFERRAL["related_referrals"]
    assert cleaned["transfer_from"] == NEW_REFERRAL["transfer_from"]
    assert {k: cleaned["child"][k] for k in ("ethnicity", "disability", "religion")} == {
        "ethnicity": "white_scottish",
        "disability": "not_known",
        "religion": "declined",
    }
    assert cleaned["concern"]["childs_views"].startswith("Said she")
    bare = {k: NEW_REFERRAL[k] for k in ("area", "child", "concern")}
    assert set(ENGINE.validate_new_referral(bare, CTX_V2)) == {"area", "child", "concern"}
    # version 1 knows none of these
    with pytest.raises(InvalidData) as v1_refusal:
        workflow.engine("scotland", 1).validate_new_referral(NEW_REFERRAL, CTX_V2)
    assert {"named_person", "related_referrals", "transfer_from", "child.ethnicity"} <= set(
        v1_refusal.value.errors
    )


@pytest.mark.parametrize(
    ("changes", "path", "fragment"),
    [
        ({"child": {"ethnicity": "martian"}}, "child.ethnicity", "one of"),
        ({"child": {"disability": "maybe"}}, "child.disability", "one of"),
        ({"child": {"religion": "jedi"}}, "child.religion", "one of"),
        ({"named_person": {"name": "Mrs Hill"}}, "named_person.service", "required"),
        ({"related_referrals": ["WD-2026-00001"]}, "related_referrals.0", "id of a referral"),
        ({"related_referrals": ["ab" * 16, "ab" * 16]}, "related_referrals", "same referral"),
        ({"transfer_from": "WD-2026-00001"}, "transfer_from", "id of a referral"),
    ],
)
def test_the_v2_new_referral_form_refuses_bad_values(
    changes: dict[str, Any], path: str, fragment: str
) -> None:
    data = json.loads(json.dumps(NEW_REFERRAL))
    for key, value in changes.items():
        if key == "child":
            data["child"].update(value)
        else:
            data[key] = value
    with pytest.raises(InvalidData) as bad:
        ENGINE.validate_new_referral(data, CTX_V2)
    assert list(bad.value.errors) == [path]
    assert fragment in bad.value.errors[path][0]


# -- a domain expert's scenarios, computed by hand -----------------------------------------------


def test_a_child_investigated_extended_and_registered() -> None:
    facts = CONCERN_2_JUNE  # Tue 2 Jun 2026, 09:30
    history = [
        event("convene_ird", at(date(2026, 6, 2), 16), "ird", started_at=at(date(2026, 6, 2), 14)),
        # decided Thu 4 Jun, recorded Mon 8 Jun: due Thu 2 Jul (4 Jun + 28 days)
        investigate(at(date(2026, 6, 4), 11), at(date(2026, 6, 8), 16)),
        # a senior manager approves an extension to Thu 16 Jul on Mon 29 Jun
        event(
            "extend_timescale",
            at(date(2026, 6, 29), 12),
            "investigation",
            new_due_date=date(2026, 7, 16),
            reason="Awaiting the paediatric report",
            interim_safety_plan_confirmed=True,
        ),
        scheduled(at(date(2026, 7, 1)), "initial"),
        # held Wed 15 Jul, recorded Thu 16 Jul
        held("register", at(date(2026, 7, 15), 11), recorded=at(date(2026, 7, 16), 9)),
    ]
    pending = judged(replay(facts, *history[:2]), at(date(2026, 6, 8), 17))
    assert only(pending, "ird_convened").status == "met"
    assert only(pending, "ird_convened").due == date(2026, 6, 3)
    assert only(pending, "initial_cppm").due == date(2026, 7, 2)
    extended = only(judged(replay(facts, *history[:3]), at(date(2026, 7, 10))), "initial_cppm")
    assert (extended.due, extended.original_due, extended.status) == (
        date(2026, 7, 16),
        date(2026, 7, 2),
        "extended",
    )
    found = judged(replay(facts, *history), at(date(2026, 7, 20)))
    cppm = only(found, "initial_cppm")
    assert (cppm.status, cppm.met_at, cppm.extended) == ("met", at(date(2026, 7, 15), 11), True)
    # 15 working days after Wed 15 Jul, by hand: 16 17 (2), 20-24 (7), 27-31 (12);
    # Mon 3 Aug is the Scottish summer holiday; Tue 4 (13), Wed 5 (14), Thu 6 Aug (15).
    # (The school summer holidays are not public holidays.)
    assert only(found, "first_core_group").due == date(2026, 8, 6)
    assert only(found, "review_cppm").due == date(2027, 1, 15)
    late = judged(replay(facts, *history), at(date(2026, 8, 7), 9))
    assert only(late, "first_core_group").status == "overdue"
    on_time = advance(
        V2,
        replay(facts, *history),
        event(
            "record_core_group",
            at(date(2026, 8, 7), 9),
            "registered",
            held_at=at(date(2026, 8, 6), 14),
        ),
        facts,
    )
    assert only(judged(on_time, at(date(2026, 8, 7), 10)), "first_core_group").status == "met"


def test_an_unborn_child_notified_in_time() -> None:
    # Concern Mon 1 Jun 2026, EDD Sun 1 Nov 2026: 28 weeks' gestation is 9 Aug;
    # concern + 28 days is Mon 29 Jun, the earlier: due 29 Jun.
    found = evaluate(
        V2,
        [
            event(
                "convene_ird", at(date(2026, 6, 2), 9), "ird", started_at=at(date(2026, 6, 1), 15)
            ),
            investigate(at(date(2026, 6, 3), 11), at(date(2026, 6, 3), 12)),
            scheduled(at(date(2026, 6, 10)), "pre_birth"),
            held("register", at(date(2026, 6, 29), 11)),
        ],
        concern_received_at=at(date(2026, 6, 1), 9),
        expected_date_of_delivery=date(2026, 11, 1),
        now=at(date(2026, 7, 1)),
    )
    assert only(found, "ird_convened").due == date(2026, 6, 2)
    cppm = only(found, "initial_cppm")
    assert (cppm.started_at, cppm.due, cppm.status, cppm.flags) == (
        at(date(2026, 6, 1), 9),
        date(2026, 6, 29),
        "met",
        (),
    )
    assert only(found, "review_cppm").due == date(2026, 9, 29)  # 3 months after a pre-birth CPPM


def test_an_unborn_child_notified_late() -> None:
    # Concern Tue 1 Sep 2026, EDD 1 Nov: 28 weeks (9 Aug) has passed: due Tue 29 Sep, flagged.
    found = evaluate(
        V2,
        [],
        concern_received_at=at(date(2026, 9, 1), 9),
        expected_date_of_delivery=date(2026, 11, 1),
        now=at(date(2026, 9, 30), 9),
    )
    cppm = only(found, "initial_cppm")
    assert (cppm.due, cppm.flags, cppm.status) == (
        date(2026, 9, 29),
        ("late_notification",),
        "overdue",
    )


def test_a_child_moving_here_on_another_areas_register() -> None:
    # Moved Mon 1 Jun 2026; recorded here Wed 3 Jun; transfer CPPM due Wed 1 Jul.
    found = evaluate(
        V2,
        [
            scheduled(at(date(2026, 6, 3), 14), "transfer"),
            held("register", at(date(2026, 6, 24), 11)),
        ],
        concern_received_at=at(date(2026, 6, 3), 9),
        expected_date_of_delivery=None,
        now=at(date(2026, 6, 25)),
        transfer_moved_on=MOVED_ON,
    )
    assert rules_of(found) == ["transfer_cppm", "first_core_group", "review_cppm"]
    assert (found[0].due, found[0].status) == (TRANSFER_CPPM_DUE, "met")
    # Wed 24 Jun + 15 working days: 25 26 (2), 29 Jun-3 Jul (7), 6-10 (12), 13 14 15 Jul (15)
    assert found[1].due == date(2026, 7, 15)
    assert found[2].due == date(2026, 12, 24)


# -- version 1 is unchanged ----------------------------------------------------------------------


def test_version_1_keeps_its_own_rules() -> None:
    v1 = workflow.engine("scotland", 1)
    assert v1.definition.trigger("record_inquorate").guards  # still refuses a second inquorate
    assert not V2.trigger("record_inquorate").guards
    assert v1.definition.trigger("extend_timescale").sources == ("investigation",)
    assert "screen_out" not in v1.definition.trigger_names
    assert v1.definition.recompute_on_correction is True
    assert (
        "decide_no_case_conference"
        in next(r for r in v1.definition.timescales if r.name == "initial_cppm").met_by
    )
