"""Reference vocabularies shared by every profile: agencies, roles, concern categories, sources."""

from __future__ import annotations

from enum import StrEnum


class Agency(StrEnum):
    POLICE = "police"  # Police Scotland
    HEALTH = "health"  # NHS health boards, including the designated health professional
    SOCIAL_WORK = "social_work"  # the local authority's statutory social work service
    EDUCATION = "education"  # schools and early learning and childcare
    OTHER = "other"  # third sector and any other agency


#: Police, health and social work must take part in every IRD (NG2021 3.23, 3.31).
CORE_AGENCIES: tuple[str, ...] = (Agency.POLICE, Agency.HEALTH, Agency.SOCIAL_WORK)
AGENCIES: tuple[str, ...] = tuple(a.value for a in Agency)


class Role(StrEnum):
    PRACTITIONER = "practitioner"  # records concerns and each step
    SUPERVISOR = "supervisor"  # approves decisions that need a second pair of eyes
    SENIOR_MANAGER = "senior_manager"  # approves exceptions to national timescales
    AUDITOR = "auditor"  # reads records and the audit trail, never changes one
    ADMIN = "admin"  # manages users, areas and tokens; never reads case content


ROLES: tuple[str, ...] = tuple(r.value for r in Role)
#: "A practitioner of agency X" also admits supervisors and senior managers of that agency.
PRACTITIONER_ROLES: tuple[str, ...] = (Role.PRACTITIONER, Role.SUPERVISOR, Role.SENIOR_MANAGER)
#: A senior manager may also decide what a supervisor may.
ROLE_RANK: dict[str, int] = {Role.PRACTITIONER: 1, Role.SUPERVISOR: 2, Role.SENIOR_MANAGER: 3}

CONCERN_CATEGORIES: tuple[str, ...] = (
    "domestic_abuse",
    "neglect",
    "parental_mental_health",
    "parental_drug_misuse",
    "parental_alcohol_misuse",
    "emotional_abuse",
    "physical_abuse",
    "sexual_abuse",
    "child_sexual_exploitation",
    "child_criminal_exploitation",
    "trafficking",
    "non_engaging_family",
    "child_placing_self_at_risk",
    "other",
)

CONCERN_SOURCES: tuple[str, ...] = (
    "child_disclosure",
    "observation",
    "family",
    "third_party",
    "anonymous",
    "professional",
    "other",
)

SEXES: tuple[str, ...] = ("female", "male", "not_known", "not_stated")


def label(code: str) -> str:
    """A human label for a vocabulary code: `social_work` -> `Social work`."""
    return code.replace("_", " ").capitalize()


def reference_vocabularies() -> dict[str, list[str]]:
    """Every vocabulary, as `GET /api/v1/reference` serves it."""
    return {
        "agencies": list(AGENCIES),
        "core_agencies": list(CORE_AGENCIES),
        "roles": list(ROLES),
        "concern_categories": list(CONCERN_CATEGORIES),
        "concern_sources": list(CONCERN_SOURCES),
        "sexes": list(SEXES),
    }
