"""Every workflow definition this build knows, by profile and version, each with one Engine."""

from __future__ import annotations

from functools import cache

import holidays

from workflow.definition import Definition
from workflow.engine import Engine
from workflow.profiles.scotland import SCOTLAND_V1
from workflow.profiles.scotland_v2 import SCOTLAND_V2

DEFAULT_PROFILE = "scotland"

_DEFINITIONS: dict[tuple[str, int], Definition] = {
    (d.profile, d.version): d for d in (SCOTLAND_V1, SCOTLAND_V2)
}


class UnknownProfile(LookupError):
    pass


def register(new: Definition) -> None:
    """Add a definition version (a new profile, or a new version of one); never replace one."""
    key = (new.profile, new.version)
    if key in _DEFINITIONS:
        raise ValueError(f"{new.profile} version {new.version} is already defined")
    _DEFINITIONS[key] = new


def profiles() -> list[str]:
    return sorted({p for p, _ in _DEFINITIONS})


def calendar_mismatches() -> list[str]:
    """Definitions judged by another `holidays` release than the one installed.

    Due dates are counted in working days: a different release can move a holiday (and so a
    due date) under a running deployment, so the app refuses to start on one.
    """
    installed = str(getattr(holidays, "__version__", "unknown"))
    return [
        f"{d.profile} version {d.version} counts working days with holidays {d.holidays_version},"
        f" but {installed} is installed"
        for d in _DEFINITIONS.values()
        if d.holidays_version is not None and d.holidays_version != installed
    ]


def versions(profile: str) -> list[int]:
    """Every version of `profile` this build knows, oldest first."""
    return sorted(v for p, v in _DEFINITIONS if p == profile)


def latest_version(profile: str) -> int:
    versions = [v for p, v in _DEFINITIONS if p == profile]
    if not versions:
        raise UnknownProfile(
            f"no workflow profile called {profile!r}; known: {', '.join(profiles())}"
        )
    return max(versions)


def definition(profile: str = DEFAULT_PROFILE, version: int | None = None) -> Definition:
    """The definition of `profile` at `version` (the latest when None)."""
    version = latest_version(profile) if version is None else version
    try:
        return _DEFINITIONS[(profile, version)]
    except KeyError:
        raise UnknownProfile(f"profile {profile!r} has no version {version}") from None


@cache
def _engine(profile: str, version: int) -> Engine:
    return Engine(definition(profile, version))


def engine(profile: str = DEFAULT_PROFILE, version: int | None = None) -> Engine:
    """The one Engine (and so the one Machine) for a definition version, built on first use."""
    return _engine(profile, latest_version(profile) if version is None else version)
