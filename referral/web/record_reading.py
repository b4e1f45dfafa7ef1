"""Record-reading pages (SPEC sections 7 and 8), on the services the API uses.

Auditors list, create, assign, moderate and close exercises and read the results and the
printable summary; assigned readers read their records beside a form generated from the
exercise's template.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import exists, select

from referral import db
from referral.errors import Unprocessable
from referral.models import ReadingAssignment, ReadingExercise, Referral, User
from referral.models.types import utcnow
from referral.services import reading
from referral.services import record_reading as rr
from referral.web import bp, charts, html
from referral.web.referrals import log_page_read
from workflow.record_reading import FEEDBACK_TEMPLATE, GRADES, SIX_POINT, Template
from workflow.vocabulary import Role


@bp.app_context_processor
def _reading_navigation() -> dict[str, Any]:
    """Whether the navigation shows "Record reading": auditors, and readers assigned."""
    if not current_user.is_authenticated or current_user.role == Role.ADMIN:
        return {"reads_records": False}
    if current_user.role == Role.AUDITOR:
        return {"reads_records": True}
    assigned = db.session().scalar(
        select(exists().where(ReadingAssignment.reader_id == current_user.id))
    )
    return {"reads_records": bool(assigned)}


def _user() -> User:
    user: User = current_user._get_current_object()
    return user


def _error_list(errors: dict[str, list[str]], labels: dict[str, str]) -> list[dict[str, str]]:
    return [
        {"text": f"{labels.get(path, path)}: {messages[0]}", "href": f"#{path.replace('.', '-')}"}
        for path, messages in errors.items()
    ]


@bp.route("/reading", methods=["GET"])
@login_required
def reading_exercises() -> Any:
    session = db.session()
    user = _user()
    found = [rr.exercise_json(session, user, e) for e in rr.list_exercises(session, user)]
    return render_template(
        "reading_list.html", exercises=found, is_auditor=user.role == Role.AUDITOR
    )


CREATE_LABELS = {
    "title": "Title",
    "area": "Area",
    "from": "From",
    "to": "To",
    "states": "States",
    "sample_size": "Sample size",
    "seed": "Random seed",
    "template": "Template",
}


def _int_or_text(value: str) -> Any:
    value = value.strip()
    return int(value) if value.isdigit() else (value or None)


@bp.route("/reading/new", methods=["GET", "POST"])
@login_required
def reading_new() -> Any:
    user = _user()
    if user.role != Role.AUDITOR:
        return html(
            render_template(
                "message.html",
                title="You cannot do this",
                message="Only auditors create record-reading exercises.",
            ),
            403,
        )
    found = rr.templates(current_app.config)
    form = request.form
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        body = {
            "title": form.get("title", ""),
            "area": form.get("area", ""),
            "from": form.get("from", ""),
            "to": form.get("to", ""),
            "sample_size": _int_or_text(form.get("sample_size", "")),
            "template": form.get("template") or None,
            "stratify": form.get("stratify") == "yes",
        }
        if form.get("seed", "").strip():
            body["seed"] = _int_or_text(form["seed"])
        if body["sample_size"] is None:
            body.pop("sample_size")
        try:
            exercise = rr.create_exercise(db.session(), user, body, found, utcnow())
        except Unprocessable as exc:
            errors = exc.extra["errors"]
        else:
            flash(
                f"Exercise created: {exercise.sample_size} records drawn (seed {exercise.seed}).",
                "success",
            )
            return redirect(url_for("web.reading_exercise", exercise_id=exercise.id))
    page = render_template(
        "reading_new.html",
        form=form,
        area_items=[
            {"value": a.slug, "text": a.name, "selected": form.get("area") == a.slug}
            for a in user.areas
        ],
        template_items=[
            {
                "value": t.id,
                "text": f"{t.title} (version {t.version})",
                "selected": form.get("template") == t.id,
            }
            for t in found.all("record")
        ],
        errors={k: v[0] for k, v in errors.items()},
        error_list=_error_list(errors, CREATE_LABELS),
    )
    return html(page, 422 if errors else 200)


def _exercise(exercise_id: str) -> ReadingExercise:
    return rr.get_exercise(db.session(), _user(), exercise_id)


@bp.route("/reading/<exercise_id>", methods=["GET"])
@login_required
def reading_exercise(exercise_id: str) -> Any:
    user = _user()
    exercise = _exercise(exercise_id)
    return _exercise_page(exercise, user)


def _exercise_page(
    exercise: ReadingExercise, user: User, errors: dict[str, list[str]] | None = None
) -> Any:
    session = db.session()
    body = rr.exercise_json(session, user, exercise)
    auditor = rr.is_auditor_of(user, exercise)
    page = render_template(
        "reading_exercise.html",
        exercise=body,
        is_auditor=auditor,
        unassigned=[r for r in body["records"] if not r["readers"]],
        unassigned_items=[
            {
                "value": r["referral_id"],
                "text": f"{r['position']}. {r['reference']}",
                "selected": request.form.get("referral_id") == r["referral_id"],
            }
            for r in body["records"]
            if not r["readers"]
        ],
        form=request.form,
        errors={k: v[0] for k, v in (errors or {}).items()},
        error_list=_error_list(
            errors or {},
            {
                "referral_id": "Record",
                "readers": "Readers",
                "readers.0": "First reader",
                "readers.1": "Second reader",
            },
        ),
    )
    return html(page, 422 if errors else 200)


@bp.route("/reading/<exercise_id>/assign", methods=["POST"])
@login_required
def reading_assign(exercise_id: str) -> Any:
    user = _user()
    exercise = _exercise(exercise_id)
    body = {
        "referral_id": request.form.get("referral_id", ""),
        "readers": [
            request.form.get("reader_1", "").strip(),
            request.form.get("reader_2", "").strip(),
        ],
    }
    try:
        rr.assign(db.session(), user, exercise, body, utcnow())
    except Unprocessable as exc:
        return _exercise_page(exercise, user, exc.extra["errors"])
    flash("Readers assigned.", "success")
    return redirect(url_for("web.reading_exercise", exercise_id=exercise.id))


@bp.route("/reading/<exercise_id>/close", methods=["POST"])
@login_required
def reading_close(exercise_id: str) -> Any:
    exercise = _exercise(exercise_id)
    rr.close_exercise(db.session(), _user(), exercise, utcnow())
    flash("Exercise closed: its readers no longer read its records.", "success")
    return redirect(url_for("web.reading_exercise", exercise_id=exercise.id))


def _answers_from_form(template: Template) -> dict[str, dict[str, Any]]:
    answers: dict[str, dict[str, Any]] = {}
    for question in template.questions:
        key = "grade" if question.scale == SIX_POINT else "answer"
        given = request.form.get(f"answers-{question.id}-{key}", "")
        evidence = request.form.get(f"answers-{question.id}-evidence", "")
        entry: dict[str, Any] = {"evidence": evidence}
        if given:
            entry[key] = int(given) if key == "grade" and given.isdigit() else given
        if given or evidence:
            answers[question.id] = entry
    return answers


@bp.route("/reading/<exercise_id>/records/<referral_id>", methods=["GET", "POST"])
@login_required
def reading_record(exercise_id: str, referral_id: str) -> Any:
    session = db.session()
    user = _user()
    exercise = _exercise(exercise_id)
    template = rr.template_of(rr.templates(current_app.config), exercise)
    found = rr.record_for_reader(session, user, exercise, referral_id)
    saved = rr.my_reading(session, user, exercise, referral_id)
    errors: dict[str, list[str]] = {}
    values = dict(saved.answers) if saved else {}
    if request.method == "POST":
        submitted = request.form.get("action") == "submit"
        values = _answers_from_form(template)
        try:
            rr.save_reading(
                session,
                user,
                exercise,
                referral_id,
                {"answers": values, "submitted": submitted},
                template,
                utcnow(),
            )
        except Unprocessable as exc:
            errors = exc.extra["errors"]
        else:
            flash("Reading submitted." if submitted else "Draft saved.", "success")
            return redirect(
                url_for("web.reading_record", exercise_id=exercise.id, referral_id=referral_id)
            )
    log_page_read(found, f"{rr.ACCESS_WHAT} ({exercise.id}, page)")
    detail = reading.referral_detail(session, user, found, utcnow())
    labels = {
        f"answers.{q.id}.{k}": q.text
        for q in template.questions
        for k in ("grade", "answer", "evidence")
    }
    page = render_template(
        "reading_record.html",
        exercise=exercise,
        referral=detail,
        template=template,
        grades=GRADES,
        grade_items=lambda chosen: [
            {"value": str(g), "text": f"{g} {text}", "checked": chosen == g}
            for g, text in GRADES.items()
        ],
        values=values,
        submitted=saved is not None and saved.status == "submitted",
        errors={k.replace(".", "-"): v[0] for k, v in errors.items()},
        error_list=_error_list(errors, labels),
    )
    return html(page, 422 if errors else 200)


#: who gives feedback, as the pages name them
RESPONDENT_LABELS = {"child": "the child", "parents_carers": "the parents or carers"}
FEEDBACK_FLAGS = {
    "invited": "Invited to give feedback",
    "consented": "Consented",
    "responded": "Responded",
}


@bp.route(
    "/reading/<exercise_id>/records/<referral_id>/feedback/<respondent>",
    methods=["GET", "POST"],
)
@login_required
def reading_feedback(exercise_id: str, referral_id: str, respondent: str) -> Any:
    """Auditors: whether the child (or the parents and carers) of a sampled record were
    invited, consented and responded, and their answers (shown elsewhere only in aggregate)."""
    session = db.session()
    user = _user()
    exercise = _exercise(exercise_id)
    rr.feedback_target(user, exercise, referral_id, respondent)
    found = rr.templates(current_app.config)
    template = found.get(FEEDBACK_TEMPLATE)
    saved = rr.feedback_of(session, exercise, referral_id, respondent)
    values: dict[str, Any] = {
        **{flag: getattr(saved, flag) if saved else None for flag in FEEDBACK_FLAGS},
        "answers": dict(saved.answers) if saved else {},
    }
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = {
            **{flag: request.form.get(flag) == "yes" for flag in FEEDBACK_FLAGS},
            "answers": {
                q.id: request.form[f"answers-{q.id}"]
                for q in template.questions
                if request.form.get(f"answers-{q.id}")
            },
        }
        try:
            rr.record_feedback(
                session, user, exercise, referral_id, respondent, values, found, utcnow()
            )
        except Unprocessable as exc:
            errors = exc.extra["errors"]
        else:
            flash(f"Feedback from {RESPONDENT_LABELS[respondent]} recorded.", "success")
            return redirect(url_for("web.reading_exercise", exercise_id=exercise.id))
    reference = session.scalar(select(Referral.reference).where(Referral.id == referral_id))
    labels = {
        **FEEDBACK_FLAGS,
        "answers": "Answers",
        **{f"answers.{q.id}": q.text for q in template.questions},
    }
    page = render_template(
        "reading_feedback.html",
        exercise=exercise,
        referral_id=referral_id,
        reference=reference,
        respondent=respondent,
        who=RESPONDENT_LABELS[respondent],
        flags=FEEDBACK_FLAGS,
        template=template,
        values=values,
        errors={k.replace(".", "-"): v[0] for k, v in errors.items()},
        error_list=_error_list(errors, labels),
    )
    return html(page, 422 if errors else 200)


@bp.route("/reading/<exercise_id>/moderation", methods=["GET", "POST"])
@login_required
def reading_moderation(exercise_id: str) -> Any:
    session = db.session()
    user = _user()
    exercise = _exercise(exercise_id)
    if not rr.is_auditor_of(user, exercise):
        return html(
            render_template(
                "message.html", title="You cannot do this", message="Only auditors moderate."
            ),
            403,
        )
    template = rr.template_of(rr.templates(current_app.config), exercise)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        body = {
            "referral_id": request.form.get("referral_id", ""),
            "question_id": request.form.get("question_id", ""),
            "grade": _int_or_text(request.form.get("grade", "")),
            "reason": request.form.get("reason", ""),
        }
        try:
            rr.moderate(session, user, exercise, body, template, utcnow())
        except Unprocessable as exc:
            errors = exc.extra["errors"]
        else:
            flash("Agreed grade recorded.", "success")
            return redirect(url_for("web.reading_moderation", exercise_id=exercise.id))
    page = render_template(
        "reading_moderation.html",
        exercise=exercise,
        queue=rr.moderation_queue(session, exercise, template),
        grades=GRADES,
        grade_items=[{"value": str(g), "text": f"{g} {text}"} for g, text in GRADES.items()],
        errors={k: v[0] for k, v in errors.items()},
        error_list=[
            {"text": f"{label}: {errors[key][0]}"}
            for key, label in (
                ("grade", "Agreed grade"),
                ("reason", "Reason"),
                ("question_id", "Question"),
            )
            if key in errors
        ],
    )
    return html(page, 422 if errors else 200)


def _results_context(exercise: ReadingExercise) -> dict[str, Any]:
    session = db.session()
    found = rr.templates(current_app.config)
    template = rr.template_of(found, exercise)
    results = rr.results(session, exercise, template, found)
    six = [q for q in template.questions if q.scale == SIX_POINT]
    feedback_template = found.get("family-feedback")
    return {
        "exercise": rr.exercise_json(session, _user(), exercise),
        "template": template,
        "theme_titles": {t.id: t.title for t in template.themes},
        "results": results,
        "feedback_questions": feedback_template.questions,
        "readers": rr.readers_by_agency(session, exercise),
        "highlights": rr.highlights(session, exercise),
        "question_chart": charts.bars(
            "Mean grade by question (six-point)",
            [q.id.replace("_", " ") for q in six],
            [results["by_question"][q.id]["mean"] for q in six],
        ),
        "theme_chart": charts.bars(
            "Mean grade by theme",
            [t.title for t in template.themes],
            [results["by_theme"][t.id]["mean"] for t in template.themes],
        ),
        "agency_chart": charts.bars(
            "Mean grade given by each agency's readers",
            list(results["by_agency"]),
            [row["mean"] for row in results["by_agency"].values()],
        ),
        "indicator_chart": charts.bars(
            "Mean grade by quality indicator",
            [template.indicators.get(k, k) for k in results["by_indicator"]],
            [row["mean"] for row in results["by_indicator"].values()],
        ),
    }


@bp.route("/reading/<exercise_id>/results", methods=["GET"])
@login_required
def reading_results(exercise_id: str) -> Any:
    exercise = _exercise(exercise_id)
    if not rr.is_auditor_of(_user(), exercise):
        return html(
            render_template(
                "message.html", title="You cannot do this", message="Only auditors see the results."
            ),
            403,
        )
    return render_template("reading_results.html", **_results_context(exercise))


@bp.route("/reading/<exercise_id>/summary", methods=["GET"])
@login_required
def reading_summary(exercise_id: str) -> Any:
    exercise = _exercise(exercise_id)
    if not rr.is_auditor_of(_user(), exercise):
        return html(
            render_template(
                "message.html", title="You cannot do this", message="Only auditors see the summary."
            ),
            403,
        )
    return render_template("reading_summary.html", **_results_context(exercise))


@bp.route("/reading/<exercise_id>/highlights", methods=["POST"])
@login_required
def reading_mark(exercise_id: str) -> Any:
    exercise = _exercise(exercise_id)
    body = {k: request.form.get(k, "") for k in ("referral_id", "question_id", "reader", "kind")}
    try:
        rr.mark_evidence(db.session(), _user(), exercise, body, utcnow())
    except Unprocessable as exc:
        flash("Not marked: " + "; ".join(m[0] for m in exc.extra["errors"].values()))
    else:
        flash("Evidence marked for the summary.", "success")
    return redirect(url_for("web.reading_moderation", exercise_id=exercise.id))
