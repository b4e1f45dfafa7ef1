"""Test data for schemathesis that JSON Schema cannot describe: real usernames and areas, valid
CHI numbers, and the pairing rules between a trigger's fields (who interviews, who attends).

Everything the API document can say is said there; these hooks only fill in facts of the
deployment under test (its users and areas) and rules between fields.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import schemathesis
from hypothesis import strategies as st

from workflow.fields import USERNAME_PATTERN, chi_problem

SOCIAL_WORKER = os.environ.get("ST_SOCIAL_WORKER", "sw")
CHAIR = os.environ.get("ST_CHAIR", "chair")
POLICE = os.environ.get("ST_POLICE", "pc")
AREA = os.environ.get("ST_AREA", "west-dunbartonshire")
USERNAME = re.compile(USERNAME_PATTERN)


def _valid_chi(prefix_and_serial: tuple[str, int]) -> str | None:
    prefix, serial = prefix_and_serial
    nine = f"{prefix}{serial:03d}"
    total = sum(int(d) * w for d, w in zip(nine, range(10, 1, -1), strict=True))
    check = (11 - total % 11) % 11
    chi = nine + str(check)
    return chi if check != 10 and chi_problem(chi) is None else None


CHI_NUMBERS = (
    st.tuples(
        st.dates().map(lambda d: d.strftime("%d%m%y")),
        st.integers(min_value=0, max_value=999),
    )
    .map(_valid_chi)
    .filter(lambda chi: chi is not None)
)

schemathesis.openapi.format("chi-number", CHI_NUMBERS)
schemathesis.openapi.format("username", st.sampled_from([SOCIAL_WORKER, CHAIR]))
schemathesis.openapi.format("area", st.just(AREA))

#: username fields and the users that satisfy them in the world under test
USERS = {"lead_professional": SOCIAL_WORKER, "chair": CHAIR}


def _a_valid_chi(ten_digits: str) -> str:
    """The CHI number nearest `ten_digits` whose date and check digit are valid."""
    for serial in range(1000):
        chi = _valid_chi(("020416", (int(ten_digits[6:9]) + serial) % 1000))
        if chi is not None:
            return chi
    raise AssertionError("no valid CHI number")


def _child(child: Any) -> None:
    chi = child.get("chi_number") if isinstance(child, dict) else None
    if isinstance(chi, str) and len(chi) == 10 and chi.isdigit() and chi_problem(chi):
        child["chi_number"] = _a_valid_chi(chi)


def _a_username(value: Any) -> bool:
    """Shaped as a username (a deliberately malformed one keeps its fault)."""
    return isinstance(value, str) and USERNAME.fullmatch(value) is not None


def _data(trigger: Any, data: dict[str, Any]) -> None:
    for name, user in USERS.items():
        if _a_username(data.get(name)):
            data[name] = user
    pair = data.get("interviewers")
    two = isinstance(pair, list) and len(pair) == 2 and len(set(map(str, pair))) == 2
    if two and all(_a_username(i) for i in pair):
        data["interviewers"] = [POLICE, SOCIAL_WORKER]


@schemathesis.hook
def map_case(ctx: Any, case: Any) -> Any:
    """Name real users, give CHI numbers a valid check digit, pair people as the rules require.

    Applies to every phase (the coverage phase builds its own boundary values, so format
    strategies alone would not reach them); a deliberately invalid value keeps its fault.
    """
    body = case.body
    if not isinstance(body, dict):
        return case
    _child(body.get("child"))
    if _positive(case):
        # other referrals' ids: only ones shared or seen by this user would be accepted
        for name in REFERRAL_IDS:
            body.pop(name, None)
    if isinstance(body.get("data"), dict):
        _data(body.get("trigger"), body["data"])
        if _stateful_and_valid(case):
            _just_happened(body["data"])
    return case


def _positive(case: Any) -> bool:
    """Generated to be valid in every part (a negative header makes the whole case negative)."""
    meta = case.meta
    return (
        meta is not None
        and bool(meta.generation.mode.is_positive)
        and all(c.mode.is_positive for c in meta.components.values())
    )


def _stateful_and_valid(case: Any) -> bool:
    return _positive(case) and str(case.meta.phase.name) == "stateful"


#: fields naming other referrals (siblings, the referral a transfer comes from)
REFERRAL_IDS = ("related_referrals", "transfer_from")


#: when a meeting or interview happened: the stateful phase walks referrals along the lifecycle,
#: so what happened must follow the concern, which the same run recorded as received earlier
HAPPENED = ("started_at", "held_at", "conducted_at", "decided_at", "notified_at")


def _just_happened(data: dict[str, Any]) -> None:
    moment = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    for name in HAPPENED:
        if isinstance(data.get(name), str):
            data[name] = moment
