"""Multi-agency record reading (SPEC section 8): exercises, sampling, readers, moderation, results.

Every write here adds a `ReadingEvent` in the same transaction. Readers get to read their
assigned records through `record_for_reader` while the exercise is open: a grant consulted
by the record-reading endpoints only, never a widening of `visibility.visible`.

How results are counted (docs/record-reading.md says the same for people):
- a record's value for a question is the moderated grade where there is one, otherwise the
  mean of its submitted readings' values (a grade 1-6; yes/no/partly count 1, 0 and 0.5);
- `by_question`: `n` records with a value, `mean` of their values (2 decimals), and the
  `distribution` of record values (six-point) or of the readings' answers (yes/no/partly);
- `by_theme` and `by_indicator`: `n` and `mean` over the six-point record values of their
  questions, and `answers` counted over the readings of their yes/no/partly questions;
- `by_agency`: the same over the submitted readings of readers of that agency (their own
  grades, unmoderated: how each agency's readers judged the records).
"""

from __future__ import annotations

import csv
import io
import os
import random
import secrets
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from referral.errors import Conflict, Forbidden, NotFound, Unprocessable
from referral.models import (
    Area,
    Event,
    ModerationDecision,
    Reading,
    ReadingAssignment,
    ReadingEvent,
    ReadingExercise,
    ReadingFeedback,
    ReadingHighlight,
    ReadingSample,
    Referral,
    Registration,
    User,
)
from referral.models.record_reading import HIGHLIGHT_KINDS, OUTCOMES, RESPONDENTS
from referral.models.referrals import STATES
from referral.services.visibility import visible
from workflow.record_reading import (
    ANSWER_SCORES,
    ANSWERS,
    DEFAULT_TEMPLATE,
    FEEDBACK,
    FEEDBACK_TEMPLATE,
    GRADES,
    MODERATION_GAP,
    RECORD,
    SIX_POINT,
    Template,
    TemplateRegistry,
    UnknownTemplate,
    registry,
)
from workflow.vocabulary import Role

ZONE = ZoneInfo("Europe/London")
DEFAULT_SAMPLE_SIZE = 35
MAX_SAMPLE_SIZE = 500
MAX_SEED = 2**31 - 1
EVIDENCE_MAX = 4000
REASON_MAX = 2000
TITLE_MAX = 200
#: the IRD decisions that close a referral at the IRD (the "closed at IRD" stratum)
CLOSED_AT_IRD = ("nfa", "single_agency", "screened_out")
ACCESS_WHAT = "record reading"


def templates(config: Mapping[str, Any]) -> TemplateRegistry:
    """The built-in templates and those in the directory `REFERRAL_READING_TEMPLATES` names."""
    directory = config.get("REFERRAL_READING_TEMPLATES") or os.environ.get(
        "REFERRAL_READING_TEMPLATES"
    )
    return registry(str(directory) if directory else None)


def template_of(found: TemplateRegistry, exercise: ReadingExercise) -> Template:
    return found.get(exercise.template_id, exercise.template_version)


# -- who ----------------------------------------------------------------------------------------


def is_auditor_of(user: User, exercise: ReadingExercise) -> bool:
    return user.role == Role.AUDITOR and exercise.area_id in user.area_ids


def _require_auditor(user: User, exercise: ReadingExercise) -> None:
    if not is_auditor_of(user, exercise):
        raise Forbidden("only an auditor of the exercise's area may do this")


def _require_open(exercise: ReadingExercise) -> None:
    if exercise.status != "open":
        raise Conflict("the exercise is closed")


def _event(
    session: Session,
    exercise: ReadingExercise,
    user: User,
    action: str,
    now: datetime,
    referral_id: str | None = None,
    **details: Any,
) -> None:
    session.add(
        ReadingEvent(
            exercise_id=exercise.id,
            referral_id=referral_id,
            at=now,
            actor=user.username,
            agency=user.agency,
            role=user.role,
            action=action,
            details=details,
        )
    )


def assignments(
    session: Session, exercise: ReadingExercise, reader: User | None = None
) -> list[ReadingAssignment]:
    query = select(ReadingAssignment).where(ReadingAssignment.exercise_id == exercise.id)
    if reader is not None:
        query = query.where(ReadingAssignment.reader_id == reader.id)
    return list(session.scalars(query.order_by(ReadingAssignment.id)))


def list_exercises(session: Session, user: User) -> list[ReadingExercise]:
    """Exercises of the auditor's areas, or those the user reads in, newest first."""
    query = select(ReadingExercise)
    if user.role == Role.AUDITOR:
        query = query.where(ReadingExercise.area_id.in_(sorted(user.area_ids)))
    else:
        query = query.where(
            exists(
                select(ReadingAssignment.id).where(
                    ReadingAssignment.exercise_id == ReadingExercise.id,
                    ReadingAssignment.reader_id == user.id,
                )
            )
        )
    return list(session.scalars(query.order_by(ReadingExercise.created_at.desc())))


def get_exercise(session: Session, user: User, exercise_id: str) -> ReadingExercise:
    """The exercise if `user` audits its area or reads in it; 404 otherwise."""
    exercise = session.get(ReadingExercise, exercise_id)
    if exercise is not None and (
        is_auditor_of(user, exercise) or assignments(session, exercise, user)
    ):
        return exercise
    raise NotFound(f"no record-reading exercise {exercise_id!r} that you can see")


# -- sampling -----------------------------------------------------------------------------------


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZONE)


def population(
    session: Session,
    user: User,
    area_id: int,
    period_from: date,
    period_to: date,
    states: Sequence[str] = (),
) -> list[tuple[str, str]]:
    """(referral id, outcome) of the referrals `user` sees in the area whose concern was
    received from `period_from` to `period_to` (local dates, both included), by id."""
    registered = exists(select(Registration.id).where(Registration.referral_id == Referral.id))
    query = select(Referral.id, Referral.closure_reason, registered).where(
        Referral.area_id == area_id,
        visible(user),
        Referral.received_at >= _local_midnight(period_from),
        Referral.received_at < _local_midnight(period_to + timedelta(days=1)),
    )
    if states:
        query = query.where(Referral.state.in_(list(states)))
    # sorted here, not by the database: collations differ, the order must not
    rows = sorted(session.execute(query).all(), key=lambda row: str(row[0]))
    return [(rid, _outcome(reason, bool(reg))) for rid, reason, reg in rows]


def _outcome(closure_reason: str | None, registered: bool) -> str:
    if registered:
        return "registered"
    if closure_reason in CLOSED_AT_IRD:
        return "closed_at_ird"
    return "not_registered"


def draw_sample(
    population: Sequence[tuple[str, str]], size: int, seed: int, stratify: bool = False
) -> list[tuple[str, str]]:
    """`size` members of `population` (ordered by id), the same for the same seed.

    Stratified, the first draws take one record of each outcome present (in `OUTCOMES`
    order), so closed-at-IRD, registered and not-registered records all appear; the rest is
    a simple random sample of the remainder.
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible by design: the seed is recorded
    if not stratify:
        return rng.sample(list(population), size)
    first: list[tuple[str, str]] = []
    for outcome in OUTCOMES:
        members = [m for m in population if m[1] == outcome]
        if members and len(first) < size:
            first.append(rng.choice(members))
    taken = {m[0] for m in first}
    rest = [m for m in population if m[0] not in taken]
    return first + rng.sample(rest, size - len(first))


def _parse_date(value: Any, name: str, errors: dict[str, list[str]]) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        errors[name] = ["give a date as YYYY-MM-DD"]
        return None


def create_exercise(
    session: Session,
    user: User,
    body: Mapping[str, Any],
    found: TemplateRegistry,
    now: datetime,
) -> ReadingExercise:
    """An auditor's new exercise: the population filtered, the sample drawn, the seed kept."""
    if user.role != Role.AUDITOR:
        raise Forbidden("only auditors create record-reading exercises")
    errors: dict[str, list[str]] = {}
    title = str(body.get("title") or "").strip()
    if not title or len(title) > TITLE_MAX:
        errors["title"] = [f"give a title of 1 to {TITLE_MAX} characters"]
    area = session.scalars(select(Area).where(Area.slug == str(body.get("area")))).first()
    if area is None or area.id not in user.area_ids:
        errors["area"] = ["give one of your areas"]
    period_from = _parse_date(body.get("from"), "from", errors)
    period_to = _parse_date(body.get("to"), "to", errors)
    if period_from and period_to and period_from > period_to:
        errors["to"] = ["must not be before from"]
    states = list(body.get("states") or [])
    if any(s not in STATES for s in states):
        errors["states"] = [f"each state must be one of {', '.join(STATES)}"]
    size = body.get("sample_size", DEFAULT_SAMPLE_SIZE)
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_SAMPLE_SIZE:
        errors["sample_size"] = [f"give a whole number from 1 to {MAX_SAMPLE_SIZE}"]
    seed = body.get("seed")
    if seed is None:
        seed = secrets.randbelow(MAX_SEED + 1)
    elif not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        errors["seed"] = [f"give a whole number from 0 to {MAX_SEED}"]
    template: Template | None = None
    try:
        template = found.get(str(body.get("template") or DEFAULT_TEMPLATE))
        if template.kind != RECORD:
            errors["template"] = ["is not a record-reading template"]
    except UnknownTemplate:
        errors["template"] = ["no such template"]
    if errors:
        raise Unprocessable(errors)
    assert area is not None
    assert period_from is not None
    assert period_to is not None
    assert template is not None
    members = population(session, user, area.id, period_from, period_to, states)
    if len(members) < size:
        raise Unprocessable(
            {"sample_size": [f"the population has {len(members)} records, fewer than {size}"]},
            detail=f"The population has {len(members)} records: fewer than the sample of {size}.",
        )
    stratify = bool(body.get("stratify", False))
    sample = draw_sample(members, size, seed, stratify)
    exercise = ReadingExercise(
        id=uuid.uuid4().hex,
        title=title,
        area_id=area.id,
        template_id=template.id,
        template_version=template.version,
        period_from=period_from,
        period_to=period_to,
        states=states,
        stratified=stratify,
        sample_size=size,
        population_size=len(members),
        seed=seed,
        status="open",
        created_by=user.username,
        created_at=now,
    )
    session.add(exercise)
    session.flush()
    for position, (referral_id, outcome) in enumerate(sample, start=1):
        session.add(
            ReadingSample(
                exercise_id=exercise.id,
                referral_id=referral_id,
                position=position,
                outcome=outcome,
            )
        )
    _event(
        session,
        exercise,
        user,
        "created",
        now,
        title=title,
        area=area.slug,
        period_from=period_from.isoformat(),
        period_to=period_to.isoformat(),
        states=states,
        stratified=stratify,
        sample_size=size,
        population_size=len(members),
        seed=seed,
        template={"id": template.id, "version": template.version},
        sample=[rid for rid, _ in sample],
    )
    session.flush()
    session.refresh(exercise)
    return exercise


def sample_ids(exercise: ReadingExercise) -> list[str]:
    return [s.referral_id for s in exercise.samples]


def _sampled(exercise: ReadingExercise, referral_id: str, field: str = "referral_id") -> None:
    if referral_id not in sample_ids(exercise):
        raise Unprocessable({field: ["is not in this exercise's sample"]})


# -- readers ------------------------------------------------------------------------------------


def record_actors(session: Session, referral_id: str) -> set[str]:
    """Everyone who appears in the referral's events: they worked on it."""
    return set(session.scalars(select(Event.actor).where(Event.referral_id == referral_id)))


def assign(
    session: Session, user: User, exercise: ReadingExercise, body: Mapping[str, Any], now: datetime
) -> list[ReadingAssignment]:
    """Two readers of two agencies for one sampled record; neither worked on it."""
    _require_auditor(user, exercise)
    _require_open(exercise)
    referral_id = str(body.get("referral_id") or "")
    _sampled(exercise, referral_id)
    names = body.get("readers")
    if not isinstance(names, list) or len(names) != 2 or len(set(map(str, names))) != 2:
        raise Unprocessable({"readers": ["give two different usernames"]})
    readers = [session.scalars(select(User).where(User.username == str(n))).first() for n in names]
    errors: dict[str, list[str]] = {}
    actors = record_actors(session, referral_id)
    for i, (name, reader) in enumerate(zip(names, readers, strict=True)):
        if reader is None or not reader.active or reader.role == Role.ADMIN:
            errors[f"readers.{i}"] = [f"{name!r} is not a staff user who can read records"]
        elif reader.username in actors:
            errors[f"readers.{i}"] = [f"{name!r} worked on this record (in its events)"]
    if not errors and readers[0] and readers[1] and readers[0].agency == readers[1].agency:
        errors["readers"] = ["the two readers must be from different agencies"]
    if errors:
        raise Unprocessable(errors)
    taken = session.scalars(
        select(ReadingAssignment.id).where(
            ReadingAssignment.exercise_id == exercise.id,
            ReadingAssignment.referral_id == referral_id,
        )
    ).first()
    if taken is not None:
        raise Conflict("this record already has its readers")
    made = []
    for reader in readers:
        assert reader is not None
        made.append(
            ReadingAssignment(
                exercise_id=exercise.id,
                referral_id=referral_id,
                reader_id=reader.id,
                agency=reader.agency,
                assigned_by=user.username,
                assigned_at=now,
            )
        )
    session.add_all(made)
    _event(
        session,
        exercise,
        user,
        "assigned",
        now,
        referral_id,
        readers=[{"username": r.username, "agency": r.agency} for r in readers if r],
    )
    session.flush()
    return made


def _assignment(
    session: Session, user: User, exercise: ReadingExercise, referral_id: str
) -> ReadingAssignment:
    found = session.scalars(
        select(ReadingAssignment).where(
            ReadingAssignment.exercise_id == exercise.id,
            ReadingAssignment.referral_id == referral_id,
            ReadingAssignment.reader_id == user.id,
        )
    ).first()
    if found is None:
        raise NotFound(f"no record {referral_id!r} assigned to you in this exercise")
    return found


def record_for_reader(
    session: Session, user: User, exercise: ReadingExercise, referral_id: str
) -> Referral:
    """The sampled record an assigned reader may read while the exercise is open.

    The caller logs the read in the access log as record reading.
    """
    _assignment(session, user, exercise, referral_id)
    if exercise.status != "open":
        raise Forbidden("the exercise is closed: its readers no longer read its records")
    referral = session.get(Referral, referral_id)
    if referral is None:  # pragma: no cover - a sampled referral is never deleted
        raise NotFound(f"no referral {referral_id!r}")
    return referral


def reading_of(session: Session, assignment: ReadingAssignment) -> Reading | None:
    return session.scalars(select(Reading).where(Reading.assignment_id == assignment.id)).first()


def my_reading(
    session: Session, user: User, exercise: ReadingExercise, referral_id: str
) -> Reading | None:
    return reading_of(session, _assignment(session, user, exercise, referral_id))


def _check_answers(
    template: Template, answers: Any, complete: bool, prefix: str = "answers"
) -> dict[str, dict[str, Any]]:
    if not isinstance(answers, Mapping):
        raise Unprocessable({prefix: ["give the answers by question id"]})
    errors: dict[str, list[str]] = {}
    clean: dict[str, dict[str, Any]] = {}
    for qid, given in answers.items():
        question = template.question(str(qid))
        path = f"{prefix}.{qid}"
        if question is None:
            errors[path] = ["no such question in the template"]
            continue
        if not isinstance(given, Mapping):
            errors[path] = ["give {grade or answer, evidence}"]
            continue
        evidence = given.get("evidence") or ""
        if not isinstance(evidence, str) or len(evidence) > EVIDENCE_MAX:
            errors[f"{path}.evidence"] = [f"give text of at most {EVIDENCE_MAX} characters"]
            continue
        if question.scale == SIX_POINT:
            grade = given.get("grade")
            unknown = set(given) - {"grade", "evidence"}
            if grade is None and not evidence and not unknown:
                continue  # nothing given for this question yet
            if (
                unknown
                or not isinstance(grade, int)
                or isinstance(grade, bool)
                or grade not in GRADES
            ):
                errors[f"{path}.grade"] = ["give a grade from 1 to 6"]
                continue
            clean[question.id] = {"grade": grade, "evidence": evidence.strip()}
        else:
            answer = given.get("answer")
            unknown = set(given) - {"answer", "evidence"}
            if answer is None and not evidence and not unknown:
                continue
            if unknown or answer not in ANSWERS:
                errors[f"{path}.answer"] = ["answer yes, no or partly"]
                continue
            clean[question.id] = {"answer": answer, "evidence": evidence.strip()}
    if complete and not errors:
        for question in template.questions:
            if question.id not in clean:
                key = "grade" if question.scale == SIX_POINT else "answer"
                errors[f"{prefix}.{question.id}.{key}"] = ["answer every question to submit"]
    if errors:
        raise Unprocessable(errors)
    return clean


def save_reading(
    session: Session,
    user: User,
    exercise: ReadingExercise,
    referral_id: str,
    body: Mapping[str, Any],
    template: Template,
    now: datetime,
) -> Reading:
    """A reader's own answers, as a draft or submitted; a submitted reading never changes."""
    assignment = _assignment(session, user, exercise, referral_id)
    if exercise.status != "open":
        raise Forbidden("the exercise is closed: its readings can no longer change")
    reading = reading_of(session, assignment)
    if reading is not None and reading.status == "submitted":
        raise Conflict("this reading was submitted: it cannot change")
    submitted = body.get("submitted", False)
    if not isinstance(submitted, bool):
        raise Unprocessable({"submitted": ["give true or false"]})
    answers = _check_answers(template, body.get("answers", {}), complete=submitted)
    before = dict(reading.answers) if reading is not None else None
    if reading is None:
        reading = Reading(assignment_id=assignment.id, answers=answers, status="draft")
        session.add(reading)
    reading.answers = answers
    reading.updated_at = now
    if submitted:
        reading.status = "submitted"
        reading.submitted_at = now
    _event(
        session,
        exercise,
        user,
        "reading_submitted" if submitted else "reading_saved",
        now,
        referral_id,
        before=before,
        answers=answers,
    )
    session.flush()
    return reading


def close_exercise(
    session: Session,
    user: User,
    exercise: ReadingExercise,
    now: datetime,
    reason: str | None = None,
) -> ReadingExercise:
    """Auditors close an exercise: its readers lose access to its records."""
    _require_auditor(user, exercise)
    _require_open(exercise)
    exercise.status = "closed"
    exercise.closed_by = user.username
    exercise.closed_at = now
    _event(session, exercise, user, "closed", now, reason=reason)
    session.flush()
    return exercise


# -- moderation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Graded:
    """One submitted reading of one sampled record."""

    referral_id: str
    reader: str
    agency: str
    answers: dict[str, dict[str, Any]]


def submitted_readings(session: Session, exercise: ReadingExercise) -> list[Graded]:
    rows = session.execute(
        select(ReadingAssignment, Reading)
        .join(Reading, Reading.assignment_id == ReadingAssignment.id)
        .where(ReadingAssignment.exercise_id == exercise.id, Reading.status == "submitted")
        .order_by(ReadingAssignment.id)
    )
    return [Graded(a.referral_id, a.reader.username, a.agency, dict(r.answers)) for a, r in rows]


def moderations(session: Session, exercise: ReadingExercise) -> dict[tuple[str, str], Any]:
    rows = session.scalars(
        select(ModerationDecision).where(ModerationDecision.exercise_id == exercise.id)
    )
    return {(m.referral_id, m.question_id): m for m in rows}


def moderation_queue(
    session: Session, exercise: ReadingExercise, template: Template
) -> list[dict[str, Any]]:
    """Questions where a record's two submitted grades differ by two or more, in sample order."""
    by_record: dict[str, list[Graded]] = defaultdict(list)
    for graded in submitted_readings(session, exercise):
        by_record[graded.referral_id].append(graded)
    decided = moderations(session, exercise)
    references = dict(
        session.execute(
            select(Referral.id, Referral.reference).where(Referral.id.in_(list(by_record)))
        ).all()
    )
    queue = []
    for referral_id in sample_ids(exercise):
        pair = by_record.get(referral_id, [])
        if len(pair) != 2:
            continue
        for question in template.questions:
            if question.scale != SIX_POINT:
                continue
            first, second = (g.answers.get(question.id, {}).get("grade") for g in pair)
            if first is None or second is None or abs(first - second) < MODERATION_GAP:
                continue
            done = decided.get((referral_id, question.id))
            queue.append(
                {
                    "referral_id": referral_id,
                    "reference": references.get(referral_id),
                    "question_id": question.id,
                    "question": question.text,
                    "difference": abs(first - second),
                    "readings": [
                        {
                            "reader": g.reader,
                            "agency": g.agency,
                            "grade": g.answers[question.id]["grade"],
                            "evidence": g.answers[question.id].get("evidence", ""),
                        }
                        for g in pair
                    ],
                    "moderated": None
                    if done is None
                    else {
                        "grade": done.grade,
                        "reason": done.reason,
                        "decided_by": done.decided_by,
                        "decided_at": done.decided_at,
                    },
                }
            )
    return queue


def moderate(
    session: Session,
    user: User,
    exercise: ReadingExercise,
    body: Mapping[str, Any],
    template: Template,
    now: datetime,
) -> ModerationDecision:
    """The grade an auditor agrees for a question in moderation, and why."""
    _require_auditor(user, exercise)
    referral_id = str(body.get("referral_id") or "")
    question_id = str(body.get("question_id") or "")
    grade = body.get("grade")
    reason = str(body.get("reason") or "").strip()
    errors: dict[str, list[str]] = {}
    if not isinstance(grade, int) or isinstance(grade, bool) or grade not in GRADES:
        errors["grade"] = ["give a grade from 1 to 6"]
    if not reason or len(reason) > REASON_MAX:
        errors["reason"] = [f"give the reason, at most {REASON_MAX} characters"]
    if errors:
        raise Unprocessable(errors)
    waiting = [
        item
        for item in moderation_queue(session, exercise, template)
        if item["referral_id"] == referral_id and item["question_id"] == question_id
    ]
    if not waiting:
        raise Unprocessable(
            {"question_id": ["this record's question is not waiting for moderation"]}
        )
    if waiting[0]["moderated"] is not None:
        raise Conflict("this question was already moderated")
    assert isinstance(grade, int)
    decision = ModerationDecision(
        exercise_id=exercise.id,
        referral_id=referral_id,
        question_id=question_id,
        grade=grade,
        reason=reason,
        decided_by=user.username,
        decided_at=now,
    )
    session.add(decision)
    _event(
        session,
        exercise,
        user,
        "moderated",
        now,
        referral_id,
        question_id=question_id,
        grade=grade,
        reason=reason,
        readings=[{"reader": r["reader"], "grade": r["grade"]} for r in waiting[0]["readings"]],
    )
    session.flush()
    return decision


# -- feedback and highlights ----------------------------------------------------------------------


def record_feedback(
    session: Session,
    user: User,
    exercise: ReadingExercise,
    referral_id: str,
    respondent: str,
    body: Mapping[str, Any],
    found: TemplateRegistry,
    now: datetime,
) -> ReadingFeedback:
    """Whether the child (or the parents and carers) were invited, consented, responded, and
    their answers. A change keeps the values before in the exercise's events."""
    _require_auditor(user, exercise)
    _require_open(exercise)
    _sampled(exercise, referral_id)
    if respondent not in RESPONDENTS:
        raise NotFound(f"no respondent {respondent!r}: {', '.join(RESPONDENTS)}")
    errors: dict[str, list[str]] = {}
    flags = {}
    for name in ("invited", "consented", "responded"):
        value = body.get(name, False)
        if not isinstance(value, bool):
            errors[name] = ["give true or false"]
        flags[name] = bool(value)
    if flags["consented"] and not flags["invited"]:
        errors["consented"] = ["only someone invited can consent"]
    if flags["responded"] and not flags["consented"]:
        errors["responded"] = ["only someone who consented can respond"]
    template = found.get(FEEDBACK_TEMPLATE)
    answers: dict[str, str] = {}
    given = body.get("answers") or {}
    if not isinstance(given, Mapping):
        errors["answers"] = ["give the answers by question id"]
        given = {}
    for qid, answer in given.items():
        if template.question(str(qid)) is None:
            errors[f"answers.{qid}"] = ["no such feedback question"]
        elif answer not in ANSWERS:
            errors[f"answers.{qid}"] = ["answer yes, no or partly"]
        else:
            answers[str(qid)] = str(answer)
    if answers and not flags["responded"]:
        errors["answers"] = ["answers are recorded only for someone who responded"]
    if errors:
        raise Unprocessable(errors)
    row = feedback_of(session, exercise, referral_id, respondent)
    before = None
    if row is None:
        row = ReadingFeedback(
            exercise_id=exercise.id, referral_id=referral_id, respondent=respondent
        )
        session.add(row)
    else:
        before = {
            "invited": row.invited,
            "consented": row.consented,
            "responded": row.responded,
            "answers": dict(row.answers),
        }
    row.invited, row.consented, row.responded = (
        flags["invited"],
        flags["consented"],
        flags["responded"],
    )
    row.answers = answers
    row.recorded_by = user.username
    row.recorded_at = now
    _event(
        session,
        exercise,
        user,
        "feedback_recorded",
        now,
        referral_id,
        respondent=respondent,
        before=before,
        after={**flags, "answers": answers},
    )
    session.flush()
    return row


def feedback_target(
    user: User, exercise: ReadingExercise, referral_id: str, respondent: str
) -> None:
    """Refuses (403, 409, 404) what `record_feedback` would refuse for this record and
    respondent whatever the answers: for a page, before its form is shown."""
    _require_auditor(user, exercise)
    _require_open(exercise)
    if respondent not in RESPONDENTS:
        raise NotFound(f"no respondent {respondent!r}: {', '.join(RESPONDENTS)}")
    if referral_id not in sample_ids(exercise):
        raise NotFound(f"no record {referral_id!r} in this exercise's sample")


def feedback_of(
    session: Session, exercise: ReadingExercise, referral_id: str, respondent: str
) -> ReadingFeedback | None:
    """What is recorded of one respondent's feedback on one sampled record, if anything."""
    return session.scalars(
        select(ReadingFeedback).where(
            ReadingFeedback.exercise_id == exercise.id,
            ReadingFeedback.referral_id == referral_id,
            ReadingFeedback.respondent == respondent,
        )
    ).first()


def mark_evidence(
    session: Session,
    user: User,
    exercise: ReadingExercise,
    body: Mapping[str, Any],
    now: datetime,
) -> ReadingHighlight:
    """An auditor marks a reader's evidence text as a strength or an area for improvement."""
    _require_auditor(user, exercise)
    kind = body.get("kind")
    if kind not in HIGHLIGHT_KINDS:
        raise Unprocessable({"kind": ["give strength or improvement"]})
    referral_id = str(body.get("referral_id") or "")
    question_id = str(body.get("question_id") or "")
    reader = str(body.get("reader") or "")
    evidence = next(
        (
            g.answers.get(question_id, {}).get("evidence", "")
            for g in submitted_readings(session, exercise)
            if g.referral_id == referral_id and g.reader == reader
        ),
        "",
    )
    if not evidence:
        raise Unprocessable(
            {"question_id": ["that reader's submitted reading has no evidence on this question"]}
        )
    taken = session.scalars(
        select(ReadingHighlight.id).where(
            ReadingHighlight.exercise_id == exercise.id,
            ReadingHighlight.referral_id == referral_id,
            ReadingHighlight.question_id == question_id,
            ReadingHighlight.reader == reader,
        )
    ).first()
    if taken is not None:
        raise Conflict("this evidence is already marked")
    mark = ReadingHighlight(
        exercise_id=exercise.id,
        referral_id=referral_id,
        question_id=question_id,
        reader=reader,
        kind=str(kind),
        evidence=evidence,
        marked_by=user.username,
        marked_at=now,
    )
    session.add(mark)
    _event(
        session,
        exercise,
        user,
        "evidence_marked",
        now,
        referral_id,
        question_id=question_id,
        reader=reader,
        kind=kind,
    )
    session.flush()
    return mark


def highlights(session: Session, exercise: ReadingExercise) -> list[ReadingHighlight]:
    return list(
        session.scalars(
            select(ReadingHighlight)
            .where(ReadingHighlight.exercise_id == exercise.id)
            .order_by(ReadingHighlight.id)
        )
    )


# -- what an exercise shows -----------------------------------------------------------------------


def progress(session: Session, exercise: ReadingExercise) -> dict[str, int]:
    made = assignments(session, exercise)
    statuses = dict(
        session.execute(
            select(Reading.assignment_id, Reading.status).where(
                Reading.assignment_id.in_([a.id for a in made])
            )
        ).all()
    )
    submitted = Counter(a.referral_id for a in made if statuses.get(a.id) == "submitted")
    return {
        "records": len(exercise.samples),
        "records_assigned": len({a.referral_id for a in made}),
        "readings_expected": len(made),
        "readings_draft": sum(1 for a in made if statuses.get(a.id) == "draft"),
        "readings_submitted": sum(submitted.values()),
        "records_read": sum(1 for n in submitted.values() if n >= 2),
    }


def exercise_json(session: Session, user: User, exercise: ReadingExercise) -> dict[str, Any]:
    """The exercise, its sample and assignments (a reader sees only their own), progress."""
    auditor = is_auditor_of(user, exercise)
    made = assignments(session, exercise, None if auditor else user)
    statuses = dict(
        session.execute(
            select(Reading.assignment_id, Reading.status).where(
                Reading.assignment_id.in_([a.id for a in made])
            )
        ).all()
    )
    mine = {a.referral_id for a in made}
    sample = [s for s in exercise.samples if auditor or s.referral_id in mine]
    references = dict(
        session.execute(
            select(Referral.id, Referral.reference).where(
                Referral.id.in_([s.referral_id for s in sample])
            )
        ).all()
    )
    by_record: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in made:
        by_record[a.referral_id].append(
            {
                "username": a.reader.username,
                "agency": a.agency,
                "status": statuses.get(a.id, "not_started"),
            }
        )
    area = session.get(Area, exercise.area_id)
    return {
        "id": exercise.id,
        "title": exercise.title,
        "area": area.slug if area else None,
        "from": exercise.period_from,
        "to": exercise.period_to,
        "states": list(exercise.states),
        "stratified": exercise.stratified,
        "template": {"id": exercise.template_id, "version": exercise.template_version},
        "sample_size": exercise.sample_size,
        "population_size": exercise.population_size,
        "seed": exercise.seed,
        "status": exercise.status,
        "created_by": exercise.created_by,
        "created_at": exercise.created_at,
        "closed_at": exercise.closed_at,
        "sample": [s.referral_id for s in sample],
        "records": [
            {
                "referral_id": s.referral_id,
                "reference": references.get(s.referral_id),
                "position": s.position,
                "outcome": s.outcome,
                "readers": by_record.get(s.referral_id, []),
            }
            for s in sample
        ],
        "assignments": [
            {"referral_id": rid, "readers": readers} for rid, readers in by_record.items()
        ],
        "progress": progress(session, exercise),
    }


# -- results --------------------------------------------------------------------------------------


def _mean(values: Iterable[float]) -> float | None:
    found = list(values)
    return round(sum(found) / len(found), 2) if found else None


def _key(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def _value(answer: Mapping[str, Any]) -> float | None:
    if "grade" in answer:
        return float(answer["grade"])
    if "answer" in answer:
        return ANSWER_SCORES[answer["answer"]]
    return None


def _group(values: list[float], answers: Counter[str]) -> dict[str, Any]:
    return {
        "n": len(values),
        "mean": _mean(values),
        "answers": {a: answers.get(a, 0) for a in ANSWERS},
    }


def results(
    session: Session, exercise: ReadingExercise, template: Template, found: TemplateRegistry
) -> dict[str, Any]:
    """The exercise's results by question, theme, agency and indicator; headline figures and
    the children's and families' feedback, aggregated."""
    readings = submitted_readings(session, exercise)
    decided = moderations(session, exercise)
    by_record: dict[str, list[Graded]] = defaultdict(list)
    for graded in readings:
        by_record[graded.referral_id].append(graded)

    # each record's value per question
    values: dict[str, list[float]] = defaultdict(list)
    answers: dict[str, Counter[str]] = defaultdict(Counter)
    for referral_id in sample_ids(exercise):
        pair = by_record.get(referral_id, [])
        for question in template.questions:
            given = [g.answers[question.id] for g in pair if question.id in g.answers]
            if not given:
                continue
            done = decided.get((referral_id, question.id))
            if question.scale == SIX_POINT and done is not None:
                values[question.id].append(float(done.grade))
            else:
                scores = [v for v in map(_value, given) if v is not None]
                values[question.id].append(sum(scores) / len(scores))
            for answer in given:
                if "answer" in answer:
                    answers[question.id][answer["answer"]] += 1

    by_question: dict[str, Any] = {}
    for question in template.questions:
        found_values = values.get(question.id, [])
        if question.scale == SIX_POINT:
            counted = Counter(_key(v) for v in found_values)
            distribution = {k: counted[k] for k in sorted(counted, key=float, reverse=True)}
        else:
            distribution = {a: answers[question.id].get(a, 0) for a in ANSWERS}
        by_question[question.id] = {
            "n": len(found_values),
            "mean": _mean(found_values),
            "distribution": distribution,
        }

    def grouped(key_of: Any) -> dict[str, Any]:
        six: dict[str, list[float]] = defaultdict(list)
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        keys: list[str] = []
        for question in template.questions:
            key = key_of(question)
            if key not in keys:
                keys.append(key)
            if question.scale == SIX_POINT:
                six[key].extend(values.get(question.id, []))
            else:
                counts[key].update(answers.get(question.id, Counter()))
        return {key: _group(six[key], counts[key]) for key in keys}

    theme_of = {q.id: t.id for t in template.themes for q in t.questions}
    by_theme = grouped(lambda q: theme_of[q.id])
    by_indicator = grouped(lambda q: q.indicator)

    agency_grades: dict[str, list[float]] = defaultdict(list)
    agency_answers: dict[str, Counter[str]] = defaultdict(Counter)
    for graded in readings:
        for question in template.questions:
            own = graded.answers.get(question.id)
            if not own:
                continue
            if "grade" in own:
                agency_grades[graded.agency].append(float(own["grade"]))
            elif "answer" in own:
                agency_answers[graded.agency][own["answer"]] += 1
    agencies = sorted(set(agency_grades) | set(agency_answers))
    by_agency = {a: _group(agency_grades[a], agency_answers[a]) for a in agencies}

    six_point = [v for q in template.questions if q.scale == SIX_POINT for v in values[q.id]]
    made = progress(session, exercise)
    summary = {
        "records_sampled": made["records"],
        "records_read": made["records_read"],
        "readings_submitted": made["readings_submitted"],
        "moderated": len(decided),
        "mean_grade": _mean(six_point),
        "good_or_better_pct": round(100 * sum(1 for v in six_point if v >= 4) / len(six_point), 1)
        if six_point
        else None,
    }
    return {
        "exercise_id": exercise.id,
        "template": {"id": template.id, "version": template.version},
        "summary": summary,
        "by_question": by_question,
        "by_theme": by_theme,
        "by_agency": by_agency,
        "by_indicator": by_indicator,
        "feedback": feedback_summary(session, exercise, found),
    }


def feedback_summary(
    session: Session, exercise: ReadingExercise, found: TemplateRegistry
) -> dict[str, Any]:
    """Per respondent: how many invited, consented, responded, and the answers counted."""
    template = found.get(FEEDBACK_TEMPLATE)
    assert template.kind == FEEDBACK
    rows = list(
        session.scalars(select(ReadingFeedback).where(ReadingFeedback.exercise_id == exercise.id))
    )
    out: dict[str, Any] = {}
    for respondent in RESPONDENTS:
        mine = [r for r in rows if r.respondent == respondent]
        counted: dict[str, Counter[str]] = defaultdict(Counter)
        for row in mine:
            if row.responded:
                for qid, answer in row.answers.items():
                    counted[qid][answer] += 1
        out[respondent] = {
            "records": len(exercise.samples),
            "invited": sum(r.invited for r in mine),
            "consented": sum(r.consented for r in mine),
            "responded": sum(r.responded for r in mine),
            "answers": {
                q.id: {a: counted[q.id].get(a, 0) for a in ANSWERS} for q in template.questions
            },
        }
    return out


def results_csv(found: dict[str, Any], template: Template) -> str:
    """The results as CSV: one row per question, theme, agency and indicator."""
    titles = {q.id: q.text for q in template.questions}
    titles.update({t.id: t.title for t in template.themes})
    titles.update(template.indicators)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["group", "id", "title", "n", "mean", "yes", "partly", "no", "distribution"])
    for qid, row in found["by_question"].items():
        question = template.question(qid)
        yes_no = question is not None and question.scale != SIX_POINT
        dist = row["distribution"]
        writer.writerow(
            [
                "question",
                qid,
                titles.get(qid, ""),
                row["n"],
                "" if row["mean"] is None else row["mean"],
                *((dist["yes"], dist["partly"], dist["no"]) if yes_no else ("", "", "")),
                "" if yes_no else " ".join(f"{k}:{v}" for k, v in dist.items()),
            ]
        )
    for group in ("theme", "agency", "indicator"):
        for key, row in found[f"by_{group}"].items():
            writer.writerow(
                [
                    group,
                    key,
                    titles.get(key, key) if group != "agency" else key,
                    row["n"],
                    "" if row["mean"] is None else row["mean"],
                    row["answers"]["yes"],
                    row["answers"]["partly"],
                    row["answers"]["no"],
                    "",
                ]
            )
    return out.getvalue()


def readers_by_agency(session: Session, exercise: ReadingExercise) -> dict[str, list[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for a in assignments(session, exercise):
        out[a.agency].add(a.reader.username)
    return {agency: sorted(names) for agency, names in sorted(out.items())}
