"""Multi-agency record reading: exercises, their sample, readers, readings, moderation, feedback.

Every change to an exercise adds a `ReadingEvent` (append-only, like `events`) in the same
transaction: who, when, what, on which record, with the values before and after.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from referral.db import Base
from referral.models.audit import BigId
from referral.models.people import _in
from referral.models.types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from referral.models.people import User

EXERCISE_STATUSES = ("open", "closed")
READING_STATUSES = ("draft", "submitted")
#: the outcome strata a sample can be spread over
OUTCOMES = ("closed_at_ird", "registered", "not_registered")
RESPONDENTS = ("child", "parents_carers")
HIGHLIGHT_KINDS = ("strength", "improvement")


class ReadingExercise(Base):
    """One record-reading exercise: its population filter, recorded seed and sample size."""

    __tablename__ = "reading_exercises"
    __table_args__ = (
        CheckConstraint(_in("status", EXERCISE_STATUSES), name="status"),
        CheckConstraint("sample_size > 0", name="sample_size_positive"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    template_id: Mapped[str] = mapped_column(String(80))
    template_version: Mapped[int] = mapped_column(Integer)
    period_from: Mapped[date] = mapped_column(Date)
    period_to: Mapped[date] = mapped_column(Date)
    #: the states the population was filtered on (empty: every state)
    states: Mapped[list[str]] = mapped_column(JSON, default=list)
    stratified: Mapped[bool] = mapped_column(Boolean, default=False)
    sample_size: Mapped[int] = mapped_column(Integer)
    population_size: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_by: Mapped[str | None] = mapped_column(String(80))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    samples: Mapped[list[ReadingSample]] = relationship(
        lazy="selectin", order_by="ReadingSample.position"
    )


class ReadingSample(Base):
    """A referral drawn into an exercise's sample, in the order it was drawn."""

    __tablename__ = "reading_samples"
    __table_args__ = (
        UniqueConstraint("exercise_id", "position"),
        CheckConstraint(_in("outcome", OUTCOMES), name="outcome"),
    )

    exercise_id: Mapped[str] = mapped_column(ForeignKey("reading_exercises.id"), primary_key=True)
    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    #: the record's outcome when it was drawn (the strata of a stratified sample)
    outcome: Mapped[str] = mapped_column(String(20))


class ReadingAssignment(Base):
    """A reader assigned to read one sampled record; each record has two, of two agencies."""

    __tablename__ = "reading_assignments"
    __table_args__ = (
        UniqueConstraint("exercise_id", "referral_id", "reader_id"),
        UniqueConstraint("exercise_id", "referral_id", "agency"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    exercise_id: Mapped[str] = mapped_column(ForeignKey("reading_exercises.id"), index=True)
    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"))
    reader_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: the reader's agency when assigned: results by agency use it
    agency: Mapped[str] = mapped_column(String(20))
    assigned_by: Mapped[str] = mapped_column(String(80))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    reader: Mapped[User] = relationship(lazy="joined")


class Reading(Base):
    """One reader's answers on one record: a draft until submitted, then never changed."""

    __tablename__ = "readings"
    __table_args__ = (CheckConstraint(_in("status", READING_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("reading_assignments.id"), unique=True)
    #: question id -> {"grade": 1-6} or {"answer": yes|no|partly}, with "evidence"
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ModerationDecision(Base):
    """The grade an auditor agreed for a question where the two readers differed."""

    __tablename__ = "reading_moderations"
    __table_args__ = (
        UniqueConstraint("exercise_id", "referral_id", "question_id"),
        CheckConstraint("grade BETWEEN 1 AND 6", name="grade"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    exercise_id: Mapped[str] = mapped_column(ForeignKey("reading_exercises.id"), index=True)
    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"))
    question_id: Mapped[str] = mapped_column(String(80))
    grade: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(80))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReadingFeedback(Base):
    """Whether a sampled record's child, or parents and carers, gave feedback, and their answers."""

    __tablename__ = "reading_feedback"
    __table_args__ = (
        UniqueConstraint("exercise_id", "referral_id", "respondent"),
        CheckConstraint(_in("respondent", RESPONDENTS), name="respondent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    exercise_id: Mapped[str] = mapped_column(ForeignKey("reading_exercises.id"), index=True)
    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"))
    respondent: Mapped[str] = mapped_column(String(20))
    invited: Mapped[bool] = mapped_column(Boolean)
    consented: Mapped[bool] = mapped_column(Boolean)
    responded: Mapped[bool] = mapped_column(Boolean)
    #: feedback question id -> yes|no|partly
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    recorded_by: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReadingHighlight(Base):
    """Evidence an auditor marked as a strength or an area for improvement, for the summary."""

    __tablename__ = "reading_highlights"
    __table_args__ = (
        UniqueConstraint(
            "exercise_id", "referral_id", "question_id", "reader", name="uq_reading_highlights_mark"
        ),
        CheckConstraint(_in("kind", HIGHLIGHT_KINDS), name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    exercise_id: Mapped[str] = mapped_column(ForeignKey("reading_exercises.id"), index=True)
    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"))
    question_id: Mapped[str] = mapped_column(String(80))
    #: whose evidence text (their submitted reading's answer to the question)
    reader: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))
    evidence: Mapped[str] = mapped_column(Text)
    marked_by: Mapped[str] = mapped_column(String(80))
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReadingEvent(Base):
    """One change to an exercise: who, when, what, on which record. UPDATE and DELETE refused."""

    __tablename__ = "reading_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    exercise_id: Mapped[str] = mapped_column(ForeignKey("reading_exercises.id"), index=True)
    referral_id: Mapped[str | None] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(80))
    agency: Mapped[str] = mapped_column(String(20))
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
