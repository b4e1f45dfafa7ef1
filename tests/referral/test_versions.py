"""A referral keeps the workflow version it started under when a new version arrives."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from tests.referral.flows import create
from workflow import registry
from workflow.definition import Period
from workflow.profiles.scotland import SCOTLAND_V1


def test_referrals_stay_on_their_pinned_version(as_user: Any) -> None:
    before = create(as_user)
    assert (before["profile"], before["profile_version"]) == ("scotland", 1)
    ird = replace(SCOTLAND_V1.timescales[0], period=Period(3, "working_days"))
    registry.register(
        replace(SCOTLAND_V1, version=2, timescales=(ird, *SCOTLAND_V1.timescales[1:]))
    )
    try:
        after = create(as_user, given_name="Ben")
        old = as_user("sw").get(f"/api/v1/referrals/{before['id']}").get_json()
    finally:
        del registry._DEFINITIONS[("scotland", 2)]
        registry._engine.cache_clear()
    assert after["profile_version"] == 2
    assert old["profile_version"] == 1
    due_v1 = date.fromisoformat(old["timescales"][0]["due"])
    due_v2 = date.fromisoformat(after["timescales"][0]["due"])
    assert due_v2 > due_v1
