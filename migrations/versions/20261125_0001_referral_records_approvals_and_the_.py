"""referral records, approvals and the audit log

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 17:22:28.337635
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sqlalchemy import text
from sqlalchemy.engine import Connection


def create_append_only(bind: Connection, tables: Sequence[str]) -> None:
    if bind.dialect.name == "postgresql":
        bind.execute(text(
            "CREATE OR REPLACE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP; END; $$"
        ))
        for table in tables:
            bind.execute(text(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION refuse_change()"
            ))
            bind.execute(text(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()"
            ))
    else:
        for table in tables:
            for op in ("UPDATE", "DELETE"):
                bind.execute(text(
                    f"CREATE TRIGGER {table}_refuse_{op.lower()} BEFORE {op} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {op} refused'); END"
                ))


def drop_append_only(bind: Connection, tables: Sequence[str]) -> None:
    for table in tables:
        if bind.dialect.name == "postgresql":
            bind.execute(text(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}"))
            bind.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}"))
        else:
            for op in ("update", "delete"):
                bind.execute(text(f"DROP TRIGGER IF EXISTS {table}_refuse_{op}"))

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('areas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('reference_prefix', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_areas')),
    sa.UniqueConstraint('reference_prefix', name=op.f('uq_areas_reference_prefix')),
    sa.UniqueConstraint('slug', name=op.f('uq_areas_slug'))
    )
    op.create_table('children',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chi_number', sa.String(length=10), nullable=True),
    sa.Column('given_name', sa.String(length=200), nullable=False),
    sa.Column('family_name', sa.String(length=200), nullable=False),
    sa.Column('name_key', sa.String(length=401), nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=True),
    sa.Column('expected_date_of_delivery', sa.Date(), nullable=True),
    sa.Column('sex', sa.String(length=20), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('school', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(date_of_birth IS NULL) <> (expected_date_of_delivery IS NULL)', name=op.f('ck_children_one_birth_date')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_children')),
    sa.UniqueConstraint('chi_number', name=op.f('uq_children_chi_number'))
    )
    with op.batch_alter_table('children', schema=None) as batch_op:
        batch_op.create_index('ix_children_name_key_dob', ['name_key', 'date_of_birth'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('agency', sa.String(length=20), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("agency IN ('police', 'health', 'social_work', 'education', 'other')", name=op.f('ck_users_agency')),
    sa.CheckConstraint("role IN ('practitioner', 'supervisor', 'senior_manager', 'auditor', 'admin')", name=op.f('ck_users_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('scope', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("scope IN ('read', 'reports', 'write')", name=op.f('ck_api_tokens_scope')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('reference_sequences',
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_reference_sequences_area_id_areas')),
    sa.PrimaryKeyConstraint('area_id', 'year', name=op.f('pk_reference_sequences'))
    )
    op.create_table('referrals',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('reference', sa.String(length=32), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.Integer(), nullable=False),
    sa.Column('child_match', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('profile', sa.String(length=40), nullable=False),
    sa.Column('profile_version', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('closure_reason', sa.String(length=30), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('referrer_agency', sa.String(length=20), nullable=False),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('concern_source', sa.String(length=30), nullable=False),
    sa.Column('concern_summary', sa.Text(), nullable=False),
    sa.Column('concern_categories', sa.JSON(), nullable=False),
    sa.Column('immediate_risk', sa.Boolean(), nullable=False),
    sa.Column('child_spoken_to', sa.Boolean(), nullable=False),
    sa.Column('next_due', sa.Date(), nullable=True),
    sa.Column('last_event_seq', sa.Integer(), nullable=False),
    sa.Column('last_event_hash', sa.String(length=64), nullable=False),
    sa.CheckConstraint("(state = 'closed') = (closure_reason IS NOT NULL)", name=op.f('ck_referrals_closed_has_reason')),
    sa.CheckConstraint("closure_reason IS NULL OR closure_reason IN ('nfa', 'single_agency', 'no_case_conference', 'not_registered', 'deregistered', 'transferred_out', 'recorded_in_error', 'child_died', 'moved_away', 'duplicate', 'other')", name=op.f('ck_referrals_closure_reason')),
    sa.CheckConstraint("concern_source IN ('child_disclosure', 'observation', 'family', 'third_party', 'anonymous', 'professional', 'other')", name=op.f('ck_referrals_concern_source')),
    sa.CheckConstraint("state IN ('concern', 'ird', 'investigation', 'jii', 'case_conference', 'registered', 'closed')", name=op.f('ck_referrals_state')),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_referrals_area_id_areas')),
    sa.ForeignKeyConstraint(['child_id'], ['children.id'], name=op.f('fk_referrals_child_id_children')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals')),
    sa.UniqueConstraint('reference', name=op.f('uq_referrals_reference'))
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index('ix_referrals_area_updated', ['area_id', 'updated_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_child_id'), ['child_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_next_due'), ['next_due'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_updated_at'), ['updated_at'], unique=False)

    op.create_table('user_areas',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_user_areas_area_id_areas')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_areas_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', 'area_id', name=op.f('pk_user_areas'))
    )
    op.create_table('access_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('referral_id', sa.String(length=32), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('agency', sa.String(length=20), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('via', sa.String(length=20), nullable=False),
    sa.Column('token_prefix', sa.String(length=12), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('what', sa.String(length=200), nullable=False),
    sa.Column('remote_addr', sa.String(length=64), nullable=True),
    sa.Column('user_agent', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_access_log_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_log'))
    )
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_log_referral_id'), ['referral_id'], unique=False)

    op.create_table('approvals',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('referral_id', sa.String(length=32), nullable=False),
    sa.Column('trigger', sa.String(length=40), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('referral_version', sa.Integer(), nullable=False),
    sa.Column('requested_by', sa.String(length=80), nullable=False),
    sa.Column('requested_agency', sa.String(length=20), nullable=False),
    sa.Column('requested_role', sa.String(length=20), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('approver_role', sa.String(length=20), nullable=False),
    sa.Column('approver_agency', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('decided_by', sa.String(length=80), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'approved', 'rejected', 'stale')", name=op.f('ck_approvals_status')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_approvals_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approvals'))
    )
    with op.batch_alter_table('approvals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approvals_referral_id'), ['referral_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_approvals_status'), ['status'], unique=False)
        batch_op.create_index('uq_approvals_one_pending', ['referral_id'], unique=True, sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))

    op.create_table('conferences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.String(length=32), nullable=False),
    sa.Column('conference_type', sa.String(length=20), nullable=False),
    sa.Column('scheduled_for', sa.DateTime(timezone=True), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('chair', sa.String(length=80), nullable=False),
    sa.Column('invitees', sa.JSON(), nullable=False),
    sa.Column('short_notice', sa.Boolean(), nullable=False),
    sa.Column('decision', sa.String(length=40), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("conference_type IN ('initial', 'pre_birth', 'transfer', 'review')", name=op.f('ck_conferences_type')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_conferences_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conferences'))
    )
    with op.batch_alter_table('conferences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conferences_referral_id'), ['referral_id'], unique=False)

    op.create_table('events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('referral_id', sa.String(length=32), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('trigger', sa.String(length=40), nullable=True),
    sa.Column('from_state', sa.String(length=20), nullable=True),
    sa.Column('to_state', sa.String(length=20), nullable=True),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('agency', sa.String(length=20), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_events_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events')),
    sa.UniqueConstraint('referral_id', 'seq', name=op.f('uq_events_referral_id_seq'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_events_referral_id'), ['referral_id'], unique=False)

    op.create_table('investigations',
    sa.Column('referral_id', sa.String(length=32), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('investigation_type', sa.String(length=20), nullable=False),
    sa.Column('decision_rationale', sa.Text(), nullable=False),
    sa.Column('jii_required', sa.Boolean(), nullable=False),
    sa.Column('medical_examination', sa.String(length=40), nullable=False),
    sa.Column('interim_safety_plan', sa.Text(), nullable=False),
    sa.Column('lead_professional', sa.String(length=80), nullable=False),
    sa.Column('parents_informed', sa.Boolean(), nullable=False),
    sa.Column('parents_not_informed_reason', sa.Text(), nullable=True),
    sa.Column('agencies_agreed', sa.JSON(), nullable=False),
    sa.Column('initial_cppm_due', sa.Date(), nullable=True),
    sa.Column('extensions', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=40), nullable=True),
    sa.Column('outcome_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome_rationale', sa.Text(), nullable=True),
    sa.Column('support_plan', sa.Text(), nullable=True),
    sa.Column('childs_views', sa.Text(), nullable=True),
    sa.Column('childs_views_not_obtained_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_investigations_referral_id_referrals')),
    sa.PrimaryKeyConstraint('referral_id', name=op.f('pk_investigations'))
    )
    op.create_table('irds',
    sa.Column('referral_id', sa.String(length=32), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('out_of_hours', sa.Boolean(), nullable=False),
    sa.Column('participants', sa.JSON(), nullable=False),
    sa.Column('convened_by', sa.String(length=80), nullable=False),
    sa.Column('decision', sa.String(length=40), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_rationale', sa.Text(), nullable=True),
    sa.Column('reasons_no_investigation', sa.Text(), nullable=True),
    sa.Column('lead_agency', sa.String(length=20), nullable=True),
    sa.Column('support_offered', sa.Text(), nullable=True),
    sa.Column('named_person_informed', sa.Boolean(), nullable=True),
    sa.Column('agencies_agreed', sa.JSON(), nullable=True),
    sa.Column('childs_views', sa.Text(), nullable=True),
    sa.Column('childs_views_not_obtained_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_irds_referral_id_referrals')),
    sa.PrimaryKeyConstraint('referral_id', name=op.f('pk_irds'))
    )
    op.create_table('jiis',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('planned_for', sa.DateTime(timezone=True), nullable=False),
    sa.Column('interviewers', sa.JSON(), nullable=False),
    sa.Column('aims', sa.Text(), nullable=False),
    sa.Column('planned_by', sa.String(length=80), nullable=False),
    sa.Column('conducted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=40), nullable=True),
    sa.Column('recording_reference', sa.String(length=200), nullable=True),
    sa.Column('salient_points', sa.Text(), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('planned', 'conducted', 'cancelled')", name=op.f('ck_jiis_status')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_jiis_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jiis'))
    )
    with op.batch_alter_table('jiis', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_jiis_referral_id'), ['referral_id'], unique=False)

    op.create_table('referral_agencies',
    sa.Column('referral_id', sa.String(length=32), nullable=False),
    sa.Column('agency', sa.String(length=20), nullable=False),
    sa.CheckConstraint("agency IN ('police', 'health', 'social_work', 'education', 'other')", name=op.f('ck_referral_agencies_agency')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_referral_agencies_referral_id_referrals')),
    sa.PrimaryKeyConstraint('referral_id', 'agency', name=op.f('pk_referral_agencies'))
    )
    op.create_table('conference_meetings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conference_id', sa.Integer(), nullable=False),
    sa.Column('quorate', sa.Boolean(), nullable=False),
    sa.Column('held_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('absent_agencies', sa.JSON(), nullable=True),
    sa.Column('rescheduled_for', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attendees', sa.JSON(), nullable=True),
    sa.Column('apologies', sa.JSON(), nullable=True),
    sa.Column('parents_views', sa.Text(), nullable=True),
    sa.Column('decision', sa.String(length=40), nullable=True),
    sa.Column('decision_rationale', sa.Text(), nullable=True),
    sa.Column('dissent', sa.Text(), nullable=True),
    sa.Column('outcome_detail', sa.Text(), nullable=True),
    sa.Column('childs_views', sa.Text(), nullable=True),
    sa.Column('childs_views_not_obtained_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['conference_id'], ['conferences.id'], name=op.f('fk_conference_meetings_conference_id_conferences')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conference_meetings'))
    )
    with op.batch_alter_table('conference_meetings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conference_meetings_conference_id'), ['conference_id'], unique=False)

    op.create_table('ird_contributions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.String(length=32), nullable=False),
    sa.Column('agency', sa.String(length=20), nullable=False),
    sa.Column('information_shared', sa.Text(), nullable=False),
    sa.Column('checks_made', sa.Text(), nullable=True),
    sa.Column('lawful_basis', sa.Text(), nullable=False),
    sa.Column('recorded_by', sa.String(length=80), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['referral_id'], ['irds.referral_id'], name=op.f('fk_ird_contributions_referral_id_irds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ird_contributions'))
    )
    with op.batch_alter_table('ird_contributions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ird_contributions_referral_id'), ['referral_id'], unique=False)

    op.create_table('registrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.String(length=32), nullable=False),
    sa.Column('conference_id', sa.Integer(), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('pre_birth', sa.Boolean(), nullable=False),
    sa.Column('plan_outline', sa.Text(), nullable=False),
    sa.Column('reporter_referral', sa.Boolean(), nullable=False),
    sa.Column('lead_professional', sa.String(length=80), nullable=False),
    sa.Column('core_group', sa.JSON(), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.String(length=30), nullable=True),
    sa.Column('receiving_area', sa.String(length=80), nullable=True),
    sa.Column('moved_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['conference_id'], ['conferences.id'], name=op.f('fk_registrations_conference_id_conferences')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_registrations_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registrations'))
    )
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registrations_referral_id'), ['referral_id'], unique=False)

    op.create_table('core_group_meetings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('held_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attendees', sa.JSON(), nullable=False),
    sa.Column('significant_change', sa.Boolean(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('recorded_by', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_core_group_meetings_registration_id_registrations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_group_meetings'))
    )
    with op.batch_alter_table('core_group_meetings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_group_meetings_registration_id'), ['registration_id'], unique=False)

    op.create_table('registration_concerns',
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.CheckConstraint("category IN ('domestic_abuse', 'neglect', 'parental_mental_health', 'parental_drug_misuse', 'parental_alcohol_misuse', 'emotional_abuse', 'physical_abuse', 'sexual_abuse', 'child_sexual_exploitation', 'child_criminal_exploitation', 'trafficking', 'non_engaging_family', 'child_placing_self_at_risk', 'other')", name=op.f('ck_registration_concerns_category')),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_registration_concerns_registration_id_registrations')),
    sa.PrimaryKeyConstraint('registration_id', 'category', name=op.f('pk_registration_concerns'))
    )
    create_append_only(op.get_bind(), ('events', 'access_log'))


def downgrade() -> None:
    drop_append_only(op.get_bind(), ('events', 'access_log'))
    op.drop_table('registration_concerns')
    with op.batch_alter_table('core_group_meetings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_group_meetings_registration_id'))

    op.drop_table('core_group_meetings')
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registrations_referral_id'))

    op.drop_table('registrations')
    with op.batch_alter_table('ird_contributions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ird_contributions_referral_id'))

    op.drop_table('ird_contributions')
    with op.batch_alter_table('conference_meetings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conference_meetings_conference_id'))

    op.drop_table('conference_meetings')
    op.drop_table('referral_agencies')
    with op.batch_alter_table('jiis', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_jiis_referral_id'))

    op.drop_table('jiis')
    op.drop_table('irds')
    op.drop_table('investigations')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_events_referral_id'))

    op.drop_table('events')
    with op.batch_alter_table('conferences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conferences_referral_id'))

    op.drop_table('conferences')
    with op.batch_alter_table('approvals', schema=None) as batch_op:
        batch_op.drop_index('uq_approvals_one_pending', sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))
        batch_op.drop_index(batch_op.f('ix_approvals_status'))
        batch_op.drop_index(batch_op.f('ix_approvals_referral_id'))

    op.drop_table('approvals')
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_log_referral_id'))

    op.drop_table('access_log')
    op.drop_table('user_areas')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referrals_updated_at'))
        batch_op.drop_index(batch_op.f('ix_referrals_state'))
        batch_op.drop_index(batch_op.f('ix_referrals_next_due'))
        batch_op.drop_index(batch_op.f('ix_referrals_child_id'))
        batch_op.drop_index('ix_referrals_area_updated')

    op.drop_table('referrals')
    op.drop_table('reference_sequences')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))

    op.drop_table('api_tokens')
    op.drop_table('users')
    with op.batch_alter_table('children', schema=None) as batch_op:
        batch_op.drop_index('ix_children_name_key_dob')

    op.drop_table('children')
    op.drop_table('areas')
