"""Helpers of the Scotland v2 API tests: local days, working days counted apart, audit verify."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from flask import Flask

LONDON = ZoneInfo("Europe/London")
#: the holidays the tests count working days with, apart from the app's calendar (0.109, pinned)
SCOTTISH_HOLIDAYS = holidays.country_holidays("GB", subdiv="SCT")
PATH = "/api/v1/referrals"


def local_day(moment: str | datetime) -> date:
    """The day a moment fell on in Scotland (due dates are local dates)."""
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return value.astimezone(LONDON).date()


def working_days_after(day: date, count: int) -> date:
    """`count` working days after `day`, counted here one day at a time: the date a test
    relative to today expects, found without the app's own calendar code."""
    while count:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in SCOTTISH_HOLIDAYS:
            count -= 1
    return day


def same_moment(a: str | None, b: str) -> bool:
    """Whether two ISO 8601 moments are the same instant (offsets may be written differently)."""
    return a is not None and datetime.fromisoformat(a) == datetime.fromisoformat(b)


def verify_problems(app: Flask) -> list[Any]:
    """What `referral audit verify` finds in the test's database."""
    from referral.db import session
    from referral.services.audit import verify

    with app.app_context():
        return verify(session())[1]


def read(as_user: Any, username: str, rid: str) -> dict[str, Any]:
    response = as_user(username).get(f"{PATH}/{rid}")
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def clock(referral: dict[str, Any], rule: str) -> dict[str, Any]:
    """The one clock of `rule` the referral shows."""
    [found] = [t for t in referral["timescales"] if t["rule"] == rule]
    return found


def approve(as_user: Any, approval_id: str, by: str = "swsup") -> None:
    decided = as_user(by).post(
        f"/api/v1/approvals/{approval_id}/decision", {"decision": "approve", "comment": "Agreed."}
    )
    assert decided.status_code == 200, decided.get_json()


def events_of(as_user: Any, rid: str, username: str = "sw") -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (
        as_user(username).get(f"{PATH}/{rid}/events?limit=500").get_json()["items"]
    )
    return items
