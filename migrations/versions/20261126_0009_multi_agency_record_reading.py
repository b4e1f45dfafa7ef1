"""multi-agency record reading

Record-reading exercises (SPEC section 8): an exercise records its population filter, its
random seed and sample size; `reading_samples` the referrals drawn, in order, with the outcome
stratum each was drawn from; `reading_assignments` the two readers (of two agencies) of each
sampled record; `readings` each reader's answers (a draft until submitted, then unchanged);
`reading_moderations` the grade an auditor agreed where two readers differed by two or more;
`reading_feedback` whether the child and the parents or carers gave feedback, and their
answers; `reading_highlights` evidence marked as a strength or an area for improvement.
`reading_events` records every change to an exercise; like `events`, `access_log` and
`admin_events`, the database refuses UPDATE, DELETE and TRUNCATE on it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import text

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

APPEND_ONLY = "reading_events"


def upgrade() -> None:
    op.create_table(
        "reading_exercises",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.String(length=80), nullable=False),
        sa.Column("template_version", sa.Integer(), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("states", sa.JSON(), nullable=False),
        sa.Column("stratified", sa.Boolean(), nullable=False),
        sa.Column("sample_size", sa.Integer(), nullable=False),
        sa.Column("population_size", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_by", sa.String(length=80), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'closed')", name=op.f("ck_reading_exercises_status")
        ),
        sa.CheckConstraint(
            "sample_size > 0", name=op.f("ck_reading_exercises_sample_size_positive")
        ),
        sa.ForeignKeyConstraint(
            ["area_id"], ["areas.id"], name=op.f("fk_reading_exercises_area_id_areas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reading_exercises")),
    )
    op.create_index(
        op.f("ix_reading_exercises_area_id"), "reading_exercises", ["area_id"], unique=False
    )
    op.create_table(
        "reading_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("exercise_id", sa.String(length=32), nullable=False),
        sa.Column("referral_id", sa.String(length=32), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("agency", sa.String(length=20), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["reading_exercises.id"],
            name=op.f("fk_reading_events_exercise_id_reading_exercises"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reading_events")),
    )
    op.create_index(
        op.f("ix_reading_events_exercise_id"), "reading_events", ["exercise_id"], unique=False
    )
    op.create_table(
        "reading_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exercise_id", sa.String(length=32), nullable=False),
        sa.Column("referral_id", sa.String(length=32), nullable=False),
        sa.Column("reader_id", sa.Integer(), nullable=False),
        sa.Column("agency", sa.String(length=20), nullable=False),
        sa.Column("assigned_by", sa.String(length=80), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["reading_exercises.id"],
            name=op.f("fk_reading_assignments_exercise_id_reading_exercises"),
        ),
        sa.ForeignKeyConstraint(
            ["reader_id"], ["users.id"], name=op.f("fk_reading_assignments_reader_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_reading_assignments_referral_id_referrals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reading_assignments")),
        sa.UniqueConstraint(
            "exercise_id",
            "referral_id",
            "agency",
            name=op.f("uq_reading_assignments_exercise_id_referral_id_agency"),
        ),
        sa.UniqueConstraint(
            "exercise_id",
            "referral_id",
            "reader_id",
            name=op.f("uq_reading_assignments_exercise_id_referral_id_reader_id"),
        ),
    )
    op.create_index(
        op.f("ix_reading_assignments_exercise_id"),
        "reading_assignments",
        ["exercise_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_reading_assignments_reader_id"), "reading_assignments", ["reader_id"], unique=False
    )
    op.create_table(
        "reading_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exercise_id", sa.String(length=32), nullable=False),
        sa.Column("referral_id", sa.String(length=32), nullable=False),
        sa.Column("respondent", sa.String(length=20), nullable=False),
        sa.Column("invited", sa.Boolean(), nullable=False),
        sa.Column("consented", sa.Boolean(), nullable=False),
        sa.Column("responded", sa.Boolean(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "respondent IN ('child', 'parents_carers')", name=op.f("ck_reading_feedback_respondent")
        ),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["reading_exercises.id"],
            name=op.f("fk_reading_feedback_exercise_id_reading_exercises"),
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_reading_feedback_referral_id_referrals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reading_feedback")),
        sa.UniqueConstraint(
            "exercise_id",
            "referral_id",
            "respondent",
            name=op.f("uq_reading_feedback_exercise_id_referral_id_respondent"),
        ),
    )
    op.create_index(
        op.f("ix_reading_feedback_exercise_id"), "reading_feedback", ["exercise_id"], unique=False
    )
    op.create_table(
        "reading_highlights",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exercise_id", sa.String(length=32), nullable=False),
        sa.Column("referral_id", sa.String(length=32), nullable=False),
        sa.Column("question_id", sa.String(length=80), nullable=False),
        sa.Column("reader", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("marked_by", sa.String(length=80), nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('strength', 'improvement')", name=op.f("ck_reading_highlights_kind")
        ),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["reading_exercises.id"],
            name=op.f("fk_reading_highlights_exercise_id_reading_exercises"),
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_reading_highlights_referral_id_referrals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reading_highlights")),
        sa.UniqueConstraint(
            "exercise_id", "referral_id", "question_id", "reader", name="uq_reading_highlights_mark"
        ),
    )
    op.create_index(
        op.f("ix_reading_highlights_exercise_id"),
        "reading_highlights",
        ["exercise_id"],
        unique=False,
    )
    op.create_table(
        "reading_moderations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exercise_id", sa.String(length=32), nullable=False),
        sa.Column("referral_id", sa.String(length=32), nullable=False),
        sa.Column("question_id", sa.String(length=80), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=80), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("grade BETWEEN 1 AND 6", name=op.f("ck_reading_moderations_grade")),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["reading_exercises.id"],
            name=op.f("fk_reading_moderations_exercise_id_reading_exercises"),
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_reading_moderations_referral_id_referrals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reading_moderations")),
        sa.UniqueConstraint(
            "exercise_id",
            "referral_id",
            "question_id",
            name=op.f("uq_reading_moderations_exercise_id_referral_id_question_id"),
        ),
    )
    op.create_index(
        op.f("ix_reading_moderations_exercise_id"),
        "reading_moderations",
        ["exercise_id"],
        unique=False,
    )
    op.create_table(
        "reading_samples",
        sa.Column("exercise_id", sa.String(length=32), nullable=False),
        sa.Column("referral_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('closed_at_ird', 'registered', 'not_registered')",
            name=op.f("ck_reading_samples_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["reading_exercises.id"],
            name=op.f("fk_reading_samples_exercise_id_reading_exercises"),
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"], ["referrals.id"], name=op.f("fk_reading_samples_referral_id_referrals")
        ),
        sa.PrimaryKeyConstraint("exercise_id", "referral_id", name=op.f("pk_reading_samples")),
        sa.UniqueConstraint(
            "exercise_id", "position", name=op.f("uq_reading_samples_exercise_id_position")
        ),
    )
    op.create_table(
        "readings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('draft', 'submitted')", name=op.f("ck_readings_status")),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["reading_assignments.id"],
            name=op.f("fk_readings_assignment_id_reading_assignments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_readings")),
        sa.UniqueConstraint("assignment_id", name=op.f("uq_readings_assignment_id")),
    )

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # refuse_change() was created by 0001 for events and access_log
        bind.execute(
            text(
                f"CREATE TRIGGER {APPEND_ONLY}_append_only BEFORE UPDATE OR DELETE ON "
                f"{APPEND_ONLY} FOR EACH ROW EXECUTE FUNCTION refuse_change()"
            )
        )
        bind.execute(
            text(
                f"CREATE TRIGGER {APPEND_ONLY}_no_truncate BEFORE TRUNCATE ON {APPEND_ONLY} "
                "FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()"
            )
        )
    else:
        for statement in ("UPDATE", "DELETE"):
            bind.execute(
                text(
                    f"CREATE TRIGGER {APPEND_ONLY}_refuse_{statement.lower()} BEFORE {statement} "
                    f"ON {APPEND_ONLY} BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY} is append-only: "
                    f"{statement} refused'); END"
                )
            )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.execute(text(f"DROP TRIGGER IF EXISTS {APPEND_ONLY}_append_only ON {APPEND_ONLY}"))
        bind.execute(text(f"DROP TRIGGER IF EXISTS {APPEND_ONLY}_no_truncate ON {APPEND_ONLY}"))
    else:
        for statement in ("update", "delete"):
            bind.execute(text(f"DROP TRIGGER IF EXISTS {APPEND_ONLY}_refuse_{statement}"))
    op.drop_table("readings")
    op.drop_table("reading_samples")
    op.drop_index(op.f("ix_reading_moderations_exercise_id"), table_name="reading_moderations")
    op.drop_table("reading_moderations")
    op.drop_index(op.f("ix_reading_highlights_exercise_id"), table_name="reading_highlights")
    op.drop_table("reading_highlights")
    op.drop_index(op.f("ix_reading_feedback_exercise_id"), table_name="reading_feedback")
    op.drop_table("reading_feedback")
    op.drop_index(op.f("ix_reading_assignments_reader_id"), table_name="reading_assignments")
    op.drop_index(op.f("ix_reading_assignments_exercise_id"), table_name="reading_assignments")
    op.drop_table("reading_assignments")
    op.drop_index(op.f("ix_reading_events_exercise_id"), table_name="reading_events")
    op.drop_table("reading_events")
    op.drop_index(op.f("ix_reading_exercises_area_id"), table_name="reading_exercises")
    op.drop_table("reading_exercises")
