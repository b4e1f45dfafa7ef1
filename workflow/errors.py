"""Typed, loud failures of the workflow engine: each carries what the user needs to act on it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class WorkflowError(Exception):
    """Base of every refusal the engine raises."""


class UnknownTrigger(WorkflowError):
    def __init__(self, trigger: str, known: Sequence[str]) -> None:
        super().__init__(f"{trigger!r} is not a trigger of this workflow")
        self.trigger = trigger
        self.known = tuple(known)


class TriggerNotAllowed(WorkflowError):
    """The trigger cannot fire from the referral's current state or situation (HTTP 409)."""

    def __init__(self, trigger: str, state: str, reasons: Sequence[str]) -> None:
        super().__init__(f"{trigger} is not allowed in state {state}: " + "; ".join(reasons))
        self.trigger = trigger
        self.state = state
        self.reasons = tuple(reasons)


class ActorNotPermitted(WorkflowError):
    """The actor may not fire this trigger (HTTP 403)."""

    def __init__(self, trigger: str, reason: str) -> None:
        super().__init__(f"you may not fire {trigger}: {reason}")
        self.trigger = trigger
        self.reason = reason


class InvalidData(WorkflowError):
    """The trigger's data failed validation; `errors` maps field paths to messages (HTTP 422)."""

    def __init__(self, errors: Mapping[str, Sequence[str]]) -> None:
        super().__init__(
            "invalid data: " + "; ".join(f"{k} {', '.join(v)}" for k, v in errors.items())
        )
        self.errors = {k: list(v) for k, v in errors.items()}


class DataConflict(WorkflowError):
    """The data is valid on its own but conflicts with the referral as recorded (HTTP 409).

    For example a meeting said to have been held before the concern was received.
    """

    def __init__(self, errors: Mapping[str, Sequence[str]]) -> None:
        super().__init__(
            "conflicts with the record: "
            + "; ".join(f"{k} {', '.join(v)}" for k, v in errors.items())
        )
        self.errors = {k: list(v) for k, v in errors.items()}


class ApprovalRequired(WorkflowError):
    """The trigger is valid but needs a second pair of eyes before it applies (HTTP 202)."""

    def __init__(self, trigger: str, data: Mapping[str, Any], role: str, agency: str) -> None:
        super().__init__(f"{trigger} needs approval by a {role} of {agency}")
        self.trigger = trigger
        self.data = dict(data)
        self.role = role
        self.agency = agency
