"""Definitions are versioned: several versions live side by side, each with its own Machine."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

import workflow
from workflow import registry
from workflow.definition import Period
from workflow.profiles.scotland import SCOTLAND_V1


@pytest.fixture
def scotland_v9() -> Iterator[None]:
    """A version registered beside the real ones, as a deployment's own would be."""
    ird = replace(SCOTLAND_V1.timescales[0], period=Period(2, "working_days"))
    registry.register(
        replace(SCOTLAND_V1, version=9, timescales=(ird, *SCOTLAND_V1.timescales[1:]))
    )
    try:
        yield
    finally:
        del registry._DEFINITIONS[("scotland", 9)]
        registry._engine.cache_clear()


def test_a_record_pinned_to_version_1_keeps_its_rules(scotland_v9: None) -> None:
    assert registry.latest_version("scotland") == 9
    v1, v9 = workflow.engine("scotland", 1), workflow.engine("scotland", 9)
    assert v1 is not v9
    assert v1.machine is not v9.machine
    assert workflow.engine() is v9
    assert v1.definition.timescales[0].period == Period(1, "working_days")
    assert v9.definition.timescales[0].period == Period(2, "working_days")


def test_version_2_is_the_default_and_version_1_stays() -> None:
    assert registry.latest_version("scotland") == 2
    assert workflow.engine() is workflow.engine("scotland", 2)
    assert workflow.definition("scotland", 1).trigger("transfer_out")
    assert "transfer_out" not in workflow.definition("scotland", 2).trigger_names


def test_a_version_is_never_replaced() -> None:
    with pytest.raises(ValueError, match="already defined"):
        registry.register(SCOTLAND_V1)


def test_unknown_profiles_and_versions_are_refused() -> None:
    with pytest.raises(workflow.UnknownProfile):
        workflow.definition("narnia")
    with pytest.raises(workflow.UnknownProfile):
        workflow.definition("scotland", 99)
