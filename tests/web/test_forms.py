"""Every trigger's form is generated from its field specs and renders (no referral needed)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask, render_template
from markupsafe import escape
from werkzeug.datastructures import MultiDict

from referral.web import forms
from workflow.fields import FieldType
from workflow.registry import definition

LONDON = "Europe/London"
PEOPLE = [forms.Person("sw", "S Reid", "social_work"), forms.Person("pc", "", "police")]
AREAS = [("highland", "Highland")]
TRIGGERS = [
    (d.version, t.name)
    for d in (definition("scotland", 1), definition("scotland", 2))
    for t in d.triggers
]


def _people(agency: str | None) -> list[forms.Person]:
    return [p for p in PEOPLE if agency is None or p.agency == agency]


def _render(app: Flask, built: forms.Built, trigger: Any) -> str:
    class Referral:
        id = "0" * 32
        reference = "WD-2026-00001"
        version = 1
        last_event_seq = 1

    with app.test_request_context("/"):
        return render_template(
            "trigger_form.html",
            referral=Referral(),
            trigger=trigger,
            form=built.form,
            group_errors=built.group_errors,
            version=1,
            seen_seq=1,
            error_list=[],
            problem=None,
            changed=None,
            trigger_labels={},
            approver=None,
        )


@pytest.mark.parametrize(("version", "name"), TRIGGERS)
def test_each_trigger_has_a_form_with_every_field(app: Flask, version: int, name: str) -> None:
    trigger = definition("scotland", version).trigger(name)
    page = _render(app, forms.build(trigger.fields, _people, AREAS), trigger)
    for spec in trigger.fields:
        if spec.is_moment:
            assert f'name="{spec.name}-day"' in page, spec.name
        elif spec.type is FieldType.RECORDS:
            assert f'id="{spec.name}-0"' in page, spec.name
        elif spec.type is not FieldType.RECORD:
            assert f'name="{spec.name}"' in page, spec.name
        assert str(escape(spec.label)) in page, spec.label


def test_a_datetime_is_read_in_uk_time() -> None:
    from zoneinfo import ZoneInfo

    trigger = definition("scotland", 2).trigger("convene_ird")
    typed = MultiDict(
        {
            "started_at-day": "1",
            "started_at-month": "7",
            "started_at-year": "2026",
            "started_at-hour": "9",
            "started_at-minute": "30",
            "out_of_hours": "no",
            "participants-0-agency": "police",
            "participants-0-name": "DS Morgan",
            "participants-0-role": "",
            "participants-1-agency": "",
            "participants-1-name": "",
            "participants-1-role": "",
        }
    )
    built = forms.build(trigger.fields, _people, AREAS, typed)
    data = forms.data_of(built, ZoneInfo("Europe/London"))
    assert data["started_at"] == "2026-07-01T09:30:00+01:00"  # British Summer Time
    assert datetime.fromisoformat(data["started_at"]).astimezone(UTC).hour == 8
    assert data["out_of_hours"] is False
    assert data["participants"] == [{"agency": "police", "name": "DS Morgan"}]  # empty row out
    assert "reason" not in data  # left empty: the API says it is required


def test_add_another_works_in_a_nested_list(app: Flask) -> None:
    trigger = definition("scotland", 2).trigger("register")
    built = forms.build(trigger.fields, _people, AREAS, MultiDict({"reason": ""}))
    assert forms.add_row(built, "plan-outcomes-0-actions")
    page = _render(app, built, trigger)
    assert 'id="plan-outcomes-0-actions-1"' in page
    assert not forms.add_row(built, "no-such-list")


@pytest.mark.parametrize(
    "typed",
    [
        {"day": "31", "month": "2", "year": "2026", "hour": "9", "minute": "0"},
        {"day": "1", "month": "7", "year": "2026", "hour": "25", "minute": "0"},
        {"day": "²", "month": "7", "year": "2026", "hour": "9", "minute": "0"},
        {"day": "1", "month": "7", "year": "9" * 30, "hour": "9", "minute": "0"},
        {"day": "1", "month": "7", "year": "2026", "hour": "", "minute": ""},
    ],
)
def test_an_impossible_moment_is_left_for_the_workflow_to_refuse(typed: dict[str, str]) -> None:
    from zoneinfo import ZoneInfo

    from workflow.fields import ValidationContext, clean_fields

    trigger = definition("scotland", 2).trigger("convene_ird")
    form = MultiDict({f"started_at-{part}": value for part, value in typed.items()})
    data = forms.data_of(forms.build(trigger.fields, _people, AREAS, form), ZoneInfo(LONDON))
    errors: dict[str, list[str]] = {}
    started_at = trigger.fields[0]
    assert started_at.name == "started_at"
    clean_fields([started_at], data, ValidationContext(datetime.now(UTC), None), errors)  # type: ignore[arg-type]
    assert list(errors) == ["started_at"]  # e.g. "is not a valid date", as the API says it
