"""Working days: weekends and public holidays from the maintained `holidays` library."""

from __future__ import annotations

import calendar as _stdlib_calendar
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays


class WorkingCalendar:
    """Counts working days for one jurisdiction (e.g. GB / SCT) in one timezone."""

    def __init__(self, country: str, subdivision: str | None, timezone: str) -> None:
        self.country = country
        self.subdivision = subdivision
        self.zone = ZoneInfo(timezone)
        self._holidays = holidays.country_holidays(country, subdiv=subdivision)

    def is_holiday(self, day: date) -> bool:
        return day in self._holidays

    def holiday_name(self, day: date) -> str | None:
        name = self._holidays.get(day)
        return str(name) if name else None

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and not self.is_holiday(day)

    def add_working_days(self, start: date, days: int) -> date:
        """The date `days` working days after `start` (`start` itself never counts)."""
        current = start
        remaining = days
        while remaining > 0:
            current += timedelta(days=1)
            if self.is_working_day(current):
                remaining -= 1
        return current

    def local_date(self, moment: datetime) -> date:
        """The calendar date of `moment` where the work happens."""
        return moment.astimezone(self.zone).date()


def add_months(day: date, months: int) -> date:
    """Same day of the month `months` later, clipped to the month's end (31 Aug + 6 = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    month = month_index % 12 + 1
    last = _stdlib_calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


@lru_cache(maxsize=16)
def calendar_for(country: str, subdivision: str | None, timezone: str) -> WorkingCalendar:
    return WorkingCalendar(country, subdivision, timezone)
