"""The `scotland` profile: National Guidance for Child Protection in Scotland 2021 (2023)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflow.calendar import calendar_for
from workflow.definition import (
    ApprovalRule,
    CrossFieldRule,
    Definition,
    Guard,
    Period,
    Permission,
    RecordForm,
    StateInfo,
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
    parse_date,
    parse_datetime,
    planned_for,
    record,
    records,
    short_text,
    text,
    username,
)
from workflow.vocabulary import (
    AGENCIES,
    CONCERN_CATEGORIES,
    CONCERN_SOURCES,
    CORE_AGENCIES,
    SEXES,
)

PROFILE = "scotland"
HOLIDAYS = ("GB", "SCT")
TIMEZONE = "Europe/London"

# -- permissions --------------------------------------------------------------------------------

CORE_PRACTITIONER = Permission(agencies=CORE_AGENCIES)
ANY_AGENCY = Permission()
POLICE_OR_SOCIAL_WORK = Permission(agencies=("police", "social_work"))
SOCIAL_WORK = Permission(agencies=("social_work",))
THE_CHAIR = Permission(relationship="chair")
AN_INTERVIEWER = Permission(relationship="interviewer")
CORE_GROUP = Permission(relationship="core_group_or_social_work")

SUPERVISOR_APPROVAL = ApprovalRule(role="supervisor", agency="social_work")
SENIOR_MANAGER_APPROVAL = ApprovalRule(role="senior_manager", agency="social_work")

# -- reusable fields ---------------------------------------------------------------------------

VIEWS = (
    text(
        "childs_views",
        "The child's views",
        "What the child said they feel and want, in their own words where possible.",
        required=False,
    ),
    text(
        "childs_views_not_obtained_reason",
        "Why the child's views were not obtained",
        "Give this only when the child's views could not be sought or recorded.",
        required=False,
    ),
)
DECISION_RATIONALE = text(
    "decision_rationale",
    "Reasons for the decision",
    "A reasoned, evidenced inter-agency decision: what was weighed and why (NG2021 3.32).",
)
AGENCIES_AGREED = choices(
    "agencies_agreed",
    "Agencies that agreed the decision",
    AGENCIES,
    "Police, health and social work must all agree the decision.",
    must_include=CORE_AGENCIES,
)
NAMED_PERSON_INFORMED = boolean(
    "named_person_informed", "Named person informed", "Was the child's named person told?"
)
PERSON = (agency("agency", "Agency"), short_text("name", "Name"))
PERSON_WITH_ROLE = (
    *PERSON,
    short_text("role", "Role", "For example: detective sergeant, health visitor."),
)
LEAD_PROFESSIONAL = username(
    "lead_professional",
    "Lead professional",
    "Username of the qualified social worker who co-ordinates the work (NG2021 3.40).",
    agency="social_work",
)

MEETING_RECORD: tuple[Field, ...] = (
    happened_at("held_at", "When the meeting was held"),
    records("attendees", "Attendees", PERSON_WITH_ROLE, min_items=1),
    records("apologies", "Apologies", PERSON, "Invitees who sent apologies.", required=False),
    *VIEWS,
    text("parents_views", "Parents' or carers' views", required=False),
    DECISION_RATIONALE,
    text("dissent", "Dissent", "Any disagreement with the decision, and by whom.", required=False),
)

# -- cross-field rules -------------------------------------------------------------------------


def _views_pair(
    data: Mapping[str, Any], _s: Subject, _c: ValidationContext, errors: Errors
) -> None:
    given = [name for name in ("childs_views", "childs_views_not_obtained_reason") if name in data]
    if not given:
        errors.setdefault("childs_views", []).append(
            "record the child's views, or why they were not obtained"
        )
    elif len(given) == 2:
        errors.setdefault("childs_views_not_obtained_reason", []).append(
            "give either the child's views or why they were not obtained, not both"
        )


def exactly_one_of(*names: str) -> dict[str, Any]:
    """JSON Schema: exactly one of these text fields is given (the others absent or null)."""
    return {"oneOf": [{"required": [n], "properties": {n: {"type": "string"}}} for n in names]}


VIEWS_PAIR = CrossFieldRule(
    "Record the child's views, or the reason they were not obtained (exactly one).",
    ("childs_views", "childs_views_not_obtained_reason"),
    _views_pair,
    schema=exactly_one_of("childs_views", "childs_views_not_obtained_reason"),
)


def _parents_reason(data: Mapping[str, Any], _s: Subject, _c: ValidationContext, e: Errors) -> None:
    if data.get("parents_informed") is False and "parents_not_informed_reason" not in data:
        e.setdefault("parents_not_informed_reason", []).append(
            "is required when parents were not informed"
        )


PARENTS_REASON = CrossFieldRule(
    "Give a reason when parents were not informed.",
    ("parents_informed", "parents_not_informed_reason"),
    _parents_reason,
    schema={
        "anyOf": [
            {"properties": {"parents_informed": {"enum": [True]}}},
            {
                "required": ["parents_not_informed_reason"],
                "properties": {"parents_not_informed_reason": {"type": "string"}},
            },
        ]
    },
)


def _interviewer_agencies(
    data: Mapping[str, Any], _s: Subject, ctx: ValidationContext, e: Errors
) -> None:
    names = data.get("interviewers")
    if not isinstance(names, list) or len(names) != 2:
        return
    found = sorted(str(ctx.directory.agency_of(n)) for n in names)
    if found != ["police", "social_work"]:
        e.setdefault("interviewers", []).append("must be one police officer and one social worker")


INTERVIEWERS = CrossFieldRule(
    "Exactly two interviewers: one police officer and one social worker.",
    ("interviewers",),
    _interviewer_agencies,
)

CONFERENCE_TYPES_FROM = {
    "investigation": ("initial", "pre_birth", "transfer"),
    "registered": ("review",),
}


def _conference_type(data: Mapping[str, Any], s: Subject, _c: ValidationContext, e: Errors) -> None:
    kind = data.get("conference_type")
    if kind is None:
        return
    allowed = CONFERENCE_TYPES_FROM.get(s.state, ())
    if kind not in allowed:
        e.setdefault("conference_type", []).append(
            f"from {s.state} the conference must be: " + ", ".join(allowed)
        )
    elif kind == "pre_birth" and not s.unborn:
        e.setdefault("conference_type", []).append(
            "a pre-birth conference is only for an unborn child"
        )


CONFERENCE_TYPE = CrossFieldRule(
    "initial, pre_birth or transfer from investigation; review from registered; "
    "pre_birth only for an unborn child.",
    ("conference_type",),
    _conference_type,
    conflict=True,  # the type is judged against the referral's state and child
)

INQUORATE_RECONVENE_WORKING_DAYS = 10


def _reconvene_within(
    data: Mapping[str, Any], _s: Subject, ctx: ValidationContext, e: Errors
) -> None:
    value = data.get("rescheduled_for")
    if value is None:
        return
    cal = calendar_for(*HOLIDAYS, TIMEZONE)
    latest = cal.add_working_days(cal.local_date(ctx.now), INQUORATE_RECONVENE_WORKING_DAYS)
    if cal.local_date(parse_datetime(value)) > latest:
        e.setdefault("rescheduled_for", []).append(
            f"must be within {INQUORATE_RECONVENE_WORKING_DAYS} working days "
            f"(on or before {latest.isoformat()})"
        )


RECONVENE_WITHIN = CrossFieldRule(
    f"An inquorate conference reconvenes within {INQUORATE_RECONVENE_WORKING_DAYS} working days.",
    ("rescheduled_for",),
    _reconvene_within,
)


def _after_current_due(
    data: Mapping[str, Any], s: Subject, _c: ValidationContext, e: Errors
) -> None:
    value = data.get("new_due_date")
    if value is None or s.initial_cppm_due is None:
        return
    if parse_date(value) <= s.initial_cppm_due:
        e.setdefault("new_due_date", []).append(
            f"must be after the current due date ({s.initial_cppm_due.isoformat()})"
        )


AFTER_CURRENT_DUE = CrossFieldRule(
    "The new due date must be after the current initial CPPM due date.",
    ("new_due_date",),
    _after_current_due,
    conflict=True,  # judged against the due date as recorded
)


def _safety_plan_confirmed(
    data: Mapping[str, Any], _s: Subject, _c: ValidationContext, e: Errors
) -> None:
    if data.get("interim_safety_plan_confirmed") is False:
        e.setdefault("interim_safety_plan_confirmed", []).append(
            "an extension needs an interim safety plan in place (NG2021 3.38)"
        )


SAFETY_PLAN_CONFIRMED = CrossFieldRule(
    "An interim safety plan must be confirmed in place.",
    ("interim_safety_plan_confirmed",),
    _safety_plan_confirmed,
    schema={"properties": {"interim_safety_plan_confirmed": {"enum": [True]}}},
)


def _quorate(data: Mapping[str, Any], _s: Subject, _c: ValidationContext, e: Errors) -> None:
    attendees = data.get("attendees")
    if not isinstance(attendees, list):
        return
    present = {a.get("agency") for a in attendees if isinstance(a, Mapping)}
    missing = [a for a in CORE_AGENCIES if a not in present]
    if missing:
        e.setdefault("attendees", []).append(
            "an inquorate review cannot remove a child from the register: missing "
            + ", ".join(m.replace("_", " ") for m in missing)
        )


QUORATE = CrossFieldRule(
    "A de-registration needs a quorate review: police, health and social work attend.",
    ("attendees",),
    _quorate,
)


def _own_agency_or_on_behalf(
    data: Mapping[str, Any], _s: Subject, ctx: ValidationContext, e: Errors
) -> None:
    named = data.get("agency")
    if named is None or ctx.actor_agency in (None, named, "social_work"):
        return
    e.setdefault("agency", []).append(
        "must be your own agency: only social work may record another agency's contribution"
    )


OWN_AGENCY_OR_ON_BEHALF = CrossFieldRule(
    "An agency records its own contribution; social work may record one on another agency's "
    "behalf (NG2021 3.23).",
    ("agency",),
    _own_agency_or_on_behalf,
)


def _one_birth_date(data: Mapping[str, Any], _s: Subject, _c: ValidationContext, e: Errors) -> None:
    child = data.get("child")
    if not isinstance(child, Mapping):
        return
    if (child.get("date_of_birth") is None) == (child.get("expected_date_of_delivery") is None):
        e.setdefault("child.date_of_birth", []).append(
            "give the date of birth or, for an unborn baby, the expected date of delivery "
            "(one, not both)"
        )


ONE_BIRTH_DATE = CrossFieldRule(
    "Give the child's date of birth, or the expected date of delivery for an unborn baby "
    "(exactly one).",
    ("child.date_of_birth", "child.expected_date_of_delivery"),
    _one_birth_date,
    schema={
        "properties": {
            "child": exactly_one_of("date_of_birth", "expected_date_of_delivery"),
        }
    },
)

# -- guards --------------------------------------------------------------------------------------

DECIDING_CONFERENCE = Guard(
    "initial_pre_birth_or_transfer_conference",
    "only an initial, pre-birth or transfer conference decides on registration",
    lambda s: s.conference_type in ("initial", "pre_birth", "transfer"),
)
REVIEW_CONFERENCE = Guard(
    "review_conference",
    "only a review conference decides to continue or end registration",
    lambda s: s.conference_type == "review",
)
NOT_TWICE_INQUORATE = Guard(
    "not_twice_inquorate",
    "the previous meeting of this conference was also inquorate: two inquorate meetings "
    "must not be held in a row",
    lambda s: not s.last_meeting_inquorate,
)

# -- recording a concern ---------------------------------------------------------------------------

CHILD_FIELDS: tuple[Field, ...] = (
    short_text("given_name", "Given name"),
    short_text("family_name", "Family name"),
    date_field(
        "date_of_birth",
        "Date of birth",
        "Within the last 25 years.",
        required=False,
        not_future=True,
        earliest=Offset(-300, "months"),
    ),
    date_field(
        "expected_date_of_delivery",
        "Expected date of delivery",
        "For an unborn baby: within the next 10 months.",
        required=False,
        earliest=Offset(0),
        latest=Offset(10, "months"),
    ),
    Field(
        "chi_number",
        FieldType.CHI_NUMBER,
        "CHI number",
        "10 digits, if known: the date of birth as DDMMYY, then four digits.",
        required=False,
    ),
    choice("sex", "Sex", SEXES, required=False),
    text("address", "Address", required=False, max_length=1000),
    short_text("school", "School or nursery", required=False),
)
CONCERN_FIELDS: tuple[Field, ...] = (
    datetime_field(
        "received_at",
        "When the concern was received",
        "The date and time the concern reached the agency, not when it is typed in.",
        not_future=True,
        earliest=Offset(-300, "months"),
    ),
    choice("source", "Source of the concern", CONCERN_SOURCES),
    text("summary", "What was reported", "In the words of the person who raised it."),
    choices("categories", "Areas of concern", CONCERN_CATEGORIES, required=False),
    boolean("immediate_risk", "Immediate risk", "Is the child at risk of immediate harm?"),
    boolean("child_spoken_to", "Child spoken to", "Has anyone spoken with the child?"),
)
NEW_REFERRAL = RecordForm(
    "new_referral",
    "Record a concern",
    (
        Field("area", FieldType.AREA, "Area", "The local authority area the child lives in."),
        record("child", "The child", CHILD_FIELDS),
        record("concern", "The concern", CONCERN_FIELDS),
    ),
    (ONE_BIRTH_DATE,),
)

# -- states, triggers, timescales -----------------------------------------------------------------

STATES = (
    StateInfo("concern", "Concern", "A concern about possible harm to a child has been recorded."),
    StateInfo("ird", "IRD", "An inter-agency referral discussion is under way."),
    StateInfo(
        "investigation",
        "Investigation",
        "A child protection investigation, co-ordinated by a lead professional.",
    ),
    StateInfo("jii", "JII planned", "A joint investigative interview is planned."),
    StateInfo(
        "case_conference",
        "Case conference",
        "A Child Protection Planning Meeting (CPPM) is scheduled.",
    ),
    StateInfo(
        "registered",
        "Registered",
        "The child's name is on the child protection register with a Child Protection Plan.",
    ),
    StateInfo("closed", "Closed", "The referral is closed; the reason it closed is kept."),
)
OPEN_STATES = tuple(s.name for s in STATES if s.name != "closed")

MEDICAL_EXAMINATIONS = ("none", "paediatric", "joint_paediatric_forensic", "comprehensive")
JII_OUTCOMES = (
    "further_police_investigation",
    "further_social_work_assessment",
    "medical_follow_up",
    "reporter_referral",
    "no_further_action",
    "case_conference",
)
CONFERENCE_TYPES = ("initial", "pre_birth", "transfer", "review")
CLOSE_REASONS = ("recorded_in_error", "child_died", "moved_away", "duplicate", "other")

TRIGGERS = (
    Trigger(
        "convene_ird",
        "Convene an IRD",
        ("concern",),
        "ird",
        (
            happened_at("started_at", "When the IRD started"),
            text("reason", "Reason for starting the IRD", "NG2021 3.19: the time and reason."),
            boolean(
                "out_of_hours",
                "Out of hours",
                "Out of core hours the IRD may focus on immediate protective actions.",
                default=False,
            ),
            records("participants", "Professionals attending", PERSON_WITH_ROLE, min_items=1),
        ),
        CORE_PRACTITIONER,
        help="Police, health or social work convene an IRD as soon as reasonably practicable.",
    ),
    Trigger(
        "add_ird_contribution",
        "Add an agency's contribution",
        ("ird",),
        "ird",
        (
            agency(
                "agency",
                "Contributing agency",
                "Your own agency; social work may record another agency's contribution on its "
                "behalf, and the record says so.",
            ),
            text("information_shared", "Information shared"),
            text("checks_made", "Checks made", "Systems and records checked.", required=False),
            text(
                "lawful_basis",
                "Lawful basis for sharing",
                "The lawful basis for sharing must be identified and recorded (NG2021 1.128).",
            ),
        ),
        ANY_AGENCY,
        help="Record what one agency shared at the IRD and on what lawful basis.",
        rules=(OWN_AGENCY_OR_ON_BEHALF,),
        on_behalf_field="agency",
    ),
    Trigger(
        "close_no_further_action",
        "Close: no further action",
        ("ird",),
        "closed",
        (
            DECISION_RATIONALE,
            text("reasons_no_investigation", "Reasons for no investigation", "NG2021 3.35."),
            *VIEWS,
            NAMED_PERSON_INFORMED,
            AGENCIES_AGREED,
        ),
        CORE_PRACTITIONER,
        help="A reasoned inter-agency decision to take no further immediate action.",
        approval=SUPERVISOR_APPROVAL,
        rules=(VIEWS_PAIR,),
        closure_reason="nfa",
    ),
    Trigger(
        "refer_single_agency",
        "Close: refer for single-agency support",
        ("ird",),
        "closed",
        (
            DECISION_RATIONALE,
            agency("lead_agency", "Lead agency"),
            text("support_offered", "Support offered"),
            *VIEWS,
            NAMED_PERSON_INFORMED,
            AGENCIES_AGREED,
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
                "CPPM.",
            ),
            LEAD_PROFESSIONAL,
            *VIEWS,
            boolean("parents_informed", "Parents informed"),
            text(
                "parents_not_informed_reason",
                "Why parents were not informed",
                "For example: it may jeopardise a police investigation or place the child at risk.",
                required=False,
            ),
            AGENCIES_AGREED,
        ),
        CORE_PRACTITIONER,
        help="The IRD decides there is a risk of significant harm: a multi-agency investigation.",
        rules=(VIEWS_PAIR, PARENTS_REASON),
    ),
    Trigger(
        "plan_jii",
        "Plan a joint investigative interview",
        ("investigation",),
        "jii",
        (
            datetime_field(
                "planned_for",
                "When the interview is planned for",
                not_before_concern=True,
                latest=Offset(12, "months"),
            ),
            Field(
                "interviewers",
                FieldType.USERNAMES,
                "Interviewers",
                "Usernames of the police officer and the social worker who will interview.",
                min_items=2,
                max_items=2,
            ),
            text("aims", "Aims and objectives", "From the pre-interview briefing (NG2021 3.50)."),
        ),
        POLICE_OR_SOCIAL_WORK,
        rules=(INTERVIEWERS,),
    ),
    Trigger(
        "record_jii",
        "Record the joint investigative interview",
        ("jii",),
        "investigation",
        (
            happened_at("conducted_at", "When the interview took place"),
            choice("outcome", "Outcome", JII_OUTCOMES),
            short_text(
                "recording_reference", "Recording reference", "Reference of the master recording."
            ),
            text(
                "salient_points",
                "Salient points",
                "The note of salient points agreed between the police officer and social worker.",
            ),
        ),
        AN_INTERVIEWER,
    ),
    Trigger(
        "cancel_jii",
        "Cancel the planned interview",
        ("jii",),
        "investigation",
        (text("reason", "Reason for cancelling"),),
        POLICE_OR_SOCIAL_WORK,
    ),
    Trigger(
        "extend_timescale",
        "Extend the initial CPPM timescale",
        ("investigation",),
        "investigation",
        (
            date_field(
                "new_due_date", "New due date", earliest=Offset(0), latest=Offset(12, "months")
            ),
            text("reason", "Reason for the extension", "Reasons must be recorded (NG2021 3.38)."),
            boolean(
                "interim_safety_plan_confirmed",
                "Interim safety plan in place, shared and effective",
            ),
        ),
        SOCIAL_WORK,
        help="Exceptions to the 28-day timescale are agreed by the accountable senior manager.",
        approval=SENIOR_MANAGER_APPROVAL,
        rules=(AFTER_CURRENT_DUE, SAFETY_PLAN_CONFIRMED),
    ),
    Trigger(
        "decide_no_case_conference",
        "Close: no case conference needed",
        ("investigation",),
        "closed",
        (DECISION_RATIONALE, text("support_plan", "Support plan")),
        SOCIAL_WORK,
        approval=SUPERVISOR_APPROVAL,
        closure_reason="no_case_conference",
    ),
    Trigger(
        "schedule_case_conference",
        "Schedule a case conference (CPPM)",
        ("investigation", "registered"),
        "case_conference",
        (
            choice(
                "conference_type",
                "Type of conference",
                CONFERENCE_TYPES,
                "Initial, pre-birth or transfer after an investigation; review for a registered "
                "child. Transfer: a child on another area's register moving here.",
            ),
            planned_for("scheduled_for", "When the conference will be held"),
            username(
                "chair",
                "Chair",
                "Username of the social work chair, ideally independent of the case.",
                agency="social_work",
            ),
            records("invitees", "Invitees", PERSON, min_items=1),
        ),
        SOCIAL_WORK,
        help="Give at least 5 calendar days' notice wherever possible; shorter notice is flagged.",
        rules=(CONFERENCE_TYPE,),
        short_notice=("scheduled_for", 5),
    ),
    Trigger(
        "record_inquorate",
        "Record an inquorate meeting",
        ("case_conference",),
        "case_conference",
        (
            choices("absent_agencies", "Agencies absent", AGENCIES, min_items=1),
            datetime_field(
                "rescheduled_for",
                "Reconvened for",
                "Within 10 working days.",
                future=True,
                latest=Offset(1, "months"),
                # ten working days always reach at least 14 calendar days ahead
                documented_latest=Offset(14),
            ),
        ),
        THE_CHAIR,
        guards=(NOT_TWICE_INQUORATE,),
        rules=(RECONVENE_WITHIN,),
    ),
    Trigger(
        "register",
        "Register: add the child's name to the child protection register",
        ("case_conference",),
        "registered",
        (
            *MEETING_RECORD,
            choices("areas_of_concern", "Areas of concern", CONCERN_CATEGORIES, min_items=1),
            records("core_group", "Core group", PERSON, min_items=1),
            text("plan_outline", "Outline Child Protection Plan"),
            boolean("reporter_referral", "Referred to the Children's Reporter"),
            LEAD_PROFESSIONAL,
        ),
        THE_CHAIR,
        guards=(DECIDING_CONFERENCE,),
        rules=(VIEWS_PAIR,),
    ),
    Trigger(
        "not_register",
        "Do not register",
        ("case_conference",),
        "closed",
        (*MEETING_RECORD, text("support_plan", "Support plan")),
        THE_CHAIR,
        guards=(DECIDING_CONFERENCE,),
        rules=(VIEWS_PAIR,),
        closure_reason="not_registered",
    ),
    Trigger(
        "continue_registration",
        "Continue registration",
        ("case_conference",),
        "registered",
        (*MEETING_RECORD, text("plan_outline", "Revised outline Child Protection Plan")),
        THE_CHAIR,
        guards=(REVIEW_CONFERENCE,),
        rules=(VIEWS_PAIR,),
    ),
    Trigger(
        "deregister",
        "De-register",
        ("case_conference",),
        "closed",
        (*MEETING_RECORD, text("deregistration_reason", "Reason for de-registration")),
        THE_CHAIR,
        help="Only a quorate review CPPM can remove a child's name from the register.",
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
                "Significant changes go to the chair and lead professional within 3 days.",
            ),
            text("notes", "Notes"),
        ),
        CORE_GROUP,
    ),
    Trigger(
        "transfer_out",
        "Transfer out to another area",
        ("registered",),
        "closed",
        (
            Field("receiving_area", FieldType.AREA, "Receiving area"),
            date_field(
                "moved_on",
                "Date the child moved",
                "Within the past year or the next three months.",
                earliest=Offset(-12, "months"),
                latest=Offset(3, "months"),
            ),
        ),
        SOCIAL_WORK,
        approval=SUPERVISOR_APPROVAL,
        closure_reason="transferred_out",
    ),
    Trigger(
        "close",
        "Close the referral",
        OPEN_STATES,
        "closed",
        (choice("closure_reason", "Reason for closing", CLOSE_REASONS), text("note", "Note")),
        SOCIAL_WORK,
        approval=SUPERVISOR_APPROVAL,
        closure_reason_field="closure_reason",
    ),
)

CLOSURE_REASONS = (
    "nfa",
    "single_agency",
    "no_case_conference",
    "not_registered",
    "deregistered",
    "transferred_out",
    *CLOSE_REASONS,
)

TIMESCALES = (
    TimescaleRule(
        "ird_convened",
        "IRD convened",
        ("concern",),
        Period(1, "working_days"),
        ("convene_ird",),
        "From the concern being received to the end of the next working day (NG2023 App. D).",
    ),
    TimescaleRule(
        "initial_cppm",
        "Initial CPPM",
        ("start_investigation",),
        Period(28, "calendar_days"),
        ("register", "not_register", "decide_no_case_conference"),
        "Within 28 calendar days of the investigation starting; for an unborn child by "
        "28 weeks' gestation if earlier. Moved by an approved extension (NG2021 3.38).",
        unborn_cap_before_delivery=Period(12, "weeks"),
        extended_by="extend_timescale",
    ),
    TimescaleRule(
        "inquorate_reconvene",
        "Inquorate conference reconvened",
        ("record_inquorate",),
        Period(INQUORATE_RECONVENE_WORKING_DAYS, "working_days"),
        ("register", "not_register", "continue_registration", "deregister"),
        "An inquorate CPPM reconvenes within 10 working days.",
    ),
    TimescaleRule(
        "first_core_group",
        "First core group",
        ("register",),
        Period(15, "working_days"),
        ("record_core_group",),
        "The first core group meets within 15 working days of registration (NG2021 3.137).",
    ),
    TimescaleRule(
        "review_cppm",
        "Review CPPM",
        ("register", "continue_registration"),
        Period(6, "months"),
        ("continue_registration", "deregister"),
        "A review CPPM within 6 months of the last decision; 3 months after a pre-birth "
        "registration.",
        after_pre_birth=Period(3, "months"),
    ),
)

SCOTLAND_V1 = Definition(
    profile=PROFILE,
    version=1,
    title="Scotland: National Guidance for Child Protection 2021 (updated 2023)",
    initial_state="concern",
    states=STATES,
    triggers=TRIGGERS,
    timescales=TIMESCALES,
    holiday_country=HOLIDAYS[0],
    holiday_subdivision=HOLIDAYS[1],
    timezone=TIMEZONE,
    closure_reasons=CLOSURE_REASONS,
    new_referral=NEW_REFERRAL,
)
