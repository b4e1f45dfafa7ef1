"""The working-day calendar of Scotland v2 (correction 11): a pinned `holidays` release."""

from __future__ import annotations

from datetime import date, datetime
from importlib.metadata import version
from zoneinfo import ZoneInfo

import pytest

from workflow.profiles.scotland_v2 import SCOTLAND_V2
from workflow.timescales import Facts, begin, calendar_of, statuses

LONDON = ZoneInfo("Europe/London")
CALENDAR = calendar_of(SCOTLAND_V2)


def test_the_installed_holidays_release_is_the_one_version_2_is_pinned_to() -> None:
    # A different release could move a due date under a running deployment.
    assert version("holidays") == SCOTLAND_V2.holidays_version
    assert SCOTLAND_V2.to_json()["calendar"]["holidays"] == {
        "country": "GB",
        "subdivision": "SCT",
        "library_version": SCOTLAND_V2.holidays_version,
    }


def test_monday_15_june_2026_is_a_scottish_holiday_in_the_pinned_release() -> None:
    # Added for Scotland's FIFA World Cup match; releases before it (e.g. 0.80) did not have it,
    # so this date tells the pinned calendar apart from older ones.
    assert CALENDAR.is_holiday(date(2026, 6, 15))
    assert not CALENDAR.is_working_day(date(2026, 6, 15))
    assert CALENDAR.add_working_days(date(2026, 6, 12), 1) == date(2026, 6, 16)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        pytest.param(date(2026, 4, 3), False, id="good-friday"),
        pytest.param(date(2026, 4, 6), True, id="easter-monday-is-not-a-scottish-holiday"),
        pytest.param(date(2026, 1, 2), False, id="2-january"),
        pytest.param(date(2026, 8, 3), False, id="first-monday-in-august"),
        pytest.param(date(2026, 8, 31), True, id="english-august-holiday-is-worked"),
        pytest.param(date(2026, 11, 30), False, id="st-andrews-day-a-monday"),
        pytest.param(date(2026, 12, 28), False, id="boxing-day-substitute"),
        pytest.param(date(2026, 7, 15), True, id="school-summer-holidays-are-worked"),
    ],
)
def test_scottish_working_days(day: date, working: bool) -> None:
    assert CALENDAR.is_working_day(day) is working


@pytest.mark.parametrize(
    ("received", "due"),
    [
        # Fri 27 Nov; Sat 28, Sun 29; Mon 30 Nov is St Andrew's Day: due Tue 1 Dec.
        pytest.param(
            datetime(2026, 11, 27, 15, 0, tzinfo=LONDON), date(2026, 12, 1), id="st-andrew"
        ),
        # Thu 24 Dec; Fri 25 Christmas; Sat 26 Boxing Day, so Mon 28 is its substitute: Tue 29.
        pytest.param(
            datetime(2026, 12, 24, 15, 0, tzinfo=LONDON), date(2026, 12, 29), id="christmas"
        ),
        # Fri 12 Jun; Mon 15 Jun is the World Cup holiday: due Tue 16 Jun.
        pytest.param(
            datetime(2026, 6, 12, 15, 0, tzinfo=LONDON), date(2026, 6, 16), id="world-cup"
        ),
        # Thu 2 Apr; Fri 3 Apr is Good Friday; Easter Monday 6 Apr is worked in Scotland.
        pytest.param(datetime(2026, 4, 2, 15, 0, tzinfo=LONDON), date(2026, 4, 6), id="easter"),
    ],
)
def test_the_ird_falls_due_at_the_end_of_the_next_scottish_working_day(
    received: datetime, due: date
) -> None:
    clocks = begin(SCOTLAND_V2, Facts(concern_received_at=received))
    (ird,) = [s for s in statuses(SCOTLAND_V2, clocks, received) if s.rule == "ird_convened"]
    assert (ird.due, ird.status) == (due, "pending")
