"""Children, referrals and the stage records each trigger writes (real columns for reporting)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from referral.db import Base
from referral.models.people import Area, _in
from referral.models.types import UTCDateTime, utcnow
from workflow.profiles.scotland import CONFERENCE_TYPES
from workflow.profiles.scotland_v2 import CLOSURE_REASONS  # every version's, v1 included
from workflow.vocabulary import AGENCIES, CONCERN_CATEGORIES, CONCERN_SOURCES

STATES = ("concern", "ird", "investigation", "jii", "case_conference", "registered", "closed")


class ChildIdentity(Base):
    """Who a child is across referrals and areas, for counting re-referrals and re-registrations.

    It holds no details: each referral keeps its own record of the child (`Child`), which only
    its area's users can read. Referrals are linked to an identity by CHI number, or else by a
    possible-duplicate match on name and date of birth.
    """

    __tablename__ = "child_identities"

    id: Mapped[int] = mapped_column(primary_key=True)
    chi_number: Mapped[str | None] = mapped_column(String(10), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Child(Base):
    """The child (or unborn baby) as one referral records it: that referral's area's record."""

    __tablename__ = "children"
    __table_args__ = (
        CheckConstraint(
            "(date_of_birth IS NULL) <> (expected_date_of_delivery IS NULL)", name="one_birth_date"
        ),
        Index("ix_children_name_key_dob", "name_key", "date_of_birth"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("child_identities.id"), index=True)
    #: set when a record is made, never loaded (lazy="raise"): a new identity and its first
    #: record go into the database in one flush, the identity first
    identity: Mapped[ChildIdentity] = relationship(lazy="raise")
    chi_number: Mapped[str | None] = mapped_column(String(10), index=True)
    given_name: Mapped[str] = mapped_column(String(200))
    family_name: Mapped[str] = mapped_column(String(200))
    # lower-cased "given|family": the possible-duplicate match on name and date of birth
    name_key: Mapped[str] = mapped_column(String(401))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    expected_date_of_delivery: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(Text)
    school: Mapped[str | None] = mapped_column(String(200))
    # equalities, for the national statistics (profile v2)
    ethnicity: Mapped[str | None] = mapped_column(String(30))
    disability: Mapped[str | None] = mapped_column(String(20))
    religion: Mapped[str | None] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReferenceSequence(Base):
    """The next human reference number per area and year (row-locked when taken)."""

    __tablename__ = "reference_sequences"

    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class ReferralAgency(Base):
    """Agencies recorded on a referral (referrer, participant, invitee, core group, interviewer)."""

    __tablename__ = "referral_agencies"
    __table_args__ = (CheckConstraint(_in("agency", AGENCIES), name="agency"),)

    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"), primary_key=True)
    agency: Mapped[str] = mapped_column(String(20), primary_key=True)


class Referral(Base):
    __tablename__ = "referrals"
    __table_args__ = (
        CheckConstraint(_in("state", STATES), name="state"),
        CheckConstraint(_in("concern_source", CONCERN_SOURCES), name="concern_source"),
        CheckConstraint(
            "(state = 'closed') = (closure_reason IS NOT NULL)", name="closed_has_reason"
        ),
        CheckConstraint(
            "closure_reason IS NULL OR " + _in("closure_reason", CLOSURE_REASONS),
            name="closure_reason",
        ),
        # each list filter has an index giving its rows in the list's order (updated_at, id),
        # so a page reads only the rows it shows, at any size
        Index("ix_referrals_area_updated", "area_id", "updated_at", "id"),
        Index("ix_referrals_state_updated", "state", "updated_at", "id"),
        Index(
            "ix_referrals_due_updated",
            "updated_at",
            "id",
            postgresql_where=text("next_due IS NOT NULL"),
            sqlite_where=text("next_due IS NOT NULL"),
        ),
        CheckConstraint(_in("child_match", ("new", "chi", "possible")), name="child_match"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    child_id: Mapped[int] = mapped_column(ForeignKey("children.id"), unique=True)
    # how the child matched one already known when the concern was recorded: new, chi or
    # possible; and the areas holding the match (never their details)
    child_match: Mapped[str] = mapped_column(String(20), default="new")
    child_match_areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(20))
    profile: Mapped[str] = mapped_column(String(40))
    profile_version: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)
    closure_reason: Mapped[str | None] = mapped_column(String(30))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    referrer_agency: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # the concern
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    concern_source: Mapped[str] = mapped_column(String(30))
    concern_summary: Mapped[str] = mapped_column(Text)
    concern_categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    immediate_risk: Mapped[bool] = mapped_column(Boolean)
    child_spoken_to: Mapped[bool] = mapped_column(Boolean)
    childs_views: Mapped[str | None] = mapped_column(Text)  # at the concern (v2)
    named_person: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {name, service} (v2)
    # a child on another area's register moving here: that area's referral (v2)
    transfer_from: Mapped[str | None] = mapped_column(ForeignKey("referrals.id"), index=True)
    # the timescale clocks (workflow.timescales.Clocks), advanced by every write that moves them
    clocks: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # the stage records as reads show them (referral.services.projection), kept by every write
    stages_doc: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # the approval waiting for a decision, if any (at most one: uq_approvals_one_pending)
    pending_approval_id: Mapped[str | None] = mapped_column(String(32))
    # brothers' and sisters' referrals (referral_links), for reads
    related_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    # earliest due date of an unmet timescale, kept current by every write (drives `overdue`)
    next_due: Mapped[date | None] = mapped_column(Date, index=True)
    last_event_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_event_hash: Mapped[str] = mapped_column(String(64), default="")

    __mapper_args__ = {"version_id_col": version}

    area: Mapped[Area] = relationship(lazy="joined")
    child: Mapped[Child] = relationship(lazy="joined")
    agencies: Mapped[list[ReferralAgency]] = relationship(cascade="save-update, merge")
    #: the same agencies as one value ("education,police"), read with the referral's own row by
    #: the reads and writes of one referral (`agency_set`): a joined load of the collection
    #: would repeat the whole row, its JSON documents decoded again, once per agency. Kept,
    #: not expired, when the referral's row is written: `record_agencies` keeps it up to date
    agency_list: Mapped[str | None] = column_property(
        # the separator written into the SQL: given as a string, it is bound as a parameter
        # rendered anew into the SQL at every execution
        select(func.aggregate_strings(ReferralAgency.agency, cast(Any, literal_column("','"))))
        .where(ReferralAgency.referral_id == id)
        .correlate_except(ReferralAgency)
        .scalar_subquery(),
        deferred=True,
        expire_on_flush=False,
    )

    @property
    def agency_set(self) -> frozenset[str]:
        return frozenset(self.agency_list.split(",")) if self.agency_list else frozenset()

    @property
    def is_closed(self) -> bool:
        return self.state == "closed"


class ReferralLink(Base):
    """Referrals of brothers and sisters considered at the same IRD: each lists the other."""

    __tablename__ = "referral_links"
    __table_args__ = (CheckConstraint("referral_id <> related_id", name="not_itself"),)

    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"), primary_key=True)
    related_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReferralShare(Base):
    """Another area's read-only access to a referral: a receiving area during a transfer."""

    __tablename__ = "referral_shares"

    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"), primary_key=True)
    area: Mapped[str] = mapped_column(ForeignKey("areas.slug"), primary_key=True, index=True)
    shared_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(40))


# -- stage records ----------------------------------------------------------------------------


class ViewsMixin:
    childs_views: Mapped[str | None] = mapped_column(Text)
    childs_views_not_obtained_reason: Mapped[str | None] = mapped_column(Text)


class Ird(ViewsMixin, Base):
    """The inter-agency referral discussion and its decision."""

    __tablename__ = "irds"

    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)
    out_of_hours: Mapped[bool] = mapped_column(Boolean, default=False)
    participants: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    convened_by: Mapped[str] = mapped_column(String(80))
    decision: Mapped[str | None] = mapped_column(String(40))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_rationale: Mapped[str | None] = mapped_column(Text)
    # the full IRD after an out-of-hours one (v2)
    full_ird_held_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    full_ird_participants: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    full_ird_summary: Mapped[str | None] = mapped_column(Text)
    reasons_no_investigation: Mapped[str | None] = mapped_column(Text)
    lead_agency: Mapped[str | None] = mapped_column(String(20))
    support_offered: Mapped[str | None] = mapped_column(Text)
    named_person_informed: Mapped[bool | None] = mapped_column(Boolean)
    agencies_agreed: Mapped[list[str] | None] = mapped_column(JSON)

    contributions: Mapped[list[IrdContribution]] = relationship(
        lazy="selectin", order_by="IrdContribution.id"
    )


class IrdContribution(Base):
    __tablename__ = "ird_contributions"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[str] = mapped_column(ForeignKey("irds.referral_id"), index=True)
    agency: Mapped[str] = mapped_column(String(20))
    information_shared: Mapped[str] = mapped_column(Text)
    checks_made: Mapped[str | None] = mapped_column(Text)
    lawful_basis: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Screening(Base):
    """A concern found not to meet the child protection threshold (v2 `screen_out`)."""

    __tablename__ = "screenings"

    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"), primary_key=True)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decision_rationale: Mapped[str] = mapped_column(Text)
    advice_or_support: Mapped[str] = mapped_column(Text)
    named_person_informed: Mapped[bool] = mapped_column(Boolean)
    decided_by: Mapped[str] = mapped_column(String(80))


class Investigation(ViewsMixin, Base):
    __tablename__ = "investigations"

    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    investigation_type: Mapped[str] = mapped_column(String(20))
    decision_rationale: Mapped[str] = mapped_column(Text)
    jii_required: Mapped[bool] = mapped_column(Boolean)
    medical_examination: Mapped[str] = mapped_column(String(40))
    interim_safety_plan: Mapped[str] = mapped_column(Text)
    lead_professional: Mapped[str] = mapped_column(String(80))
    parents_informed: Mapped[bool] = mapped_column(Boolean)
    parents_not_informed_reason: Mapped[str | None] = mapped_column(Text)
    agencies_agreed: Mapped[list[str]] = mapped_column(JSON)
    initial_cppm_due: Mapped[date | None] = mapped_column(Date)
    extensions: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str | None] = mapped_column(String(40))
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome_rationale: Mapped[str | None] = mapped_column(Text)
    support_plan: Mapped[str | None] = mapped_column(Text)


class Jii(Base):
    """A joint investigative interview, planned then recorded or cancelled."""

    __tablename__ = "jiis"
    __table_args__ = (
        CheckConstraint(_in("status", ("planned", "conducted", "cancelled")), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="planned")
    planned_for: Mapped[datetime] = mapped_column(UTCDateTime)
    interviewers: Mapped[list[str]] = mapped_column(JSON)
    aims: Mapped[str] = mapped_column(Text)
    planned_by: Mapped[str] = mapped_column(String(80))
    conducted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(40))
    outcomes: Mapped[list[str] | None] = mapped_column(JSON)  # v2: every outcome that applies
    recording_reference: Mapped[str | None] = mapped_column(String(200))
    salient_points: Mapped[str | None] = mapped_column(Text)
    childs_views: Mapped[str | None] = mapped_column(Text)
    cancel_reason: Mapped[str | None] = mapped_column(Text)


class Conference(Base):
    """A Child Protection Planning Meeting (case conference), from scheduling to its decision."""

    __tablename__ = "conferences"
    __table_args__ = (CheckConstraint(_in("conference_type", CONFERENCE_TYPES), name="type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"), index=True)
    conference_type: Mapped[str] = mapped_column(String(20))
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime)
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    chair: Mapped[str] = mapped_column(String(80))
    invitees: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    short_notice: Mapped[bool] = mapped_column(Boolean, default=False)
    decision: Mapped[str | None] = mapped_column(String(40))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    meetings: Mapped[list[ConferenceMeeting]] = relationship(
        lazy="selectin", order_by="ConferenceMeeting.id"
    )


class ConferenceMeeting(ViewsMixin, Base):
    """One sitting of a conference: inquorate (rescheduled) or quorate with its decision."""

    __tablename__ = "conference_meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conferences.id"), index=True)
    quorate: Mapped[bool] = mapped_column(Boolean)
    held_at: Mapped[datetime] = mapped_column(UTCDateTime)
    absent_agencies: Mapped[list[str] | None] = mapped_column(JSON)
    rescheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attendees: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    apologies: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    parents_views: Mapped[str | None] = mapped_column(Text)
    # how the child and the parents took part (v2; NG2021 3.163-3.165)
    child_attended: Mapped[bool | None] = mapped_column(Boolean)
    views_given: Mapped[str | None] = mapped_column(String(30))
    advocacy_offered: Mapped[bool | None] = mapped_column(Boolean)
    parents_invited: Mapped[bool | None] = mapped_column(Boolean)
    parents_attended: Mapped[bool | None] = mapped_column(Boolean)
    decision: Mapped[str | None] = mapped_column(String(40))
    decision_rationale: Mapped[str | None] = mapped_column(Text)
    dissent: Mapped[str | None] = mapped_column(Text)
    outcome_detail: Mapped[str | None] = mapped_column(Text)  # support plan, plan or reason
    #: why the chair went ahead though the quorum did not attend (the meeting is not quorate)
    inquorate_reason: Mapped[str | None] = mapped_column(Text)


class Registration(Base):
    """A period on the child protection register."""

    __tablename__ = "registrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"), index=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conferences.id"))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    pre_birth: Mapped[bool] = mapped_column(Boolean, default=False)
    plan_outline: Mapped[str] = mapped_column(Text)
    # the Child Protection Plan: outcomes with actions, and a contingency plan (v2)
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reporter_referral: Mapped[bool] = mapped_column(Boolean)
    lead_professional: Mapped[str] = mapped_column(String(80))
    core_group: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    parents_informed_in_writing_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(30))
    deregistration_reason: Mapped[str | None] = mapped_column(String(30))  # coded (v2)
    deregistration_note: Mapped[str | None] = mapped_column(Text)
    receiving_area: Mapped[str | None] = mapped_column(String(80))
    moved_on: Mapped[date | None] = mapped_column(Date)

    areas_of_concern: Mapped[list[RegistrationConcern]] = relationship(lazy="selectin")
    core_group_meetings: Mapped[list[CoreGroupMeeting]] = relationship(
        lazy="selectin", order_by="CoreGroupMeeting.id"
    )


class RegistrationConcern(Base):
    __tablename__ = "registration_concerns"
    __table_args__ = (CheckConstraint(_in("category", CONCERN_CATEGORIES), name="category"),)

    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id"), primary_key=True)
    category: Mapped[str] = mapped_column(String(40), primary_key=True)


class CoreGroupMeeting(Base):
    __tablename__ = "core_group_meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id"), index=True)
    held_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attendees: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    significant_change: Mapped[bool] = mapped_column(Boolean)
    notes: Mapped[str] = mapped_column(Text)
    progress: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)  # against the plan (v2)
    childs_views: Mapped[str | None] = mapped_column(Text)
    refer_to_chair_by: Mapped[date | None] = mapped_column(Date)  # significant change (v2)
    recorded_by: Mapped[str] = mapped_column(String(80))


class Transfer(Base):
    """A registered child moving to another area: notified, then decided by its conference."""

    __tablename__ = "transfers"
    __table_args__ = (
        CheckConstraint(
            "outcome IS NULL OR " + _in("outcome", ("registered", "not_registered")),
            name="outcome",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"), index=True)
    receiving_area: Mapped[str] = mapped_column(ForeignKey("areas.slug"), index=True)
    moved_on: Mapped[date] = mapped_column(Date)
    notified_at: Mapped[datetime] = mapped_column(UTCDateTime)
    interim_safety_plan: Mapped[str] = mapped_column(Text)
    notified_by: Mapped[str] = mapped_column(String(80))
    receiving_referral_id: Mapped[str | None] = mapped_column(
        ForeignKey("referrals.id"), unique=True
    )
    outcome: Mapped[str | None] = mapped_column(String(20))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LeadProfessionalChange(Base):
    """Who leads the work, from when (v2 `change_lead_professional`; NG2021 3.40)."""

    __tablename__ = "lead_professional_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"), index=True)
    lead_professional: Mapped[str] = mapped_column(String(80))
    changed_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChronologyEntry(Base):
    """One key event in the child's multi-agency chronology (NG2021 3.172-3.177)."""

    __tablename__ = "chronology_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"), index=True)
    occurred_on: Mapped[date] = mapped_column(Date)
    source_agency: Mapped[str] = mapped_column(String(20))
    what_happened: Mapped[str] = mapped_column(Text)
    significance: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(80))
    recorded_agency: Mapped[str] = mapped_column(String(20))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


__all__ = [
    "ChronologyEntry",
    "LeadProfessionalChange",
    "ReferralLink",
    "ReferralShare",
    "Screening",
    "Transfer",
    "Child",
    "ChildIdentity",
    "Conference",
    "ConferenceMeeting",
    "CoreGroupMeeting",
    "Ird",
    "IrdContribution",
    "Investigation",
    "Jii",
    "ReferenceSequence",
    "Referral",
    "ReferralAgency",
    "Registration",
    "RegistrationConcern",
]
