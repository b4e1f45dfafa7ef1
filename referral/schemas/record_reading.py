"""Record-reading request and response schemas (the OpenAPI document is made from them)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from referral.models.record_reading import HIGHLIGHT_KINDS, OUTCOMES
from referral.models.referrals import STATES
from referral.schemas.common import AwareDateTime, plausible_date
from referral.services.record_reading import (
    EVIDENCE_MAX,
    MAX_SAMPLE_SIZE,
    MAX_SEED,
    REASON_MAX,
    TITLE_MAX,
)
from workflow.jsonschema import STORABLE_PATTERN, TEXT_PATTERN
from workflow.record_reading import ANSWERS, KINDS, SCALES

#: free text as elsewhere in the API: no NUL (no database stores it), not blank where required
NOT_BLANK = validate.Regexp(TEXT_PATTERN, error="must not be blank or contain NUL characters")
STORABLE = validate.Regexp(STORABLE_PATTERN, error="must not contain NUL characters")
ID = [validate.Length(min=1, max=80), NOT_BLANK]
REFERRAL_ID = [validate.Length(min=1, max=32), NOT_BLANK]


class QuestionOut(Schema):
    id = fields.String()
    text = fields.String()
    scale = fields.String(validate=validate.OneOf(SCALES))
    indicator = fields.String()
    guidance = fields.String()


class ThemeOut(Schema):
    id = fields.String()
    title = fields.String()
    questions = fields.List(fields.Nested(QuestionOut))


class TemplateOut(Schema):
    id = fields.String()
    version = fields.Integer()
    title = fields.String()
    kind = fields.String(
        validate=validate.OneOf(KINDS),
        metadata={"description": "record (read against a referral) or feedback (families')"},
    )
    description = fields.String()
    indicators = fields.Dict(keys=fields.String(), values=fields.String())
    themes = fields.List(fields.Nested(ThemeOut))


class ExerciseCreate(Schema):
    title = fields.String(
        required=True, validate=[validate.Length(min=1, max=TITLE_MAX), NOT_BLANK]
    )
    area = fields.String(required=True, metadata={"format": "area"})
    from_ = plausible_date(
        required=True,
        data_key="from",
        attribute="from",
        metadata={"description": "first day the concern was received (Europe/London)"},
    )
    to = plausible_date(required=True, metadata={"description": "last day, included"})
    states = fields.List(
        fields.String(validate=validate.OneOf(STATES)),
        validate=validate.Length(max=len(STATES)),
        metadata={"description": "only referrals now in these states (all when left out)"},
    )
    sample_size = fields.Integer(
        load_default=35, validate=validate.Range(min=1, max=MAX_SAMPLE_SIZE)
    )
    seed = fields.Integer(
        validate=validate.Range(min=0, max=MAX_SEED),
        metadata={"description": "recorded; the same seed and population give the same sample"},
    )
    template = fields.String(validate=ID, metadata={"description": "a template id (latest)"})
    stratify = fields.Boolean(
        load_default=False,
        metadata={
            "description": "one record of each outcome (closed at IRD, registered, "
            "not registered) first"
        },
    )


class ReaderOut(Schema):
    username = fields.String()
    agency = fields.String()
    status = fields.String(validate=validate.OneOf(("not_started", "draft", "submitted")))


class SampledRecordOut(Schema):
    referral_id = fields.String()
    reference = fields.String(allow_none=True)
    position = fields.Integer()
    outcome = fields.String(validate=validate.OneOf(OUTCOMES))
    readers = fields.List(fields.Nested(ReaderOut))


class AssignmentOut(Schema):
    referral_id = fields.String()
    readers = fields.List(fields.Nested(ReaderOut))


class ProgressOut(Schema):
    records = fields.Integer()
    records_assigned = fields.Integer()
    readings_expected = fields.Integer()
    readings_draft = fields.Integer()
    readings_submitted = fields.Integer()
    records_read = fields.Integer(metadata={"description": "records with both readings in"})


class TemplateRef(Schema):
    id = fields.String()
    version = fields.Integer()


class ExerciseOut(Schema):
    id = fields.String()
    title = fields.String()
    area = fields.String(allow_none=True)
    from_ = fields.Date(data_key="from", attribute="from")
    to = fields.Date()
    states = fields.List(fields.String())
    stratified = fields.Boolean()
    template = fields.Nested(TemplateRef)
    sample_size = fields.Integer()
    population_size = fields.Integer()
    seed = fields.Integer()
    status = fields.String(validate=validate.OneOf(("open", "closed")))
    created_by = fields.String()
    created_at = AwareDateTime()
    closed_at = AwareDateTime(allow_none=True)
    sample = fields.List(fields.String(), metadata={"description": "referral ids, as drawn"})
    records = fields.List(fields.Nested(SampledRecordOut))
    assignments = fields.List(fields.Nested(AssignmentOut))
    progress = fields.Nested(ProgressOut)


class ExerciseListOut(Schema):
    items = fields.List(fields.Nested(ExerciseOut))


class AssignmentRequest(Schema):
    referral_id = fields.String(required=True, validate=REFERRAL_ID)
    readers = fields.List(
        fields.String(validate=ID),
        required=True,
        validate=validate.Length(equal=2),
        metadata={"description": "two usernames of two agencies; neither in the record's events"},
    )


class AnswerIn(Schema):
    grade = fields.Integer(
        validate=validate.Range(min=1, max=6), metadata={"description": "six-point questions"}
    )
    answer = fields.String(
        validate=validate.OneOf(ANSWERS), metadata={"description": "yes/no/partly questions"}
    )
    evidence = fields.String(validate=[validate.Length(max=EVIDENCE_MAX), STORABLE])


class ReadingRequest(Schema):
    answers = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(AnswerIn),
        load_default=dict,
        metadata={
            "description": "by question id: the ids of the exercise template's questions "
            "(GET /api/v1/reading/templates); any other key is refused with 422"
        },
    )
    submitted = fields.Boolean(
        load_default=False,
        metadata={"description": "true submits: every question answered, then no change"},
    )


class AnswerOut(Schema):
    grade = fields.Integer()
    answer = fields.String()
    evidence = fields.String()


class ReadingOut(Schema):
    referral_id = fields.String()
    status = fields.String(validate=validate.OneOf(("draft", "submitted")))
    answers = fields.Dict(keys=fields.String(), values=fields.Nested(AnswerOut))
    updated_at = AwareDateTime()
    submitted_at = AwareDateTime(allow_none=True)


class ModerationReadingOut(Schema):
    reader = fields.String()
    agency = fields.String()
    grade = fields.Integer()
    evidence = fields.String()


class ModeratedOut(Schema):
    grade = fields.Integer()
    reason = fields.String()
    decided_by = fields.String()
    decided_at = AwareDateTime()


class ModerationItemOut(Schema):
    referral_id = fields.String()
    reference = fields.String(allow_none=True)
    question_id = fields.String()
    question = fields.String()
    difference = fields.Integer()
    readings = fields.List(fields.Nested(ModerationReadingOut))
    moderated = fields.Nested(ModeratedOut, allow_none=True)


class ModerationQueueOut(Schema):
    items = fields.List(fields.Nested(ModerationItemOut))


class ModerationRequest(Schema):
    referral_id = fields.String(required=True, validate=REFERRAL_ID)
    question_id = fields.String(required=True, validate=ID)
    grade = fields.Integer(required=True, validate=validate.Range(min=1, max=6))
    reason = fields.String(
        required=True, validate=[validate.Length(min=1, max=REASON_MAX), NOT_BLANK]
    )


class ModerationOut(Schema):
    referral_id = fields.String()
    question_id = fields.String()
    grade = fields.Integer()
    reason = fields.String()
    decided_by = fields.String()
    decided_at = AwareDateTime()


class ResultsArgs(Schema):
    format = fields.String(validate=validate.OneOf(("json", "csv")), load_default="json")


class AnswerCounts(Schema):
    yes = fields.Integer()
    partly = fields.Integer()
    no = fields.Integer()


class QuestionResult(Schema):
    n = fields.Integer()
    mean = fields.Float(allow_none=True)
    distribution = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "six-point: records by value; yes/no/partly: readings by answer"},
    )


class GroupResult(Schema):
    n = fields.Integer(metadata={"description": "six-point record values counted"})
    mean = fields.Float(allow_none=True)
    answers = fields.Nested(AnswerCounts)


class SummaryOut(Schema):
    records_sampled = fields.Integer()
    records_read = fields.Integer()
    readings_submitted = fields.Integer()
    moderated = fields.Integer()
    mean_grade = fields.Float(allow_none=True)
    good_or_better_pct = fields.Float(allow_none=True)


class FeedbackGroupOut(Schema):
    records = fields.Integer()
    invited = fields.Integer()
    consented = fields.Integer()
    responded = fields.Integer()
    answers = fields.Dict(keys=fields.String(), values=fields.Nested(AnswerCounts))


class ResultsOut(Schema):
    exercise_id = fields.String()
    template = fields.Nested(TemplateRef)
    summary = fields.Nested(SummaryOut)
    by_question = fields.Dict(keys=fields.String(), values=fields.Nested(QuestionResult))
    by_theme = fields.Dict(keys=fields.String(), values=fields.Nested(GroupResult))
    by_agency = fields.Dict(keys=fields.String(), values=fields.Nested(GroupResult))
    by_indicator = fields.Dict(keys=fields.String(), values=fields.Nested(GroupResult))
    feedback = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(FeedbackGroupOut),
        metadata={"description": "child and parents_carers, aggregated only"},
    )


class FeedbackRequest(Schema):
    invited = fields.Boolean(required=True)
    consented = fields.Boolean(required=True)
    responded = fields.Boolean(required=True)
    answers = fields.Dict(
        keys=fields.String(),
        values=fields.String(validate=validate.OneOf(ANSWERS)),
        load_default=dict,
        metadata={
            "description": "feedback question id -> yes, no or partly: the ids of the "
            "feedback template's questions; any other key is refused with 422, and answers "
            "are recorded only for someone who responded"
        },
    )


class HighlightRequest(Schema):
    referral_id = fields.String(required=True, validate=REFERRAL_ID)
    question_id = fields.String(required=True, validate=ID)
    reader = fields.String(required=True, validate=ID)
    kind = fields.String(required=True, validate=validate.OneOf(HIGHLIGHT_KINDS))


class HighlightOut(Schema):
    referral_id = fields.String()
    question_id = fields.String()
    reader = fields.String()
    kind = fields.String()
    evidence = fields.String()
    marked_by = fields.String()
    marked_at = AwareDateTime()


class CloseRequest(Schema):
    reason = fields.String(
        validate=[validate.Length(max=REASON_MAX), STORABLE],
        metadata={"description": "optional note"},
    )
