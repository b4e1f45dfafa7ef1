"""Multi-agency record reading over `/api/v1/reading/...` (SPEC section 8)."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request
from flask_smorest import Blueprint
from marshmallow import RAISE

from referral import db
from referral.auth import Principal, current_principal
from referral.errors import Forbidden, NotFound
from referral.models import ReadingExercise
from referral.models.types import utcnow
from referral.schemas.record_reading import (
    AssignmentRequest,
    CloseRequest,
    ExerciseCreate,
    ExerciseListOut,
    ExerciseOut,
    FeedbackRequest,
    HighlightOut,
    HighlightRequest,
    ModerationOut,
    ModerationQueueOut,
    ModerationRequest,
    ReadingOut,
    ReadingRequest,
    ResultsArgs,
    ResultsOut,
    TemplateOut,
)
from referral.schemas.referral import ReferralOut
from referral.services import access, reading
from referral.services import record_reading as rr
from workflow.record_reading import template_to_dict

blp = Blueprint(
    "record_reading",
    __name__,
    url_prefix="/api/v1/reading",
    description="Multi-agency record reading: auditors create and moderate, readers grade",
)


def _exercise(principal: Principal, exercise_id: str) -> ReadingExercise:
    return rr.get_exercise(db.session(), principal.user, exercise_id)


def _reading_json(referral_id: str, found: Any) -> dict[str, Any]:
    return {
        "referral_id": referral_id,
        "status": found.status,
        "answers": found.answers,
        "updated_at": found.updated_at,
        "submitted_at": found.submitted_at,
    }


@blp.route("/templates", methods=["GET"])
@blp.response(200, TemplateOut(many=True))
def templates() -> Any:
    """The question templates: record-reading ones, and the families' feedback questions."""
    current_principal().require("read")
    return [template_to_dict(t) for t in rr.templates(current_app.config).all()]


@blp.route("/exercises", methods=["GET"])
@blp.response(200, ExerciseListOut)
def list_exercises() -> Any:
    """Exercises of your areas (auditors) or those you read in."""
    principal = current_principal()
    principal.require("read")
    session = db.session()
    found = rr.list_exercises(session, principal.user)
    return {"items": [rr.exercise_json(session, principal.user, e) for e in found]}


@blp.route("/exercises", methods=["POST"])
@blp.arguments(ExerciseCreate())
@blp.response(201, ExerciseOut)
def create(body: dict[str, Any]) -> Any:
    """Auditors: draw an exercise's sample; 422 when the population is smaller than the sample."""
    principal = current_principal()
    principal.require("write")
    session = db.session()
    exercise = rr.create_exercise(
        session, principal.user, body, rr.templates(current_app.config), utcnow()
    )
    body_out = rr.exercise_json(session, principal.user, exercise)
    return body_out, 201, {"Location": f"/api/v1/reading/exercises/{exercise.id}"}


@blp.route("/exercises/<exercise_id>", methods=["GET"])
@blp.response(200, ExerciseOut)
def get(exercise_id: str) -> Any:
    """The exercise, its sample and assignments (readers see their own), and progress."""
    principal = current_principal()
    principal.require("read")
    exercise = _exercise(principal, exercise_id)
    return rr.exercise_json(db.session(), principal.user, exercise)


@blp.route("/exercises/<exercise_id>/assignments", methods=["POST"])
@blp.arguments(AssignmentRequest())
@blp.response(201, ExerciseOut)
def assign(body: dict[str, Any], exercise_id: str) -> Any:
    """Auditors: two readers of two agencies for a sampled record; neither in its events."""
    principal = current_principal()
    principal.require("write")
    session = db.session()
    exercise = _exercise(principal, exercise_id)
    rr.assign(session, principal.user, exercise, body, utcnow())
    return rr.exercise_json(session, principal.user, exercise)


@blp.route("/exercises/<exercise_id>/records/<referral_id>", methods=["GET"])
@blp.response(200, ReferralOut)
def record(exercise_id: str, referral_id: str) -> Any:
    """An assigned reader: the referral, read-only, while the exercise is open (logged)."""
    principal = current_principal()
    principal.require("read")
    session = db.session()
    exercise = _exercise(principal, exercise_id)
    referral = rr.record_for_reader(session, principal.user, exercise, referral_id)
    access.log_read(
        session,
        principal,
        referral,
        f"{rr.ACCESS_WHAT} ({exercise.id})",
        request.remote_addr,
        request.user_agent.string,
    )
    body = reading.referral_detail(session, principal.user, referral, utcnow())
    body["allowed_triggers"] = []  # read for the exercise, never changed through it
    return body


@blp.route("/exercises/<exercise_id>/records/<referral_id>/reading", methods=["PUT"])
@blp.arguments(ReadingRequest())
@blp.response(200, ReadingOut)
def put_reading(body: dict[str, Any], exercise_id: str, referral_id: str) -> Any:
    """An assigned reader's own answers, as a draft or submitted (then they never change)."""
    principal = current_principal()
    principal.require("write")
    session = db.session()
    exercise = _exercise(principal, exercise_id)
    found = rr.templates(current_app.config)
    saved = rr.save_reading(
        session,
        principal.user,
        exercise,
        referral_id,
        body,
        rr.template_of(found, exercise),
        utcnow(),
    )
    return _reading_json(referral_id, saved)


@blp.route("/exercises/<exercise_id>/records/<referral_id>/reading", methods=["GET"])
@blp.response(200, ReadingOut)
def get_reading(exercise_id: str, referral_id: str) -> Any:
    """An assigned reader's own answers so far (404 before the first save)."""
    principal = current_principal()
    principal.require("read")
    session = db.session()
    exercise = _exercise(principal, exercise_id)
    found = rr.my_reading(session, principal.user, exercise, referral_id)
    if found is None:
        raise NotFound("you have not saved a reading of this record yet")
    return _reading_json(referral_id, found)


def _auditor(principal: Principal, exercise: ReadingExercise) -> None:
    if not rr.is_auditor_of(principal.user, exercise):
        raise Forbidden("only an auditor of the exercise's area may do this")


@blp.route("/exercises/<exercise_id>/moderation", methods=["GET"])
@blp.response(200, ModerationQueueOut)
def moderation_queue(exercise_id: str) -> Any:
    """Auditors: questions where a record's two submitted grades differ by two or more."""
    principal = current_principal()
    principal.require("read")
    exercise = _exercise(principal, exercise_id)
    _auditor(principal, exercise)
    found = rr.templates(current_app.config)
    items = rr.moderation_queue(db.session(), exercise, rr.template_of(found, exercise))
    return {"items": items}


@blp.route("/exercises/<exercise_id>/moderation", methods=["POST"])
@blp.arguments(ModerationRequest())
@blp.response(201, ModerationOut)
def moderate(body: dict[str, Any], exercise_id: str) -> Any:
    """Auditors: the agreed grade for a question in moderation, and the reason."""
    principal = current_principal()
    principal.require("write")
    exercise = _exercise(principal, exercise_id)
    found = rr.templates(current_app.config)
    decision = rr.moderate(
        db.session(), principal.user, exercise, body, rr.template_of(found, exercise), utcnow()
    )
    return {
        "referral_id": decision.referral_id,
        "question_id": decision.question_id,
        "grade": decision.grade,
        "reason": decision.reason,
        "decided_by": decision.decided_by,
        "decided_at": decision.decided_at,
    }


@blp.route("/exercises/<exercise_id>/results", methods=["GET"])
@blp.arguments(ResultsArgs(), location="query", unknown=RAISE)
@blp.response(200, ResultsOut)
@blp.doc(
    responses={
        "200": {
            "description": "The results; `?format=csv` answers them as CSV",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }
)
def results(args: dict[str, Any], exercise_id: str) -> Any:
    """Auditors: results by question, theme, agency and indicator (moderated grades first)."""
    principal = current_principal()
    if not principal.grants & {"read", "reports"}:
        principal.require("read")
    exercise = _exercise(principal, exercise_id)
    _auditor(principal, exercise)
    found = rr.templates(current_app.config)
    template = rr.template_of(found, exercise)
    body = rr.results(db.session(), exercise, template, found)
    if args["format"] == "csv":
        return Response(
            rr.results_csv(body, template),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="reading-{exercise.id}.csv"'},
        )
    return body


@blp.route("/exercises/<exercise_id>/records/<referral_id>/feedback/<respondent>", methods=["PUT"])
@blp.arguments(FeedbackRequest())
@blp.response(204)
def feedback(body: dict[str, Any], exercise_id: str, referral_id: str, respondent: str) -> Any:
    """Auditors: a sampled record's child (`child`) or parents and carers (`parents_carers`):
    invited, consented, responded, answers. Shown only in aggregate (in the results)."""
    principal = current_principal()
    principal.require("write")
    exercise = _exercise(principal, exercise_id)
    rr.record_feedback(
        db.session(),
        principal.user,
        exercise,
        referral_id,
        respondent,
        body,
        rr.templates(current_app.config),
        utcnow(),
    )
    return None


@blp.route("/exercises/<exercise_id>/highlights", methods=["POST"])
@blp.arguments(HighlightRequest())
@blp.response(201, HighlightOut)
def highlight(body: dict[str, Any], exercise_id: str) -> Any:
    """Auditors: mark a reader's evidence as a strength or an area for improvement."""
    principal = current_principal()
    principal.require("write")
    exercise = _exercise(principal, exercise_id)
    return rr.mark_evidence(db.session(), principal.user, exercise, body, utcnow())


@blp.route("/exercises/<exercise_id>/close", methods=["POST"])
@blp.arguments(CloseRequest())
@blp.response(200, ExerciseOut)
def close(body: dict[str, Any], exercise_id: str) -> Any:
    """Auditors: close the exercise; its readers lose access to its records."""
    principal = current_principal()
    principal.require("write")
    session = db.session()
    exercise = _exercise(principal, exercise_id)
    rr.close_exercise(session, principal.user, exercise, utcnow(), body.get("reason"))
    return rr.exercise_json(session, principal.user, exercise)
