"""The referral lifecycle as data, and the engine that fires it (pure Python on `transitions`)."""

from workflow.definition import Actor, Definition, Subject, Trigger
from workflow.engine import Engine, Outcome
from workflow.errors import (
    ActorNotPermitted,
    ApprovalRequired,
    DataConflict,
    InvalidData,
    TriggerNotAllowed,
    UnknownTrigger,
    WorkflowError,
)
from workflow.fields import Directory, ValidationContext
from workflow.registry import DEFAULT_PROFILE, UnknownProfile, definition, engine

__all__ = [
    "DEFAULT_PROFILE",
    "Actor",
    "ActorNotPermitted",
    "ApprovalRequired",
    "DataConflict",
    "Definition",
    "Directory",
    "Engine",
    "InvalidData",
    "Outcome",
    "Subject",
    "Trigger",
    "TriggerNotAllowed",
    "UnknownProfile",
    "UnknownTrigger",
    "ValidationContext",
    "WorkflowError",
    "definition",
    "engine",
]
