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

#: Ethnic group, as the Scottish Government's children's social work statistics collect it
#: (Scotland's Census 2022 groups), with not_known and declined (SPEC section 4, v2).
ETHNICITIES: tuple[str, ...] = (
    "white_scottish",
    "white_other_british",
    "white_irish",
    "white_gypsy_traveller",
    "white_polish",
    "white_other",
    "mixed_or_multiple",
    "asian_pakistani",
    "asian_indian",
    "asian_bangladeshi",
    "asian_chinese",
    "asian_other",
    "african",
    "caribbean_or_black",
    "arab",
    "other",
    "not_known",
    "declined",
)
#: Whether the child has a disability (CSWS collects yes / no / not known).
DISABILITIES: tuple[str, ...] = ("yes", "no", "not_known", "declined")
#: Religion, as Scotland's Census 2022 groups it.
RELIGIONS: tuple[str, ...] = (
    "none",
    "church_of_scotland",
    "roman_catholic",
    "other_christian",
    "muslim",
    "hindu",
    "buddhist",
    "sikh",
    "jewish",
    "pagan",
    "other",
    "not_known",
    "declined",
)


#: words a label writes as they are written in prose: acronyms, proper nouns, a possessive
_AS_WRITTEN = {
    word.lower().replace("'", ""): word
    for word in (
        "IRD", "IRDs", "JII", "JIIs", "CPPM", "CPPMs", "CHI", "NHS", "child's", "Scotland",
        "Scottish", "British", "Irish", "Gypsy", "Traveller", "Polish", "Asian", "Pakistani",
        "Indian", "Bangladeshi", "Chinese", "African", "Caribbean", "Black", "Arab", "Church",
        "Roman", "Catholic", "Christian", "Muslim", "Hindu", "Buddhist", "Sikh", "Jewish",
        "Pagan", "Reporter",
    )
}  # fmt: skip


def label(code: str) -> str:
    """A human label for a code or a field's name: `social_work` -> `Social work`,
    `white_scottish` -> `White Scottish`, `childs_views` -> `Child's views`."""
    words = [_AS_WRITTEN.get(w, w) for w in code.lower().split("_") if w]
    if not words:
        return code
    return words[0][:1].upper() + words[0][1:] + "".join(f" {w}" for w in words[1:])


def with_article(role: str) -> str:
    """A role in a sentence: `admin` -> `an admin`, `senior_manager` -> `a senior manager`."""
    words = role.replace("_", " ")
    return ("an " if words[:1] in "aeiou" else "a ") + words


def reference_vocabularies() -> dict[str, list[str]]:
    """Every vocabulary, as `GET /api/v1/reference` serves it."""
    return {
        "agencies": list(AGENCIES),
        "core_agencies": list(CORE_AGENCIES),
        "roles": list(ROLES),
        "concern_categories": list(CONCERN_CATEGORIES),
        "concern_sources": list(CONCERN_SOURCES),
        "sexes": list(SEXES),
        "ethnicities": list(ETHNICITIES),
        "disabilities": list(DISABILITIES),
        "religions": list(RELIGIONS),
    }
