"""How pages show dates and times: "Tue 5 May 2026", times in the profile's zone (Europe/London)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app

from workflow.fields import Field
from workflow.registry import definition
from workflow.vocabulary import label, reference_vocabularies


def zone() -> ZoneInfo:
    return ZoneInfo(definition(current_app.config["REFERRAL_PROFILE"]).timezone)


def day(value: date | datetime | str | None) -> str:
    """A date as "Tue 5 May 2026" (a datetime on its local date)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(zone()).date()
    return f"{value:%a} {value.day} {value:%b %Y}"


def moment(value: datetime | str | None) -> str:
    """A moment as "Tue 5 May 2026, 14:05" in local time."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    local = value.astimezone(zone())
    return f"{day(local.date())}, {local:%H:%M}"


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _choices(fields: Iterable[Field]) -> Iterable[str]:
    for f in fields:
        yield from f.choices
        yield from _choices(f.item_fields)


@cache
def _codes(profile: str) -> frozenset[str]:
    """Every code a record of `profile` may hold: the vocabularies, the states, the triggers
    and each field's choices."""
    d = definition(profile)
    fields = [f for t in d.triggers for f in t.fields] + list(d.new_referral.fields)
    vocabularies = (code for codes in reference_vocabularies().values() for code in codes)
    return frozenset([*vocabularies, *d.state_names, *d.trigger_names, *_choices(fields)])


def value(item: Any) -> str:
    """A recorded value for reading: yes or no, dates as dates, codes as words, lists joined."""
    if item is None or item == "" or item == []:
        return "Not recorded"
    if isinstance(item, bool):
        return "Yes" if item else "No"
    if isinstance(item, datetime):
        return moment(item)
    if isinstance(item, date):
        return day(item)
    if isinstance(item, str):
        if _ISO_MOMENT.match(item):
            return moment(item)
        if _ISO_DATE.match(item):
            return day(item)
        if item in _codes(current_app.config["REFERRAL_PROFILE"]):
            return label(item)
        return item
    if isinstance(item, list) and all(isinstance(i, str) for i in item):
        return ", ".join(value(i) for i in item)
    return str(item)


def init_app(app: Flask) -> None:
    app.add_template_filter(day, "day")
    app.add_template_filter(moment, "moment")
    app.add_template_filter(label, "label")
    app.add_template_filter(value, "value")
