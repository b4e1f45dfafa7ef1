"""The `scotland` profile, version 2: NG2021 (updated 2023) Appendix D read again, line by line.

An outside review found version 1 wrong where this file differs from it (SPEC section 4,
"Profile scotland v2"); each correction names its source. Version 1 stays registered for the
referrals made under it. Shared pieces (permissions, views, people, the meeting record's core)
come from version 1, so a field said the same way in both is declared once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

from workflow.calendar import calendar_for
from workflow.definition import (
    CrossFieldRule,
    Definition,
    FlagRule,
    Guard,
    Period,
    Permission,
    RecordForm,
    Setting,
    Subject,
    TimescaleRule,
    Trigger,
)
from workflow.fields import (
    Errors,
    Field,
    FieldType,
    Offset,
    ValidationContext,
    agency,
    boolean,
    choice,
    choices,
    date_field,
    datetime_field,
    happened_at,
    parse_datetime,
    planned_for,
    record,
    records,
    short_text,
    text,
)
from workflow.profiles import scotland as v1
from workflow.profiles.scotland import (
    AFTER_CURRENT_DUE,
    AGENCIES_AGREED,
    AN_INTERVIEWER,
    ANY_AGENCY,
    CORE_GROUP,
    CORE_PRACTITIONER,
    DECIDING_CONFERENCE,
    DECISION_RATIONALE,
    LEAD_PROFESSIONAL,
    MEDICAL_EXAMINATIONS,
    NAMED_PERSON_INFORMED,
    PARENTS_REASON,
    PERSON,
    PERSON_WITH_ROLE,
    REVIEW_CONFERENCE,
    SAFETY_PLAN_CONFIRMED,
    SENIOR_MANAGER_APPROVAL,
    SOCIAL_WORK,
    STATES,
    SUPERVISOR_APPROVAL,
    THE_CHAIR,
    VIEWS,
    VIEWS_PAIR,
)
from workflow.vocabulary import (
    AGENCIES,
    CONCERN_CATEGORIES,
    CORE_AGENCIES,
    DISABILITIES,
    ETHNICITIES,
    RELIGIONS,
)

VERSION = 2
#: The `holidays` release the working days of this version are counted with (correction 11):
#: pinned in pyproject.toml, checked at start-up, so no due date moves under a deployment.
HOLIDAYS_VERSION = "0.109"

# -- settings a partnership may change (local practice, not national) ------------------------------

#: IRD by the end of the next working day after the concern: a default, not national (App. D
#: says "as soon as reasonably practical"; correction 8).
IRD_CONVENED_WORKING_DAYS = 1
#: Transfer CPPM in the receiving area: Highland and North Lanarkshire say 21 working days
#: (DOMAIN 1.5, "Transfer CPPM"); correction 2.
TRANSFER_CPPM_WORKING_DAYS = 21
#: Who must attend a CPPM for it to decide: the core agencies (NG2021 3.131; correction 10).
QUORUM: tuple[str, ...] = tuple(CORE_AGENCIES)
SETTINGS = {
    "ird_convened_working_days": Setting(
        IRD_CONVENED_WORKING_DAYS,
        "Working days after the concern by whose end the IRD is convened (App. D: as soon as "
        "reasonably practical).",
    ),
    "transfer_cppm_working_days": Setting(
        TRANSFER_CPPM_WORKING_DAYS,
        "Working days after the child moved by which the receiving area holds the transfer "
        "CPPM (Highland, North Lanarkshire).",
    ),
    "quorum": Setting(
        QUORUM,
        "Agencies that must attend a CPPM for it to decide (NG2021 3.131).",
        basis="national",
    ),
}

# -- record contents added in v2 ---------------------------------------------------------------

VIEWS_GIVEN = ("in_person", "in_writing", "through_an_advocate", "through_a_trusted_adult")
DEREGISTRATION_REASONS = (
    "risk_reduced",
    "child_died",
    "child_reached_age_limit",
    "child_left_scotland",
    "other",
)
JII_OUTCOMES = v1.JII_OUTCOMES
CLOSE_REASONS = v1.CLOSE_REASONS
#: `close` may take a registered child off the register only for these (correction 1)
CLOSE_REASONS_WHILE_REGISTERED = ("child_died", "recorded_in_error", "duplicate")
PROGRESS = ("not_started", "in_progress", "done", "not_done")

DECIDED_AT = happened_at(
    "decided_at",
    "When the decision was made",
    "When the agencies decided, not when it is typed in: the timescales run on it (App. D).",
)
CHILDS_VIEWS = text(
    "childs_views",
    "The child's views",
    "What the child said they feel and want, in their own words where possible (NG2021 3.39).",
    required=False,
)
#: CPPM attendance and how the child's views came (NG2021 3.163-3.165)
CHILD_AT_MEETING: tuple[Field, ...] = (
    boolean(
        "child_attended",
        "The child attended",
        "Record the reasons when an older child did not attend (NG2021 3.164).",
        required=False,
    ),
    choice(
        "views_given",
        "How the child's views were given",
        VIEWS_GIVEN,
        "In person, in writing, through an advocate or a trusted adult (NG2021 3.163).",
        required=False,
    ),
    boolean("advocacy_offered", "Advocacy offered to the child", required=False),
)
#: parents' and carers' involvement (NG2021 3.131, 3.165)
PARENTS_AT_MEETING: tuple[Field, ...] = (
    boolean("parents_invited", "Parents or carers invited", required=False),
    boolean("parents_attended", "Parents or carers attended", required=False),
    text("parents_views", "Parents' or carers' views", required=False),
)
MEETING_RECORD: tuple[Field, ...] = (
    happened_at("held_at", "When the meeting was held"),
    records("attendees", "Attendees", PERSON_WITH_ROLE, min_items=1),
    records("apologies", "Apologies", PERSON, "Invitees who sent apologies.", required=False),
    *VIEWS,
    *CHILD_AT_MEETING,
    *PARENTS_AT_MEETING,
    DECISION_RATIONALE,
    text("dissent", "Dissent", "Any disagreement with the decision, and by whom.", required=False),
)

ACTION = (
    short_text("what", "What will be done"),
    record("who", "Who", PERSON, "The agency and the person responsible (NG2021 3.138)."),
    date_field(
        "by",
        "By when",
        earliest=Offset(-1, "months"),
        latest=Offset(24, "months"),
    ),
)
CHILD_PROTECTION_PLAN = record(
    "plan",
    "Child Protection Plan",
    (
        records(
            "outcomes",
            "Outcomes",
            (
                text("outcome", "Outcome the plan must achieve", max_length=2000),
                records("actions", "Actions", ACTION, min_items=1, max_items=20),
            ),
            "What must change for the child to be safe, each with its actions (NG2021 3.138).",
            min_items=1,
            max_items=20,
        ),
        text(
            "contingency_plan",
            "Contingency plan",
            "What happens if the plan is not kept or risk rises (NG2021 3.165).",
        ),
    ),
    "Outcomes with actions, who does each and by when, and a contingency plan.",
    required=False,
)

# -- cross-field rules of v2 --------------------------------------------------------------------


def _missing_from_quorum(data: Mapping[str, Any]) -> list[str] | None:
    """The quorum's agencies no attendee is from (None when the attendees are not a list)."""
    attendees = data.get("attendees")
    if not isinstance(attendees, list):
        return None
    present = {a.get("agency") for a in attendees if isinstance(a, Mapping)}
    return [a for a in QUORUM if a not in present]


def _named(agencies: list[str]) -> str:
    return ", ".join(a.replace("_", " ") for a in agencies)


def _quorum(data: Mapping[str, Any], _s: Subject, _c: ValidationContext, e: Errors) -> None:
    if missing := _missing_from_quorum(data):
        e.setdefault("attendees", []).append(
            "an inquorate review cannot remove a child from the register: missing "
            + _named(missing)
        )


def _proceeding(data: Mapping[str, Any], _s: Subject, _c: ValidationContext, e: Errors) -> None:
    missing = _missing_from_quorum(data)
    if missing is None:
        return
    reason = data.get("inquorate_reason")
    if missing and reason is None:
        e.setdefault("attendees", []).append(
            f"the quorum did not attend (missing {_named(missing)}): record an inquorate "
            "meeting, or give why the chair went ahead without it"
        )
    elif reason is not None and not missing:
        e.setdefault("inquorate_reason", []).append(
            "the quorum attended: give this only for a meeting it did not attend"
        )


def people_from(field: str, agencies: tuple[str, ...]) -> dict[str, Any]:
    """JSON Schema: the list `field` has a person from each of `agencies` ("contains" is not
    in OpenAPI 3.0: a list holds one unless every item is from another agency)."""

    def from_agency(code: str) -> dict[str, Any]:
        return {"required": ["agency"], "properties": {"agency": {"enum": [code]}}}

    needed = [{"not": {"items": {"not": from_agency(a)}}} for a in agencies]
    return {"properties": {field: {"allOf": needed}}}


def _nothing_beside_no_further_action(
    data: Mapping[str, Any], _s: Subject, _c: ValidationContext, e: Errors
) -> None:
    outcomes = data.get("outcomes")
    if isinstance(outcomes, list) and "no_further_action" in outcomes and len(outcomes) > 1:
        e.setdefault("outcomes", []).append(
            "no further action cannot go with another outcome: choose it alone, or leave it out"
        )


NO_FURTHER_ACTION_ALONE = CrossFieldRule(
    "No further action is the only outcome when it is one.",
    ("outcomes",),
    _nothing_beside_no_further_action,
    schema={
        "properties": {
            "outcomes": {
                "anyOf": [
                    {"items": {"not": {"enum": ["no_further_action"]}}},
                    {"maxItems": 1},
                ]
            }
        }
    },
)
#: `inquorate_reason` given, as text (an optional field may also be sent as null: absent)
_REASON_GIVEN = {
    "required": ["inquorate_reason"],
    "properties": {"inquorate_reason": {"type": "string"}},
}
PROCEEDING_WITHOUT_QUORUM = CrossFieldRule(
    "A meeting the quorum did not attend decides only when the chair records why it went "
    "ahead (`inquorate_reason`); it is then recorded as inquorate. Give the reason only then "
    "(setting `quorum`; Highland 'Quorate').",
    ("attendees", "inquorate_reason"),
    _proceeding,
    schema={
        "oneOf": [
            {"allOf": [people_from("attendees", QUORUM), {"not": _REASON_GIVEN}]},
            {"allOf": [_REASON_GIVEN, {"not": people_from("attendees", QUORUM)}]},
        ]
    },
)
INQUORATE_REASON = text(
    "inquorate_reason",
    "Why the chair went ahead without the quorum",
    "Only when the quorum did not attend. An inquorate meeting should not ordinarily decide: "
    "record it as inquorate and reconvene. The chair may exceptionally go ahead, recording why "
    "(Highland 'Quorate').",
    required=False,
)

QUORATE = CrossFieldRule(
    "Only a quorate review removes a child from the register: the quorum attends "
    "(setting `quorum`; Highland 'Quorate').",
    ("attendees",),
    _quorum,
    schema=people_from("attendees", QUORUM),
)


def _conference_type(data: Mapping[str, Any], s: Subject, _c: ValidationContext, e: Errors) -> None:
    kind = data.get("conference_type")
    if kind is None:
        return
    if s.state == "concern":
        allowed: tuple[str, ...] = ("transfer",) if s.transfer_in else ()
    elif s.state == "registered":
        allowed = ("review",)
    else:
        allowed = ("pre_birth",) if s.unborn else ("initial",)
    if kind not in allowed:
        if kind == "initial" and s.unborn:
            why = "an initial conference is for a child already born: use pre_birth"
        elif kind == "pre_birth" and not s.unborn:
            why = "a pre-birth conference is only for an unborn child"
        elif not allowed:
            why = "only a child moving here on another area's register goes straight to a CPPM"
        else:
            why = f"from {s.state} the conference must be: " + ", ".join(allowed)
        e.setdefault("conference_type", []).append(why)


CONFERENCE_TYPE = CrossFieldRule(
    "initial for a born child and pre_birth for an unborn one after an investigation; review "
    "for a registered child; transfer straight from the concern for a child moving here on "
    "another area's register (correction 2 and 4).",
    ("conference_type",),
    _conference_type,
    conflict=True,
)


def _reconvene_within(
    data: Mapping[str, Any], _s: Subject, _c: ValidationContext, e: Errors
) -> None:
    held, rescheduled = data.get("held_at"), data.get("rescheduled_for")
    if held is None or rescheduled is None:
        return
    cal = calendar_for(*v1.HOLIDAYS, v1.TIMEZONE)
    latest = cal.add_working_days(
        cal.local_date(parse_datetime(held)), v1.INQUORATE_RECONVENE_WORKING_DAYS
    )
    if cal.local_date(parse_datetime(rescheduled)) > latest:
        e.setdefault("rescheduled_for", []).append(
            f"must be within {v1.INQUORATE_RECONVENE_WORKING_DAYS} working days of the "
            f"inquorate meeting (on or before {latest.isoformat()})"
        )


RECONVENE_WITHIN = CrossFieldRule(
    "An inquorate CPPM reconvenes within 10 working days of the meeting (App. D).",
    ("held_at", "rescheduled_for"),
    _reconvene_within,
)


def _close_while_registered(
    data: Mapping[str, Any], s: Subject, _c: ValidationContext, e: Errors
) -> None:
    reason = data.get("closure_reason")
    on_register = s.state in ("registered", "case_conference")
    if on_register and reason is not None and reason not in CLOSE_REASONS_WHILE_REGISTERED:
        e.setdefault("closure_reason", []).append(
            "a registered child leaves the register only by a review CPPM, a transfer "
            "conference in the receiving area, or closing as "
            + ", ".join(CLOSE_REASONS_WHILE_REGISTERED)
        )


CLOSE_ONLY_FOR_DEATH_ERROR_OR_DUPLICATE = CrossFieldRule(
    "While the child is registered (or at a CPPM), close only as child_died, "
    "recorded_in_error or duplicate (correction 1).",
    ("closure_reason",),
    _close_while_registered,
    conflict=True,
)


def _elsewhere(data: Mapping[str, Any], s: Subject, _c: ValidationContext, e: Errors) -> None:
    if data.get("receiving_area") is not None and data.get("receiving_area") == s.area:
        e.setdefault("receiving_area", []).append("must be another area than this referral's")


RECEIVING_AREA_ELSEWHERE = CrossFieldRule(
    "The receiving area is another area.", ("receiving_area",), _elsewhere, conflict=True
)


def _all_core_present(
    data: Mapping[str, Any], _s: Subject, _c: ValidationContext, e: Errors
) -> None:
    people = data.get("participants")
    if not isinstance(people, list):
        return
    present = {p.get("agency") for p in people if isinstance(p, Mapping)}
    missing = [a for a in CORE_AGENCIES if a not in present]
    if missing:
        e.setdefault("participants", []).append(
            "a full IRD needs police, health and social work: missing "
            + ", ".join(m.replace("_", " ") for m in missing)
        )


FULL_IRD_PARTICIPANTS = CrossFieldRule(
    "All core agencies take part in the full IRD (NG2021 3.23, 3.31).",
    ("participants",),
    _all_core_present,
    schema=people_from("participants", CORE_AGENCIES),
)

# -- guards and flags of v2 ---------------------------------------------------------------------

INITIAL_CPPM_PENDING = Guard(
    "initial_cppm_pending",
    "the initial CPPM timescale is not running: there is nothing to extend",
    lambda s: s.initial_cppm_due is not None,
)
#: NG2021 3.38: an exception to the 28 days is agreed while they run, not once they have run
#: out (correction 9: "while `initial_cppm` is pending"); an overdue CPPM stays overdue
INITIAL_CPPM_NOT_OVERDUE = Guard(
    "initial_cppm_not_overdue",
    "the initial CPPM is already overdue: an extension is agreed before the timescale runs out",
    lambda s: s.initial_cppm_due is None or s.today is None or s.today <= s.initial_cppm_due,
)
#: Without this a new concern would offer a CPPM it must then refuse (correction 2).
TRANSFER_IN_FROM_CONCERN = Guard(
    "transfer_in_from_concern",
    "only a child moving here on another area's register goes straight from the concern to a "
    "CPPM (a transfer conference)",
    lambda s: s.state != "concern" or s.transfer_in,
)
REPEAT_INQUORATE = FlagRule(
    "repeat_inquorate",
    "A second inquorate meeting in a row: for the chair's manager (Highland 'Quorate').",
    lambda _data, s: s.last_meeting_inquorate,
)


def _chair_by(data: Mapping[str, Any], _s: Subject) -> str | None:
    if data.get("significant_change") is not True or not data.get("held_at"):
        return None
    cal = calendar_for(*v1.HOLIDAYS, v1.TIMEZONE)  # the day it was held in Scotland, not in UTC
    held_on = cal.local_date(parse_datetime(str(data["held_at"])))
    return (held_on + timedelta(days=3)).isoformat()


REFER_TO_CHAIR = FlagRule(
    "refer_to_chair_by",
    "A significant change goes to the chair and lead professional within 3 calendar days "
    "(NG2021 3.137; App. D).",
    _chair_by,
)

# -- triggers -------------------------------------------------------------------------------------

OPEN_STATES = tuple(s.name for s in STATES if s.name != "closed")
V1 = v1.SCOTLAND_V1
AFTER_INVESTIGATION = ("investigation", "jii", "case_conference", "registered")


def _ird_decision_fields(*middle: Field) -> tuple[Field, ...]:
    return (DECIDED_AT, DECISION_RATIONALE, *middle, *VIEWS, NAMED_PERSON_INFORMED, AGENCIES_AGREED)


TRIGGERS = (
    Trigger(
        "screen_out",
        "Screen out: not a child protection concern",
        ("concern",),
        "closed",
        (
            DECIDED_AT,
            DECISION_RATIONALE,
            text(
                "advice_or_support",
                "Advice or support offered",
                "Proportionate support may still be required (NG2021 3.37).",
            ),
            NAMED_PERSON_INFORMED,
        ),
        CORE_PRACTITIONER,
        help="The concern does not meet the child protection threshold (correction 6).",
        approval=SUPERVISOR_APPROVAL,
        closure_reason="screened_out",
    ),
    Trigger(
        "convene_ird",
        "Convene an IRD",
        ("concern",),
        "ird",
        V1.trigger("convene_ird").fields,
        CORE_PRACTITIONER,
        help="Police, health or social work convene an IRD as soon as reasonably practicable "
        "(NG2021 3.15). Out of core hours it may focus on immediate protection; a full IRD "
        "follows by the end of the next working day (App. D).",
    ),
    Trigger(
        "record_full_ird",
        "Record the full IRD",
        ("ird",),
        "ird",
        (
            happened_at("held_at", "When the full IRD was held"),
            records("participants", "Professionals attending", PERSON_WITH_ROLE, min_items=3),
            text("summary", "Summary of the discussion", "What was shared and agreed."),
        ),
        CORE_PRACTITIONER,
        help="After an out-of-hours IRD, the comprehensive IRD with every core agency (App. D; "
        "correction 8).",
        rules=(FULL_IRD_PARTICIPANTS,),
    ),
    V1.trigger("add_ird_contribution"),
    Trigger(
        "close_no_further_action",
        "Close: no further action",
        ("ird",),
        "closed",
        _ird_decision_fields(
            text("reasons_no_investigation", "Reasons for no investigation", "NG2021 3.35."),
        ),
        CORE_PRACTITIONER,
        help="A reasoned inter-agency decision to take no further immediate action (3.33).",
        approval=SUPERVISOR_APPROVAL,
        rules=(VIEWS_PAIR,),
        closure_reason="nfa",
    ),
    Trigger(
        "refer_single_agency",
        "Close: refer for single-agency support",
        ("ird",),
        "closed",
        _ird_decision_fields(
            agency("lead_agency", "Lead agency"),
            text("support_offered", "Support offered"),
        ),
        CORE_PRACTITIONER,
        help="No child protection investigation; one agency leads proportionate support.",
        approval=SUPERVISOR_APPROVAL,
        rules=(VIEWS_PAIR,),
        closure_reason="single_agency",
    ),
    Trigger(
        "start_investigation",
        "Start a child protection investigation",
        ("ird",),
        "investigation",
        (
            DECIDED_AT,
            choice("investigation_type", "Type of investigation", ("joint", "single_agency")),
            DECISION_RATIONALE,
            boolean("jii_required", "Joint investigative interview required"),
            choice(
                "medical_examination",
                "Medical examination",
                MEDICAL_EXAMINATIONS,
                "The purpose of any examination is usually discussed at the IRD (NG2021 3.71).",
            ),
            text(
                "interim_safety_plan",
                "Interim safety plan",
                "In plain language: how the child will be kept safe, seen and heard until the "
                "CPPM (NG2021 3.110).",
            ),
            LEAD_PROFESSIONAL,
            *VIEWS,
            boolean("parents_informed", "Parents informed"),
            text(
                "parents_not_informed_reason",
                "Why parents were not informed",
                "For example: it may jeopardise a police investigation or place the child at risk "
                "(NG2021 3.39).",
                required=False,
            ),
            # added in v2, so optional (SPEC: "all optional unless said")
            replace(NAMED_PERSON_INFORMED, required=False),
            AGENCIES_AGREED,
        ),
        CORE_PRACTITIONER,
        help="The IRD decides there is a risk of significant harm: a multi-agency investigation.",
        rules=(VIEWS_PAIR, PARENTS_REASON),
    ),
    V1.trigger("plan_jii"),
    Trigger(
        "record_jii",
        "Record the joint investigative interview",
        ("jii",),
        "investigation",
        (
            happened_at("conducted_at", "When the interview took place"),
            choices(
                "outcomes",
                "Outcomes",
                JII_OUTCOMES,
                "Every outcome that applies (Fife CPC: possible JII outcomes; correction 10).",
                min_items=1,
            ),
            short_text(
                "recording_reference", "Recording reference", "Reference of the master recording."
            ),
            text(
                "salient_points",
                "Salient points",
                "The note of salient points agreed between the police officer and social worker.",
            ),
            CHILDS_VIEWS,
        ),
        AN_INTERVIEWER,
        rules=(NO_FURTHER_ACTION_ALONE,),
    ),
    V1.trigger("cancel_jii"),
    Trigger(
        "extend_timescale",
        "Extend the initial CPPM timescale",
        ("investigation", "jii", "case_conference"),
        None,  # stays in whichever state it was fired in
        V1.trigger("extend_timescale").fields,
        SOCIAL_WORK,
        help="Exceptions to the 28-day timescale are agreed by the accountable senior manager "
        "(NG2021 3.38) while the initial CPPM is still to be held and not yet overdue "
        "(correction 9).",
        approval=SENIOR_MANAGER_APPROVAL,
        guards=(INITIAL_CPPM_PENDING, INITIAL_CPPM_NOT_OVERDUE),
        rules=(AFTER_CURRENT_DUE, SAFETY_PLAN_CONFIRMED),
    ),
    Trigger(
        "decide_no_case_conference",
        "Close: no case conference needed",
        ("investigation",),
        "closed",
        (
            DECIDED_AT,
            DECISION_RATIONALE,
            text("support_plan", "Support plan", "Proportionate support (NG2021 3.37)."),
            *VIEWS,
            AGENCIES_AGREED,
        ),
        SOCIAL_WORK,
        help="An inter-agency decision that no CPPM is needed (App. D: 'unless there is an IRD "
        "decision that this is not required'; correction 7).",
        approval=SUPERVISOR_APPROVAL,
        rules=(VIEWS_PAIR,),
        closure_reason="no_case_conference",
    ),
    Trigger(
        "schedule_case_conference",
        "Schedule a case conference (CPPM)",
        ("concern", "investigation", "registered"),
        "case_conference",
        (
            choice(
                "conference_type",
                "Type of conference",
                v1.CONFERENCE_TYPES,
                "Initial (a child already born) or pre-birth (an unborn child) after an "
                "investigation; review for a registered child; transfer straight from the "
                "concern when a child on another area's register moves here.",
            ),
            planned_for("scheduled_for", "When the conference will be held"),
            V1.trigger("schedule_case_conference").fields[2],  # the chair
            records("invitees", "Invitees", PERSON, min_items=1),
        ),
        SOCIAL_WORK,
        help="Give at least 5 calendar days' notice wherever possible (App. D; NG2021 3.131); "
        "shorter notice is flagged.",
        guards=(TRANSFER_IN_FROM_CONCERN,),
        rules=(CONFERENCE_TYPE,),
        short_notice=("scheduled_for", 5),
    ),
    Trigger(
        "record_inquorate",
        "Record an inquorate meeting",
        ("case_conference",),
        "case_conference",
        (
            happened_at("held_at", "When the inquorate meeting was held"),
            choices("absent_agencies", "Agencies absent", AGENCIES, min_items=1),
            datetime_field(
                "rescheduled_for",
                "Reconvened for",
                "Within 10 working days of the meeting (App. D).",
                future=True,
                latest=Offset(1, "months"),
                documented_latest=Offset(14),
            ),
        ),
        THE_CHAIR,
        help="Recorded whatever happened; a second inquorate meeting in a row is flagged for "
        "the chair's manager (correction 9).",
        rules=(RECONVENE_WITHIN,),
        flag_rules=(REPEAT_INQUORATE,),
    ),
    Trigger(
        "register",
        "Register: add the child's name to the child protection register",
        ("case_conference",),
        "registered",
        (
            *MEETING_RECORD,
            INQUORATE_REASON,
            choices("areas_of_concern", "Areas of concern", CONCERN_CATEGORIES, min_items=1),
            records("core_group", "Core group", PERSON, min_items=1),
            text("plan_outline", "Outline Child Protection Plan"),
            CHILD_PROTECTION_PLAN,
            boolean("reporter_referral", "Referred to the Children's Reporter"),
            LEAD_PROFESSIONAL,
            datetime_field(
                "parents_informed_in_writing_at",
                "When the parents or carers were told in writing",
                "Parents are informed verbally and in writing of the registration (NG2021 1.88).",
                required=False,
                not_future=True,
                not_before_concern=True,
            ),
        ),
        THE_CHAIR,
        help="A transfer conference's registration takes the child off the sending area's "
        "register at the same moment (correction 2).",
        guards=(DECIDING_CONFERENCE,),
        rules=(VIEWS_PAIR, PROCEEDING_WITHOUT_QUORUM),
    ),
    Trigger(
        "not_register",
        "Do not register",
        ("case_conference",),
        "closed",
        (*MEETING_RECORD, INQUORATE_REASON, text("support_plan", "Support plan")),
        THE_CHAIR,
        help="After a transfer conference the sending area is told and keeps the child "
        "registered until its own review (correction 2).",
        guards=(DECIDING_CONFERENCE,),
        rules=(VIEWS_PAIR, PROCEEDING_WITHOUT_QUORUM),
        closure_reason="not_registered",
    ),
    Trigger(
        "continue_registration",
        "Continue registration",
        ("case_conference",),
        "registered",
        (
            *MEETING_RECORD,
            INQUORATE_REASON,
            text("plan_outline", "Revised outline Child Protection Plan"),
            CHILD_PROTECTION_PLAN,
        ),
        THE_CHAIR,
        guards=(REVIEW_CONFERENCE,),
        rules=(VIEWS_PAIR, PROCEEDING_WITHOUT_QUORUM),
    ),
    Trigger(
        "deregister",
        "De-register",
        ("case_conference",),
        "closed",
        (
            *MEETING_RECORD,
            choice(
                "deregistration_reason",
                "Reason for de-registration",
                DEREGISTRATION_REASONS,
                "Coded for the national statistics (correction 10).",
            ),
            text("note", "Note", "Anything the code does not say.", required=False),
        ),
        THE_CHAIR,
        help="Only a quorate review CPPM can remove a child's name from the register "
        "(North Lanarkshire; Highland 'Quorate').",
        guards=(REVIEW_CONFERENCE,),
        rules=(VIEWS_PAIR, QUORATE),
        closure_reason="deregistered",
    ),
    Trigger(
        "record_core_group",
        "Record a core group meeting",
        ("registered",),
        "registered",
        (
            happened_at("held_at", "When the meeting was held"),
            records("attendees", "Attendees", PERSON_WITH_ROLE, min_items=1),
            boolean(
                "significant_change",
                "Significant change",
                "Significant changes go to the chair and lead professional within 3 calendar "
                "days (NG2021 3.137).",
            ),
            text("notes", "Notes"),
            records(
                "progress",
                "Progress against the plan's actions",
                (
                    short_text("action", "Action", "As the plan names it."),
                    choice("status", "Progress", PROGRESS),
                    text("note", "Note", required=False, max_length=2000),
                ),
                required=False,
            ),
            CHILDS_VIEWS,
        ),
        CORE_GROUP,
        flag_rules=(REFER_TO_CHAIR,),
    ),
    Trigger(
        "notify_transfer",
        "Notify a move to another area",
        ("registered",),
        "registered",
        (
            Field("receiving_area", FieldType.AREA, "Receiving area"),
            date_field(
                "moved_on",
                "Date the child moved",
                "Within the past year or the next three months.",
                earliest=Offset(-12, "months"),
                latest=Offset(3, "months"),
            ),
            happened_at("notified_at", "When the receiving area was told"),
            text(
                "interim_safety_plan",
                "Interim safety plan agreed between the areas",
                "Highland 'Transfer of cases'.",
            ),
        ),
        SOCIAL_WORK,
        help="The receiving area's social work and core agencies may then read this referral; "
        "the child stays on this register until the receiving area's transfer conference "
        "registers them (correction 2).",
        rules=(RECEIVING_AREA_ELSEWHERE,),
    ),
    Trigger(
        "transferred_out",
        "Transferred out: registered in the receiving area",
        ("registered",),
        "closed",
        (
            Field("receiving_referral", FieldType.REFERRAL, "The receiving area's referral"),
            happened_at("held_at", "When the receiving conference registered the child"),
        ),
        Permission(roles=()),  # the receiving area's registration records it, never a user
        help="Recorded on the sending referral in the same transaction as the receiving "
        "conference's registration: the child is on exactly one register on every day.",
        closure_reason="transferred_out",
    ),
    Trigger(
        "change_lead_professional",
        "Change the lead professional",
        AFTER_INVESTIGATION,
        None,  # stays in whichever state it was fired in
        (
            LEAD_PROFESSIONAL,
            date_field(
                "changed_on",
                "Date of the change",
                not_future=True,
                not_before_concern=True,
            ),
            text("reason", "Reason for the change"),
        ),
        SOCIAL_WORK,
        help="The lead professional is a qualified social worker (NG2021 3.40); changes are "
        "dated so the record shows who led when.",
    ),
    Trigger(
        "add_chronology_entry",
        "Add to the chronology",
        OPEN_STATES,
        None,  # stays in whichever state it was fired in
        (
            date_field(
                "occurred_on",
                "When it happened",
                "Key events, strengths too, may predate the concern (NG2021 3.172-3.177).",
                not_future=True,
                earliest=Offset(-300, "months"),
            ),
            agency("source_agency", "Agency the information comes from"),
            text("what_happened", "What happened", max_length=4000),
            text("significance", "Why it matters", required=False, max_length=4000),
            text("action", "Action taken", required=False, max_length=4000),
        ),
        ANY_AGENCY,
        help="A multi-agency chronology: a working tool, not an assessment (Care Inspectorate "
        "practice guide, 2017).",
    ),
    Trigger(
        "close",
        "Close the referral",
        OPEN_STATES,
        "closed",
        V1.trigger("close").fields,
        SOCIAL_WORK,
        help="A registered child leaves the register only by a review CPPM, a transfer, or "
        "closing because the child died or the record is an error or a duplicate.",
        approval=SUPERVISOR_APPROVAL,
        rules=(CLOSE_ONLY_FOR_DEATH_ERROR_OR_DUPLICATE,),
        closure_reason_field="closure_reason",
    ),
)

CLOSURE_REASONS = (*v1.CLOSURE_REASONS, "screened_out")

# -- timescales (App. D; corrections 3, 4, 5, 6, 7, 8) ------------------------------------------

IRD_DECISIONS = ("screen_out", "close_no_further_action", "refer_single_agency")
TIMESCALES = (
    TimescaleRule(
        "ird_convened",
        "IRD convened",
        ("concern",),
        Period(IRD_CONVENED_WORKING_DAYS, "working_days"),
        ("convene_ird",),
        "By the end of the next working day after the concern was received (setting "
        "`ird_convened_working_days`; App. D says as soon as reasonably practical). Not "
        "required when the concern is screened out.",
        not_required_by=("screen_out",),
        basis="local practice",
    ),
    TimescaleRule(
        "full_ird",
        "Full IRD after an out-of-hours IRD",
        ("convene_ird",),
        Period(1, "working_days"),
        ("record_full_ird",),
        "An IRD held out of hours is followed by a comprehensive one, normally on the next "
        "working day (App. D).",
        start_when=("out_of_hours", True),
    ),
    TimescaleRule(
        "initial_cppm",
        "Initial CPPM",
        ("start_investigation",),
        Period(28, "calendar_days"),
        ("register", "not_register"),
        "Within 28 calendar days of the decision to investigate (App. D). For an unborn child "
        "within 28 days of the concern and by 28 weeks' gestation (the expected date of "
        "delivery less 84 days), whichever is earlier; a pregnancy notified after 28 weeks is "
        "due 28 days after the concern and flagged late_notification (NG2021 3.142). Moved by "
        "an approved extension (NG2021 3.38); not required after an inter-agency decision that "
        "no CPPM is needed.",
        unborn_cap_before_delivery=Period(84, "calendar_days"),
        unborn_starts_on=("concern",),
        late_notification_floor=True,
        extended_by="extend_timescale",
        not_required_by=("decide_no_case_conference", *IRD_DECISIONS),
    ),
    TimescaleRule(
        "transfer_cppm",
        "Transfer CPPM",
        ("transfer",),
        Period(TRANSFER_CPPM_WORKING_DAYS, "working_days"),
        ("register", "not_register"),
        "The receiving area holds the transfer CPPM within 21 working days of the move "
        "(setting `transfer_cppm_working_days`; Highland, North Lanarkshire).",
        basis="local practice",
    ),
    TimescaleRule(
        "inquorate_reconvene",
        "Inquorate CPPM reconvened",
        ("record_inquorate",),
        Period(v1.INQUORATE_RECONVENE_WORKING_DAYS, "working_days"),
        ("record_inquorate", "register", "not_register", "continue_registration", "deregister"),
        "An inquorate CPPM reconvenes within 10 working days of the meeting (App. D): met when "
        "it meets again, quorate or not (a second inquorate meeting starts its own clock).",
    ),
    TimescaleRule(
        "first_core_group",
        "First core group",
        ("register",),
        Period(15, "working_days"),
        ("record_core_group",),
        "The first core group meets within 15 working days of registration (NG2021 3.137; App. D).",
    ),
    TimescaleRule(
        "review_cppm",
        "Review CPPM",
        ("register", "continue_registration"),
        Period(6, "months"),
        ("continue_registration", "deregister"),
        "A review CPPM within 6 months of the last decision; within 3 months of a pre-birth "
        "registration (App. D; NG2021 3.143).",
        after_pre_birth=Period(3, "months"),
    ),
)

# -- recording a concern (record contents added in v2) ---------------------------------------

CHILD_FIELDS: tuple[Field, ...] = (
    *v1.CHILD_FIELDS,
    choice(
        "ethnicity",
        "Ethnic group",
        ETHNICITIES,
        "As the child or family describe it.",
        required=False,
    ),
    choice("disability", "Disability", DISABILITIES, required=False),
    choice("religion", "Religion", RELIGIONS, required=False),
)
CONCERN_FIELDS: tuple[Field, ...] = (
    *v1.CONCERN_FIELDS,
    text(
        "childs_views",
        "What the child said",
        "When the child was spoken to: their views in their own words where possible "
        "(NG2021 3.39).",
        required=False,
    ),
)
NEW_REFERRAL = RecordForm(
    "new_referral",
    "Record a concern",
    (
        Field("area", FieldType.AREA, "Area", "The local authority area the child lives in."),
        record("child", "The child", CHILD_FIELDS),
        record("concern", "The concern", CONCERN_FIELDS),
        record(
            "named_person",
            "Named person",
            (short_text("name", "Name"), short_text("service", "Service")),
            "The child's named person (or equivalent) should be told (NG2021 3.5).",
            required=False,
        ),
        Field(
            "related_referrals",
            FieldType.REFERRALS,
            "Brothers and sisters",
            "Referrals of siblings considered at the same IRD (NG2021 3.16): each lists the other.",
            required=False,
            max_items=20,
        ),
        Field(
            "transfer_from",
            FieldType.REFERRAL,
            "Transferred from",
            "For a child on another area's register moving here: that area's referral, which "
            "it has shared with this area (correction 2).",
            required=False,
        ),
    ),
    (v1.ONE_BIRTH_DATE,),
)

SCOTLAND_V2 = Definition(
    profile=v1.PROFILE,
    version=VERSION,
    title="Scotland: National Guidance for Child Protection 2021 (updated 2023)",
    initial_state="concern",
    states=STATES,
    triggers=TRIGGERS,
    timescales=TIMESCALES,
    holiday_country=v1.HOLIDAYS[0],
    holiday_subdivision=v1.HOLIDAYS[1],
    timezone=v1.TIMEZONE,
    closure_reasons=CLOSURE_REASONS,
    new_referral=NEW_REFERRAL,
    settings=SETTINGS,
    holidays_version=HOLIDAYS_VERSION,
    recompute_on_correction=False,
    closing_stops_clocks=True,
)
