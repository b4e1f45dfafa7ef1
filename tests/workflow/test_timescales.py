"""Timescales (SPEC section 4): due dates, statuses and instances from a referral's history."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest

from workflow.registry import definition
from workflow.timescales import HistoryEvent, TimescaleStatus, current_due, evaluate

SCOTLAND = definition("scotland", 1)
LONDON = ZoneInfo("Europe/London")
UTC = ZoneInfo("UTC")

CONCERN = datetime(2026, 3, 2, 9, 0, tzinfo=LONDON)  # Monday 2 March 2026
FAR_FUTURE = datetime(2030, 1, 1, 12, 0, tzinfo=LONDON)


# -- a tiny history builder -------------------------------------------------------------------


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """A local (Europe/London) moment on `day`."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


def event(
    trigger: str | None, when: datetime, to_state: str | None = None, **data: Any
) -> HistoryEvent:
    """An event recorded at `when`; dates and datetimes in `data` become ISO strings."""
    cleaned = {k: v.isoformat() if isinstance(v, date) else v for k, v in data.items()}
    return HistoryEvent(trigger=trigger, at=when, data=cleaned, to_state=to_state)


def run(
    *history: HistoryEvent,
    now: datetime = FAR_FUTURE,
    concern: datetime = CONCERN,
    edd: date | None = None,
) -> list[TimescaleStatus]:
    return evaluate(
        SCOTLAND,
        list(history),
        concern_received_at=concern,
        expected_date_of_delivery=edd,
        now=now,
    )


def instances(statuses: list[TimescaleStatus], rule: str) -> list[TimescaleStatus]:
    return [s for s in statuses if s.rule == rule]


def only(statuses: list[TimescaleStatus], rule: str) -> TimescaleStatus:
    found = instances(statuses, rule)
    assert len(found) == 1, found
    return found[0]


def convened(day: date) -> HistoryEvent:
    return event("convene_ird", at(day), to_state="ird", started_at=at(day, 9))


def investigation(day: date) -> HistoryEvent:
    return event("start_investigation", at(day), to_state="investigation")


def scheduled(day: date, conference_type: str) -> HistoryEvent:
    return event(
        "schedule_case_conference",
        at(day),
        to_state="case_conference",
        conference_type=conference_type,
    )


def decision(
    trigger: str, held: date, *, recorded: date | None = None, to_state: str | None = None
) -> HistoryEvent:
    """A conference decision held on `held` (recorded that day, or later on `recorded`)."""
    return event(trigger, at(recorded or held, 17), to_state, held_at=at(held, 11))


# -- ird_convened: end of the next working day ------------------------------------------------


SCOTTISH_2026 = holidays.country_holidays("GB", subdiv="SCT", years=[2026, 2027])


def test_the_expectations_below_rest_on_the_holiday_library() -> None:
    # Scottish bank holidays the cases below step over ...
    for day in (
        date(2026, 5, 4),  # May Day
        date(2026, 5, 25),  # Spring bank holiday
        date(2026, 8, 3),  # Scottish summer bank holiday (first Monday of August)
        date(2026, 12, 25),  # Christmas Day (Friday)
        date(2026, 12, 28),  # Boxing Day observed (Monday)
        date(2027, 1, 1),  # New Year's Day (Friday)
        date(2027, 1, 4),  # 2 January observed (Monday)
    ):
        assert day in SCOTTISH_2026, day
    # ... and the English summer bank holiday, which is not one in Scotland.
    assert date(2026, 8, 31) not in SCOTTISH_2026


@pytest.mark.parametrize(
    ("received", "due"),
    [
        pytest.param(date(2026, 3, 2), date(2026, 3, 3), id="monday-is-due-tuesday"),
        pytest.param(date(2026, 3, 6), date(2026, 3, 9), id="friday-is-due-monday"),
        pytest.param(date(2026, 3, 7), date(2026, 3, 9), id="saturday-is-due-monday"),
        pytest.param(date(2026, 5, 1), date(2026, 5, 5), id="friday-before-may-day"),
        pytest.param(date(2026, 5, 22), date(2026, 5, 26), id="friday-before-spring-holiday"),
        pytest.param(date(2026, 7, 31), date(2026, 8, 4), id="friday-before-scottish-august"),
        pytest.param(date(2026, 8, 28), date(2026, 8, 31), id="english-august-holiday-works"),
        pytest.param(date(2026, 12, 24), date(2026, 12, 29), id="christmas-eve"),
        pytest.param(date(2026, 12, 31), date(2027, 1, 5), id="hogmanay"),
    ],
)
def test_ird_is_due_by_the_end_of_the_next_working_day(received: date, due: date) -> None:
    ird = only(run(concern=at(received, 16)), "ird_convened")
    assert ird.started_at == at(received, 16)
    assert ird.due == due
    assert ird.original_due == due


def test_the_next_working_day_is_counted_from_the_local_date_of_the_concern() -> None:
    # 23:30 UTC on Thursday 21 May is 00:30 BST on Friday 22 May, before the spring holiday.
    concern = datetime(2026, 5, 21, 23, 30, tzinfo=UTC)
    assert only(run(concern=concern), "ird_convened").due == date(2026, 5, 26)


def test_an_unconvened_ird_is_pending_until_the_end_of_the_due_day_then_overdue() -> None:
    # Concern on Monday 2 March: due Tuesday 3 March.
    late_on_due_day = at(date(2026, 3, 3), 23, 59)
    ird = only(run(now=late_on_due_day), "ird_convened")
    assert (ird.status, ird.met_at, ird.overdue) == ("pending", None, False)

    ird = only(run(now=late_on_due_day + timedelta(minutes=2)), "ird_convened")
    assert (ird.status, ird.overdue) == ("overdue", True)


def test_an_ird_convened_by_the_due_day_is_met() -> None:
    ird = only(run(convened(date(2026, 3, 3))), "ird_convened")
    assert ird.status == "met"
    assert ird.met_at == at(date(2026, 3, 3), 9)


def test_an_ird_convened_after_the_due_day_is_met_late_and_stays_so() -> None:
    ird = only(run(convened(date(2026, 3, 4))), "ird_convened")
    assert (ird.status, ird.overdue) == ("met_late", False)


def test_an_ird_is_met_when_it_started_not_when_it_was_recorded() -> None:
    started = at(date(2026, 3, 3), 15)
    recorded_two_days_later = at(date(2026, 3, 5), 9)
    history = event("convene_ird", recorded_two_days_later, to_state="ird", started_at=started)
    ird = only(run(history), "ird_convened")
    assert (ird.status, ird.met_at) == ("met", started)


def test_meeting_is_judged_on_the_local_date() -> None:
    # Due Tuesday 26 May 2026; 23:30 UTC that day is already Wednesday in BST.
    started = datetime(2026, 5, 26, 23, 30, tzinfo=UTC)
    history = event("convene_ird", started, to_state="ird", started_at=started)
    ird = only(run(history, concern=at(date(2026, 5, 22))), "ird_convened")
    assert ird.status == "met_late"


def test_overdue_is_judged_on_the_local_date() -> None:
    # Due Tuesday 26 May 2026; at 23:30 UTC that day it is already Wednesday in BST.
    now = datetime(2026, 5, 26, 23, 30, tzinfo=UTC)
    ird = only(run(concern=at(date(2026, 5, 22)), now=now), "ird_convened")
    assert ird.status == "overdue"


# -- initial_cppm: 28 calendar days, the pre-birth cap, extensions ----------------------------


def test_initial_cppm_is_due_28_calendar_days_after_the_investigation_starts() -> None:
    cppm = only(run(convened(date(2026, 3, 3)), investigation(date(2026, 3, 4))), "initial_cppm")
    assert cppm.started_at == at(date(2026, 3, 4))
    assert cppm.due == date(2026, 4, 1)  # weekends count: these are calendar days
    assert not cppm.extended


def test_initial_cppm_does_not_start_before_an_investigation() -> None:
    assert instances(run(convened(date(2026, 3, 3))), "initial_cppm") == []


@pytest.mark.parametrize(
    ("ending", "status"),
    [
        pytest.param(decision("register", date(2026, 4, 1)), "met", id="registered-on-due-day"),
        pytest.param(
            decision("not_register", date(2026, 4, 1), recorded=date(2026, 4, 3)),
            "met",
            id="held-on-time-recorded-late",
        ),
        pytest.param(decision("register", date(2026, 4, 2)), "met_late", id="registered-late"),
        pytest.param(
            event("decide_no_case_conference", at(date(2026, 3, 20)), to_state="closed"),
            "met",
            id="no-case-conference",
        ),
    ],
)
def test_initial_cppm_is_met_by_a_conference_decision_or_deciding_against_one(
    ending: HistoryEvent, status: str
) -> None:
    history = [convened(date(2026, 3, 3)), investigation(date(2026, 3, 4))]
    if ending.trigger != "decide_no_case_conference":
        history.append(scheduled(date(2026, 3, 10), "initial"))
    cppm = only(run(*history, ending), "initial_cppm")
    assert cppm.status == status
    assert cppm.met_at is not None


def test_initial_cppm_is_overdue_once_its_due_day_has_passed_unmet() -> None:
    history = (convened(date(2026, 3, 3)), investigation(date(2026, 3, 4)))
    assert only(run(*history, now=at(date(2026, 4, 1), 20)), "initial_cppm").status == "pending"
    assert only(run(*history, now=at(date(2026, 4, 2), 8)), "initial_cppm").status == "overdue"


def test_unborn_child_initial_cppm_is_due_by_28_weeks_gestation_when_that_is_earlier() -> None:
    # Expected 1 June 2026: 28 weeks' gestation is 12 weeks earlier, 9 March 2026.
    history = (convened(date(2026, 3, 3)), investigation(date(2026, 3, 4)))
    cppm = only(run(*history, edd=date(2026, 6, 1)), "initial_cppm")
    assert cppm.due == date(2026, 3, 9)
    assert cppm.original_due == date(2026, 3, 9)


def test_unborn_child_initial_cppm_keeps_28_days_when_gestation_is_later() -> None:
    history = (convened(date(2026, 3, 3)), investigation(date(2026, 3, 4)))
    assert only(run(*history, edd=date(2026, 9, 1)), "initial_cppm").due == date(2026, 4, 1)


def _extended_investigation() -> list[HistoryEvent]:
    return [
        convened(date(2026, 3, 3)),
        investigation(date(2026, 3, 4)),  # due 1 April
        event(
            "extend_timescale",
            at(date(2026, 3, 25)),
            to_state="investigation",
            new_due_date=date(2026, 4, 15),
            reason="Awaiting medical report",
            interim_safety_plan_confirmed=True,
        ),
    ]


def test_an_approved_extension_moves_the_due_date_and_reads_extended_while_unmet() -> None:
    cppm = only(run(*_extended_investigation(), now=at(date(2026, 4, 8))), "initial_cppm")
    assert (cppm.due, cppm.original_due) == (date(2026, 4, 15), date(2026, 4, 1))
    assert (cppm.extended, cppm.status) == (True, "extended")


def test_an_extended_cppm_is_met_when_held_by_the_new_date() -> None:
    history = [
        *_extended_investigation(),
        scheduled(date(2026, 4, 2), "initial"),
        decision("register", date(2026, 4, 14)),
    ]
    cppm = only(run(*history), "initial_cppm")
    assert (cppm.status, cppm.extended) == ("met", True)
    assert cppm.original_due == date(2026, 4, 1)


def test_an_extended_cppm_is_overdue_after_the_new_date() -> None:
    cppm = only(run(*_extended_investigation(), now=at(date(2026, 4, 16))), "initial_cppm")
    assert (cppm.status, cppm.extended, cppm.overdue) == ("overdue", True, True)


def test_an_extension_replaces_a_pre_birth_capped_due_date() -> None:
    cppm = only(run(*_extended_investigation(), edd=date(2026, 6, 1)), "initial_cppm")
    assert (cppm.original_due, cppm.due) == (date(2026, 3, 9), date(2026, 4, 15))


# -- first_core_group: 15 working days --------------------------------------------------------


def _registered(held: date, conference_type: str = "initial") -> list[HistoryEvent]:
    return [
        convened(held - timedelta(days=21)),
        investigation(held - timedelta(days=20)),
        scheduled(held - timedelta(days=10), conference_type),
        decision("register", held, to_state="registered"),
    ]


def test_first_core_group_is_due_15_working_days_after_registration() -> None:
    # Registered Friday 24 April 2026; May Day (4 May) does not count: due Monday 18 May.
    group = only(run(*_registered(date(2026, 4, 24))), "first_core_group")
    assert group.started_at == at(date(2026, 4, 24), 11)  # when the conference was held
    assert group.due == date(2026, 5, 18)


@pytest.mark.parametrize(
    ("held", "status"), [(date(2026, 5, 18), "met"), (date(2026, 5, 19), "met_late")]
)
def test_first_core_group_is_met_by_a_core_group_meeting(held: date, status: str) -> None:
    history = [
        *_registered(date(2026, 4, 24)),
        event("record_core_group", at(held, 18), held_at=at(held, 14), significant_change=False),
    ]
    group = only(run(*history), "first_core_group")
    assert (group.status, group.met_at) == (status, at(held, 14))


def test_later_core_groups_do_not_start_or_meet_anything_new() -> None:
    history = [
        *_registered(date(2026, 4, 24)),
        event("record_core_group", at(date(2026, 5, 5)), held_at=at(date(2026, 5, 5))),
        event("record_core_group", at(date(2026, 6, 5)), held_at=at(date(2026, 6, 5))),
    ]
    group = only(run(*history), "first_core_group")
    assert group.met_at == at(date(2026, 5, 5))


# -- review_cppm: 6 months, 3 after pre-birth, a new instance each review ---------------------


def test_review_is_due_6_months_after_registration() -> None:
    review = only(run(*_registered(date(2026, 4, 24))), "review_cppm")
    assert review.due == date(2026, 10, 24)


def test_review_six_months_on_clips_to_the_end_of_a_shorter_month() -> None:
    review = only(run(*_registered(date(2026, 8, 31))), "review_cppm")
    assert review.due == date(2027, 2, 28)


def test_review_is_due_3_months_after_a_pre_birth_registration() -> None:
    review = only(run(*_registered(date(2026, 4, 24), "pre_birth")), "review_cppm")
    assert review.due == date(2026, 7, 24)


def test_continue_registration_meets_the_review_and_starts_the_next_one() -> None:
    history = [
        *_registered(date(2026, 4, 24), "pre_birth"),  # review due 24 July
        scheduled(date(2026, 7, 1), "review"),
        decision("continue_registration", date(2026, 7, 20), to_state="registered"),
        scheduled(date(2027, 1, 4), "review"),
        decision("continue_registration", date(2027, 1, 25), to_state="registered"),
    ]
    first, second, third = instances(run(*history, now=at(date(2027, 2, 1))), "review_cppm")
    assert (first.due, first.status) == (date(2026, 7, 24), "met")
    assert first.met_at == second.started_at == at(date(2026, 7, 20), 11)
    # A review conference is not pre-birth: 6 months again.
    assert (second.due, second.status) == (date(2027, 1, 20), "met_late")
    assert second.met_at == third.started_at
    assert (third.due, third.status, third.met_at) == (date(2027, 7, 25), "pending", None)


def test_deregistration_meets_the_review_and_starts_nothing() -> None:
    history = [
        *_registered(date(2026, 4, 24)),
        scheduled(date(2026, 10, 1), "review"),
        decision("deregister", date(2026, 10, 20), to_state="closed"),
    ]
    review = only(run(*history), "review_cppm")
    assert (review.status, review.met_at) == ("met", at(date(2026, 10, 20), 11))


# -- inquorate_reconvene: 10 working days, met by the next decision ---------------------------


def _inquorate(conference_type: str = "initial") -> list[HistoryEvent]:
    return [
        convened(date(2026, 10, 20)),
        investigation(date(2026, 10, 21)),
        scheduled(date(2026, 11, 2), conference_type),
        event("record_inquorate", at(date(2026, 11, 17)), absent_agencies=["health"]),
    ]


def test_an_inquorate_conference_must_reconvene_within_10_working_days() -> None:
    # Tuesday 17 November 2026; St Andrew's Day (Monday 30 November) does not count.
    reconvene = only(run(*_inquorate(), now=at(date(2026, 11, 20))), "inquorate_reconvene")
    assert reconvene.due == date(2026, 12, 2)
    assert reconvene.status == "pending"


@pytest.mark.parametrize(
    ("trigger", "held", "status"),
    [
        ("register", date(2026, 12, 2), "met"),
        ("not_register", date(2026, 12, 3), "met_late"),
    ],
)
def test_the_next_decision_of_the_conference_meets_the_reconvene(
    trigger: str, held: date, status: str
) -> None:
    statuses = run(*_inquorate(), decision(trigger, held))
    reconvene = only(statuses, "inquorate_reconvene")
    assert (reconvene.status, reconvene.met_at) == (status, at(held, 11))
    assert only(statuses, "initial_cppm").met_at == at(held, 11)


def test_a_review_conference_decision_meets_the_reconvene() -> None:
    history = [
        *_registered(date(2026, 4, 24)),
        scheduled(date(2026, 10, 1), "review"),
        event("record_inquorate", at(date(2026, 10, 13)), absent_agencies=["police"]),
        decision("continue_registration", date(2026, 10, 22)),
    ]
    assert only(run(*history), "inquorate_reconvene").status == "met"


def test_a_second_inquorate_record_does_not_open_a_second_reconvene_while_one_is_open() -> None:
    history = [*_inquorate(), event("record_inquorate", at(date(2026, 11, 24)))]
    assert only(run(*history), "inquorate_reconvene").started_at == at(date(2026, 11, 17))


# -- closure -----------------------------------------------------------------------------------


def _closed_on(day: date) -> list[HistoryEvent]:
    return [
        convened(date(2026, 3, 3)),
        investigation(date(2026, 3, 4)),  # initial CPPM due 1 April
        event("close", at(day), to_state="closed", closure_reason="moved_away"),
    ]


def test_a_rule_left_unmet_at_closure_before_its_due_date_is_not_overdue_forever() -> None:
    cppm = only(run(*_closed_on(date(2026, 3, 20)), now=FAR_FUTURE), "initial_cppm")
    assert (cppm.status, cppm.met_at) == ("pending", None)


def test_a_rule_already_overdue_at_closure_stays_overdue() -> None:
    cppm = only(run(*_closed_on(date(2026, 4, 10)), now=FAR_FUTURE), "initial_cppm")
    assert cppm.status == "overdue"


def test_no_further_action_at_ird_leaves_only_the_ird_timescale() -> None:
    history = [
        convened(date(2026, 3, 3)),
        event("close_no_further_action", at(date(2026, 3, 5)), to_state="closed"),
    ]
    assert [s.rule for s in run(*history)] == ["ird_convened"]


# -- the whole picture -------------------------------------------------------------------------


def test_rules_come_in_definition_order_with_instances_in_start_order() -> None:
    history = [
        *_registered(date(2026, 4, 24)),
        HistoryEvent(trigger=None, at=at(date(2026, 4, 27)), data={"note": "typo"}),  # ignored
        event("record_core_group", at(date(2026, 5, 5)), held_at=at(date(2026, 5, 5))),
        scheduled(date(2026, 10, 1), "review"),
        event("record_inquorate", at(date(2026, 10, 13))),
        decision("continue_registration", date(2026, 10, 22)),
    ]
    statuses = run(*history, concern=at(date(2026, 4, 2)), now=at(date(2026, 11, 1)))
    assert [s.rule for s in statuses] == [
        "ird_convened",
        "initial_cppm",
        "inquorate_reconvene",
        "first_core_group",
        "review_cppm",
        "review_cppm",
    ]
    assert [s.status for s in statuses] == ["met", "met", "met", "met", "met", "pending"]


def test_to_json_speaks_iso() -> None:
    statuses = run(*_extended_investigation(), now=at(date(2026, 4, 8)))
    assert only(statuses, "initial_cppm").to_json() == {
        "rule": "initial_cppm",
        "label": "Initial CPPM",
        "started_at": "2026-03-04T10:00:00+00:00",
        "due": "2026-04-15",
        "original_due": "2026-04-01",
        "met_at": None,
        "status": "extended",
        "extended": True,
        "flags": [],
    }
    assert only(statuses, "ird_convened").to_json()["met_at"] == "2026-03-03T09:00:00+00:00"


def test_current_due_is_the_due_date_of_the_open_instance() -> None:
    open_cppm = run(*_extended_investigation(), now=at(date(2026, 4, 8)))
    assert current_due(open_cppm, "initial_cppm") == date(2026, 4, 15)
    assert current_due(open_cppm, "ird_convened") is None  # met
    assert current_due(open_cppm, "review_cppm") is None  # never started
    assert current_due([], "initial_cppm") is None

    reviewed = run(
        *_registered(date(2026, 4, 24)),
        scheduled(date(2026, 10, 1), "review"),
        decision("continue_registration", date(2026, 10, 22)),
    )
    assert current_due(reviewed, "review_cppm") == date(2027, 4, 22)
